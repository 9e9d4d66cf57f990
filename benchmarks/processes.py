"""CPU time and memory of the local stack's processes, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

from userstream.config import Config
from userstream.stack import process

SERVICES = ("mysql", "kafka", "registry", "flink-jobmanager")
_TICKS = os.sysconf("SC_CLK_TCK")


def _group_members(leader: int) -> list[int]:
    """Return the pids of the process group that `process.start` gave the service."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # field 5 of stat, the process group id
            members.append(int(entry.name))
    return members


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def services(config: Config) -> list[str]:
    return list(SERVICES) + config.taskmanager_names


def cpu_seconds(config: Config) -> dict[str, float]:
    """Return the CPU seconds (user and system) each running service has used so far."""
    used = {}
    for name in services(config):
        leader = process.running_pid(config, name)
        if leader is not None:
            used[name] = sum(_cpu_seconds(pid) for pid in _group_members(leader))
    return used


def peak_rss_mib(config: Config) -> dict[str, float]:
    """Return each service's peak resident memory (VmHWM summed over its processes) in MiB."""
    peaks = {}
    for name in services(config):
        leader = process.running_pid(config, name)
        if leader is not None:
            peaks[name] = sum(_status_kib(pid, "VmHWM") for pid in _group_members(leader)) / 1024
    return peaks


def own_peak_rss_mib() -> float:
    return _status_kib(os.getpid(), "VmHWM") / 1024
