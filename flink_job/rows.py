"""Row layouts that the Python stage hands to the JVM, derived from the contract."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from pyflink.common import Row, Types

from userstream.contract import Contract

# Dates, timestamps and decimals cross into the JVM as text, and the server converts the text
# to the column's type. Text has no time zone and no binary scale, so the wall-clock time and
# the exact digits arrive unchanged.
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


# What the Python stage emits: a valid profile, or a rejected message. A profile crosses into
# the JVM as one JSON array in `profile` (its fields in contract order, then partition, offset
# and schema id), because one string converts far faster than 52 separate fields;
# io.userstream.flink.PackedRow unpacks it in the sink. A reject leaves `profile` empty and
# fills the rejects table's columns. One row type serves both, so no record is converted with
# another record type's field converters.
OUTPUT_TYPE = Types.ROW_NAMED(
    ["profile", *REJECT_COLUMNS],
    [Types.STRING(), Types.STRING(), Types.INT(), Types.LONG(), Types.PRIMITIVE_ARRAY(Types.BYTE()),
     Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.INT(), Types.INT(), Types.STRING(),
     Types.STRING()],
)
_NO_REJECT = (None,) * len(REJECT_COLUMNS)


def to_text(value):
    """Render a date, timestamp or decimal as the text that SQL casts back."""
    if isinstance(value, dt.datetime):
        if value.microsecond == 0 and value.tzinfo is None and value.year >= 1000:
            # The same text as strftime gives, in about a third of the time. Other values keep
            # strftime, which writes years before 1000 without leading zeros.
            return value.isoformat(" ")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


def _not_json(value):
    text = to_text(value)
    if text is value:
        raise TypeError(f"a {type(value).__name__} has no JSON form in a profile row")
    return text


# json.dumps with these options builds the same encoder for every call. The encoder calls
# _not_json only for the values it has no JSON form for (dates, timestamps, decimals), so
# strings, integers and nulls need no Python-level step.
_PROFILE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_not_json)


def profile_row(values: tuple, partition: int, offset: int, schema_id: int) -> Row:
    return Row(_PROFILE_JSON.encode([*values, partition, offset, schema_id]), *_NO_REJECT)


def reject_row(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
               schema_id: int | None, user_id: int | None, codes: str, reasons: str) -> Row:
    return Row(None, topic, partition, offset, key, value, schema_id, user_id, codes, reasons)


def profile_columns(contract: Contract) -> list[str]:
    """Return the `users` columns in the order of a profile row."""
    return contract.field_names + list(SOURCE_COLUMNS)
