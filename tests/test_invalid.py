"""Check each kind of deliberately broken message that producer.invalid builds."""

from __future__ import annotations

import datetime as dt
import io
import random
import re

import fastavro
import pytest

from producer import invalid
from producer.generator import ProfileGenerator
from userstream.contract import default_contract

NOW = dt.datetime(2026, 6, 15, 12, 30, 45, tzinfo=dt.timezone.utc)
SCHEMA_ID = 7
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


@pytest.fixture(scope="module")
def contract():
    return default_contract()


@pytest.fixture(scope="module")
def profile():
    return ProfileGenerator(seed=99, now=NOW).next_profile()


@pytest.fixture(scope="module")
def encoded(profile, contract):
    body = io.BytesIO()
    fastavro.schemaless_writer(body, contract.parsed, profile)
    return b"\x00" + SCHEMA_ID.to_bytes(4, "big") + body.getvalue()


def _decode_body(message: bytes, contract) -> dict:
    return fastavro.schemaless_reader(io.BytesIO(message[5:]), contract.parsed, None)


def test_kind_lists():
    assert invalid.CONTRACT_VIOLATIONS == (
        "too_long", "out_of_range", "bad_email", "dates_out_of_order", "decimal_overflow",
    )
    assert invalid.MALFORMED == (
        "not_wire_format", "unknown_schema_id", "truncated", "empty", "tombstone",
    )
    assert invalid.ALL_KINDS == invalid.CONTRACT_VIOLATIONS + invalid.MALFORMED
    assert len(set(invalid.ALL_KINDS)) == len(invalid.ALL_KINDS), "a kind is listed twice"


@pytest.mark.parametrize("kind", invalid.CONTRACT_VIOLATIONS)
def test_break_profile_copies(kind, profile):
    original = dict(profile)
    broken = invalid.break_profile(kind, profile)
    changed = [name for name in profile if broken[name] != profile[name]]
    assert profile == original, f"{kind}: break_profile changed its input"
    assert broken is not profile, f"{kind}: break_profile returned its input"
    assert len(changed) == 1, f"{kind}: changed fields {changed}, expected exactly one"


def test_too_long(profile, contract):
    phone = invalid.break_profile("too_long", profile)["phone_number"]
    limit = contract.field("phone_number").max_length
    assert phone == "001-555-010-0001x12345", f"phone_number is {phone!r}"
    assert len(phone) == 22, f"phone_number {phone!r} has {len(phone)} characters"
    assert len(phone) > limit, f"phone_number {phone!r} fits maxLength {limit}"


def test_out_of_range(profile, contract):
    score = invalid.break_profile("out_of_range", profile)["credit_score"]
    assert score == 900, f"credit_score is {score}"
    assert score > contract.field("credit_score").maximum, f"credit_score {score} is in range"


def test_bad_email(profile):
    email = invalid.break_profile("bad_email", profile)["email"]
    assert email == "not-an-email", f"email is {email!r}"
    assert not EMAIL.match(email), f"email {email!r} looks like local@domain.tld"


def test_dates_out_of_order(profile):
    broken = invalid.break_profile("dates_out_of_order", profile)
    born, registered = broken["date_of_birth"], broken["registration_date"]
    assert born > registered, f"date_of_birth {born} is not after registration_date {registered}"
    assert registered == profile["registration_date"], f"registration_date became {registered}"


def test_decimal_overflow(profile, contract):
    balance = invalid.break_profile("decimal_overflow", profile)["account_balance"]
    precision = contract.field("account_balance").precision
    digits = balance.as_tuple()
    assert len(digits.digits) > precision, f"account_balance {balance} fits precision {precision}"
    assert digits.exponent == -2, f"account_balance {balance} does not have 2 places"


@pytest.mark.parametrize("kind", [kind for kind in invalid.CONTRACT_VIOLATIONS
                                  if kind != "decimal_overflow"])
def test_violation_serializes(kind, profile, contract):
    broken = invalid.break_profile(kind, profile)
    body = io.BytesIO()
    fastavro.schemaless_writer(body, contract.parsed, broken)
    body.seek(0)
    decoded = fastavro.schemaless_reader(body, contract.parsed, None)
    assert decoded == broken, f"{kind}: the record decodes as {decoded}"


@pytest.mark.parametrize("kind", invalid.CONTRACT_VIOLATIONS)
def test_encode_violation(kind, profile, contract):
    broken = invalid.break_profile(kind, profile)
    message = invalid.encode_violation(kind, profile, SCHEMA_ID)
    decoded = _decode_body(message, contract)
    assert message[0] == 0, f"{kind}: magic byte {message[0]}"
    assert int.from_bytes(message[1:5], "big") == SCHEMA_ID, f"{kind}: header {message[:5]!r}"
    for name in contract.field_names:
        # == on Decimal compares values, so 100000000.0 read back equals 100000000.00.
        assert decoded[name] == broken[name], (
            f"{kind}: {name} {broken[name]!r} decodes as {decoded[name]!r}"
        )


def test_encode_violation_bad_schema_id(profile):
    with pytest.raises(ValueError, match="schema_id"):
        invalid.encode_violation("too_long", profile, 2**32)


def test_not_wire_format(encoded):
    message = invalid.break_message("not_wire_format", encoded)
    assert message == b"not avro", f"not_wire_format gave {message!r}"
    assert message[0] != 0, f"not_wire_format {message!r} starts with the magic byte"


def test_unknown_schema_id(encoded, profile, contract):
    message = invalid.break_message("unknown_schema_id", encoded)
    schema_id = int.from_bytes(message[1:5], "big")
    assert message[0] == 0, f"unknown_schema_id magic byte is {message[0]}"
    assert schema_id == 2_000_000_000, f"unknown_schema_id has schema id {schema_id}"
    assert message[5:] == encoded[5:], "unknown_schema_id changed the body"
    assert _decode_body(message, contract) == profile, "unknown_schema_id body does not decode"


def test_truncated(encoded, contract):
    message = invalid.break_message("truncated", encoded)
    assert message[:5] == encoded[:5], f"truncated header {message[:5]!r} != {encoded[:5]!r}"
    assert 5 < len(message) < len(encoded), f"truncated has {len(message)} of {len(encoded)} bytes"
    with pytest.raises(EOFError):
        _decode_body(message, contract)


def test_empty(encoded):
    assert invalid.break_message("empty", encoded) == b""


def test_tombstone(encoded):
    assert invalid.break_message("tombstone", encoded) is None


@pytest.mark.parametrize("value", [b"", b"\x00\x00\x00\x00\x07", b"\x01" + bytes(10), "text"])
def test_break_message_needs_framing(value):
    with pytest.raises(ValueError, match="encoded"):
        invalid.break_message("truncated", value)


@pytest.mark.parametrize("call", [
    lambda: invalid.break_profile("nonsense", {}),
    lambda: invalid.break_profile("truncated", {}),
    lambda: invalid.break_message("nonsense", b"\x00" * 10),
    lambda: invalid.break_message("too_long", b"\x00" * 10),
    lambda: invalid.encode_violation("empty", {}, SCHEMA_ID),
])
def test_unknown_kind_rejected(call):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert "kind" in message, f"the error {message!r} does not name the kind"
    assert "expected one of" in message, f"the error {message!r} does not list valid kinds"


def test_unknown_kind_message():
    with pytest.raises(ValueError) as error:
        invalid.break_profile("nonsense", {})
    message = str(error.value)
    assert "'nonsense'" in message, f"the error {message!r} does not name the kind"
    for kind in invalid.CONTRACT_VIOLATIONS:
        assert kind in message, f"the error {message!r} does not list {kind}"


def test_choose_kind_covers_all():
    rng = random.Random(1)
    drawn = {invalid.choose_kind(rng) for _ in range(300)}
    assert drawn == set(invalid.ALL_KINDS), f"missing kinds: {set(invalid.ALL_KINDS) - drawn}"


def test_choose_kind_seeded():
    rng_a, rng_b = random.Random(5), random.Random(5)
    drawn_a = [invalid.choose_kind(rng_a) for _ in range(50)]
    drawn_b = [invalid.choose_kind(rng_b) for _ in range(50)]
    assert drawn_a == drawn_b, "the same seed gave different kinds"
