"""The producer's own traffic through the real stack: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from producer import publisher
from tests.pipeline import rejects_at, rows_by_user, unique_user_ids, wait_for

pytestmark = pytest.mark.stack

# The reason code each invalid kind must produce (others may accompany it).
EXPECTED_REASON = {
    "too_long": "phone_number:too_long",
    "out_of_range": "credit_score:out_of_range",
    "bad_email": "email:invalid_format",
    "dates_out_of_order": "date_of_birth:out_of_order",
    "decimal_overflow": "account_balance:out_of_range",
    "not_wire_format": "message:not_wire_format",
    "unknown_schema_id": "message:unknown_schema_id",
    "truncated": "message:undecodable",
    "empty": "message:empty",
    "tombstone": "message:tombstone",
}


def read_report(path) -> list[dict]:
    with open(path, encoding="utf-8") as report:
        return [json.loads(line) for line in report if line.strip()]


def expected_outcome(report: list[dict]):
    """Return the latest valid message per user_id and every invalid message, by position."""
    latest: dict[int, tuple[int, int]] = {}
    invalid: dict[tuple[int, int], str] = {}
    for entry in sorted(report, key=lambda item: (item["partition"], item["offset"])):
        position = (entry["partition"], entry["offset"])
        if entry["kind"]:
            invalid[position] = entry["kind"]
        else:
            latest[entry["user_id"]] = position
    return latest, invalid


def wait_for_outcome(db, topic, latest, invalid, timeout_s=180):
    def arrived():
        rows = rows_by_user(db, list(latest))
        rejects = rejects_at(db, topic, invalid)
        current = sum(1 for user_id, row in rows.items()
                      if (row["kafka_partition"], row["kafka_offset"]) == latest[user_id])
        if current == len(latest) and len(rejects) == len(invalid):
            return rows, rejects
        return None

    return wait_for(arrived, timeout_s, f"{len(latest)} rows and {len(invalid)} rejects", 1.0)


def test_every_message_stored_or_rejected_once(stack, db, tmp_path):
    report_path = tmp_path / "delivered.jsonl"
    first_id = unique_user_ids(1)[0]
    counts = publisher.run(stack, count=2500, rate=None, batch_size=2500, interval_s=(1, 1),
                           seed=2024, invalid_rate=0.1, stop=threading.Event(),
                           report_path=report_path, first_user_id=first_id)
    report = read_report(report_path)
    assert counts.delivered == 2500
    assert counts.failed == 0
    assert len(report) == 2500
    kinds = {entry["kind"] for entry in report if entry["kind"]}
    assert kinds == set(EXPECTED_REASON), f"kinds sent: {sorted(kinds)}"
    invalid_share = sum(1 for entry in report if entry["kind"]) / len(report)
    assert 0.07 <= invalid_share <= 0.13, f"invalid share {invalid_share:.3f}"

    latest, invalid = expected_outcome(report)
    rows, rejects = wait_for_outcome(db, stack.topic, latest, invalid)

    user_ids = {entry["user_id"] for entry in report}
    stored_ids = set(rows_by_user(db, list(user_ids)))
    assert stored_ids == set(latest), "rows exist for users whose every message was invalid"
    for position, kind in invalid.items():
        codes = set(rejects[position]["reason_codes"].split(";"))
        assert EXPECTED_REASON[kind] in codes, f"{kind} at {position} rejected as {codes}"
    valid_positions = {
        (entry["partition"], entry["offset"]) for entry in report if not entry["kind"]}
    assert not valid_positions & set(rejects_at(db, stack.topic, valid_positions)), (
        "a valid message was also stored as a reject")


def test_sigterm_mid_batch_loses_no_acknowledged_record(stack, db, tmp_path):
    report_path = tmp_path / "delivered.jsonl"
    first_id = unique_user_ids(1)[0]
    command = [sys.executable, "-m", "userstream.cli", "produce", "--rate", "400",
               "--count", "20000", "--seed", "7", "--update-share", "0",
               "--first-user-id", str(first_id), "--report", str(report_path)]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=os.environ.copy())
    def first_acknowledgement():
        if producer.poll() is not None:
            raise AssertionError(f"the producer exited early: {producer.stderr.read()[-2000:]}")
        return report_path.exists() and report_path.stat().st_size > 0

    wait_for(first_acknowledgement, 60, "the producer's first acknowledgement")
    time.sleep(2)
    producer.send_signal(signal.SIGTERM)
    stdout, stderr = producer.communicate(timeout=90)
    assert producer.returncode == 0, stderr[-2000:]
    report = read_report(report_path)
    assert 0 < len(report) < 20000
    assert f"delivered {len(report)}, failed 0, unconfirmed 0" in stdout

    latest, invalid = expected_outcome(report)
    assert invalid == {}
    assert len(latest) == len(report)
    rows, _ = wait_for_outcome(db, stack.topic, latest, invalid)
    assert len(rows) == len(report)


def test_reconcile_finds_nothing_missing(stack):
    from userstream.reconcile import reconcile

    report = reconcile(stack)
    assert report.messages > 0
    assert report.missing == 0, f"missing positions: {report.missing_positions}"
    assert report.duplicated == 0, f"duplicated positions: {report.duplicated_positions}"


def test_reconcile_reports_deleted_row(stack, db, tmp_path):
    from tests.pipeline import MessageSender
    from tests.profiles import valid_profile
    from userstream.reconcile import reconcile
    from userstream.stack import mysql

    report_path = tmp_path / "delivered.jsonl"
    publisher.run(stack, count=20, rate=None, batch_size=20, interval_s=(1, 1), seed=11,
                  invalid_rate=0.0, stop=threading.Event(), report_path=report_path,
                  first_user_id=unique_user_ids(1)[0], update_share=0.0)
    latest, invalid = expected_outcome(read_report(report_path))
    wait_for_outcome(db, stack.topic, latest, invalid)
    victim = next(iter(latest))
    admin = mysql.connect(stack, admin=True, autocommit=True)
    try:
        admin.cursor().execute("DELETE FROM users WHERE user_id = %s", (victim,))
        report = reconcile(stack)
    finally:
        admin.close()
        # A newer version of the user brings the row back, so later runs reconcile cleanly.
        sender = MessageSender(stack)
        value = sender.encode(sender.serializer(stack_contract()), valid_profile(victim))
        sender.send(str(victim).encode(), value)
        sender.flush()
        wait_for(lambda: rows_by_user(db, [victim]), 30, "the restored row")
    assert report.missing == 1
    assert report.missing_positions == [latest[victim]]


def stack_contract() -> dict:
    from userstream.contract import default_contract

    return default_contract().schema
