package io.userstream.jdbc;

import org.apache.flink.connector.jdbc.core.database.JdbcFactory;
import org.apache.flink.connector.jdbc.core.database.catalog.JdbcCatalog;
import org.apache.flink.connector.jdbc.core.database.dialect.JdbcDialect;

/**
 * Service-loader entry point that gives Flink's JDBC connector a dialect for {@code jdbc:mysql:}
 * and {@code jdbc:mariadb:} URLs.
 *
 * <p>The upstream flink-connector-jdbc-mysql 4.0.0-2.0 module is not available to this build, so
 * the project registers this factory in {@code META-INF/services} instead. Drop this module if the
 * upstream one is ever added to the job, because the connector fails with "Multiple jdbc factories
 * can handle url" when two factories accept the same URL.
 */
public final class MySqlDialectFactory implements JdbcFactory {

    private static final String MYSQL_URL_PREFIX = "jdbc:mysql:";
    private static final String MARIADB_URL_PREFIX = "jdbc:mariadb:";

    @Override
    public boolean acceptsURL(String url) {
        return url != null
                && (url.startsWith(MYSQL_URL_PREFIX) || url.startsWith(MARIADB_URL_PREFIX));
    }

    @Override
    public JdbcDialect createDialect() {
        return new MySqlDialect();
    }

    /** Rejects every call, because this module provides only the table connector's dialect. */
    @Override
    public JdbcCatalog createCatalog(
            ClassLoader classLoader,
            String catalogName,
            String defaultDatabase,
            String username,
            String password,
            String baseUrl) {
        throw new UnsupportedOperationException(
                String.format(
                        "JDBC catalogs are not supported by the project's MySQL dialect (catalog"
                                + " '%s', base URL %s). Declare each table with CREATE TABLE ..."
                                + " WITH ('connector' = 'jdbc') instead.",
                        catalogName, baseUrl));
    }
}
