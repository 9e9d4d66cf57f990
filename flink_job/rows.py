"""Row layouts that the Python stage hands to the JVM, derived from the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyflink.common import Row, Types

from userstream.contract import Contract, FieldSpec

# Dates, timestamps and decimals cross into the JVM as text and are cast in SQL. Text has no
# time zone and no binary scale, so the wall-clock time and the exact digits arrive unchanged.
_TEXT_KINDS = {"string", "enum", "date", "timestamp", "decimal"}
SOURCE_COLUMNS = ("kafka_partition", "kafka_offset", "schema_id")

MESSAGE_TYPE = Types.ROW_NAMED(
    ["message_key", "message_value", "topic", "kafka_partition", "kafka_offset", "kafka_timestamp"],
    [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.STRING(),
     Types.INT(), Types.LONG(), Types.LONG()],
)

REJECT_COLUMNS = (
    "topic", "kafka_partition", "kafka_offset", "message_key", "message_value", "schema_id",
    "user_id", "reason_codes", "reasons",
)
REJECT_TYPE = Types.ROW_NAMED(
    list(REJECT_COLUMNS),
    [Types.STRING(), Types.INT(), Types.LONG(), Types.PRIMITIVE_ARRAY(Types.BYTE()),
     Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.INT(), Types.INT(), Types.STRING(),
     Types.STRING()],
)


def _field_type(spec: FieldSpec):
    if spec.kind in _TEXT_KINDS:
        return Types.STRING()
    if spec.kind == "long":
        return Types.LONG()
    return Types.INT()


def profile_type(contract: Contract):
    """Return the named row type of a valid profile followed by its source position."""
    names = contract.field_names + list(SOURCE_COLUMNS)
    types = [_field_type(spec) for spec in contract.fields]
    types += [Types.INT(), Types.LONG(), Types.INT()]
    return Types.ROW_NAMED(names, types)


def to_text(value):
    """Render a date, timestamp or decimal as the text that SQL casts back."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


def profile_row(values: tuple, partition: int, offset: int, schema_id: int) -> Row:
    return Row(*(to_text(value) for value in values), partition, offset, schema_id)


def sql_select_list(contract: Contract) -> str:
    """Return the SELECT list that casts text columns back to the table's SQL types."""
    columns = []
    for spec in contract.fields:
        if spec.kind == "date":
            columns.append(f"CAST(`{spec.name}` AS DATE)")
        elif spec.kind == "timestamp":
            columns.append(f"CAST(`{spec.name}` AS TIMESTAMP(0))")
        elif spec.kind == "decimal":
            columns.append(f"CAST(`{spec.name}` AS DECIMAL({spec.precision}, {spec.scale}))")
        else:
            columns.append(f"`{spec.name}`")
    columns += [f"`{name}`" for name in SOURCE_COLUMNS]
    return ", ".join(columns)


def flink_sql_type(spec: FieldSpec) -> str:
    """Return the Flink SQL type of a contract field in the JDBC sink table."""
    if spec.kind == "date":
        return "DATE"
    if spec.kind == "timestamp":
        return "TIMESTAMP(0)"
    if spec.kind == "decimal":
        return f"DECIMAL({spec.precision}, {spec.scale})"
    if spec.kind in ("string", "enum"):
        return "STRING"
    return "BIGINT" if spec.kind == "long" else "INT"
