"""Build deliberately broken user-profile messages, each kind named so that tests can expect it."""

from __future__ import annotations

import copy
import datetime as dt
import io
import random
from decimal import Decimal
from functools import lru_cache

import fastavro

from userstream.contract import default_contract

# Kinds whose record Avro accepts but the contract forbids.
CONTRACT_VIOLATIONS = (
    "too_long",
    "out_of_range",
    "bad_email",
    "dates_out_of_order",
    "decimal_overflow",
)
# Kinds whose Kafka message value is not a readable record at all.
MALFORMED = (
    "not_wire_format",
    "unknown_schema_id",
    "truncated",
    "empty",
    "tombstone",
)
ALL_KINDS = CONTRACT_VIOLATIONS + MALFORMED

TOO_LONG_PHONE = "001-555-010-0001x12345"  # 22 characters, and phone_number allows 20
OUT_OF_RANGE_CREDIT_SCORE = 900  # the contract allows 300 to 850
BAD_EMAIL = "not-an-email"
# 11 digits, one more than DECIMAL(10, 2) allows, whose maximum is 99999999.99.
OVERFLOW_BALANCE = Decimal("100000000.00")
# Registries number schemas from 1 upwards, so no registry in practice has this id.
UNKNOWN_SCHEMA_ID = 2_000_000_000
NOT_WIRE_FORMAT = b"not avro"

MAGIC_BYTE = 0
HEADER_SIZE = 5  # magic byte + 4-byte big-endian schema id (Confluent wire format)


def _unknown_kind(kind: str, valid: tuple[str, ...]) -> ValueError:
    return ValueError(f"unknown invalid-message kind {kind!r}, expected one of: {', '.join(valid)}")


def break_profile(kind: str, profile: dict) -> dict:
    """Return a copy of profile that breaks one contract rule of the named kind.

    dates_out_of_order sets date_of_birth to the day after registration_date. For a user
    who registered today, that day is tomorrow.
    """
    if kind not in CONTRACT_VIOLATIONS:
        raise _unknown_kind(kind, CONTRACT_VIOLATIONS)
    broken = dict(profile)
    if kind == "too_long":
        broken["phone_number"] = TOO_LONG_PHONE
    elif kind == "out_of_range":
        broken["credit_score"] = OUT_OF_RANGE_CREDIT_SCORE
    elif kind == "bad_email":
        broken["email"] = BAD_EMAIL
    elif kind == "dates_out_of_order":
        broken["date_of_birth"] = profile["registration_date"] + dt.timedelta(days=1)
    else:
        broken["account_balance"] = OVERFLOW_BALANCE
    return broken


def break_message(kind: str, encoded: bytes) -> bytes | None:
    """Return a malformed message value of the named kind, made from a valid framed message.

    encoded must be a Confluent-framed Avro message: magic byte 0, a 4-byte schema id and
    a non-empty body. A tombstone is None, the value Kafka uses for a deleted key.
    """
    if kind not in MALFORMED:
        raise _unknown_kind(kind, MALFORMED)
    _check_framed(encoded)
    if kind == "not_wire_format":
        return NOT_WIRE_FORMAT
    if kind == "unknown_schema_id":
        return bytes([MAGIC_BYTE]) + UNKNOWN_SCHEMA_ID.to_bytes(4, "big") + encoded[HEADER_SIZE:]
    if kind == "truncated":
        # Every byte of a schemaless Avro record is needed, so any shorter body fails to decode.
        return encoded[:HEADER_SIZE + (len(encoded) - HEADER_SIZE) // 2]
    if kind == "empty":
        return b""
    return None


def _check_framed(encoded: bytes) -> None:
    if not isinstance(encoded, (bytes, bytearray)):
        raise ValueError(f"encoded must be bytes, got {type(encoded).__name__}")
    if len(encoded) <= HEADER_SIZE or encoded[0] != MAGIC_BYTE:
        raise ValueError(
            f"encoded ({len(encoded)} bytes) is not a Confluent-framed Avro message: "
            f"expected magic byte {MAGIC_BYTE}, a 4-byte schema id and a body"
        )


def choose_kind(rng: random.Random) -> str:
    """Draw one of ALL_KINDS uniformly with rng, so a seeded rng gives a repeatable sequence."""
    return ALL_KINDS[rng.randrange(len(ALL_KINDS))]


def encode_violation(kind: str, profile: dict, schema_id: int) -> bytes:
    """Break profile as break_profile does and return it as a Confluent-framed message.

    fastavro 1.13 refuses to write a decimal with more digits than the schema's precision,
    so a serializer built on the contract cannot send decimal_overflow. The Avro binary
    encoding of a bytes decimal does not contain the precision, so this function writes
    that kind with the precision widened by one. The bytes are the same as a writer
    without the check would produce, and they decode with the contract under schema_id.
    """
    if not 0 <= schema_id < 2**32:
        raise ValueError(f"schema_id must fit in 4 unsigned bytes, got {schema_id}")
    broken = break_profile(kind, profile)
    body = io.BytesIO()
    fastavro.schemaless_writer(body, _writer_schema(kind == "decimal_overflow"), broken)
    return bytes([MAGIC_BYTE]) + schema_id.to_bytes(4, "big") + body.getvalue()


@lru_cache(maxsize=2)
def _writer_schema(widen_balance: bool) -> dict:
    schema = copy.deepcopy(default_contract().schema)
    if widen_balance:
        for field in schema["fields"]:
            if field["name"] == "account_balance":
                field["type"]["precision"] += 1
    return fastavro.parse_schema(schema)
