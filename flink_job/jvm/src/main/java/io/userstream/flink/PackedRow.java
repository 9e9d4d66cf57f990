package io.userstream.flink;

import java.util.Base64;

import org.apache.flink.types.Row;

/**
 * Unpacks a row that the Python stage sent as one JSON array of scalars.
 *
 * <p>Handing the JVM one string per batch of messages instead of a row of 52 fields per message
 * saves a conversion per field between the embedded Python interpreter and Java, which is most
 * of the cost of crossing. Elements are strings, integers or null; an integer becomes an Integer
 * when it fits and a Long otherwise. A rejected message's line starts with {@link #REJECT_MARK},
 * and its key and value are base64 strings.
 */
final class PackedRow {

    /** The first character of a rejected message's line. A profile's line starts with '['. */
    static final char REJECT_MARK = 'R';

    private final String text;
    private final int end;
    private int position;

    private PackedRow(String text, int start, int end) {
        this.text = text;
        this.position = start;
        this.end = end;
    }

    static Row unpack(String json, int arity) {
        return unpack(json, 0, json.length(), arity);
    }

    /** Unpacks the JSON array in {@code text} from {@code start} up to {@code end}. */
    static Row unpack(String text, int start, int end, int arity) {
        PackedRow parser = new PackedRow(text, start, end);
        Row row = new Row(arity);
        parser.expect('[');
        for (int index = 0; index < arity; index++) {
            if (index > 0) {
                parser.expect(',');
            }
            row.setField(index, parser.value());
        }
        parser.expect(']');
        parser.skipSpaces();
        if (parser.position != end) {
            throw new IllegalArgumentException("packed row: " + (end - parser.position)
                    + " characters after the " + arity + " expected values");
        }
        return row;
    }

    /**
     * Unpacks a rejected message's columns, decoding the base64 strings at
     * {@code bytesIndexes} (key and value) to bytes.
     */
    static Row unpackReject(String text, int start, int end, int arity, int... bytesIndexes) {
        Row row = unpack(text, start, end, arity);
        for (int index : bytesIndexes) {
            Object value = row.getField(index);
            if (value != null) {
                row.setField(index, Base64.getDecoder().decode((String) value));
            }
        }
        return row;
    }

    /** Returns the character at {@code index}, failing at or past the end of the line. */
    private char charAt(int index) {
        if (index >= end) {
            throw new IllegalArgumentException("packed row: the line ends at character " + end
                    + " inside a value");
        }
        return text.charAt(index);
    }

    private void skipSpaces() {
        while (position < end && text.charAt(position) == ' ') {
            position++;
        }
    }

    private void expect(char wanted) {
        skipSpaces();
        if (position >= end || text.charAt(position) != wanted) {
            throw new IllegalArgumentException("packed row: expected '" + wanted
                    + "' at character " + position + " of " + end);
        }
        position++;
    }

    private Object value() {
        skipSpaces();
        char first = charAt(position);
        if (first == '"') {
            return string();
        }
        if (position + 4 <= end && text.startsWith("null", position)) {
            position += 4;
            return null;
        }
        int start = position;
        if (first == '-') {
            position++;
        }
        while (position < end && Character.isDigit(text.charAt(position))) {
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
            char c = charAt(position);
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
            char escaped = charAt(position + 1);
            position += 2;
            switch (escaped) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    charAt(position + 3);
                    out.append((char) Integer.parseInt(text, position, position + 4, 16));
                    position += 4;
                }
                default -> out.append(escaped); // '"', '\\' and '/'
            }
            start = position;
        }
    }
}
