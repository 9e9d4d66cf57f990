"""Start, find and stop the local stack's processes by PID file, and wait for readiness."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from userstream.config import Config

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A local-stack step failed; the message says what and what to do next."""


def pid_file(config: Config, name: str) -> Path:
    return config.path("run", f"{name}.pid")


def log_file(config: Config, name: str) -> Path:
    return config.path("logs", f"{name}.log")


def running_pid(config: Config, name: str) -> int | None:
    """Return the PID of a process this project started, or None when it is not running."""
    path = pid_file(config, name)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return None
    return None if state == "Z" else pid


def start(config: Config, name: str, argv: list[str], env: dict | None = None,
          cwd: Path | None = None) -> int:
    """Start `argv` in its own session with output appended to the service's log file."""
    for folder in ("run", "logs"):
        config.path(folder).mkdir(parents=True, exist_ok=True)
    log_path = log_file(config, name)
    with open(log_path, "ab") as output:
        process = subprocess.Popen(
            argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
    pid_file(config, name).write_text(str(process.pid))
    log.info("started %s (pid %s), log %s", name, process.pid, log_path)
    return process.pid


def stop(config: Config, name: str, timeout_s: float = 30.0) -> bool:
    """Stop a started process group with SIGTERM, then SIGKILL after `timeout_s`."""
    pid = running_pid(config, name)
    if pid is None:
        pid_file(config, name).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and running_pid(config, name) is not None:
        time.sleep(0.2)
    if running_pid(config, name) is not None:
        log.warning("%s (pid %s) did not stop within %.0fs; sending SIGKILL", name, pid, timeout_s)
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(config, name).unlink(missing_ok=True)
    log.info("stopped %s (pid %s)", name, pid)
    return True


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, signum)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_free_port(host: str, port: int, setting: str) -> None:
    """Raise StackError unless a server could bind `host:port` now.

    The check binds the port as the servers do (SO_REUSEADDR, which Java and MariaDB set),
    so it also catches a port held as the local end of some other connection, which a
    connection attempt would not notice.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return
        except OSError as failure:
            reason = failure.strerror or str(failure)
    low, high = _ephemeral_range()
    hint = (f"; ports {low} to {high} are the range this machine picks connections' local "
            "ports from, so a port outside it is a safer choice" if low <= port <= high else "")
    raise StackError(
        f"port {port} on {host} is already in use ({reason}); stop the process that uses it "
        f"or choose another port with {setting}{hint}"
    )


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def wait_until(ready: Callable[[], bool], what: str, timeout_s: float, log_path: Path,
               config: Config | None = None, name: str | None = None) -> None:
    """Poll `ready` until it is true; fail after `timeout_s` naming what was not ready."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if ready():
            log.info("%s ready after %.1fs", what, time.monotonic() - started)
            return
        if config is not None and name is not None and running_pid(config, name) is None:
            raise StackError(f"{what} exited during start-up; see {log_path}\n{tail(log_path)}")
        time.sleep(0.5)
    raise StackError(f"{what} was not ready after {timeout_s:.0f}s; see {log_path}\n{tail(log_path)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


def run(argv: list[str], what: str, env: dict | None = None, input_text: str | None = None,
        timeout_s: float = 600) -> str:
    """Run a command to completion and raise StackError with its output when it fails."""
    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})},
        input=input_text, timeout=timeout_s,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise StackError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(output))
    return result.stdout
