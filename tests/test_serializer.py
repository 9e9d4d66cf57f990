"""The producer's wire serializer writes the same bytes as fastavro and the registry's serializer."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import fastavro
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from producer import invalid, publisher
from producer.generator import ProfileGenerator
from producer.serializer import WireSerializer, compile_writer
from tests.profiles import valid_profile
from userstream import security

NOW = dt.datetime(2026, 6, 15, 12, 30, 45, tzinfo=dt.timezone.utc)
SCHEMA_ID = 7
HEADER = b"\x00" + SCHEMA_ID.to_bytes(4, "big")
# Avro-encodable kinds; decimal_overflow does not fit the contract's decimal.
ENCODABLE_VIOLATIONS = [kind for kind in invalid.CONTRACT_VIOLATIONS if kind != "decimal_overflow"]


def fastavro_bytes(parsed, record: dict) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, parsed, record)
    return HEADER + body.getvalue()


def generated_records(count: int, seed: int) -> list[dict]:
    """Return `count` generated profiles, and every encodable broken kind of the first 50."""
    profiles = ProfileGenerator(seed=seed, now=NOW).batch(count)
    broken = [invalid.break_profile(kind, profile)
              for profile in profiles[:50] for kind in ENCODABLE_VIOLATIONS]
    return profiles + broken


@pytest.fixture(scope="module")
def serializer(contract):
    return WireSerializer(contract.schema, SCHEMA_ID)


def test_contract_is_compiled(contract):
    assert compile_writer(contract.parsed) is not None, "the contract falls back to fastavro"


def test_generated_records_match_fastavro(serializer, contract):
    for record in generated_records(5000, seed=31):
        expected = fastavro_bytes(contract.parsed, record)
        assert serializer(record) == expected, f"user {record['user_id']}: bytes differ"


@pytest.mark.parametrize("changes", [
    {"user_id": 0}, {"user_id": 63}, {"user_id": 64}, {"user_id": 2**31 - 1},
    {"credit_score": -1}, {"credit_score": -65}, {"children_count": -(2**31)},
    # Longs at the edges of the two-, three- and four-byte encodings.
    {"user_id": 8191}, {"user_id": 8192}, {"user_id": 2**20 - 1}, {"user_id": 2**20},
    {"credit_score": -8192}, {"credit_score": -8193}, {"credit_score": -(2**20)},
    {"credit_score": -(2**20) - 1},
    {"first_name": ""}, {"first_name": "Ñandú"}, {"allergies": "Peanuts 🥜"},
    {"address": "x" * 63}, {"address": "x" * 64}, {"address": "é" * 40},
    {"account_balance": Decimal("0.00")}, {"account_balance": Decimal("-0.01")},
    {"account_balance": Decimal("-99999999.99")}, {"account_balance": Decimal("99999999.99")},
    {"account_balance": Decimal("127.99")}, {"account_balance": Decimal("-1.28")},
    {"account_balance": Decimal("5")},
    {"date_of_birth": dt.date(1969, 12, 31)}, {"date_of_birth": dt.date(1970, 1, 1)},
    {"last_login": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)},
    {"last_login": dt.datetime(2024, 2, 29, 13, 45, 10, 123456,
                               tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
    {"last_login": 1_700_000_000_000}, {"date_of_birth": "2001-02-03"},
    {"pet_name": None, "pet_type": None, "pet_breed": None, "pet_age": None},
    {"pet_age": 0}, {"pet_age": 2**31 - 1}, {"pet_type": "Other"},
    {"vehicle_year": None, "license_plate_number": None},
])
def test_edge_values_match_fastavro(serializer, contract, changes):
    record = valid_profile(**changes)
    assert serializer(record) == fastavro_bytes(contract.parsed, record), f"{changes} differ"


@pytest.mark.parametrize("changes", [
    {"credit_score": 700.0},  # fastavro converts a float for a plain int field
    {"pet_age": True},  # fastavro refuses a bool for an int in a union
    {"pet_age": 2**31},  # and an int outside 32 bits
    {"first_name": b"Ada"},  # and bytes for a string
])
def test_unusual_values_settled_by_fastavro(serializer, contract, changes):
    record = valid_profile(**changes)
    try:
        expected = fastavro_bytes(contract.parsed, record)
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            serializer(record)
        return
    assert serializer(record) == expected, f"{changes} differ"


@pytest.mark.parametrize("changes, error", [
    ({"account_balance": invalid.OVERFLOW_BALANCE}, ValueError),
    ({"account_balance": Decimal("1.005")}, ValueError),
    ({"gender": "Unknown"}, ValueError),
    ({"email": None}, TypeError),
    ({"user_id": 2**63}, OverflowError),
])
def test_invalid_values_raise(serializer, changes, error):
    with pytest.raises(error):
        serializer(valid_profile(**changes))


def test_missing_field_raises(serializer):
    record = valid_profile()
    del record["email"]
    with pytest.raises(ValueError, match="email"):
        serializer(record)


def test_missing_nullable_field_is_null(serializer, contract):
    record = valid_profile()
    del record["pet_name"]
    assert serializer(record) == fastavro_bytes(contract.parsed, valid_profile(pet_name=None))


def test_uncompiled_schema_uses_fastavro():
    schema = {"type": "record", "name": "Flags", "fields": [
        {"name": "active", "type": "boolean"}, {"name": "score", "type": ["null", "double"]},
    ]}
    parsed = fastavro.parse_schema(schema)
    record = {"active": True, "score": 0.5}
    assert compile_writer(parsed) is None, "a boolean and a double union were compiled"
    assert WireSerializer(schema, SCHEMA_ID)(record) == fastavro_bytes(parsed, record)


def test_header_carries_schema_id(contract):
    message = WireSerializer(contract.schema, 2**31 - 1)(valid_profile())
    assert message[:5] == b"\x00\x7f\xff\xff\xff", f"header {message[:5]!r}"


@pytest.mark.parametrize("schema_id", [-1, 2**31])
def test_schema_id_out_of_range(contract, schema_id):
    with pytest.raises(ValueError, match="schema id"):
        WireSerializer(contract.schema, schema_id)


@pytest.mark.stack
def test_registry_serializer_same_bytes(stack, contract):
    schema_id = publisher.require_registered(stack)
    registry = AvroSerializer(
        SchemaRegistryClient(security.registry_conf(stack)), json.dumps(contract.schema),
        conf={"auto.register.schemas": False, "subject.name.strategy": lambda *_: stack.subject},
    )
    context = SerializationContext(stack.topic, MessageField.VALUE)
    ours = WireSerializer(contract.schema, schema_id)
    for record in generated_records(2000, seed=47):
        expected = registry(record, context)
        assert expected[1:5] == schema_id.to_bytes(4, "big"), "the registry used another id"
        assert ours(record) == expected, f"user {record['user_id']}: bytes differ"
