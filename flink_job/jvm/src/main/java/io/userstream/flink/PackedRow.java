package io.userstream.flink;

import org.apache.flink.types.Row;

/**
 * Unpacks a row that the Python stage sent as one JSON array of scalars.
 *
 * <p>Handing the JVM one string per profile instead of a row of 52 fields saves a conversion
 * per field between the embedded Python interpreter and Java, which is most of the cost of
 * crossing. Elements are strings, integers or null; an integer becomes an Integer when it fits
 * and a Long otherwise.
 */
final class PackedRow {

    private final String text;
    private int position;

    private PackedRow(String text) {
        this.text = text;
    }

    static Row unpack(String json, int arity) {
        PackedRow parser = new PackedRow(json);
        Row row = new Row(arity);
        parser.expect('[');
        for (int index = 0; index < arity; index++) {
            if (index > 0) {
                parser.expect(',');
            }
            row.setField(index, parser.value());
        }
        parser.expect(']');
        return row;
    }

    private void skipSpaces() {
        while (position < text.length() && text.charAt(position) == ' ') {
            position++;
        }
    }

    private void expect(char wanted) {
        skipSpaces();
        if (position >= text.length() || text.charAt(position) != wanted) {
            throw new IllegalArgumentException("packed row: expected '" + wanted
                    + "' at character " + position + " of " + text.length());
        }
        position++;
    }

    private Object value() {
        skipSpaces();
        char first = text.charAt(position);
        if (first == '"') {
            return string();
        }
        if (text.startsWith("null", position)) {
            position += 4;
            return null;
        }
        int start = position;
        if (first == '-') {
            position++;
        }
        while (position < text.length() && Character.isDigit(text.charAt(position))) {
            position++;
        }
        long number = Long.parseLong(text, start, position, 10);
        if (number >= Integer.MIN_VALUE && number <= Integer.MAX_VALUE) {
            return (int) number;
        }
        return number;
    }

    private String string() {
        position++; // the opening quote
        StringBuilder out = null;
        int start = position;
        while (true) {
            char c = text.charAt(position);
            if (c == '"') {
                String plain = text.substring(start, position);
                position++;
                return out == null ? plain : out.append(plain).toString();
            }
            if (c != '\\') {
                position++;
                continue;
            }
            if (out == null) {
                out = new StringBuilder();
            }
            out.append(text, start, position);
            char escaped = text.charAt(position + 1);
            position += 2;
            switch (escaped) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    out.append((char) Integer.parseInt(text, position, position + 4, 16));
                    position += 4;
                }
                default -> out.append(escaped); // '"', '\\' and '/'
            }
            start = position;
        }
    }
}
