package io.userstream.flink;

import java.sql.SQLException;
import java.util.Set;

/** Classifies and describes the errors MySQL and MariaDB return for a write. */
final class SqlErrors {

    /**
     * Server error codes of errors that may pass on a later attempt although their SQLState is
     * the generic HY000: 1040 too many connections, 1053 server shutdown, 1205 lock wait
     * timeout, 1213 deadlock, 1317 query interrupted, 1927 connection killed, 2006 and 2013
     * connection lost.
     */
    private static final Set<Integer> TRANSIENT_CODES =
            Set.of(1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013);

    /**
     * Server error codes of a table or privilege problem: 1044, 1045, 1142 and 1143 access
     * denied, 1146 no such table, 1054 unknown column.
     */
    private static final Set<Integer> SCHEMA_CODES = Set.of(1044, 1045, 1054, 1142, 1143, 1146);

    private SqlErrors() {}

    /**
     * Returns whether the database refused a row for its values, so that sending the same row
     * again fails the same way. That is every error but a lost connection, a lock conflict or
     * shutdown (SQLState class 08 or 40, or {@link #TRANSIENT_CODES}) and a table or privilege
     * problem (class 42 or 28, or {@link #SCHEMA_CODES}), which may pass later. Data exceptions
     * (class 22), constraint violations (23), strict-mode truncation (01000 with error 1265),
     * failed CHECK constraints and a trigger's SIGNAL are content errors.
     */
    static boolean isContentError(SQLException error) {
        for (SQLException current : chain(error)) {
            String state = current.getSQLState() == null ? "" : current.getSQLState();
            if (state.startsWith("08") || state.startsWith("40") || state.startsWith("42")
                    || state.startsWith("28")) {
                return false;
            }
            if (TRANSIENT_CODES.contains(current.getErrorCode())
                    || SCHEMA_CODES.contains(current.getErrorCode())) {
                return false;
            }
        }
        return true;
    }

    /** Returns the server error code of the innermost error. */
    static int errorCode(SQLException error) {
        return root(error).getErrorCode();
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

    /**
     * Returns the column the error names, or "row" when it names none of `columns`. MariaDB
     * names a column-level CHECK constraint `table.column`.
     */
    static String column(SQLException error, String[] columns) {
        String message = String.valueOf(root(error).getMessage());
        for (String column : columns) {
            if (message.contains("'" + column + "'") || message.contains("`" + column + "`")
                    || message.contains("." + column + "`")) {
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
