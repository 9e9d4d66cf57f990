package io.userstream.jdbc;

import java.io.Serializable;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

import org.apache.flink.connector.jdbc.core.database.dialect.JdbcDialectConverter;
import org.apache.flink.connector.jdbc.statement.FieldNamedPreparedStatement;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;

/**
 * Converts rows between Flink's internal {@link RowData} and the JDBC values of MySQL and MariaDB
 * drivers, for the column types that {@link MySqlDialect} accepts.
 *
 * <p>It is part of the project's own MySQL dialect, which exists because the upstream
 * flink-connector-jdbc-mysql 4.0.0-2.0 module is not available to this build.
 *
 * <p>DATE and TIMESTAMP values keep their wall-clock value whatever the JVM's time zone or the
 * driver's connectionTimeZone setting is, as checked with MySQL Connector/J 9.5.0 and MariaDB
 * 10.11. DATE is bound and read as {@link LocalDate}, and TIMESTAMP is read as {@link
 * LocalDateTime}, which that driver returns without a time-zone conversion. TIMESTAMP is bound as
 * the text {@code yyyy-MM-dd HH:mm:ss[.ffffff]}, which the server converts to DATETIME. A {@link
 * LocalDateTime} or {@link java.sql.Timestamp} parameter would lose its fractional seconds on
 * MariaDB 10.x, because Connector/J 9.5.0 sends them only to servers that report version 5.6.4 or
 * later, and MariaDB 10.x reports "5.5.5-10.x".
 */
public final class MySqlDialectConverter implements JdbcDialectConverter {

    private static final long serialVersionUID = 1L;

    private static final DateTimeFormatter DATETIME_SECONDS =
            DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss");

    /** Reads 1-based column {@code column} of the current result set row as Flink data. */
    @FunctionalInterface
    private interface FieldReader extends Serializable {
        Object read(ResultSet resultSet, int column) throws SQLException;
    }

    /** Binds field {@code field} (0-based) of {@code row}, which is not null, to the statement. */
    @FunctionalInterface
    private interface FieldWriter extends Serializable {
        void write(RowData row, int field, FieldNamedPreparedStatement statement)
                throws SQLException;
    }

    private final FieldReader[] readers;
    private final FieldWriter[] writers;
    private final int[] sqlTypes;

    /**
     * Creates the per-column converters for {@code rowType}.
     *
     * @throws UnsupportedOperationException if a column has a type outside {@link
     *     MySqlDialect#supportedTypes()}. {@link MySqlDialect#validate(RowType)} rejects such a
     *     table earlier, when it is planned.
     */
    public MySqlDialectConverter(RowType rowType) {
        List<RowType.RowField> fields = rowType.getFields();
        readers = new FieldReader[fields.size()];
        writers = new FieldWriter[fields.size()];
        sqlTypes = new int[fields.size()];
        for (int i = 0; i < fields.size(); i++) {
            String name = fields.get(i).getName();
            LogicalType type = fields.get(i).getType();
            readers[i] = createReader(name, type);
            writers[i] = createWriter(name, type);
            sqlTypes[i] = sqlType(name, type);
        }
    }

    @Override
    public RowData toInternal(ResultSet resultSet) throws SQLException {
        GenericRowData row = new GenericRowData(readers.length);
        for (int i = 0; i < readers.length; i++) {
            row.setField(i, readers[i].read(resultSet, i + 1));
        }
        return row;
    }

    @Override
    public FieldNamedPreparedStatement toExternal(
            RowData row, FieldNamedPreparedStatement statement) throws SQLException {
        for (int i = 0; i < writers.length; i++) {
            if (row.isNullAt(i)) {
                statement.setNull(i, sqlTypes[i]);
            } else {
                writers[i].write(row, i, statement);
            }
        }
        return statement;
    }

    private static FieldReader createReader(String name, LogicalType type) {
        return switch (type.getTypeRoot()) {
            case BOOLEAN -> (resultSet, column) -> {
                boolean value = resultSet.getBoolean(column);
                return resultSet.wasNull() ? null : value;
            };
            case TINYINT -> (resultSet, column) -> {
                byte value = resultSet.getByte(column);
                return resultSet.wasNull() ? null : value;
            };
            case SMALLINT -> (resultSet, column) -> {
                short value = resultSet.getShort(column);
                return resultSet.wasNull() ? null : value;
            };
            case INTEGER -> (resultSet, column) -> {
                int value = resultSet.getInt(column);
                return resultSet.wasNull() ? null : value;
            };
            case BIGINT -> (resultSet, column) -> {
                long value = resultSet.getLong(column);
                return resultSet.wasNull() ? null : value;
            };
            case FLOAT -> (resultSet, column) -> {
                float value = resultSet.getFloat(column);
                return resultSet.wasNull() ? null : value;
            };
            case DOUBLE -> (resultSet, column) -> {
                double value = resultSet.getDouble(column);
                return resultSet.wasNull() ? null : value;
            };
            case DECIMAL -> createDecimalReader(name, (DecimalType) type);
            case CHAR, VARCHAR -> (resultSet, column) -> {
                String value = resultSet.getString(column);
                return value == null ? null : StringData.fromString(value);
            };
            case VARBINARY -> ResultSet::getBytes;
            case DATE -> (resultSet, column) -> {
                LocalDate value = resultSet.getObject(column, LocalDate.class);
                return value == null ? null : (int) value.toEpochDay();
            };
            case TIMESTAMP_WITHOUT_TIME_ZONE -> createTimestampReader((TimestampType) type);
            default -> throw new UnsupportedOperationException(
                    MySqlDialect.unsupportedTypeMessage(name, type));
        };
    }

    /**
     * Reads a DATETIME column as {@link LocalDateTime}.
     *
     * <p>NOTE: MariaDB Connector/J 3.5.3 shifts a value that does not exist in the JVM's time zone
     * (2024-03-10 02:30 in America/Los_Angeles reads as 03:30), in getObject and getString alike,
     * and no URL option changes that. MySQL Connector/J 9.5.0 returns it unchanged.
     */
    private static FieldReader createTimestampReader(TimestampType type) {
        int precision = type.getPrecision();
        return (resultSet, column) -> {
            LocalDateTime value = resultSet.getObject(column, LocalDateTime.class);
            if (value == null) {
                return null;
            }
            return TimestampData.fromLocalDateTime(truncate(value, precision));
        };
    }

    /**
     * Reads a DECIMAL column, rounding it half-up to the Flink scale with {@link
     * DecimalData#fromBigDecimal}.
     *
     * <p>The reader raises {@link SQLException} if the value has more integer digits than the
     * Flink type allows, because {@link DecimalData#fromBigDecimal} would return null for it.
     */
    private static FieldReader createDecimalReader(String name, DecimalType type) {
        int precision = type.getPrecision();
        int scale = type.getScale();
        return (resultSet, column) -> {
            BigDecimal value = resultSet.getBigDecimal(column);
            if (value == null) {
                return null;
            }
            DecimalData decimal = DecimalData.fromBigDecimal(value, precision, scale);
            if (decimal == null) {
                throw new SQLException(
                        String.format(
                                "Value %s of column '%s' does not fit the Flink type %s."
                                        + " Declare a larger DECIMAL precision in the Flink table.",
                                value.toPlainString(), name, type));
            }
            return decimal;
        };
    }

    private static FieldWriter createWriter(String name, LogicalType type) {
        return switch (type.getTypeRoot()) {
            case BOOLEAN -> (row, field, statement) ->
                    statement.setBoolean(field, row.getBoolean(field));
            case TINYINT -> (row, field, statement) -> statement.setByte(field, row.getByte(field));
            case SMALLINT -> (row, field, statement) ->
                    statement.setShort(field, row.getShort(field));
            case INTEGER -> (row, field, statement) -> statement.setInt(field, row.getInt(field));
            case BIGINT -> (row, field, statement) -> statement.setLong(field, row.getLong(field));
            case FLOAT -> (row, field, statement) -> statement.setFloat(field, row.getFloat(field));
            case DOUBLE -> (row, field, statement) ->
                    statement.setDouble(field, row.getDouble(field));
            case DECIMAL -> createDecimalWriter((DecimalType) type);
            case CHAR, VARCHAR -> (row, field, statement) ->
                    statement.setString(field, row.getString(field).toString());
            case VARBINARY -> (row, field, statement) ->
                    statement.setBytes(field, row.getBinary(field));
            // Flink stores a DATE as the number of days since 1970-01-01.
            case DATE -> (row, field, statement) ->
                    statement.setObject(field, LocalDate.ofEpochDay(row.getInt(field)));
            case TIMESTAMP_WITHOUT_TIME_ZONE -> createTimestampWriter((TimestampType) type);
            default -> throw new UnsupportedOperationException(
                    MySqlDialect.unsupportedTypeMessage(name, type));
        };
    }

    private static FieldWriter createDecimalWriter(DecimalType type) {
        int precision = type.getPrecision();
        int scale = type.getScale();
        return (row, field, statement) ->
                statement.setBigDecimal(
                        field, row.getDecimal(field, precision, scale).toBigDecimal());
    }

    private static FieldWriter createTimestampWriter(TimestampType type) {
        int precision = type.getPrecision();
        return (row, field, statement) -> {
            LocalDateTime value = row.getTimestamp(field, precision).toLocalDateTime();
            statement.setString(field, toDatetimeText(value, precision));
        };
    }

    /**
     * Formats {@code value} as {@code yyyy-MM-dd HH:mm:ss} followed by {@code precision}
     * fractional-second digits. Digits beyond {@code precision} are dropped, as a Flink CAST to
     * TIMESTAMP(precision) does, because MySQL would round them (unless sql_mode has
     * TIME_TRUNCATE_FRACTIONAL) and could carry into the next second.
     */
    private static String toDatetimeText(LocalDateTime value, int precision) {
        String seconds = value.format(DATETIME_SECONDS);
        if (precision == 0) {
            return seconds;
        }
        String nanos = String.format("%09d", value.getNano());
        return seconds + "." + nanos.substring(0, precision);
    }

    /** Drops the fractional-second digits beyond {@code precision}, as a Flink CAST does. */
    private static LocalDateTime truncate(LocalDateTime value, int precision) {
        int unit = 1;
        for (int digit = precision; digit < 9; digit++) {
            unit *= 10;
        }
        return value.withNano(value.getNano() / unit * unit);
    }

    /** Returns the {@link Types} constant that {@code setNull} sends for a null in this column. */
    private static int sqlType(String name, LogicalType type) {
        return switch (type.getTypeRoot()) {
            case BOOLEAN -> Types.BOOLEAN;
            case TINYINT -> Types.TINYINT;
            case SMALLINT -> Types.SMALLINT;
            case INTEGER -> Types.INTEGER;
            case BIGINT -> Types.BIGINT;
            case FLOAT -> Types.REAL;
            case DOUBLE -> Types.DOUBLE;
            case DECIMAL -> Types.DECIMAL;
            case CHAR -> Types.CHAR;
            case VARCHAR -> Types.VARCHAR;
            case VARBINARY -> Types.VARBINARY;
            case DATE -> Types.DATE;
            case TIMESTAMP_WITHOUT_TIME_ZONE -> Types.TIMESTAMP;
            default -> throw new UnsupportedOperationException(
                    MySqlDialect.unsupportedTypeMessage(name, type));
        };
    }
}
