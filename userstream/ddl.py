"""Generate the MySQL DDL of the `users` and `user_rejects` tables from the contract."""

from __future__ import annotations

from userstream.contract import Contract, FieldSpec

TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
HEADER = (
    "-- Generated from contracts/user.avsc by `userstream contract ddl`; do not edit by hand.\n"
    "-- Runs on MariaDB 10.6+ and MySQL 8.0+.\n"
)


def column_type(spec: FieldSpec) -> str:
    """Return the MySQL column type of a contract field."""
    if spec.kind == "enum":
        return "ENUM(" + ", ".join(quote(symbol) for symbol in spec.symbols) + ")"
    if spec.kind == "string":
        return spec.sql_type or f"VARCHAR({spec.max_length})"
    if spec.kind == "date":
        return "DATE"
    if spec.kind == "timestamp":
        return "DATETIME"
    if spec.kind == "decimal":
        return f"DECIMAL({spec.precision},{spec.scale})"
    return "BIGINT" if spec.kind == "long" else "INT"


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def column_definition(spec: FieldSpec, default: str = "") -> str:
    """Return a contract field's column definition: name, type, nullability, default, comment.

    `default` is a DEFAULT clause with its leading space, or empty.
    """
    null = "NULL" if spec.nullable else "NOT NULL"
    # A comment stays on one line, so no semicolon can end a line of a migration inside it.
    doc = " ".join(spec.doc.split())
    comment = f" COMMENT {quote(doc[:1024])}" if doc else ""
    return f"`{spec.name}` {column_type(spec)} {null}{default}{comment}"


def users_table(contract: Contract) -> str:
    columns = ["  " + column_definition(spec) for spec in contract.fields]
    columns += [
        "  `kafka_partition` INT NOT NULL COMMENT 'partition of the message this row came from'",
        "  `kafka_offset` BIGINT NOT NULL COMMENT 'offset of the message this row came from'",
        "  `schema_id` INT NOT NULL COMMENT 'registry id of the schema the producer wrote with'",
        "  `stored_at` TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
        " ON UPDATE CURRENT_TIMESTAMP(3)",
        "  PRIMARY KEY (`user_id`)",
    ]
    return "CREATE TABLE IF NOT EXISTS `users` (\n" + ",\n".join(columns) + f"\n) {TABLE_OPTIONS};\n"


def rejects_table() -> str:
    columns = [
        "  `topic` VARCHAR(249) NOT NULL",
        "  `kafka_partition` INT NOT NULL",
        "  `kafka_offset` BIGINT NOT NULL",
        "  `message_key` MEDIUMBLOB NULL COMMENT 'raw key bytes'",
        "  `message_value` MEDIUMBLOB NULL COMMENT 'raw value bytes; personal data'",
        "  `schema_id` INT NULL",
        "  `user_id` INT NULL COMMENT 'set when the record could be decoded'",
        "  `reason_codes` TEXT NOT NULL COMMENT 'field:code pairs separated by semicolons'",
        "  `reasons` MEDIUMTEXT NOT NULL COMMENT 'JSON array of {field, code, message}'",
        "  `rejected_at` TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)",
        "  PRIMARY KEY (`topic`, `kafka_partition`, `kafka_offset`)",
        "  KEY `user_rejects_user_id` (`user_id`)",
    ]
    return (
        "CREATE TABLE IF NOT EXISTS `user_rejects` (\n" + ",\n".join(columns)
        + f"\n) {TABLE_OPTIONS};\n"
    )


def initial_migration(contract: Contract) -> str:
    """Return the text of the first migration: both tables, as generated from the contract."""
    return HEADER + "\n" + users_table(contract) + "\n" + rejects_table()
