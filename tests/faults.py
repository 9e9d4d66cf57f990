"""Helpers for tests that inject faults mid-stream and then reconcile the topic with MySQL."""

from __future__ import annotations

import os
import signal
import threading

from producer import publisher
from tests.pipeline import unique_user_ids, wait_for
from userstream.reconcile import reconcile
from userstream.stack import process

MESSAGES = 20_000
RATE = 500  # messages per second, so a fault lands mid-stream


class Production:
    """Run the producer in a thread while the test injects a fault."""

    def __init__(self, config, count=MESSAGES, rate=RATE):
        self.counts = None
        self.error = None
        self.stop = threading.Event()
        first_id = unique_user_ids(1)[0]

        def produce():
            try:
                self.counts = publisher.run(
                    config, count=count, rate=rate, batch_size=count, interval_s=(1, 1),
                    seed=first_id, invalid_rate=0.1, stop=self.stop, first_user_id=first_id)
            except Exception as error:  # reported by wait()
                self.error = error

        self.thread = threading.Thread(target=produce, name="fault-producer", daemon=True)
        self.thread.start()

    def wait(self, timeout_s=600):
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the producer did not finish"
        assert self.error is None, f"the producer failed: {self.error}"
        assert self.counts.failed == 0
        assert self.counts.delivered == self.counts.produced
        return self.counts


def assert_reconciled(config, timeout_s=240):
    """Wait until reconcile finds every message, then check nothing is doubled."""
    last = {}

    def consistent():
        report = reconcile(config)
        last["report"] = report
        return report.missing == 0 and report

    try:
        report = wait_for(consistent, timeout_s, "reconcile with 0 missing", interval_s=5)
    except AssertionError:
        report = last["report"]
        raise AssertionError(f"{report.missing} missing, e.g. {report.missing_positions}; "
                             f"{report.duplicated} duplicated") from None
    assert report.duplicated == 0, f"duplicated: {report.duplicated_positions}"


def kill_9(config, name):
    pid = process.running_pid(config, name)
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: process.running_pid(config, name) is None, 30, f"{name} to die")
