"""The layouts the Python stage reads from and hands to the JVM (flink_job.rows)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

from flink_job import rows


def test_batch_read_back_with_nulls():
    sent = [
        ("users", 0, 7, b"\x00key", b"\x00\x00\x00\x00\x01body"),
        ("users", 1, 2**40, None, b"value"),
        ("users", 0, 8, b"k", None),
        ("users", 1, 2**40 + 1, b"", b""),
        ("perfiles-\u00fc", 5, 0, None, None),
    ]
    batch = b"".join(rows.envelope(*message) for message in sent)
    assert list(rows.messages(batch)) == sent


def test_empty_batch_no_messages():
    assert list(rows.messages(b"")) == []


def test_profile_line_single_json_line():
    values = (42, "line one\nline two", "\u2028 and \u00e9", dt.date(1990, 1, 31),
              dt.datetime(2024, 5, 6, 7, 8, 9), Decimal("12.50"), None)
    line = rows.profile_line(values, 1, 99, 3)
    assert "\n" not in line
    assert json.loads(line) == [42, "line one\nline two", "\u2028 and \u00e9", "1990-01-31",
                                "2024-05-06 07:08:09", "12.50", None, 1, 99, 3]


def test_reject_line_bytes_in_base64():
    key, value = b"\xff\x00\n", b"\x00\x00\x00\x00\x07\n\r"
    reasons = json.dumps([{"field": "email", "code": "bad_email", "message": "a\nb"}])
    line = rows.reject_line("users", 1, 5, key, value, 7, 42, "email:bad_email", reasons)
    assert line.startswith(rows.REJECT_MARK + "[")
    assert "\n" not in line
    columns = dict(zip(rows.REJECT_COLUMNS, json.loads(line[1:])))
    assert base64.b64decode(columns.pop("message_key")) == key
    assert base64.b64decode(columns.pop("message_value")) == value
    assert columns == {"topic": "users", "kafka_partition": 1, "kafka_offset": 5,
                       "schema_id": 7, "user_id": 42, "reason_codes": "email:bad_email",
                       "reasons": reasons}


def test_reject_line_tombstone_nulls():
    line = rows.reject_line("users", 0, 1, None, None, None, None, "message:tombstone", "[]")
    columns = dict(zip(rows.REJECT_COLUMNS, json.loads(line[1:])))
    assert columns["message_key"] is None
    assert columns["message_value"] is None
