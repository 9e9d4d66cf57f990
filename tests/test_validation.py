"""Decoding, validation and normalisation rules, called directly without Flink."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import fastavro
import pytest

from flink_job.validation import MessageValidator, Rejection, SchemaNotFound, ValidProfile
from producer import invalid
from producer.generator import ProfileGenerator
from producer.publisher import encode_message
from producer.serializer import WireSerializer
from tests.profiles import frame, valid_profile

SCHEMA_ID = 7


@pytest.fixture(scope="module")
def validator(contract):
    schemas = {SCHEMA_ID: contract.parsed}

    def lookup(schema_id):
        if schema_id not in schemas:
            raise SchemaNotFound(schema_id)
        return schemas[schema_id]

    validator = MessageValidator(contract, lookup)
    validator.schemas = schemas
    return validator


def check(validator, contract, key=b"1001", **changes):
    return validator.validate(key, frame(SCHEMA_ID, contract.parsed, valid_profile(**changes)))


def stored(outcome, contract, name):
    assert isinstance(outcome, ValidProfile), f"rejected: {outcome}"
    return outcome.values[contract.field_names.index(name)]


def codes(outcome) -> set[str]:
    assert isinstance(outcome, Rejection), f"accepted: {outcome}"
    return {f"{reason.field}:{reason.code}" for reason in outcome.reasons}


def test_valid_profile_is_accepted(validator, contract):
    outcome = check(validator, contract)
    assert isinstance(outcome, ValidProfile)
    assert outcome.schema_id == SCHEMA_ID
    assert len(outcome.values) == 49


def test_phone_too_long_is_rejected_not_truncated(validator, contract):
    outcome = check(validator, contract, phone_number="001-555-010-0001x12345")
    assert codes(outcome) == {"phone_number:too_long"}
    assert "22 characters" in outcome.reasons[0].message
    assert "maximum is 20" in outcome.reasons[0].message


def test_address_lines_are_joined(validator, contract):
    outcome = check(validator, contract, address="12 Beacon Street\nApt. 4\r\n  Floor 2")
    assert stored(outcome, contract, "address") == "12 Beacon Street, Apt. 4, Floor 2"


def test_zip_code_keeps_leading_zero(validator, contract):
    assert stored(check(validator, contract, zip_code="02134"), contract, "zip_code") == "02134"


@pytest.mark.parametrize("amount", ["1.08", "99999999.99", "-99999999.99", "0.00"])
def test_balance_in_range_is_exact(validator, contract, amount):
    outcome = check(validator, contract, account_balance=Decimal(amount))
    assert stored(outcome, contract, "account_balance") == Decimal(amount)


def test_balance_over_ten_digits_is_rejected(validator, contract):
    # The contract's own schema cannot encode 11 digits, so the message comes from a writer
    # whose schema declares a wider decimal.
    wide = json.loads(json.dumps(contract.schema))
    for field in wide["fields"]:
        if field["name"] == "account_balance":
            field["type"]["precision"] = 12
    validator.schemas[SCHEMA_ID + 4] = fastavro.parse_schema(wide)
    profile = valid_profile(account_balance=Decimal("100000000.00"))
    outcome = validator.validate(b"1001", frame(SCHEMA_ID + 4, validator.schemas[SCHEMA_ID + 4],
                                                profile))
    assert codes(outcome) == {"account_balance:out_of_range"}


def test_unicode_is_kept(validator, contract):
    outcome = check(validator, contract, allergies="Peanuts 🥜", last_name="Ñandú")
    assert stored(outcome, contract, "allergies") == "Peanuts 🥜"
    assert stored(outcome, contract, "last_name") == "Ñandú"


def test_enum_case_is_normalised(validator, contract):
    foreign = json.loads(json.dumps(contract.schema))
    for field in foreign["fields"]:
        if field["name"] == "gender":
            field["type"] = "string"
    validator.schemas[SCHEMA_ID + 1] = fastavro.parse_schema(foreign)
    message = frame(SCHEMA_ID + 1, validator.schemas[SCHEMA_ID + 1], valid_profile(gender="male"))
    assert stored(validator.validate(b"1001", message), contract, "gender") == "Male"
    unknown = frame(SCHEMA_ID + 1, validator.schemas[SCHEMA_ID + 1], valid_profile(gender="X"))
    assert codes(validator.validate(b"1001", unknown)) == {"gender:invalid_enum"}


def test_last_login_is_utc_wall_clock(validator, contract):
    eastern = dt.timezone(dt.timedelta(hours=-5))
    login = dt.datetime(2024, 2, 29, 8, 45, 10, tzinfo=eastern)
    outcome = check(validator, contract, last_login=login)
    assert stored(outcome, contract, "last_login") == dt.datetime(2024, 2, 29, 13, 45, 10)


def test_birth_after_registration_is_rejected(validator, contract):
    outcome = check(validator, contract, date_of_birth=dt.date(2016, 1, 1))
    assert codes(outcome) == {"date_of_birth:out_of_order"}


def test_registration_after_last_login_is_rejected(validator, contract):
    outcome = check(validator, contract, registration_date=dt.date(2024, 3, 1))
    assert codes(outcome) == {"registration_date:out_of_order"}


@pytest.mark.parametrize("changes, expected", [
    ({"credit_score": 900}, "credit_score:out_of_range"),
    ({"children_count": -1}, "children_count:out_of_range"),
    ({"email": "not-an-email"}, "email:invalid_format"),
    ({"website": "ftp://example.org"}, "website:invalid_format"),
    ({"first_name": "   "}, "first_name:required"),
    ({"first_name": "x" * 51}, "first_name:too_long"),
    ({"blood_type": "C+"}, "blood_type:invalid_enum"),
])
def test_contract_violation_is_rejected(validator, contract, changes, expected):
    assert codes(check(validator, contract, **changes)) == {expected}


def test_several_reasons_are_all_reported(validator, contract):
    outcome = check(validator, contract, credit_score=10, email="bad")
    assert codes(outcome) == {"credit_score:out_of_range", "email:invalid_format"}


def test_email_is_lower_cased(validator, contract):
    outcome = check(validator, contract, email="Ada.Lovelace@Example.ORG")
    assert stored(outcome, contract, "email") == "ada.lovelace@example.org"


def test_text_is_trimmed(validator, contract):
    assert stored(check(validator, contract, city="  Boston "), contract, "city") == "Boston"


@pytest.mark.parametrize("value, expected", [
    (None, "message:tombstone"),
    (b"", "message:empty"),
    (b"not avro", "message:not_wire_format"),
    (b"\x00\x00\x00", "message:not_wire_format"),
])
def test_malformed_message_is_rejected(validator, value, expected):
    assert codes(validator.validate(b"1", value)) == {expected}


def test_unknown_schema_id_is_rejected(validator, contract):
    message = frame(999, contract.parsed, valid_profile())
    outcome = validator.validate(b"1001", message)
    assert codes(outcome) == {"message:unknown_schema_id"}
    assert outcome.schema_id == 999


def test_truncated_message_is_rejected(validator, contract):
    message = frame(SCHEMA_ID, contract.parsed, valid_profile())
    assert codes(validator.validate(b"1001", message[:40])) == {"message:undecodable"}


def test_trailing_bytes_are_rejected(validator, contract):
    message = frame(SCHEMA_ID, contract.parsed, valid_profile()) + b"\x00\x01"
    assert codes(validator.validate(b"1001", message)) == {"message:undecodable"}


def test_key_must_match_user_id(validator, contract):
    assert codes(check(validator, contract, key=b"42")) == {"message:key_mismatch"}


def test_missing_optional_field_takes_default(validator, contract):
    older = json.loads(json.dumps(contract.schema))
    older["fields"] = [field for field in older["fields"] if field["name"] != "pet_name"]
    validator.schemas[SCHEMA_ID + 2] = fastavro.parse_schema(older)
    profile = valid_profile()
    del profile["pet_name"]
    outcome = validator.validate(b"1001", frame(SCHEMA_ID + 2, validator.schemas[SCHEMA_ID + 2],
                                                profile))
    assert stored(outcome, contract, "pet_name") is None


def test_missing_required_field_is_rejected(validator, contract):
    older = json.loads(json.dumps(contract.schema))
    older["fields"] = [field for field in older["fields"] if field["name"] != "hobby"]
    validator.schemas[SCHEMA_ID + 3] = fastavro.parse_schema(older)
    profile = valid_profile()
    del profile["hobby"]
    outcome = validator.validate(b"1001", frame(SCHEMA_ID + 3, validator.schemas[SCHEMA_ID + 3],
                                                profile))
    assert codes(outcome) == {"hobby:missing"}


def variant(validator, contract, schema_id, changes: dict):
    """Register a writer schema that differs from the contract in some field types."""
    schema = json.loads(json.dumps(contract.schema))
    for field in schema["fields"]:
        if field["name"] in changes:
            field["type"] = changes[field["name"]]
    validator.schemas[schema_id] = fastavro.parse_schema(schema)
    return validator.schemas[schema_id]


@pytest.mark.parametrize("schema_id, changes, profile_changes, expected", [
    (20, {"date_of_birth": "int"}, {"date_of_birth": 3_000_000}, "date_of_birth:out_of_range"),
    (21, {"last_login": "long"}, {"last_login": 10**15}, "last_login:out_of_range"),
    (22, {"account_balance": {"type": "bytes", "logicalType": "decimal", "precision": 40,
                              "scale": 2}},
     {"account_balance": Decimal("1" * 31 + ".00")}, "account_balance:out_of_range"),
    (23, {"account_balance": "string"}, {"account_balance": "1e100"},
     "account_balance:out_of_range"),
])
def test_extreme_foreign_value_is_rejected(validator, contract, schema_id, changes,
                                           profile_changes, expected):
    writer = variant(validator, contract, schema_id, changes)
    message = frame(schema_id, writer, valid_profile(**profile_changes))
    assert codes(validator.validate(b"1001", message)) == {expected}


def test_timestamp_beyond_datetime_is_undecodable(validator, contract):
    writer = variant(validator, contract, 24, {"last_login": "long"})
    message = frame(24, writer, valid_profile(last_login=2**62))
    # Re-frame under the contract's id: fastavro cannot turn 2**62 ms into a datetime.
    reframed = message[:1] + SCHEMA_ID.to_bytes(4, "big") + message[5:]
    assert codes(validator.validate(b"1001", reframed)) == {"message:undecodable"}


def test_schema_id_beyond_int32_is_unknown(validator):
    outcome = validator.validate(b"1", b"\x00\x80\x00\x00\x00\x02")
    assert codes(outcome) == {"message:unknown_schema_id"}
    assert outcome.schema_id is None


def test_unusable_schema_is_rejected(contract):
    from flink_job.validation import SchemaUnusable

    def lookup(schema_id):
        raise SchemaUnusable("it is a PROTOBUF schema, not Avro")

    outcome = MessageValidator(contract, lookup).validate(b"1", b"\x00\x00\x00\x00\x0b\x02")
    assert codes(outcome) == {"message:unsupported_schema"}
    assert "PROTOBUF" in outcome.reasons[0].message


def test_missing_key_is_rejected(validator, contract):
    assert codes(check(validator, contract, key=None)) == {"message:key_missing"}


def test_email_checked_after_lower_case(validator, contract):
    outcome = check(validator, contract, email="İ" * 60 + "@example.com")
    assert codes(outcome) == {"email:too_long"}


def test_long_rejected_value_is_cut_in_reason(validator, contract):
    writer = variant(validator, contract, 25, {"gender": "string"})
    message = frame(25, writer, valid_profile(gender="x" * 70_000))
    outcome = validator.validate(b"1001", message)
    assert codes(outcome) == {"gender:invalid_enum"}
    assert len(outcome.reasons_json()) < 500


# Values that sit on either side of a check's rules, tried in every field of a record. The
# generated acceptor must agree with the full check on each of them.
EDGE_VALUES = (
    None, "", "  ", " padded ", "x" * 80, "x" * 300, "\u00e9" * 30, "\u00e9" * 300,
    "\U0001f600" * 100, "Male", "male", " Female ", "Other", "unknown", "line\nbreak",
    "a@b.example", "A@B.EXAMPLE", "not an email", "https://example.org", "ftp://x",
    "+1 (555) 010-9999", "12", "2024-02-29", "2024-02-29T10:00:00", "12.50", "1e3",
    -1, 0, 1, 17, 130, 2**31, 2**63, True, 1.5, b"bytes",
    dt.date(1990, 5, 6), dt.date(2999, 1, 1), dt.datetime(2024, 1, 2, 3, 4, 5),
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), Decimal("12.5"),
    Decimal("12.555"), Decimal("99999999999"), Decimal("NaN"),
)


def bounds_of(spec) -> tuple:
    """Return values just inside and just outside a field's length and range limits."""
    values = []
    for limit in (spec.max_length, spec.max_bytes):
        if limit is not None:
            values += ["x" * limit, "x" * (limit + 1), " " + "x" * limit + " ",
                       "\u00e9" * (limit // 2), "\u00e9" * (limit // 2 + 1)]
    for bound in (spec.minimum, spec.maximum):
        if isinstance(bound, int):
            values += [bound - 1, bound, bound + 1]
    values += [symbol.upper() for symbol in spec.symbols]
    return tuple(values)


@pytest.fixture
def full(validator, contract):
    """The validator with its acceptor switched off, so every record takes the full check."""
    without_acceptor = MessageValidator(contract, validator._lookup_schema)
    without_acceptor._accept = lambda get: None
    return without_acceptor


def test_acceptor_agrees_with_full_check(validator, full, contract):
    """Every field set to every edge value: the same ValidProfile or Rejection either way."""
    record = valid_profile()
    records = [record]
    for spec in contract.fields:
        for value in EDGE_VALUES + bounds_of(spec):
            records.append({**record, spec.name: value})
        records.append({key: item for key, item in record.items() if key != spec.name})
    accepted = 0
    for changed in records:
        for key in (b"1001", b"other", None):
            expected = full.check(key, changed, SCHEMA_ID)
            assert validator.check(key, changed, SCHEMA_ID) == expected, (key, changed)
            accepted += isinstance(expected, ValidProfile)
    # The comparison covers both outcomes in quantity.
    assert accepted > 500
    assert len(records) * 3 - accepted > 5000


def test_acceptor_agrees_on_generated_messages(validator, full, contract):
    """Profiles as the producer sends them, half broken on purpose with every kind."""
    generator = ProfileGenerator(seed=5)
    serializer = WireSerializer(contract.schema, SCHEMA_ID)
    rng = random.Random(5)
    outcomes = set()
    for _ in range(3000):
        profile = generator.next_profile()
        kind = invalid.choose_kind(rng) if rng.random() < 0.5 else None
        value = encode_message(serializer, profile, kind)
        key = str(profile["user_id"]).encode("ascii")
        expected = full.validate(key, value)
        assert validator.validate(key, value) == expected, (kind, profile["user_id"])
        outcomes.add(type(expected))
    assert outcomes == {ValidProfile, Rejection}
