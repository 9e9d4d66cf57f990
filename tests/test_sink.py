"""The job's MySQL sink on the real stack: refused rows and rows from earlier positions."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.pipeline import MessageSender, rejects_at, rows_by_user, unique_user_ids, wait_for
from tests.profiles import valid_profile
from userstream.stack import flink, mysql

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def sender(stack):
    return MessageSender(stack)


@pytest.fixture
def admin(stack):
    connection = mysql.connect(stack, admin=True, autocommit=True)
    yield connection
    connection.close()


def restarts(config) -> int:
    job = flink.active_job(config)
    assert job is not None and job["state"] == "RUNNING"
    exceptions = flink.rest_get(config, f"/jobs/{job['jid']}/exceptions") or {}
    return len(exceptions.get("exceptionHistory", {}).get("entries", []))


def committed_offset(config, partition: int) -> int:
    """Return the job's committed offset of a partition: everything before it is in MySQL."""
    consumer = Consumer({"bootstrap.servers": config.kafka_bootstrap,
                         "group.id": config.consumer_group, "enable.auto.commit": False})
    try:
        [committed] = consumer.committed([TopicPartition(config.topic, partition)], timeout=10)
        return committed.offset
    finally:
        consumer.close()


def test_refused_row_rejected_rest_of_batch_stored(
        stack, sender, contract, db, admin):
    # A CHECK constraint the contract does not know about: the row passes validation and the
    # database refuses it.
    failures_before = restarts(stack)
    user_ids = unique_user_ids(10)
    refused_id = user_ids[4]
    admin.cursor().execute("ALTER TABLE users ADD CONSTRAINT refuse_test_city CHECK "
                           f"(NOT (user_id = {refused_id} AND city = 'Refuseville'))")
    try:
        encode = sender.serializer(contract.schema)
        slots = {}
        for user_id in user_ids:
            changes = {"city": "Refuseville"} if user_id == refused_id else {}
            value = sender.encode(encode, valid_profile(user_id, **changes))
            slots[user_id] = sender.send(str(user_id).encode(), value)
        sender.flush()
        position = (slots[refused_id][0].partition, slots[refused_id][0].offset)

        def arrived():
            rows = rows_by_user(db, user_ids)
            rejects = rejects_at(db, stack.topic, [position])
            return (rows, rejects) if len(rows) + len(rejects) == 10 else None

        rows, rejects = wait_for(arrived, 60, "nine rows and one reject")
    finally:
        admin.cursor().execute("ALTER TABLE users DROP CONSTRAINT refuse_test_city")
    assert sorted(rows) == sorted(set(user_ids) - {refused_id})
    reject = rejects[position]
    assert reject["reason_codes"] == "row:database_refused"
    assert reject["user_id"] == refused_id
    [reason] = json.loads(reject["reasons"])
    assert reason["code"] == "database_refused"
    assert "refuse_test_city" in reason["message"]
    assert restarts(stack) == failures_before


def test_row_from_earlier_position_never_overwrites_newer_row(stack, sender, contract, db, admin):
    encode = sender.serializer(contract.schema)
    user_id = unique_user_ids(1)[0]
    first = sender.send(str(user_id).encode(),
                        sender.encode(encode, valid_profile(user_id, first_name="First")))
    sender.flush()
    wait_for(lambda: rows_by_user(db, [user_id]), 30, "the first version in MySQL")
    partition, offset = first[0].partition, first[0].offset
    # Make the stored row look as if it came from a later message of the same partition, as
    # after a replay of older messages.
    admin.cursor().execute(
        "UPDATE users SET first_name = 'Later', kafka_offset = %s WHERE user_id = %s",
        (offset + 1_000_000, user_id))

    second = sender.send(str(user_id).encode(),
                         sender.encode(encode, valid_profile(user_id, first_name="Earlier")))
    sender.flush()
    second_offset = second[0].offset
    assert second[0].partition == partition
    wait_for(lambda: committed_offset(stack, partition) > second_offset, 60,
             "the job committing past the second version")
    row = rows_by_user(db, [user_id])[user_id]
    # Put the row back at the true position of its last message, which reconcile expects.
    admin.cursor().execute("UPDATE users SET kafka_offset = %s WHERE user_id = %s",
                           (second_offset, user_id))
    assert row["first_name"] == "Later"
    assert row["kafka_offset"] == offset + 1_000_000


def test_later_version_replaces_stored_row(stack, sender, contract, db):
    encode = sender.serializer(contract.schema)
    user_id = unique_user_ids(1)[0]
    for name in ("One", "Two", "Three"):
        sender.send(str(user_id).encode(),
                    sender.encode(encode, valid_profile(user_id, first_name=name)))
    sender.flush()
    wait_for(lambda: rows_by_user(db, [user_id]).get(user_id, {}).get("first_name") == "Three",
             30, "the third version in MySQL")


def test_older_version_stored_when_newer_refused(stack, sender, contract, db, admin):
    user_id = unique_user_ids(1)[0]
    admin.cursor().execute("ALTER TABLE users ADD CONSTRAINT refuse_test_score "
                           f"CHECK (NOT (user_id = {user_id} AND credit_score = 777))")
    try:
        encode = sender.serializer(contract.schema)
        older = sender.send(str(user_id).encode(),
                            sender.encode(encode, valid_profile(user_id, credit_score=700)))
        newer = sender.send(str(user_id).encode(),
                            sender.encode(encode, valid_profile(user_id, credit_score=777)))
        sender.flush()
        newer_position = (newer[0].partition, newer[0].offset)
        wait_for(lambda: rejects_at(db, stack.topic, [newer_position]), 60,
                 "the refused newer version in user_rejects")
    finally:
        admin.cursor().execute("ALTER TABLE users DROP CONSTRAINT refuse_test_score")
    row = rows_by_user(db, [user_id])[user_id]
    assert (row["kafka_partition"], row["kafka_offset"]) == (older[0].partition, older[0].offset)
    assert row["credit_score"] == 700


def test_trigger_signal_rejects_row_without_logging_values(stack, sender, contract, db, admin):
    admin.cursor().execute(
        "CREATE TRIGGER refuse_test_trigger BEFORE INSERT ON users FOR EACH ROW "
        "IF NEW.email = 'blocked.person@example.org' THEN "
        "SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = 'blocked: blocked.person@example.org'; "
        "END IF")
    try:
        encode = sender.serializer(contract.schema)
        user_ids = unique_user_ids(3)
        slots = [sender.send(str(user_id).encode(), sender.encode(encode, valid_profile(
            user_id, email="blocked.person@example.org" if index == 1 else
            f"person{index}@example.org"))) for index, user_id in enumerate(user_ids)]
        sender.flush()
        position = (slots[1][0].partition, slots[1][0].offset)
        wait_for(lambda: len(rows_by_user(db, user_ids)) == 2
                 and rejects_at(db, stack.topic, [position]), 60, "two rows and one reject")
    finally:
        admin.cursor().execute("DROP TRIGGER refuse_test_trigger")
    reject = rejects_at(db, stack.topic, [position])[position]
    assert reject["reason_codes"] == "row:database_refused"
    assert "blocked" in json.loads(reject["reasons"])[0]["message"]
    for log in stack.path("logs").glob("flink-*.log"):
        assert "blocked.person@example.org" not in log.read_text(errors="replace"), log.name


def rewind(config, partition: int, offset: int) -> None:
    """Stop the job, move its committed offset of `partition` back to `offset`, resubmit it."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    flink.cancel_job(config)
    wait_for(lambda: flink.active_job(config) is None, 60, "the job to stop")
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap})
    request = ConsumerGroupTopicPartitions(
        config.consumer_group, [TopicPartition(config.topic, partition, offset)])
    admin.alter_consumer_group_offsets([request])[config.consumer_group].result(timeout=30)
    flink.submit_job(config)
    wait_for(lambda: (flink.active_job(config) or {}).get("state") == "RUNNING", 120,
             "the job to run again")


def test_replay_stores_once_refused_row_and_drops_reject(stack, sender, contract, db, admin):
    user_id = unique_user_ids(1)[0]
    admin.cursor().execute("ALTER TABLE users ADD CONSTRAINT refuse_test_replay "
                           f"CHECK (user_id <> {user_id})")
    try:
        encode = sender.serializer(contract.schema)
        slot = sender.send(str(user_id).encode(),
                           sender.encode(encode, valid_profile(user_id)))
        sender.flush()
        position = (slot[0].partition, slot[0].offset)
        wait_for(lambda: rejects_at(db, stack.topic, [position]), 60, "the refusal")
        wait_for(lambda: committed_offset(stack, position[0]) > position[1], 60,
                 "the job committing past the refused message")
    finally:
        admin.cursor().execute("ALTER TABLE users DROP CONSTRAINT refuse_test_replay")
    rewind(stack, position[0], position[1])
    wait_for(lambda: rows_by_user(db, [user_id]), 60, "the replayed row")
    row = rows_by_user(db, [user_id])[user_id]
    assert (row["kafka_partition"], row["kafka_offset"]) == position
    assert rejects_at(db, stack.topic, [position]) == {}
