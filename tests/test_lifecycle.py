"""`userstream up` on a stack that is already running, with and without its job."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for_job_running
from tests.pipeline import wait_for
from userstream.stack import flink, lifecycle, process

pytestmark = pytest.mark.stack


def taskmanager_pids(config) -> dict[str, int | None]:
    return {name: process.running_pid(config, name) for name in config.taskmanager_names}


def test_up_keeps_taskmanagers_of_running_job(stack):
    before = taskmanager_pids(stack)
    job = flink.active_job(stack)
    lifecycle.up(stack)
    assert taskmanager_pids(stack) == before
    assert flink.active_job(stack)["jid"] == job["jid"]


def test_up_without_job_restarts_taskmanagers(stack):
    """TaskManagers that ran a job keep its Python modules, so a new job gets fresh ones."""
    before = taskmanager_pids(stack)
    flink.cancel_job(stack)
    wait_for(lambda: flink.active_job(stack) is None, 60, "the job to stop")
    lifecycle.up(stack)
    wait_for_job_running(stack)
    after = taskmanager_pids(stack)
    assert set(after) == set(before)
    for name, pid in after.items():
        assert pid is not None, f"{name} is not running"
        assert pid != before[name], f"{name} kept pid {pid}"
