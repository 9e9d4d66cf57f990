"""A standalone Flink cluster (JobManager and TaskManager) from the PyPI distribution."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pyflink

from userstream.config import PROJECT_ROOT, Config
from userstream.stack import process

log = logging.getLogger(__name__)
FLINK_HOME = Path(pyflink.__file__).resolve().parent
ACTIVE_STATES = {"CREATED", "RUNNING", "RESTARTING", "INITIALIZING", "RECONCILING"}


def _conf_dir(config: Config) -> Path:
    return config.path("flink", "conf")


def _default_java_opts() -> str:
    """Return the JVM module options of the distribution's own config (Java 17 needs them)."""
    text = (FLINK_HOME / "conf" / "config.yaml").read_text()
    match = re.search(r"^\s+all: (--add-.*)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _config_yaml(config: Config, bind_host: str = "127.0.0.1") -> str:
    python = sys.executable
    jobmanager_host = urlsplit(config.flink_url).hostname or "127.0.0.1"
    own_host = "127.0.0.1" if bind_host == "127.0.0.1" else socket.gethostname()
    settings = {
        "env.java.opts.all": _default_java_opts(),
        "jobmanager.rpc.address": jobmanager_host,
        "jobmanager.rpc.port": str(config.flink_rpc_port),
        "jobmanager.bind-host": bind_host,
        "taskmanager.bind-host": bind_host,
        "taskmanager.host": own_host,
        "rest.address": jobmanager_host,
        "rest.bind-address": bind_host,
        "rest.port": str(config.flink_port),
        "jobmanager.memory.process.size": config.jobmanager_heap,
        "taskmanager.memory.process.size": config.taskmanager_memory,
        # Slots are spread over the TaskManagers: the job's Python code runs in one embedded
        # interpreter per TaskManager, whose global lock lets one thread run Python at a time.
        "taskmanager.numberOfTaskSlots": str(_slots_per_taskmanager(config)),
        "parallelism.default": str(config.job_parallelism),
        "python.executable": python,
        "python.client.executable": python,
        "execution.checkpointing.dir": config.path("flink", "checkpoints").as_uri(),
        "execution.checkpointing.savepoint-dir": config.path("flink", "savepoints").as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
        "state.backend.type": "hashmap",
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": "30 s",
        # Retries continue while a dependency (MySQL, Kafka) is down: about 8 hours at the
        # maximum backoff before the job is marked failed.
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": "1000",
        "taskmanager.memory.jvm-metaspace.size": "384m",
        "env.pid.dir": str(config.path("run")),
        "io.tmp.dirs": str(config.path("flink", "tmp")),
        "blob.server.port": "0",
        "web.submit.enable": "false",
        "classloader.parent-first-patterns.additional": "pemja.",
        "web.cancel.enable": "true",
    }
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())


def _write_lib(config: Config) -> Path:
    """Link the distribution's lib/ jars plus opt/flink-python into a lib folder of our own.

    In thread mode the embedded interpreter (pemja) must be loaded once per TaskManager JVM.
    From lib/ it is, while a copy shipped with each job is loaded again by every new job and
    fails to start on Java 17.
    """
    lib = config.path("flink", "lib")
    lib.mkdir(parents=True, exist_ok=True)
    jars = list((FLINK_HOME / "lib").glob("*.jar")) + list((FLINK_HOME / "opt").glob(
        "flink-python-*.jar"))
    for jar in jars:
        link = lib / jar.name
        if not link.exists():
            link.symlink_to(jar)
    return lib


def write_conf(config: Config, bind_host: str = "127.0.0.1") -> Path:
    _write_lib(config)
    conf = _conf_dir(config)
    conf.mkdir(parents=True, exist_ok=True)
    for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
        shutil.copy(FLINK_HOME / "conf" / name, conf / name)
    conf.joinpath("config.yaml").write_text(_config_yaml(config, bind_host))
    for folder in ("checkpoints", "savepoints", "tmp", "logs"):
        config.path("flink", folder).mkdir(parents=True, exist_ok=True)
    return conf


def flink_env(config: Config) -> dict:
    # Thread mode embeds Python in the TaskManager's JVM; that interpreter starts from the base
    # installation, so it is pointed at this environment's packages and the project. This
    # Python's directories go first on PATH, so the embedded interpreter is the same Python
    # whatever PATH the command was started with.
    python_path = os.pathsep.join([sysconfig.get_paths()["purelib"], str(PROJECT_ROOT)])
    base_python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    search_path = os.pathsep.join([os.path.dirname(sys.executable),
                                   os.path.dirname(base_python),
                                   os.environ.get("PATH", "/usr/bin:/bin")])
    return {"FLINK_CONF_DIR": str(_conf_dir(config)), "FLINK_HOME": str(FLINK_HOME),
            "FLINK_LIB_DIR": str(config.path("flink", "lib")),
            "FLINK_LOG_DIR": str(config.path("flink", "logs")), "PYTHONPATH": python_path,
            "PATH": search_path}


def _slots_per_taskmanager(config: Config) -> int:
    return max(1, -(-config.job_parallelism // max(1, config.taskmanagers)))


def start(config: Config) -> list[str]:
    """Start the JobManager and the TaskManagers, each in the foreground of its own session.

    Returns the names of the TaskManagers this call started; the others were running.
    """
    write_conf(config)
    if not process.running_pid(config, "flink-jobmanager"):
        process.require_free_port("127.0.0.1", config.flink_port, "USERSTREAM_FLINK_URL")
        process.require_free_port("127.0.0.1", config.flink_rpc_port, "USERSTREAM_FLINK_RPC_PORT")
        process.start(config, "flink-jobmanager",
                      ["bash", str(FLINK_HOME / "bin" / "jobmanager.sh"), "start-foreground"],
                      env=flink_env(config))
    if config.taskmanagers < 1:
        raise process.StackError("USERSTREAM_TASKMANAGERS must be 1 or more")
    started = []
    for name in config.taskmanager_names:
        if not process.running_pid(config, name):
            process.start(config, name,
                          ["bash", str(FLINK_HOME / "bin" / "taskmanager.sh"),
                           "start-foreground"], env=flink_env(config))
            started.append(name)
    slots = config.taskmanagers * _slots_per_taskmanager(config)
    process.wait_until(lambda: _slots(config) >= slots,
                       f"Flink cluster at {config.flink_url} with {config.taskmanagers} "
                       f"registered TaskManager(s)", 90,
                       process.log_file(config, "flink-taskmanager"), config, "flink-jobmanager")
    return started


def stop(config: Config) -> None:
    # Also the TaskManagers of an earlier run with more of them.
    names = {path.stem for path in config.path("run").glob("flink-taskmanager*.pid")}
    for name in sorted(names | set(config.taskmanager_names)):
        process.stop(config, name)
    process.stop(config, "flink-jobmanager")
    # Flink's scripts write PID files of their own into env.pid.dir, even in the foreground.
    for leftover in config.path("run").glob("flink-*-*.pid"):
        leftover.unlink(missing_ok=True)


def rest_get(config: Config, path: str, timeout_s: float = 5) -> dict | None:
    try:
        with urllib.request.urlopen(config.flink_url + path, timeout=timeout_s) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _slots(config: Config) -> int:
    overview = rest_get(config, "/overview")
    return overview.get("slots-total", 0) if overview else 0


def any_job_active(config: Config) -> bool | None:
    """Return whether any job on the cluster is not finished, or None if the REST call failed."""
    overview = rest_get(config, "/jobs/overview")
    if overview is None:
        return None
    return any(job.get("state") in ACTIVE_STATES for job in overview.get("jobs", []))


def active_job(config: Config) -> dict | None:
    """Return the overview of the job with the configured name that is not finished."""
    overview = rest_get(config, "/jobs/overview")
    for job in (overview or {}).get("jobs", []):
        if job.get("name") == config.job_name and job.get("state") in ACTIVE_STATES:
            return job
    return None


def submit_job(config: Config, savepoint: str | None = None, script: Path | None = None,
               extra_env: dict | None = None) -> str:
    """Submit the PyFlink job detached unless it is already running; return its job id.

    With `savepoint`, the job starts from that savepoint's state: its Kafka positions.
    `script` submits another PyFlink program under the configured job name instead.
    """
    # NOTE: TaskManagers keep the Python modules of the first job they ran (thread mode), so
    # changed job code needs restart_taskmanagers() before it is submitted.
    job = active_job(config)
    if job:
        log.info("job %s already %s (%s)", config.job_name, job["state"].lower(), job["jid"])
        return job["jid"]
    if not _conf_dir(config).joinpath("config.yaml").exists():
        write_conf(config)
    host_port = config.flink_url.split("://", 1)[-1]
    argv = ["bash", str(FLINK_HOME / "bin" / "flink"), "run", "-m", host_port, "-d"]
    if savepoint:
        argv += ["-s", savepoint]
    argv += ["-py", str(script or PROJECT_ROOT / "flink_job" / "job.py"),
             "-pyexec", sys.executable, "-pyclientexec", sys.executable]
    # The job's client reads its settings (topic, tables, contract) from the environment.
    env = {**config.environ(), **flink_env(config), **(extra_env or {})}
    output = process.run(argv, "submitting the Flink job", env=env, timeout_s=300)
    match = re.search(r"JobID ([0-9a-f]{32})", output)
    if not match:
        raise process.StackError(f"flink run printed no job id:\n{output[-2000:]}")
    log.info("submitted job %s as %s%s", config.job_name, match.group(1),
             f" from savepoint {savepoint}" if savepoint else "")
    return match.group(1)


def stop_with_savepoint(config: Config, timeout_s: float = 180) -> str:
    """Stop the running job with a savepoint and return the savepoint's location.

    The sinks flush before the savepoint is taken, so the savepoint's Kafka positions are
    exactly where the stopped job's output ends.
    """
    job = active_job(config)
    if job is None or job["state"] != "RUNNING":
        raise process.StackError(f"job {config.job_name} is not running; nothing to stop")
    if not wait_for_tasks_running(config, job["jid"]):
        raise process.StackError(f"the tasks of job {job['jid']} did not start within 60 s; "
                                 "try again once `userstream status` shows it running")
    request_body = {"drain": False}
    if "flink" in config.services:
        request_body["targetDirectory"] = config.path("flink", "savepoints").as_uri()
    # Any other cluster writes to its own execution.checkpointing.savepoint-dir, a folder its
    # JobManager can reach, which a path on this machine need not be.
    body = json.dumps(request_body).encode()
    request = urllib.request.Request(f"{config.flink_url}/jobs/{job['jid']}/stop", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        trigger = json.load(response)["request-id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = rest_get(config, f"/jobs/{job['jid']}/savepoints/{trigger}") or {}
        if state.get("status", {}).get("id") == "COMPLETED":
            operation = state.get("operation", {})
            if "location" not in operation:
                raise process.StackError(f"stopping job {job['jid']} with a savepoint failed: "
                                         f"{str(operation.get('failure-cause'))[:500]}")
            log.info("job %s stopped with savepoint %s", job["jid"], operation["location"])
            return operation["location"]
        time.sleep(1)
    raise process.StackError(f"job {job['jid']} took over {timeout_s:.0f}s to stop with a "
                             f"savepoint; see {process.log_file(config, 'flink-jobmanager')}")


def restart_taskmanagers(config: Config) -> None:
    """Restart the local TaskManagers, so the next job imports the project's Python afresh.

    In thread mode the job's Python modules live in an interpreter inside each TaskManager,
    which keeps them imported across jobs: without a restart, a resubmitted job would run the
    code of the first job that ran there.
    """
    for name in config.taskmanager_names:
        process.stop(config, name)
    start(config)


def upgrade_job(config: Config) -> str:
    """Stop the job with a savepoint and submit the current code and contract from it."""
    savepoint = stop_with_savepoint(config)
    deadline = time.monotonic() + 60
    while active_job(config) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    if "flink" in config.services:
        restart_taskmanagers(config)
    else:
        log.warning("the TaskManagers of %s keep the Python modules they imported first; "
                    "if the job's code changed, restart them, and the job recovers on them "
                    "from its last checkpoint with the new code (docs/deploy.md)",
                    config.flink_url)
    try:
        return submit_job(config, savepoint=savepoint)
    except process.StackError as error:
        raise process.StackError(
            f"{error}\nThe job is stopped; its savepoint is {savepoint}. Fix the cause, then "
            "resume with `userstream up` (from the committed offsets, which equal the "
            "savepoint's)") from error


def wait_for_tasks_running(config: Config, job_id: str, timeout_s: float = 60) -> bool:
    """Wait until every task of the job runs; return False if that did not happen in time.

    A task cancelled while it starts the TaskManager's embedded Python interpreter for the
    first time leaves that interpreter unusable until the TaskManager restarts (pemja, as
    bundled with Flink 2.0.2), so jobs are cancelled or stopped only once their tasks run.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        details = rest_get(config, f"/jobs/{job_id}") or {}
        vertices = details.get("vertices", [])
        if details.get("state") not in ACTIVE_STATES:
            return True
        if vertices and all(vertex.get("status") == "RUNNING" for vertex in vertices):
            return True
        time.sleep(0.5)
    return False


def cancel_job(config: Config) -> None:
    job = active_job(config)
    if job is None:
        return
    if not wait_for_tasks_running(config, job["jid"]):
        log.warning("job %s still starting its tasks after 60 s; cancelling it anyway",
                    job["jid"])
    request = urllib.request.Request(f"{config.flink_url}/jobs/{job['jid']}", method="PATCH")
    with urllib.request.urlopen(request, timeout=10):
        pass
    log.info("cancelled job %s (%s)", config.job_name, job["jid"])
