"""Faults mid-stream on the real local stack, each followed by `reconcile` finding nothing
missing or doubled. Each test produces 20,000 messages, 10% of them invalid."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import wait_for_job_running
from tests.faults import Production, assert_reconciled, kill_9
from tests.pipeline import MessageSender, rows_by_user, unique_user_ids
from tests.profiles import valid_profile
from userstream.stack import kafka, lifecycle, mysql, process, registry

pytestmark = [pytest.mark.stack, pytest.mark.faults]


def test_taskmanager_killed(stack):
    production = Production(stack)
    time.sleep(10)
    kill_9(stack, "flink-taskmanager")
    time.sleep(5)
    lifecycle.up(stack)
    wait_for_job_running(stack, timeout_s=180)
    production.wait()
    assert_reconciled(stack)


def test_jobmanager_killed_then_up(stack):
    production = Production(stack)
    time.sleep(10)
    kill_9(stack, "flink-jobmanager")
    time.sleep(5)
    lifecycle.up(stack)
    wait_for_job_running(stack, timeout_s=180)
    production.wait()
    assert_reconciled(stack)


def test_mariadb_stopped_for_a_minute(stack):
    production = Production(stack)
    time.sleep(10)
    mysql.stop(stack)
    time.sleep(60)
    mysql.start(stack)
    production.wait()
    wait_for_job_running(stack, timeout_s=180)
    assert_reconciled(stack)


def test_kafka_restarted(stack):
    production = Production(stack)
    time.sleep(10)
    kafka.stop(stack)
    time.sleep(5)
    kafka.start(stack)
    production.wait()
    wait_for_job_running(stack, timeout_s=180)
    assert_reconciled(stack)


def test_registry_stopped_for_a_minute_while_a_new_schema_version_starts(stack, contract):
    # The second version adds an optional field. It is registered before the outage, so the
    # producer has its id, but the job first meets that id while the registry is down.
    newer = json.loads(json.dumps(contract.schema))
    newer["fields"].append({"name": "referral_code", "type": ["null", "string"],
                            "default": None, "maxLength": 20})
    sender = MessageSender(stack)
    serializer = sender.serializer(newer, subject=f"{stack.subject}-faults-newer")
    user_ids = unique_user_ids(300)
    encoded = [sender.encode(serializer, dict(valid_profile(user_id), referral_code="R1"))
               for user_id in user_ids]
    newer_id = int.from_bytes(encoded[0][1:5], "big")

    production = Production(stack)
    time.sleep(10)
    registry.stop(stack)
    slots = [sender.send(str(user_id).encode(), value) for user_id, value in zip(user_ids, encoded)]
    sender.flush()
    time.sleep(60)
    registry.start(stack)
    production.wait()
    assert_reconciled(stack)
    rows = rows_by_user(mysql.connect(stack, autocommit=True), user_ids)
    assert {user_id: (row["kafka_partition"], row["kafka_offset"], row["schema_id"])
            for user_id, row in rows.items()} == {
        user_id: (slot[0].partition, slot[0].offset, newer_id)
        for user_id, slot in zip(user_ids, slots)}


def test_connection_idle_past_wait_timeout(stack):
    root_statements = "SET GLOBAL wait_timeout = 5; SET GLOBAL interactive_timeout = 5;"
    process.run(["mariadb", f"--socket={stack.path('run', 'mysqld.sock')}", "-uroot"],
                "lowering wait_timeout", input_text=root_statements)
    try:
        Production(stack, count=200, rate=200).wait()
        time.sleep(15)
        Production(stack, count=2000, rate=500).wait()
        assert_reconciled(stack)
    finally:
        process.run(["mariadb", f"--socket={stack.path('run', 'mysqld.sock')}", "-uroot"],
                    "restoring wait_timeout",
                    input_text="SET GLOBAL wait_timeout = 28800; "
                               "SET GLOBAL interactive_timeout = 28800;")
