package io.userstream.flink;

import java.io.IOException;
import java.io.Serializable;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Upserts rows into one MySQL or MariaDB table, batched, with a time-based flush and a flush on
 * every checkpoint.
 *
 * <p>Each input is the Python stage's result for one batch of messages: one line per message,
 * either a profile, a JSON array of the table's columns, or a rejected message, {@code R}
 * followed by a JSON array of the rejects table's columns with key and value in base64 (see
 * {@link PackedRow}). Both kinds of one flush are written in one transaction. Fields are bound as strings, numbers or bytes, so dates,
 * timestamps and decimals reach the server as the text the job wrote and are converted there,
 * with no JDBC time-zone or binary-scale conversion in between.
 *
 * <p>Writes are idempotent: a replayed row updates its own key to the same values. When the
 * table has source-position columns ({@link Table#newerWins}), a row replaces the stored one
 * only if it comes from a later position, so a replayed older version of a profile never
 * overwrites a newer one.
 *
 * <p>A batch the server refuses for a row's content is written again row by row; each refused
 * row becomes a rejected message with the server's error, and the rest of the batch is
 * stored. Other errors (lost connection, deadlock, server down, a missing table or privilege)
 * are retried with exponential backoff for up to {@link Settings#retryTimeoutMillis} before the
 * writer fails and Flink's restart strategy takes over. {@link SqlErrors} classifies the errors.
 */
public class MySqlUpsertSink implements Sink<String> {

    private static final long serialVersionUID = 1L;

    /** Connection and batching settings shared by the writers of one job. */
    public static class Settings implements Serializable {
        private static final long serialVersionUID = 1L;

        final String url;
        final String user;
        final String password;
        final int batchRows;
        final long flushIntervalMillis;
        final long retryTimeoutMillis;

        public Settings(String url, String user, String password, int batchRows,
                long flushIntervalMillis, long retryTimeoutMillis) {
            this.url = url;
            this.user = user;
            this.password = password;
            this.batchRows = batchRows;
            this.flushIntervalMillis = flushIntervalMillis;
            this.retryTimeoutMillis = retryTimeoutMillis;
        }
    }

    /** The target table: its name, the row's column names in order and its key columns. */
    public static class Table implements Serializable {
        private static final long serialVersionUID = 1L;

        final String name;
        final String[] columns;
        final String[] keyColumns;
        final boolean newerWins;

        /**
         * @param newerWins whether rows carry {@code kafka_partition} and {@code kafka_offset}
         *     and a stored row is replaced only by a row from a later position
         */
        public Table(String name, String[] columns, String[] keyColumns, boolean newerWins) {
            this.name = name;
            this.columns = columns.clone();
            this.keyColumns = keyColumns.clone();
            this.newerWins = newerWins;
        }

        int index(String column) {
            for (int i = 0; i < columns.length; i++) {
                if (columns[i].equals(column)) {
                    return i;
                }
            }
            throw new IllegalArgumentException("table " + name + " has no column " + column);
        }
    }

    /** Destination of refused rows: the rejects table and the topic of their messages. */
    public static class Refusals implements Serializable {
        private static final long serialVersionUID = 1L;

        final String topic;
        final Table rejects;

        public Refusals(String topic, Table rejects) {
            this.topic = topic;
            this.rejects = rejects;
        }
    }

    private final Settings settings;
    private final Table table;
    private final Refusals refusals;

    /**
     * @param refusals the rejects table and the topic of the messages
     */
    public MySqlUpsertSink(Settings settings, Table table, Refusals refusals) {
        java.util.Objects.requireNonNull(refusals, "refusals");
        this.settings = settings;
        this.table = table;
        this.refusals = refusals;
    }

    @Override
    public SinkWriter<String> createWriter(WriterInitContext context) throws IOException {
        return new MySqlUpsertWriter(settings, table, refusals, context.getProcessingTimeService(),
                context.getTaskInfo().getIndexOfThisSubtask());
    }
}
