package io.userstream.flink;

import java.sql.SQLException;
import java.util.Set;

/** Classifies and describes the errors MySQL and MariaDB return for a write. */
final class SqlErrors {

    /**
     * Server error codes that refuse a row for its content although their SQLState is the
     * generic HY000: 1366 incorrect string value, 3819 (MySQL) and 4025 (MariaDB) check
     * constraint violated, 1644 a trigger's SIGNAL.
     */
    private static final Set<Integer> CONTENT_CODES = Set.of(1366, 1644, 3819, 4025);

    private SqlErrors() {}

    /**
     * Returns whether the server refused a row for its values: a data exception (SQLState class
     * 22), an integrity constraint (class 23), a trigger's SIGNAL (45000) or one of
     * {@link #CONTENT_CODES}. Sending the same row again fails the same way; anything else
     * (a lost connection, a deadlock, a missing table or privilege) may pass later.
     */
    static boolean isContentError(SQLException error) {
        for (SQLException current : chain(error)) {
            String state = current.getSQLState();
            if (state != null && (state.startsWith("22") || state.startsWith("23")
                    || state.equals("45000"))) {
                return true;
            }
            if (CONTENT_CODES.contains(current.getErrorCode())) {
                return true;
            }
        }
        return false;
    }

    /** SQLState and server error code, safe to log: neither carries a value of the row. */
    static String code(SQLException error) {
        SQLException root = root(error);
        return "SQLState " + root.getSQLState() + ", error " + root.getErrorCode();
    }

    /** Code and server message; the message may quote the refused value. */
    static String describe(SQLException error) {
        SQLException root = root(error);
        return code(error) + ": " + root.getMessage();
    }

    /** Returns the column the error names, or "row" when it names none of `columns`. */
    static String column(SQLException error, String[] columns) {
        String message = String.valueOf(root(error).getMessage());
        for (String column : columns) {
            if (message.contains("'" + column + "'") || message.contains("`" + column + "`")) {
                return column;
            }
        }
        return "row";
    }

    /** Returns host:port/database of a JDBC URL, without its options. */
    static String server(String url) {
        String rest = url.replaceFirst("^jdbc:[a-z]+://", "");
        int options = rest.indexOf('?');
        return options < 0 ? rest : rest.substring(0, options);
    }

    private static SQLException root(SQLException error) {
        SQLException root = error;
        for (SQLException current : chain(error)) {
            root = current;
        }
        return root;
    }

    /** Collects the error, its chained next exceptions and its SQLException causes, in order. */
    private static Iterable<SQLException> chain(SQLException error) {
        java.util.List<SQLException> chain = new java.util.ArrayList<>();
        java.util.ArrayDeque<SQLException> pending = new java.util.ArrayDeque<>();
        pending.add(error);
        while (!pending.isEmpty() && chain.size() < 16) {
            SQLException current = pending.poll();
            if (chain.contains(current)) {
                continue;
            }
            chain.add(current);
            if (current.getNextException() != null) {
                pending.add(current.getNextException());
            }
            if (current.getCause() instanceof SQLException) {
                pending.add((SQLException) current.getCause());
            }
        }
        return chain;
    }
}
