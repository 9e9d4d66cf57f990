"""Bring the whole local stack up or down in dependency order."""

from __future__ import annotations

import logging
import threading

from userstream import status
from userstream.config import Config
from userstream.stack import flink, install, kafka, mysql, registry

log = logging.getLogger(__name__)


def up(config: Config, submit: bool = True) -> None:
    """Start each configured local service, prepare topic, tables and schema, submit the job."""
    install.install(config)
    if "mysql" in config.services:
        mysql.start(config)
    mysql.migrate(config)
    mysql.check_tables(config)
    mysql.check_access(config)
    if "kafka" in config.services:
        kafka.start(config)
    kafka.ensure_topic(config)
    if "registry" in config.services:
        registry.start(config)
    registry.ensure_registered(config)
    started = flink.start(config) if "flink" in config.services else []
    if submit:
        if set(started) != set(config.taskmanager_names):
            _refresh_taskmanagers(config)
        flink.submit_job(config)
    log.info("stack is up; Flink web UI at %s", config.flink_url)


def _refresh_taskmanagers(config: Config) -> None:
    """Restart TaskManagers that ran before this `up`, unless a job still uses them.

    In thread mode a TaskManager keeps the Python modules of the first job it ran, so a new
    job on it would run that job's code instead of the current code.
    """
    if "flink" not in config.services:
        if flink.active_job(config) is None:
            log.warning("the TaskManagers of %s keep the Python modules they imported first; "
                        "if the job's code changed, restart them before the job runs "
                        "(docs/deploy.md)", config.flink_url)
        return
    active = flink.any_job_active(config)
    if active is None:
        log.warning("Flink at %s did not list its jobs, so the running TaskManagers are kept; "
                    "if the job's code changed, run `userstream job upgrade`", config.flink_url)
    elif not active:
        log.info("restarting the running TaskManagers before the job is submitted, so it "
                 "imports the current Python code")
        flink.restart_taskmanagers(config)


def down(config: Config) -> None:
    """Stop, in reverse order, every process this project started, by PID."""
    if "flink" in config.services:
        flink.stop(config)
    for name, service in (("registry", registry), ("kafka", kafka), ("mysql", mysql)):
        if name in config.services:
            service.stop(config)
    log.info("stack is down")


def run_until_interrupted(config: Config, batch_size: int, seed: int | None,
                          stop: threading.Event) -> int:
    """Run the stack and the producer's default schedule with live status until `stop` is set."""
    from producer import publisher

    up(config)
    producing = threading.Thread(
        target=publisher.run, name="producer", daemon=True,
        kwargs=dict(config=config, count=None, rate=None, batch_size=batch_size,
                    interval_s=(300.0, 600.0), seed=seed, invalid_rate=0.0, stop=stop),
    )
    producing.start()
    try:
        while not stop.is_set():
            print(status.render(status.collect(config)) + "\n", flush=True)
            stop.wait(5)
    finally:
        stop.set()
        producing.join(timeout=60)
        down(config)
    return 0
