package io.userstream.jdbc;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.flink.connector.jdbc.core.database.dialect.AbstractDialect;
import org.apache.flink.connector.jdbc.core.database.dialect.JdbcDialectConverter;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;

/**
 * SQL dialect of MySQL and MariaDB for Flink's JDBC table connector: backtick-quoted identifiers,
 * {@code LIMIT}, and upserts through {@code INSERT ... ON DUPLICATE KEY UPDATE}.
 *
 * <p>It exists because the upstream flink-connector-jdbc-mysql 4.0.0-2.0 module is not available
 * to this build. Only the column types in {@link #supportedTypes()} are accepted, and
 * {@link #validate(RowType)} rejects every other type when the table is planned.
 */
public final class MySqlDialect extends AbstractDialect {

    private static final long serialVersionUID = 1L;

    private static final String DIALECT_NAME = "MySQL";

    /** Driver class of MySQL Connector/J 8.0 and later. */
    private static final String MYSQL_DRIVER = "com.mysql.cj.jdbc.Driver";

    /** DECIMAL allows at most 65 digits in MySQL and MariaDB. */
    private static final int MAX_DECIMAL_PRECISION = 65;

    /** DATETIME stores from 0 to 6 fractional second digits in MySQL and MariaDB. */
    private static final int MAX_TIMESTAMP_PRECISION = 6;

    private static final Set<LogicalTypeRoot> SUPPORTED_TYPES =
            EnumSet.of(
                    LogicalTypeRoot.BOOLEAN,
                    LogicalTypeRoot.TINYINT,
                    LogicalTypeRoot.SMALLINT,
                    LogicalTypeRoot.INTEGER,
                    LogicalTypeRoot.BIGINT,
                    LogicalTypeRoot.FLOAT,
                    LogicalTypeRoot.DOUBLE,
                    LogicalTypeRoot.DECIMAL,
                    LogicalTypeRoot.CHAR,
                    LogicalTypeRoot.VARCHAR,
                    LogicalTypeRoot.VARBINARY,
                    LogicalTypeRoot.DATE,
                    LogicalTypeRoot.TIMESTAMP_WITHOUT_TIME_ZONE);

    private static final String SUPPORTED_TYPES_TEXT =
            "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p, s), CHAR(n), "
                    + "VARCHAR(n) or STRING, VARBINARY(n) or BYTES, DATE, "
                    + "TIMESTAMP(0) to TIMESTAMP(6) without time zone";

    @Override
    public String dialectName() {
        return DIALECT_NAME;
    }

    /**
     * Returns the MySQL Connector/J driver class, which the connector loads when the table sets
     * no {@code 'driver'} option.
     *
     * <p>NOTE: the connector calls this method without the URL, so a table with a {@code
     * jdbc:mariadb:} URL must set {@code 'driver' = 'org.mariadb.jdbc.Driver'} itself.
     */
    @Override
    public Optional<String> defaultDriverName() {
        return Optional.of(MYSQL_DRIVER);
    }

    @Override
    public JdbcDialectConverter getRowConverter(RowType rowType) {
        return new MySqlDialectConverter(rowType);
    }

    @Override
    public String getLimitClause(long limit) {
        return "LIMIT " + limit;
    }

    /**
     * Quotes one identifier with backticks, doubling any backtick inside it.
     *
     * <p>The connector passes {@code table-name} here unsplit, so {@code db.users} becomes one
     * identifier named "db.users". Put the database in the JDBC URL instead.
     */
    @Override
    public String quoteIdentifier(String identifier) {
        return "`" + identifier.replace("`", "``") + "`";
    }

    /**
     * Builds {@code INSERT INTO t (...) VALUES (...) ON DUPLICATE KEY UPDATE c = VALUES(c), ...}.
     *
     * <p>The update list contains the non-key columns, because a conflict on the primary key means
     * the key columns already match the existing row. When every column is part of the key, the
     * list sets the key columns to their own values, which keeps the statement valid and leaves
     * the row unchanged.
     *
     * <p>NOTE: MySQL 8.0.20 deprecated {@code VALUES(c)} in this clause in favour of a row alias
     * and logs warning 1287 for it, but MariaDB 10.11 rejects the row alias. If a MySQL release
     * removes {@code VALUES(c)}, MySQL servers need the alias form instead.
     */
    @Override
    public Optional<String> getUpsertStatement(
            String tableName, String[] fieldNames, String[] uniqueKeyFields) {
        List<String> keyFields = Arrays.asList(uniqueKeyFields);
        List<String> updatedFields =
                Arrays.stream(fieldNames)
                        .filter(field -> !keyFields.contains(field))
                        .collect(Collectors.toList());
        if (updatedFields.isEmpty()) {
            updatedFields = keyFields;
        }

        String updateClause =
                updatedFields.stream()
                        .map(this::quoteIdentifier)
                        .map(column -> column + " = VALUES(" + column + ")")
                        .collect(Collectors.joining(", "));
        return Optional.of(
                getInsertIntoStatement(tableName, fieldNames)
                        + " ON DUPLICATE KEY UPDATE "
                        + updateClause);
    }

    /**
     * Checks every column of the table against the types that {@link MySqlDialectConverter} can
     * convert.
     *
     * <p>This replaces {@link AbstractDialect#validate(RowType)} so that the message names the
     * column and lists the supported types, and so that bounded VARBINARY(n) is accepted as well
     * as BYTES.
     */
    @Override
    public void validate(RowType rowType) throws ValidationException {
        for (RowType.RowField field : rowType.getFields()) {
            LogicalType type = field.getType();
            if (!SUPPORTED_TYPES.contains(type.getTypeRoot())) {
                throw new ValidationException(unsupportedTypeMessage(field.getName(), type));
            }
            // Flink 2.0 limits DECIMAL to 38 digits, so this check fails only if a later Flink
            // release raises that limit above 65.
            if (type instanceof DecimalType decimalType) {
                if (decimalType.getPrecision() > MAX_DECIMAL_PRECISION) {
                    throw new ValidationException(
                            String.format(
                                    "Column '%s' has type %s, but MySQL DECIMAL allows at most %d"
                                            + " digits. Lower the precision in the Flink table"
                                            + " definition.",
                                    field.getName(), type, MAX_DECIMAL_PRECISION));
                }
            }
            if (type instanceof TimestampType timestampType) {
                if (timestampType.getPrecision() > MAX_TIMESTAMP_PRECISION) {
                    throw new ValidationException(
                            String.format(
                                    "Column '%s' has type %s, but MySQL DATETIME stores at most %d"
                                            + " fractional second digits. Use TIMESTAMP(0) to"
                                            + " TIMESTAMP(%d) in the Flink table definition.",
                                    field.getName(),
                                    type,
                                    MAX_TIMESTAMP_PRECISION,
                                    MAX_TIMESTAMP_PRECISION));
                }
            }
        }
    }

    @Override
    public Optional<Range> decimalPrecisionRange() {
        return Optional.of(Range.of(1, MAX_DECIMAL_PRECISION));
    }

    @Override
    public Optional<Range> timestampPrecisionRange() {
        return Optional.of(Range.of(0, MAX_TIMESTAMP_PRECISION));
    }

    @Override
    public Set<LogicalTypeRoot> supportedTypes() {
        return EnumSet.copyOf(SUPPORTED_TYPES);
    }

    static String unsupportedTypeMessage(String columnName, LogicalType type) {
        return String.format(
                "Column '%s' has type %s, which the project's MySQL JDBC dialect does not support."
                        + " Supported types: %s. Change the column type in the Flink table"
                        + " definition.",
                columnName, type, SUPPORTED_TYPES_TEXT);
    }
}
