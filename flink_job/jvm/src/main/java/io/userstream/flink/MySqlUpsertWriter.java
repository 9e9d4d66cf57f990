package io.userstream.flink;

import java.io.IOException;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.types.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The writer of one {@link MySqlUpsertSink} subtask. See the sink for the guarantees. */
final class MySqlUpsertWriter implements SinkWriter<String> {

    private static final Logger LOG = LoggerFactory.getLogger(MySqlUpsertWriter.class);
    private static final String DRIVER = "com.mysql.cj.jdbc.Driver";
    private static final long FIRST_BACKOFF_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    private static final int SAME_ERROR_ROWS = 10;
    static final String REFUSED_CODE = "database_refused";
    /**
     * Maximum length of one statement's text, in UTF-16 characters. At up to 3 UTF-8 bytes per
     * character it stays under MariaDB's default max_allowed_packet of 16 MiB (MySQL 8: 64 MiB).
     */
    private static final int MAX_STATEMENT_CHARS = 4_000_000;

    private final MySqlUpsertSink.Settings settings;
    private final MySqlUpsertSink.Table table;
    private final MySqlUpsertSink.Refusals refusals;
    private final ProcessingTimeService time;
    private final int subtask;
    private final Upsert upsert;
    private final Upsert rejectUpsert;
    /** Columns of the rejects table that hold raw message bytes, sent as base64. */
    private final int[] rejectBytesColumns;

    /**
     * Profiles and rejects waiting for the next flush, in arrival order. Every version of a user
     * is kept: if the database refuses the newest, the one before it is still stored.
     */
    private final List<Row> profiles = new ArrayList<>();
    private final List<Row> rejects = new ArrayList<>();
    private boolean timerPending;
    private Connection connection;
    private long rowsWritten;
    private long rowsRefused;

    MySqlUpsertWriter(MySqlUpsertSink.Settings settings, MySqlUpsertSink.Table table,
            MySqlUpsertSink.Refusals refusals, ProcessingTimeService time, int subtask) {
        this.settings = settings;
        this.table = table;
        this.refusals = refusals;
        this.time = time;
        this.subtask = subtask;
        this.upsert = Upsert.of(table);
        this.rejectUpsert = Upsert.of(refusals.rejects);
        this.rejectBytesColumns = new int[] {refusals.rejects.index("message_key"),
            refusals.rejects.index("message_value")};
        LOG.info("writer {} for table {} opened: batches of up to {} rows, flushed every {} ms "
                + "and on every checkpoint", subtask, table.name, settings.batchRows,
                settings.flushIntervalMillis);
    }

    /**
     * The text of an upsert before its rows ({@code INSERT INTO ... VALUES }) and after them
     * ({@code ON DUPLICATE KEY UPDATE ...}).
     */
    record Upsert(String head, String tail) {

        static Upsert of(MySqlUpsertSink.Table table) {
            StringJoiner names = new StringJoiner(", ");
            for (String column : table.columns) {
                names.add(quote(column));
            }
            return new Upsert("INSERT INTO " + quote(table.name) + " (" + names + ") VALUES ",
                    " ON DUPLICATE KEY UPDATE " + assignments(table));
        }
    }

    /**
     * Returns the ON DUPLICATE KEY UPDATE assignments of a table's upsert.
     *
     * <p>With {@code newerWins}, each column is updated only when the new row comes from another
     * partition or a later (or the same) offset. MySQL applies the assignments left to right and
     * later ones see earlier results, so {@code kafka_offset} and then {@code kafka_partition} go
     * last: the guard reads the stored position until every other column has been decided.
     */
    private static String assignments(MySqlUpsertSink.Table table) {
        List<String> updated = new ArrayList<>();
        for (String column : table.columns) {
            if (!Arrays.asList(table.keyColumns).contains(column)
                    && !column.equals("kafka_offset") && !column.equals("kafka_partition")) {
                updated.add(column);
            }
        }
        for (String column : new String[] {"kafka_offset", "kafka_partition"}) {
            if (Arrays.asList(table.columns).contains(column)
                    && !Arrays.asList(table.keyColumns).contains(column)) {
                updated.add(column);
            }
        }
        String guard = "(VALUES(`kafka_partition`) <> `kafka_partition` "
                + "OR VALUES(`kafka_offset`) >= `kafka_offset`)";
        StringJoiner assignments = new StringJoiner(", ");
        for (String column : updated) {
            String value = "VALUES(" + quote(column) + ")";
            assignments.add(quote(column) + " = "
                    + (table.newerWins ? "IF(" + guard + ", " + value + ", " + quote(column) + ")"
                            : value));
        }
        return assignments.toString();
    }

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    @Override
    public void write(String batch, Context context) throws IOException, InterruptedException {
        int start = 0;
        while (start < batch.length()) {
            int end = batch.indexOf('\n', start);
            if (end < 0) {
                end = batch.length();
            }
            if (batch.charAt(start) == PackedRow.REJECT_MARK) {
                rejects.add(PackedRow.unpackReject(batch, start + 1, end,
                        refusals.rejects.columns.length, rejectBytesColumns));
            } else {
                profiles.add(PackedRow.unpack(batch, start, end, table.columns.length));
            }
            start = end + 1;
        }
        if (profiles.size() + rejects.size() >= settings.batchRows) {
            flushBuffer();
        } else if (!timerPending) {
            timerPending = true;
            time.registerTimer(time.getCurrentProcessingTime() + settings.flushIntervalMillis,
                    timestamp -> {
                        timerPending = false;
                        flushBuffer();
                    });
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        flushBuffer();
    }

    @Override
    public void close() {
        closeConnection();
        LOG.info("writer {} for table {} closed: {} rows written, {} refused by the database",
                subtask, table.name, rowsWritten, rowsRefused);
    }

    /** Writes the buffers in one transaction, retrying what can pass on a later attempt. */
    private void flushBuffer() throws IOException, InterruptedException {
        if (profiles.isEmpty() && rejects.isEmpty()) {
            return;
        }
        int rows = profiles.size() + rejects.size();
        long started = System.currentTimeMillis();
        long backoff = FIRST_BACKOFF_MILLIS;
        for (int attempt = 1; ; attempt++) {
            try {
                write(connection());
                profiles.clear();
                rejects.clear();
                if (attempt > 1) {
                    LOG.info("writer {}: {} rows written to {} on attempt {}", subtask, rows,
                            table.name, attempt);
                }
                return;
            } catch (SQLException error) {
                closeConnection();
                long elapsed = System.currentTimeMillis() - started;
                // Errors about a row's content never get here (see write), so the server's
                // message names objects such as tables and columns, not a row's values.
                String described = SqlErrors.describe(error);
                if (elapsed + backoff > settings.retryTimeoutMillis) {
                    throw new IOException(String.format(
                            "writing %d rows to %s failed for %d s over %d attempts (%s); "
                                    + "check that the database at %s is up, that the table "
                                    + "matches the contract, and that user %s may write to it",
                            rows, table.name, elapsed / 1000, attempt, described,
                            SqlErrors.server(settings.url), settings.user), error);
                }
                LOG.warn("writer {}: writing {} rows to {} failed on attempt {} ({}); retrying "
                        + "in {} ms", subtask, rows, table.name, attempt, described, backoff);
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    /**
     * Upserts the buffered profiles and rejects, then commits. When the database refuses the
     * profiles' batch for a row's content, the profiles are written one at a time and the
     * refused ones join the rejects.
     */
    private void write(Connection connection) throws SQLException {
        List<Row> allRejects = new ArrayList<>(rejects);
        try {
            if (!profiles.isEmpty()) {
                try {
                    executeBatch(connection, upsert, profiles);
                } catch (SQLException error) {
                    if (!SqlErrors.isContentError(error)) {
                        throw error;
                    }
                    connection.rollback();
                    LOG.warn("writer {}: the database refused a batch of {} rows for {} ({}); "
                            + "writing them one at a time", subtask, profiles.size(),
                            table.name, SqlErrors.code(error));
                    allRejects.addAll(writeOneByOne(connection));
                }
            }
            if (!profiles.isEmpty()) {
                deleteEarlierRefusals(connection);
            }
            if (!allRejects.isEmpty()) {
                executeBatch(connection, rejectUpsert, allRejects);
            }
            connection.commit();
        } catch (SQLException error) {
            rollback(connection);
            throw error;
        }
        int refused = allRejects.size() - rejects.size();
        rowsRefused += refused;
        rowsWritten += profiles.size() - refused + rejects.size();
    }

    /**
     * Deletes the database_refused rejects within the offsets of this batch's profiles.
     *
     * <p>A partition's messages reach one writer in order, so every message between the batch's
     * first and last profile of a partition is in this batch. A refusal there is from an earlier
     * run of the same messages, such as a replay after the cause of the refusal was removed. The
     * profile was stored just now, or its new refusal is written after this delete.
     */
    private void deleteEarlierRefusals(Connection connection) throws SQLException {
        Map<Object, long[]> ranges = new LinkedHashMap<>();
        int partitionIndex = table.index("kafka_partition");
        int offsetIndex = table.index("kafka_offset");
        for (Row row : profiles) {
            long offset = ((Number) row.getField(offsetIndex)).longValue();
            long[] range = ranges.computeIfAbsent(row.getField(partitionIndex),
                    partition -> new long[] {offset, offset});
            range[0] = Math.min(range[0], offset);
            range[1] = Math.max(range[1], offset);
        }
        String sql = "DELETE FROM " + quote(refusals.rejects.name) + " WHERE `topic` = ? AND "
                + "`kafka_partition` = ? AND `kafka_offset` BETWEEN ? AND ? AND "
                + "`reason_codes` LIKE ?";
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (Map.Entry<Object, long[]> range : ranges.entrySet()) {
                statement.setString(1, refusals.topic);
                statement.setInt(2, ((Number) range.getKey()).intValue());
                statement.setLong(3, range.getValue()[0]);
                statement.setLong(4, range.getValue()[1]);
                statement.setString(5, "%:" + REFUSED_CODE);
                statement.executeUpdate();
            }
        }
    }

    /**
     * Upserts the rows with multi-row statements of text built by {@link SqlText}, or through a
     * prepared statement when a value has no literal form there.
     */
    private static void executeBatch(Connection connection, Upsert upsert, List<Row> rows)
            throws SQLException {
        List<Object[]> values = new ArrayList<>(rows.size());
        for (Row row : rows) {
            Object[] fields = fields(row);
            if (!SqlText.supports(fields)) {
                executePrepared(connection, upsertText(upsert, rows.get(0).getArity()), rows);
                return;
            }
            values.add(fields);
        }
        try (Statement statement = connection.createStatement()) {
            statement.setEscapeProcessing(false);
            StringBuilder sql = new StringBuilder();
            for (Object[] fields : values) {
                sql.append(sql.length() == 0 ? upsert.head : ", ");
                SqlText.appendRow(sql, fields);
                if (sql.length() >= MAX_STATEMENT_CHARS) {
                    statement.executeUpdate(sql.append(upsert.tail).toString());
                    sql.setLength(0);
                }
            }
            if (sql.length() > 0) {
                statement.executeUpdate(sql.append(upsert.tail).toString());
            }
        }
    }

    private static void executePrepared(Connection connection, String sql, List<Row> rows)
            throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (Row row : rows) {
                bind(statement, row);
                statement.addBatch();
            }
            statement.executeBatch();
        }
    }

    private static String upsertText(Upsert upsert, int arity) {
        StringJoiner marks = new StringJoiner(", ", "(", ")");
        for (int i = 0; i < arity; i++) {
            marks.add("?");
        }
        return upsert.head + marks + upsert.tail;
    }

    private static Object[] fields(Row row) {
        Object[] fields = new Object[row.getArity()];
        for (int i = 0; i < fields.length; i++) {
            fields[i] = row.getField(i);
        }
        return fields;
    }

    /** Upserts one row, as text when {@link SqlText} has a literal for each of its values. */
    private static void executeOne(Statement statement, Connection connection, Upsert upsert,
            Row row) throws SQLException {
        Object[] fields = fields(row);
        if (SqlText.supports(fields)) {
            StringBuilder sql = new StringBuilder(upsert.head);
            SqlText.appendRow(sql, fields);
            statement.executeUpdate(sql.append(upsert.tail).toString());
            return;
        }
        try (PreparedStatement prepared = connection.prepareStatement(
                upsertText(upsert, fields.length))) {
            bind(prepared, row);
            prepared.executeUpdate();
        }
    }

    /**
     * Upserts each buffered profile on its own and returns the rejects of the refused ones.
     *
     * <p>When all of a batch of {@value #SAME_ERROR_ROWS} or more rows fail with the same error
     * code, the table rather than the rows is wrong (a column the contract does not fill, a type
     * narrower than the contract's), so the error is raised for retry instead of turning the
     * whole stream into rejects.
     */
    private List<Row> writeOneByOne(Connection connection) throws SQLException {
        List<Row> refused = new ArrayList<>();
        SQLException first = null;
        boolean sameError = true;
        try (Statement statement = connection.createStatement()) {
            statement.setEscapeProcessing(false);
            for (Row row : profiles) {
                try {
                    executeOne(statement, connection, upsert, row);
                } catch (SQLException error) {
                    if (!SqlErrors.isContentError(error)) {
                        throw error;
                    }
                    if (first == null) {
                        first = error;
                    } else if (SqlErrors.errorCode(first) != SqlErrors.errorCode(error)) {
                        sameError = false;
                    }
                    refused.add(rejectOf(row, error));
                    LOG.warn("writer {}: the database refused the row from {}-{}@{} ({}); "
                            + "stored as a rejected message", subtask, refusals.topic,
                            field(row, "kafka_partition"), field(row, "kafka_offset"),
                            SqlErrors.code(error));
                }
            }
        }
        if (first != null && sameError && refused.size() == profiles.size()
                && profiles.size() >= SAME_ERROR_ROWS) {
            throw new SQLException("the database refused all " + profiles.size() + " rows of "
                    + "the batch with " + SqlErrors.code(first) + "; the table does not match "
                    + "the contract", "42000", SqlErrors.errorCode(first));
        }
        return refused;
    }

    private Object field(Row row, String column) {
        return row.getField(table.index(column));
    }

    /** Builds the rejected-message row of a refused row, naming the column when the error does. */
    private Row rejectOf(Row row, SQLException error) {
        String column = SqlErrors.column(error, table.columns);
        String message = "the database refused the row: " + SqlErrors.describe(error)
                + "; the contract allowed this value, so align the table's definition with the "
                + "contract and send the record again";
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("topic", refusals.topic);
        values.put("kafka_partition", field(row, "kafka_partition"));
        values.put("kafka_offset", field(row, "kafka_offset"));
        values.put("schema_id", field(row, "schema_id"));
        values.put("user_id", field(row, table.keyColumns[0]));
        values.put("reason_codes", column + ":" + REFUSED_CODE);
        values.put("reasons", "[{\"field\": " + Json.string(column) + ", \"code\": \""
                + REFUSED_CODE + "\", \"message\": " + Json.string(message) + "}]");
        String[] columns = refusals.rejects.columns;
        Row reject = new Row(columns.length);
        for (int i = 0; i < columns.length; i++) {
            reject.setField(i, values.get(columns[i]));
        }
        return reject;
    }

    private static void bind(PreparedStatement statement, Row row) throws SQLException {
        for (int i = 0; i < row.getArity(); i++) {
            Object value = row.getField(i);
            if (value == null) {
                statement.setNull(i + 1, Types.NULL);
            } else if (value instanceof String) {
                statement.setString(i + 1, (String) value);
            } else if (value instanceof Integer) {
                statement.setInt(i + 1, (Integer) value);
            } else if (value instanceof Long) {
                statement.setLong(i + 1, (Long) value);
            } else if (value instanceof byte[]) {
                statement.setBytes(i + 1, (byte[]) value);
            } else {
                statement.setObject(i + 1, value);
            }
        }
    }

    private Connection connection() throws SQLException {
        if (connection == null) {
            Properties properties = new Properties();
            properties.setProperty("user", settings.user);
            properties.setProperty("password", settings.password);
            Connection opened = driver().connect(settings.url, properties);
            if (opened == null) {
                throw new SQLException("the MySQL driver does not accept the URL of "
                        + SqlErrors.server(settings.url), "08001");
            }
            opened.setAutoCommit(false);
            connection = opened;
        }
        return connection;
    }

    private static Driver driver() throws SQLException {
        // The driver is in the job's jars, which DriverManager's class loader cannot see.
        try {
            return (Driver) Class.forName(DRIVER).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException error) {
            throw new SQLException(DRIVER + " is not on the job's class path; run "
                    + "`userstream install` to fetch mysql-connector-j", "08001", error);
        }
    }

    private static void rollback(Connection connection) {
        try {
            connection.rollback();
        } catch (SQLException ignored) {
            // The connection is closed and reopened by the retry that follows.
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException error) {
                LOG.debug("closing the connection for {} failed: {}", table.name,
                        error.getMessage());
            }
            connection = null;
        }
    }
}
