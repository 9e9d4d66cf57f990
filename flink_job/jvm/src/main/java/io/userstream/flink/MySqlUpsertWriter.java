package io.userstream.flink;

import java.io.IOException;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.PreparedStatement;
import java.sql.SQLException;
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
final class MySqlUpsertWriter implements SinkWriter<Row> {

    private static final Logger LOG = LoggerFactory.getLogger(MySqlUpsertWriter.class);
    private static final String DRIVER = "com.mysql.cj.jdbc.Driver";
    private static final long FIRST_BACKOFF_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    static final String REFUSED_CODE = "database_refused";

    private final MySqlUpsertSink.Settings settings;
    private final MySqlUpsertSink.Table table;
    private final MySqlUpsertSink.Refusals refusals;
    private final ProcessingTimeService time;
    private final int subtask;
    private final String upsert;
    private final String rejectUpsert;
    private final int[] keyIndexes;
    private final int partitionIndex;
    private final int offsetIndex;

    /** Rows waiting for the next flush, by key; a later row of a key replaces an earlier one. */
    private final Map<Object, Row> buffer = new LinkedHashMap<>();
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
        this.upsert = upsertStatement(table);
        this.rejectUpsert = refusals == null ? null : upsertStatement(refusals.rejects);
        this.keyIndexes = Arrays.stream(table.keyColumns).mapToInt(table::index).toArray();
        this.partitionIndex = table.newerWins ? table.index("kafka_partition") : -1;
        this.offsetIndex = table.newerWins ? table.index("kafka_offset") : -1;
        LOG.info("writer {} for table {} opened: batches of up to {} rows, flushed every {} ms "
                + "and on every checkpoint", subtask, table.name, settings.batchRows,
                settings.flushIntervalMillis);
    }

    /**
     * Returns the INSERT ... ON DUPLICATE KEY UPDATE statement of a table.
     *
     * <p>With {@code newerWins}, each column is updated only when the new row comes from another
     * partition or a later (or the same) offset. MySQL applies the assignments left to right and
     * later ones see earlier results, so {@code kafka_offset} and then {@code kafka_partition} go
     * last: the guard reads the stored position until every other column has been decided.
     */
    static String upsertStatement(MySqlUpsertSink.Table table) {
        StringJoiner names = new StringJoiner(", ");
        StringJoiner marks = new StringJoiner(", ");
        for (String column : table.columns) {
            names.add(quote(column));
            marks.add("?");
        }
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
        return "INSERT INTO " + quote(table.name) + " (" + names + ") VALUES (" + marks + ")"
                + " ON DUPLICATE KEY UPDATE " + assignments;
    }

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    @Override
    public void write(Row row, Context context) throws IOException, InterruptedException {
        Object key = key(row);
        Row buffered = buffer.get(key);
        if (buffered == null || !table.newerWins || !isOlder(row, buffered)) {
            buffer.put(key, row);
        }
        if (buffer.size() >= settings.batchRows) {
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

    private Object key(Row row) {
        if (keyIndexes.length == 1) {
            return row.getField(keyIndexes[0]);
        }
        Object[] values = new Object[keyIndexes.length];
        for (int i = 0; i < keyIndexes.length; i++) {
            values[i] = row.getField(keyIndexes[i]);
        }
        return Arrays.asList(values);
    }

    private boolean isOlder(Row row, Row than) {
        return row.getField(partitionIndex).equals(than.getField(partitionIndex))
                && ((Long) row.getField(offsetIndex)) < ((Long) than.getField(offsetIndex));
    }

    /** Writes the buffer in one transaction, retrying what can pass on a later attempt. */
    private void flushBuffer() throws IOException, InterruptedException {
        if (buffer.isEmpty()) {
            return;
        }
        List<Row> rows = new ArrayList<>(buffer.values());
        long started = System.currentTimeMillis();
        long backoff = FIRST_BACKOFF_MILLIS;
        for (int attempt = 1; ; attempt++) {
            try {
                write(connection(), rows);
                buffer.clear();
                rowsWritten += rows.size();
                if (attempt > 1) {
                    LOG.info("writer {}: {} rows written to {} on attempt {}", subtask,
                            rows.size(), table.name, attempt);
                }
                return;
            } catch (SQLException error) {
                closeConnection();
                long elapsed = System.currentTimeMillis() - started;
                String described = SqlErrors.describe(error);
                if (elapsed + backoff > settings.retryTimeoutMillis) {
                    throw new IOException(String.format(
                            "writing %d rows to table %s failed for %d s over %d attempts (%s); "
                                    + "check that the database at %s is up and that user %s may "
                                    + "write to %s",
                            rows.size(), table.name, elapsed / 1000, attempt, described,
                            SqlErrors.server(settings.url), settings.user, table.name), error);
                }
                LOG.warn("writer {}: writing {} rows to {} failed on attempt {} ({}); retrying "
                        + "in {} ms", subtask, rows.size(), table.name, attempt, described, backoff);
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    private void write(Connection connection, List<Row> rows) throws SQLException {
        try {
            try (PreparedStatement statement = connection.prepareStatement(upsert)) {
                for (Row row : rows) {
                    bind(statement, row);
                    statement.addBatch();
                }
                statement.executeBatch();
            }
            connection.commit();
            return;
        } catch (SQLException error) {
            rollback(connection);
            if (refusals == null || !SqlErrors.isContentError(error)) {
                throw error;
            }
            LOG.warn("writer {}: the database refused a batch of {} rows for {} ({}); writing "
                    + "them one at a time", subtask, rows.size(), table.name,
                    SqlErrors.code(error));
        }
        writeOneByOne(connection, rows);
    }

    /** Writes each row on its own; rows refused for their content become rejected messages. */
    private void writeOneByOne(Connection connection, List<Row> rows) throws SQLException {
        List<Row> rejects = new ArrayList<>();
        try {
            try (PreparedStatement statement = connection.prepareStatement(upsert)) {
                for (Row row : rows) {
                    bind(statement, row);
                    try {
                        statement.executeUpdate();
                    } catch (SQLException error) {
                        if (!SqlErrors.isContentError(error)) {
                            throw error;
                        }
                        rejects.add(rejectOf(row, error));
                        LOG.warn("writer {}: the database refused the row from {}-{}@{} ({}); "
                                + "stored as a rejected message", subtask, refusals.topic,
                                field(row, "kafka_partition"), field(row, "kafka_offset"),
                                SqlErrors.code(error));
                    }
                }
            }
            if (!rejects.isEmpty()) {
                try (PreparedStatement statement = connection.prepareStatement(rejectUpsert)) {
                    for (Row reject : rejects) {
                        bind(statement, reject);
                        statement.addBatch();
                    }
                    statement.executeBatch();
                }
            }
            connection.commit();
            rowsRefused += rejects.size();
            rowsWritten -= rejects.size();
        } catch (SQLException error) {
            rollback(connection);
            throw error;
        }
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
