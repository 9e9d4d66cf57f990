"""MariaDB from Debian's packages with its own data directory, plus migrations."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

import mysql.connector

from userstream import security
from userstream.config import Config
from userstream.stack import process

log = logging.getLogger(__name__)
NAME = "mysql"
# DELETE lets the job's sink remove a database_refused reject once a replay stores its row.
APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


def installed() -> bool:
    return shutil.which("mariadbd") is not None or Path("/usr/sbin/mariadbd").exists()


def _socket(config: Config) -> Path:
    return config.path("run", "mysqld.sock")


def _datadir(config: Config) -> Path:
    return config.path("mysql", "data")


def _server_argv(config: Config) -> list[str]:
    argv = [
        "/usr/sbin/mariadbd", "--no-defaults",
        f"--datadir={_datadir(config)}", f"--socket={_socket(config)}",
        f"--pid-file={config.path('run', 'mysqld.pid.internal')}",
        f"--port={config.mysql_port}", "--bind-address=127.0.0.1",
        "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
        "--innodb-buffer-pool-size=256M", "--skip-name-resolve",
        "--max-connections=200",
    ]
    if os.geteuid() == 0:
        argv.append("--user=root")
    return argv


def start(config: Config) -> None:
    """Initialise the data directory on first use, start the server and create the users."""
    if process.running_pid(config, NAME):
        log.info("mysql already running")
        return
    process.require_free_port("127.0.0.1", config.mysql_port, "USERSTREAM_MYSQL_PORT")
    first_start = not _datadir(config).joinpath("mysql").exists()
    if first_start:
        _initialise(config)
    process.start(config, NAME, _server_argv(config))
    process.wait_until(lambda: _socket(config).exists() and
                       process.port_open("127.0.0.1", config.mysql_port),
                       f"MariaDB on 127.0.0.1:{config.mysql_port}", 60,
                       process.log_file(config, NAME), config, NAME)
    create_database_and_users(config)


def _initialise(config: Config) -> None:
    _datadir(config).mkdir(parents=True, exist_ok=True)
    argv = ["mariadb-install-db", "--no-defaults", f"--datadir={_datadir(config)}",
            "--auth-root-authentication-method=socket", "--skip-test-db"]
    if os.geteuid() == 0:
        argv.append("--user=root")
    process.run(argv, "initialising the MariaDB data directory")
    log.info("initialised MariaDB data directory %s", _datadir(config))


def create_database_and_users(config: Config) -> None:
    # Root signs in through the socket only; the admin and application users use passwords.
    database = config.mysql_database
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 "
                  "COLLATE utf8mb4_unicode_ci;"]
    for host in ("127.0.0.1", "localhost"):
        statements += [
            f"CREATE USER IF NOT EXISTS '{config.mysql_admin_user}'@'{host}' "
            f"IDENTIFIED BY '{config.mysql_admin_password}';",
            f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{config.mysql_admin_user}'@'{host}';",
            f"CREATE USER IF NOT EXISTS '{config.mysql_user}'@'{host}' "
            f"IDENTIFIED BY '{config.mysql_password}';",
            f"GRANT {APP_PRIVILEGES} ON `{database}`.* TO '{config.mysql_user}'@'{host}';",
        ]
    process.run(["mariadb", f"--socket={_socket(config)}", "-uroot"],
                "creating the database and users", input_text="\n".join(statements))


def stop(config: Config) -> None:
    process.stop(config, NAME, timeout_s=60)


def connect(config: Config, admin: bool = False, **options):
    """Open a connection as the application user, or as the admin user with admin=True."""
    user = config.mysql_admin_user if admin else config.mysql_user
    password = config.mysql_admin_password if admin else config.mysql_password
    return mysql.connector.connect(
        host=config.mysql_host, port=config.mysql_port, user=user, password=password,
        database=config.mysql_database, charset="utf8mb4", collation="utf8mb4_unicode_ci",
        use_pure=True, connection_timeout=10, **security.mysql_ssl_options(config), **options,
    )


def check_access(config: Config, admin: bool = False) -> None:
    """Connect once and raise StackError naming the settings to fix if that fails."""
    prefix = "USERSTREAM_MYSQL_ADMIN_" if admin else "USERSTREAM_MYSQL_"
    user = config.mysql_admin_user if admin else config.mysql_user
    try:
        connect(config, admin=admin).close()
    except mysql.connector.Error as error:
        raise process.StackError(
            f"cannot connect to MySQL at {config.mysql_host}:{config.mysql_port} as {user} "
            f"(database {config.mysql_database}): {error.msg}. Check {prefix}USER, "
            f"{prefix}PASSWORD, USERSTREAM_MYSQL_HOST and USERSTREAM_MYSQL_PORT."
            f"{security.mysql_error_hint(config, error)}"
        ) from error


def migration_files(config: Config) -> list[Path]:
    return sorted(Path(config.migrations).glob("V*__*.sql"))


def applied_migrations(config: Config) -> set[str]:
    """Return the versions recorded in `schema_migrations` (none before the first migrate)."""
    connection = connect(config, admin=True)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                       "DATABASE() AND TABLE_NAME = 'schema_migrations'")
        if cursor.fetchone()[0] == 0:
            return set()
        cursor.execute("SELECT `version` FROM `schema_migrations`")
        return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def pending_migrations(config: Config) -> list[Path]:
    applied = applied_migrations(config)
    return [path for path in migration_files(config) if path.stem not in applied]


def table_columns(config: Config, table: str = "users") -> list[tuple[str, str, bool]]:
    """Return (name, column type, nullable) of each column of `table`, in table order."""
    connection = connect(config, admin=True)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM "
                       "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                       "TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
        return [(name, str(column_type), nullable == "YES")
                for name, column_type, nullable in cursor.fetchall()]
    finally:
        connection.close()


def check_tables(config: Config) -> None:
    """Raise StackError unless `users` and `user_rejects` exist and `users` fits the contract."""
    from userstream import evolution
    from userstream.contract import load_contract

    where = (f"database {config.mysql_database} at {config.mysql_host}:{config.mysql_port}")
    columns = {table: table_columns(config, table) for table in ("users", "user_rejects")}
    for table, found in columns.items():
        if not found:
            raise process.StackError(
                f"table {table} is missing in {where}, although schema_migrations records the "
                "migrations as applied; restore it from a backup, or delete its rows from "
                "schema_migrations so that `userstream migrate` creates it again")
    users = [evolution.Column(*column) for column in columns["users"]]
    changes = evolution.plan_changes(load_contract(config.contract), users)
    if changes:
        raise process.StackError(
            f"table users in {where} does not match the contract "
            f"({'; '.join(f'{change.column}: {change.reason}' for change in changes)}); run "
            "`userstream contract migrate` and `userstream contract register` (see "
            "docs/evolution.md)")


def migrate(config: Config) -> list[str]:
    """Apply the migrations not yet recorded in `schema_migrations`, in version order."""
    check_access(config, admin=True)
    connection = connect(config, admin=True, autocommit=True)
    applied_now = []
    try:
        cursor = connection.cursor()
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS `schema_migrations` (`version` VARCHAR(100) PRIMARY KEY,"
            " `checksum` CHAR(64) NOT NULL, `applied_at` TIMESTAMP NOT NULL DEFAULT "
            "CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
        cursor.execute("SELECT `version`, `checksum` FROM `schema_migrations`")
        applied = dict(cursor.fetchall())
        for path in migration_files(config):
            text = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if path.stem in applied:
                if applied[path.stem] != checksum:
                    log.warning("migration %s changed after it was applied", path.name)
                continue
            for statement in _statements(text):
                try:
                    cursor.execute(statement)
                except mysql.connector.Error as error:
                    raise process.StackError(
                        f"migration {path.name} failed: {error.msg} (error {error.errno}); "
                        "fix the file (it was not recorded as applied) and run "
                        "`userstream migrate` again") from error
            cursor.execute("INSERT INTO `schema_migrations` (`version`, `checksum`) "
                           "VALUES (%s, %s)", (path.stem, checksum))
            applied_now.append(path.stem)
            log.info("applied migration %s", path.name)
    finally:
        connection.close()
    return applied_now


def _statements(text: str) -> list[str]:
    # A statement ends with a semicolon at the end of a line; comments may contain semicolons.
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    parts = re.split(r";[ \t]*$", "\n".join(lines), flags=re.MULTILINE)
    return [part.strip() for part in parts if part.strip()]
