"""Row layouts that the Python stage hands to the JVM, derived from the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyflink.common import Row, Types

from userstream.contract import Contract, FieldSpec

# Dates, timestamps and decimals cross into the JVM as text, and the server converts the text
# to the column's type. Text has no time zone and no binary scale, so the wall-clock time and
# the exact digits arrive unchanged.
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
REJECT_KEY = ("topic", "kafka_partition", "kafka_offset")
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
    names = profile_columns(contract)
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


def profile_columns(contract: Contract) -> list[str]:
    """Return the `users` columns in the order of a profile row."""
    return contract.field_names + list(SOURCE_COLUMNS)
