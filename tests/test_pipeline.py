"""End-to-end behaviour on the real local stack: each input pinned to its stored outcome."""

from __future__ import annotations

import datetime as dt
import json
import struct
import time
from decimal import Decimal

import pytest

from tests.pipeline import MessageSender, rejects_at, rows_by_user, unique_user_ids, wait_for
from tests.profiles import valid_profile

pytestmark = pytest.mark.stack
# Characters that end or escape an SQL string literal, in a field of free text.
SQL_SPECIALS = "Nuts' \\ \"dust\" 100% _x_ \\' ); DROP TABLE users; --"


@pytest.fixture(scope="module")
def sender(stack):
    return MessageSender(stack)


@pytest.fixture(scope="module")
def pinned(stack, sender, contract):
    """Send one message per pinned case, then wait until each has a row or a reject."""
    ids = iter(unique_user_ids(40))
    encode = sender.serializer(contract.schema)
    foreign_schema = json.loads(json.dumps(contract.schema))
    for field in foreign_schema["fields"]:
        if field["name"] == "gender":
            field["type"] = "string"
    foreign = sender.serializer(foreign_schema, subject="users-foreign-producer-value")
    wide_schema = json.loads(json.dumps(contract.schema))
    for field in wide_schema["fields"]:
        if field["name"] == "account_balance":
            field["type"]["precision"] = 12
    wide = sender.serializer(wide_schema, subject="users-wide-decimal-value")

    cases: dict[str, tuple] = {}

    def send_profile(name, serializer=encode, **changes):
        user_id = next(ids)
        value = sender.encode(serializer, valid_profile(user_id, **changes))
        cases[name] = (user_id, sender.send(str(user_id).encode(), value))

    def send_raw(name, value):
        user_id = next(ids)
        cases[name] = (user_id, sender.send(str(user_id).encode(), value))

    send_profile("long_phone", phone_number="001-555-010-0001x12345")
    send_profile("multiline_address", address="12 Beacon Street\nApt. 4\n")
    send_profile("zip_leading_zero", zip_code="02134")
    send_profile("balance_small", account_balance=Decimal("1.08"))
    send_profile("balance_max", account_balance=Decimal("99999999.99"))
    send_profile("balance_overflow", serializer=wide, account_balance=Decimal("100000000.00"))
    send_profile("unicode", allergies="Peanuts 🥜", last_name="Ñandú")
    send_profile("sql_specials", allergies=SQL_SPECIALS, last_name="O'Brien")
    send_profile("gender_lower_case", serializer=foreign, gender="male")
    send_profile("gender_unknown", serializer=foreign, gender="Robot")
    send_profile("leap_login", last_login=dt.datetime(2024, 2, 29, 13, 45, 10,
                                                      tzinfo=dt.timezone.utc))
    send_profile("birth_after_registration", date_of_birth=dt.date(2016, 5, 1))
    valid_bytes = sender.encode(encode, valid_profile(1))
    send_raw("not_avro", b"not avro")
    send_raw("empty", b"")
    send_raw("tombstone", None)
    send_raw("unknown_schema_id", struct.pack(">bI", 0, 1_999_999_999) + valid_bytes[5:])
    send_raw("truncated", valid_bytes[:60])
    sender.flush()
    positions = {name: (slot[0].partition, slot[0].offset) for name, (_, slot) in cases.items()}
    user_ids = {name: user_id for name, (user_id, _) in cases.items()}

    def all_arrived():
        db = stack_connection(stack)
        try:
            rows = rows_by_user(db, list(user_ids.values()))
            rejects = rejects_at(db, stack.topic, positions.values())
        finally:
            db.close()
        if len(rows) + len(rejects) == len(cases):
            return rows, rejects
        return None

    rows, rejects = wait_for(all_arrived, 90, "every pinned message reaching MySQL")
    return {name: rows.get(user_ids[name]) or rejects.get(positions[name]) for name in cases}


def stack_connection(config):
    from userstream.stack import mysql

    return mysql.connect(config, autocommit=True)


def reason_codes(outcome) -> set[str]:
    assert outcome is not None
    assert "reason_codes" in outcome, f"stored as a row, expected a reject: {outcome}"
    return set(outcome["reason_codes"].split(";"))


def stored_row(outcome) -> dict:
    assert outcome is not None
    assert "reason_codes" not in outcome, f"rejected: {outcome.get('reasons')}"
    return outcome


def test_long_phone_rejected_never_truncated(pinned):
    assert reason_codes(pinned["long_phone"]) == {"phone_number:too_long"}
    reasons = json.loads(pinned["long_phone"]["reasons"])
    assert reasons[0]["field"] == "phone_number"


def test_multiline_address_stored_on_one_line(pinned):
    assert stored_row(pinned["multiline_address"])["address"] == "12 Beacon Street, Apt. 4"


def test_zip_code_keeps_leading_zero(pinned):
    assert stored_row(pinned["zip_leading_zero"])["zip_code"] == "02134"


def test_balances_stored_exactly(pinned):
    assert stored_row(pinned["balance_small"])["account_balance"] == Decimal("1.08")
    assert stored_row(pinned["balance_max"])["account_balance"] == Decimal("99999999.99")


def test_balance_over_precision_rejected(pinned):
    assert reason_codes(pinned["balance_overflow"]) == {"account_balance:out_of_range"}


def test_unicode_stored_byte_identical(pinned):
    row = stored_row(pinned["unicode"])
    assert row["allergies"].encode("utf-8") == "Peanuts 🥜".encode("utf-8")
    assert row["last_name"].encode("utf-8") == "Ñandú".encode("utf-8")


def test_quotes_and_backslashes_stored_verbatim(pinned):
    row = stored_row(pinned["sql_specials"])
    assert row["allergies"] == SQL_SPECIALS
    assert row["last_name"] == "O'Brien"


def test_lower_case_gender_stored_canonical(pinned):
    assert stored_row(pinned["gender_lower_case"])["gender"] == "Male"


def test_unknown_gender_rejected(pinned):
    assert reason_codes(pinned["gender_unknown"]) == {"gender:invalid_enum"}


def test_last_login_stored_as_utc_wall_clock(pinned):
    assert stored_row(pinned["leap_login"])["last_login"] == dt.datetime(2024, 2, 29, 13, 45, 10)


def test_birth_after_registration_rejected(pinned):
    assert reason_codes(pinned["birth_after_registration"]) == {"date_of_birth:out_of_order"}


@pytest.mark.parametrize("case, code", [
    ("not_avro", "message:not_wire_format"),
    ("empty", "message:empty"),
    ("tombstone", "message:tombstone"),
    ("unknown_schema_id", "message:unknown_schema_id"),
    ("truncated", "message:undecodable"),
])
def test_malformed_message_rejected(pinned, case, code):
    assert reason_codes(pinned[case]) == {code}


def test_malformed_messages_keep_raw_bytes(pinned):
    assert pinned["not_avro"]["message_value"] == b"not avro"
    assert pinned["tombstone"]["message_value"] is None
    assert pinned["empty"]["message_value"] in (b"", None)


def test_job_never_restarted(stack, pinned):
    from userstream.stack import flink

    job = flink.active_job(stack)
    assert job is not None
    assert job["state"] == "RUNNING"
    exceptions = flink.rest_get(stack, f"/jobs/{job['jid']}/exceptions") or {}
    history = exceptions.get("exceptionHistory", {}).get("entries", [])
    assert history == [], f"the job failed and restarted: {history[:1]}"


def test_ten_records_visible_within_two_seconds(stack, sender, contract, db):
    encode = sender.serializer(contract.schema)
    user_ids = unique_user_ids(10)
    for user_id in user_ids:
        sender.send(str(user_id).encode(), sender.encode(encode, valid_profile(user_id)))
    sender.flush()
    sent_at = time.monotonic()
    wait_for(lambda: len(rows_by_user(db, user_ids)) == 10, 10, "10 rows in MySQL", 0.05)
    elapsed = time.monotonic() - sent_at
    assert elapsed <= 2.0, f"10 records took {elapsed:.2f}s to reach MySQL"


def test_registered_schema_matches_contract_file(stack, contract):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    client = SchemaRegistryClient({"url": stack.registry_url})
    latest = client.get_latest_version(stack.subject)
    assert json.loads(latest.schema.schema_str) == contract.schema


def test_registry_keeps_schemas_across_restart(stack, sender, contract, db):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from userstream.stack import registry

    schema_id = registry.register_contract(stack)
    registry.stop(stack)
    registry.start(stack)
    fresh_client = SchemaRegistryClient({"url": stack.registry_url})
    assert json.loads(fresh_client.get_schema(schema_id).schema_str) == contract.schema
    user_id = unique_user_ids(1)[0]
    value = sender.encode(sender.serializer(contract.schema), valid_profile(user_id))
    sender.send(str(user_id).encode(), value)
    sender.flush()
    wait_for(lambda: rows_by_user(db, [user_id]), 30, "a row written after the registry restart")
