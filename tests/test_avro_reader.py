"""The compiled Avro reader returns what fastavro returns, and the job's decode is unchanged.

Each test compares against fastavro.schemaless_reader itself, or against MessageValidator's
decode with no compiled reader, which is the job's decode before the compiled reader.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import random
import struct
import uuid
from decimal import Decimal

import fastavro
import pytest

from flink_job import avro_reader
from flink_job.avro_reader import DeferToFastavro, compile_reader
from flink_job.validation import HEADER_SIZE, MessageValidator, SchemaNotFound
from producer import invalid
from producer.generator import ProfileGenerator
from producer.serializer import WireSerializer
from tests.profiles import frame, valid_profile

NOW = dt.datetime(2026, 6, 15, 12, 30, 45, tzinfo=dt.timezone.utc)
SCHEMA_ID = 7
EVOLVED_ID = 8
MIXED_ID = 9
SEEDS = (1, 2, 3)
PROFILES_PER_SEED = 1500
MUTATIONS = 20_000

# A later contract version: one optional field added at the end, as FULL_TRANSITIVE allows.
NICKNAME = {"name": "nickname", "type": ["null", "string"], "default": None}

# Every Avro type and logical type fastavro reads, nested, for the parts the contract lacks.
MIXED_SCHEMA = {
    "type": "record", "name": "io.example.Mixed", "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "count", "type": "long"},
        {"name": "ratio", "type": "float"},
        {"name": "score", "type": "double"},
        {"name": "raw", "type": "bytes"},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
        {"name": "nothing", "type": "null"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "counters", "type": {"type": "map", "values": ["null", "long"]}},
        {"name": "choice", "type": ["null", "int", "string", "Digest"]},
        {"name": "home", "type": {"type": "record", "name": "Place", "fields": [
            {"name": "city", "type": "string"},
            {"name": "level", "type": {"type": "enum", "name": "Level",
                                       "symbols": ["LOW", "MID", "HIGH"]}},
        ]}},
        {"name": "work", "type": ["null", "Place"]},
        {"name": "places", "type": {"type": "array", "items": "Place"}},
        {"name": "grid", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "micros", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local_millis",
         "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "time_millis", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "time_micros", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "price", "type": {"type": "fixed", "name": "Price", "size": 6,
                                   "logicalType": "decimal", "precision": 12, "scale": 3}},
        {"name": "wide", "type": {"type": "enum", "name": "Wide",
                                  "symbols": [f"S{index}" for index in range(70)]}},
        {"name": "unknown_logical", "type": {"type": "int", "logicalType": "no-such-type"}},
    ],
}


def canonical(value):
    """Return value as nested tuples that differ whenever the value or any type differs."""
    if isinstance(value, dict):
        return ("dict", tuple((key, canonical(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("list", tuple(canonical(item) for item in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(canonical(item) for item in value))
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, dt.datetime):
        return ("datetime", repr(value), value.tzinfo)
    return (type(value).__name__, repr(value))


def fastavro_read(message: bytes, parsed) -> dict:
    return fastavro.schemaless_reader(io.BytesIO(message[HEADER_SIZE:]), parsed, None)


class FastavroOnlyValidator(MessageValidator):
    """The job's validator with the compiled reader turned off."""

    def _compiled_reader(self, schema_id, writer_schema):
        return None


@pytest.fixture(scope="module")
def schemas(contract):
    evolved = copy.deepcopy(contract.schema)
    evolved["fields"].append(NICKNAME)
    return {
        SCHEMA_ID: contract.parsed,
        EVOLVED_ID: fastavro.parse_schema(evolved),
        MIXED_ID: fastavro.parse_schema(MIXED_SCHEMA),
    }


@pytest.fixture(scope="module")
def validators(contract, schemas):
    def lookup(schema_id):
        if schema_id not in schemas:
            raise SchemaNotFound(schema_id)
        return schemas[schema_id]

    return MessageValidator(contract, lookup), FastavroOnlyValidator(contract, lookup)


@pytest.fixture(scope="module")
def profile_messages(contract) -> list[bytes]:
    serializer = WireSerializer(contract.schema, SCHEMA_ID)
    messages = []
    for seed in SEEDS:
        generator = ProfileGenerator(seed=seed, now=NOW)
        messages.extend(serializer(profile) for profile in generator.batch(PROFILES_PER_SEED))
    return messages


def mixed_record(rng: random.Random) -> dict:
    def place():
        return {"city": rng.choice(["", "Oslo", "Zürich", "x" * 70]),
                "level": rng.choice(["LOW", "MID", "HIGH"])}

    return {
        "flag": rng.random() < 0.5, "count": rng.randint(-2**63, 2**63 - 1),
        "ratio": rng.uniform(-1e6, 1e6), "score": rng.choice([0.0, -0.0, 1e308, rng.random()]),
        "raw": rng.randbytes(rng.choice([0, 1, 63, 64, 200])), "digest": rng.randbytes(4),
        "nothing": None,
        "tags": [rng.choice(["a", "ü", "long" * 20]) for _ in range(rng.randint(0, 5))],
        "counters": {f"k{index}": rng.choice([None, rng.randint(-10**12, 10**12)])
                     for index in range(rng.randint(0, 4))},
        "choice": rng.choice([None, rng.randint(-2**31, 2**31 - 1), "text", b"\x00\x01\x02\x03"]),
        "home": place(), "work": rng.choice([None, place()]),
        "places": [place() for _ in range(rng.randint(0, 3))],
        "grid": [[rng.randint(-1000, 1000) for _ in range(rng.randint(0, 3))]
                 for _ in range(rng.randint(0, 3))],
        "micros": NOW + dt.timedelta(microseconds=rng.randint(-10**15, 10**15)),
        "local_millis": dt.datetime(2001, 2, 3, 4, 5, 6, rng.randint(0, 999) * 1000),
        "time_millis": dt.time(rng.randint(0, 23), 59, 58, 123000),
        "time_micros": dt.time(1, 2, 3, rng.randint(0, 999_999)),
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "price": Decimal(rng.randint(-10**11, 10**11)).scaleb(-3),
        "wide": f"S{rng.randrange(70)}", "unknown_logical": rng.randint(-5, 5),
    }


def mutate(message: bytes, rng: random.Random) -> bytes:
    """Return message with one to three random byte changes, insertions or deletions."""
    data = bytearray(message)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(HEADER_SIZE, len(data) + 1)
        action = rng.random()
        if action < 0.6 and position < len(data):
            data[position] = rng.randrange(256)
        elif action < 0.8:
            data.insert(position, rng.randrange(256))
        elif position < len(data):
            del data[position]
    return bytes(data)


def assert_same_decode(validators, message: bytes, label: str) -> None:
    compiled, reference = validators
    expected = reference.decode(message)
    actual = compiled.decode(message)
    assert canonical(actual) == canonical(expected), f"{label}: {actual!r} != {expected!r}"


def test_contract_is_compiled(contract):
    assert compile_reader(contract.parsed) is not None, "the contract falls back to fastavro"


def test_generated_profiles_match_fastavro(contract, profile_messages):
    reader = compile_reader(contract.parsed)
    for index, message in enumerate(profile_messages):
        expected = fastavro_read(message, contract.parsed)
        actual = reader(message, HEADER_SIZE)
        assert canonical(actual) == canonical(expected), f"message {index} differs"


def test_timestamp_keeps_utc_object(contract, profile_messages):
    # The validation's fast path for timestamps tests `tzinfo is timezone.utc`.
    record = compile_reader(contract.parsed)(profile_messages[0], HEADER_SIZE)
    assert record["last_login"].tzinfo is dt.timezone.utc


@pytest.mark.parametrize("kind", invalid.CONTRACT_VIOLATIONS)
def test_contract_violations_match_fastavro(contract, validators, kind):
    reader = compile_reader(contract.parsed)
    for profile in ProfileGenerator(seed=5, now=NOW).batch(20):
        message = invalid.encode_violation(kind, profile, SCHEMA_ID)
        expected = fastavro_read(message, contract.parsed)
        assert canonical(reader(message, HEADER_SIZE)) == canonical(expected), kind
        assert_same_decode(validators, message, kind)


@pytest.mark.parametrize("kind", invalid.MALFORMED)
def test_malformed_messages_decode_as_before(validators, profile_messages, kind):
    for message in profile_messages[:50]:
        assert_same_decode(validators, invalid.break_message(kind, message), kind)


def test_every_truncation_decodes_as_before(validators, profile_messages):
    for message in profile_messages[:20]:
        for length in range(len(message)):
            assert_same_decode(validators, message[:length], f"{length} of {len(message)} bytes")


@pytest.mark.parametrize("trailer", [b"\x00", b"\x02", b"\xff", b"\x00" * 7, b"tail"])
def test_trailing_bytes_decode_as_before(validators, profile_messages, trailer):
    compiled, _ = validators
    for message in profile_messages[:50]:
        assert_same_decode(validators, message + trailer, f"trailer {trailer!r}")
    outcome = compiled.decode(profile_messages[0] + trailer)
    assert outcome.reasons[0].code == "undecodable", f"trailer {trailer!r}: {outcome}"


def test_mutated_messages_decode_as_before(validators, profile_messages):
    rng = random.Random(20260615)
    for count in range(MUTATIONS):
        original = profile_messages[rng.randrange(len(profile_messages))]
        message = mutate(original, rng)
        assert_same_decode(validators, message, f"mutation {count} ({message.hex()})")


@pytest.mark.parametrize("replacement", [0x00, 0x01, 0x02, 0x03, 0x7E, 0x7F, 0x80, 0x81, 0xFF])
def test_each_byte_replaced_decodes_as_before(validators, profile_messages, replacement):
    for message in profile_messages[:5]:
        for position in range(HEADER_SIZE, len(message)):
            changed = message[:position] + bytes([replacement]) + message[position + 1:]
            assert_same_decode(validators, changed, f"byte {position} set to {replacement:#x}")


def test_evolved_schema_decodes_as_before(validators, schemas, profile_messages):
    parsed = schemas[EVOLVED_ID]
    reader = compile_reader(parsed)
    rng = random.Random(8)
    for index, message in enumerate(profile_messages[:500]):
        profile = fastavro_read(message, schemas[SCHEMA_ID])
        profile["nickname"] = rng.choice([None, "", "Ace", "Zoë" * 30])
        evolved = frame(EVOLVED_ID, parsed, profile)
        expected = fastavro_read(evolved, parsed)
        assert canonical(reader(evolved, HEADER_SIZE)) == canonical(expected), f"profile {index}"
        assert_same_decode(validators, evolved, f"evolved profile {index}")
        assert_same_decode(validators, mutate(evolved, rng), f"mutated evolved profile {index}")


def test_contract_message_under_evolved_id(validators, profile_messages):
    # The evolved schema expects one more field, so the contract's bytes are one short.
    message = profile_messages[0]
    reframed = message[:1] + EVOLVED_ID.to_bytes(4, "big") + message[HEADER_SIZE:]
    assert_same_decode(validators, reframed, "contract bytes under the evolved id")


def test_all_types_match_fastavro(validators, schemas):
    parsed = schemas[MIXED_ID]
    reader = compile_reader(parsed)
    assert reader is not None, "the schema of every type falls back to fastavro"
    rng = random.Random(9)
    for index in range(1000):
        message = frame(MIXED_ID, parsed, mixed_record(rng))
        expected = fastavro_read(message, parsed)
        assert canonical(reader(message, HEADER_SIZE)) == canonical(expected), f"record {index}"
        assert_same_decode(validators, mutate(message, rng), f"mutated record {index}")


@pytest.mark.parametrize("body, name", [
    (b"\x01", "negative enum index, which fastavro wraps around"),
    (b"\x80\x00", "enum index in two bytes"),
    (b"\x06", "enum index past the symbols"),
])
def test_unusual_enum_bytes_left_to_fastavro(body, name):
    parsed = fastavro.parse_schema({"type": "record", "name": "E", "fields": [
        {"name": "level", "type": {"type": "enum", "name": "L", "symbols": ["A", "B", "C"]}}]})
    message = b"\x00\x00\x00\x00\x01" + body
    with pytest.raises(DeferToFastavro):
        compile_reader(parsed)(message, HEADER_SIZE)


@pytest.mark.parametrize("schema_type, body", [
    ("boolean", b"\x02"),
    ("long", b"\xff" * 10 + b"\x01"),  # 11 bytes, more than any 64-bit value needs
    ("string", b"\x01"),  # length -1
    ("string", b"\xff\x01"),  # length -128
    (["null", "int"], b"\x04"),
    ({"type": "array", "items": "null"}, b"\xfe\xff\xff\xff\x0f"),
])
def test_unusual_bytes_left_to_fastavro(schema_type, body):
    parsed = fastavro.parse_schema({"type": "record", "name": "U", "fields": [
        {"name": "value", "type": schema_type}]})
    with pytest.raises(Exception):
        compile_reader(parsed)(b"\x00\x00\x00\x00\x01" + body, HEADER_SIZE)


@pytest.mark.parametrize("body", [
    b"\xff" * 9 + b"\x01", b"\xfe" + b"\xff" * 8 + b"\x01", b"\x80" * 9 + b"\x01",
    b"\xff" * 9 + b"\x7f", b"\x80" * 9 + b"\x02", b"\xff" * 9 + b"\x00",
])
def test_ten_byte_long_matches_fastavro(body):
    # fastavro keeps only the lowest bit of a tenth byte, whatever the other bits are.
    parsed = fastavro.parse_schema({"type": "record", "name": "T", "fields": [
        {"name": "value", "type": "long"}]})
    message = b"\x00\x00\x00\x00\x01" + body
    expected = fastavro_read(message, parsed)
    assert compile_reader(parsed)(message, HEADER_SIZE) == expected, body.hex()


def test_recursive_schema_not_compiled():
    parsed = fastavro.parse_schema({"type": "record", "name": "Node", "fields": [
        {"name": "next", "type": ["null", "Node"]}]})
    assert compile_reader(parsed) is None, "a recursive record was compiled"


@pytest.mark.parametrize("schema", ["string", {"type": "array", "items": "int"}])
def test_non_record_schema_not_compiled(schema):
    assert compile_reader(fastavro.parse_schema(schema)) is None, f"{schema} was compiled"


def test_reader_compiled_once_per_schema_id(contract, schemas, profile_messages, monkeypatch):
    compiled = []

    def counting_compile(parsed):
        compiled.append(parsed)
        return avro_reader.compile_reader(parsed)

    monkeypatch.setattr("flink_job.validation.compile_reader", counting_compile)
    validator = MessageValidator(contract, schemas.__getitem__)
    for message in profile_messages[:100]:
        validator.decode(message)
    validator.decode(frame(EVOLVED_ID, schemas[EVOLVED_ID], {**valid_profile(), "nickname": None}))
    assert len(compiled) == 2, f"compiled {len(compiled)} times for 2 schema ids"
