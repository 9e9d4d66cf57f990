"""Row layouts that the Python stage hands to the JVM, derived from the contract."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from decimal import Decimal

from pyflink.common import Types

from userstream.contract import Contract

# Dates, timestamps and decimals cross into the JVM as text, and the server converts the text
# to the column's type. Text has no time zone and no binary scale, so the wall-clock time and
# the exact digits arrive unchanged.
SOURCE_COLUMNS = ("kafka_partition", "kafka_offset", "schema_id")

# The source's element type: one byte array per Kafka record with its position, raw key and
# raw value (io.userstream.flink.KafkaMessageDeserializer), joined into batches of consecutive
# records (io.userstream.flink.MessageBatcher). `messages` reads a batch.
MESSAGE_TYPE = Types.PRIMITIVE_ARRAY(Types.BYTE())

REJECT_COLUMNS = (
    "topic", "kafka_partition", "kafka_offset", "message_key", "message_value", "schema_id",
    "user_id", "reason_codes", "reasons",
)
REJECT_KEY = ("topic", "kafka_partition", "kafka_offset")

# What the Python stage emits for a batch: one line per message, in the batch's order. A valid
# profile is a JSON array (its fields in contract order, then partition, offset and schema id);
# a rejected message is REJECT_MARK and a JSON array of REJECT_COLUMNS, with key and value in
# base64. JSON escapes every control character inside strings, so a line contains no newline.
# io.userstream.flink.PackedRow reads the lines in the sink. One string per batch converts far
# faster than a row of 52 fields per message.
OUTPUT_TYPE = Types.STRING()
REJECT_MARK = "R"

_HEAD = struct.Struct(">iqh")
_LENGTH = struct.Struct(">i")


def messages(batch: bytes):
    """Yield (topic, partition, offset, key, value) for each message of a batch."""
    topics = {}
    position = 0
    size = len(batch)
    head = _HEAD.unpack_from
    while position < size:
        partition, offset, topic_length = head(batch, position)
        position += 14
        raw_topic = batch[position:position + topic_length]
        topic = topics.get(raw_topic)
        if topic is None:
            topic = topics[raw_topic] = raw_topic.decode()
        position += topic_length
        key, position = _field(batch, position)
        value, position = _field(batch, position)
        yield topic, partition, offset, key, value


def _field(batch: bytes, position: int) -> tuple[bytes | None, int]:
    """Return the length-prefixed bytes at `position` (None for length -1) and the next position."""
    (size,) = _LENGTH.unpack_from(batch, position)
    position += 4
    if size < 0:
        return None, position
    return batch[position:position + size], position + size


def envelope(topic: str, partition: int, offset: int, key: bytes | None,
             value: bytes | None) -> bytes:
    """Return one message as KafkaMessageDeserializer lays it out; batches are these joined."""
    raw_topic = topic.encode()
    parts = [_HEAD.pack(partition, offset, len(raw_topic)), raw_topic]
    for part in (key, value):
        parts.append(_LENGTH.pack(-1 if part is None else len(part)))
        parts.append(part or b"")
    return b"".join(parts)


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


def profile_line(values: tuple, partition: int, offset: int, schema_id: int) -> str:
    return _PROFILE_JSON.encode([*values, partition, offset, schema_id])


def reject_line(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                schema_id: int | None, user_id: int | None, codes: str, reasons: str) -> str:
    return REJECT_MARK + _PROFILE_JSON.encode([
        topic, partition, offset, _base64(key), _base64(value), schema_id, user_id, codes,
        reasons,
    ])


def _base64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def profile_columns(contract: Contract) -> list[str]:
    """Return the `users` columns in the order of a profile row."""
    return contract.field_names + list(SOURCE_COLUMNS)
