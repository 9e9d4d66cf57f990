"""Shared fixtures: the contract, and the real local stack for tests marked `stack`."""

from __future__ import annotations

import logging
import time

import pytest

from userstream.config import Config, ensure_secrets
from userstream.contract import default_contract
from userstream.stack import flink, lifecycle, mysql, process

log = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def contract():
    return default_contract()


@pytest.fixture(scope="session")
def stack():
    """Bring the local stack up (installing what is missing) and the job running.

    A stack that was already running is reused and left running; one started here is
    stopped at the end of the session.
    """
    ensure_secrets(Config.load().home)
    config = Config.load()
    already_running = process.running_pid(config, "kafka") is not None
    lifecycle.up(config)
    wait_for_job_running(config)
    yield config
    if not already_running:
        lifecycle.down(config)


def wait_for_job_running(config: Config, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = flink.active_job(config)
        if job and job["state"] == "RUNNING":
            details = flink.rest_get(config, f"/jobs/{job['jid']}")
            vertices = (details or {}).get("vertices", [])
            if vertices and all(vertex["status"] == "RUNNING" for vertex in vertices):
                return
        time.sleep(1)
    raise AssertionError(f"job {config.job_name} was not running after {timeout_s:.0f}s; "
                         f"see {process.log_file(config, 'flink-taskmanager')}")


@pytest.fixture
def db(stack):
    connection = mysql.connect(stack, autocommit=True)
    yield connection
    connection.close()
