"""Run a Flink JobManager or TaskManager in the foreground of a container.

Used by docker-compose.yml: the process binds to all interfaces of its container, and the
JobManager's address comes from USERSTREAM_FLINK_URL, as on the local stack.
"""

from __future__ import annotations

import os
import sys

from userstream.config import Config
from userstream.stack import flink

ROLES = ("jobmanager", "taskmanager")


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in ROLES:
        sys.exit(f"usage: python -m userstream.stack.flink_container {'|'.join(ROLES)}")
    config = Config.load()
    flink.write_conf(config, bind_host="0.0.0.0")
    script = str(flink.FLINK_HOME / "bin" / f"{argv[0]}.sh")
    os.execvpe("bash", ["bash", script, "start-foreground"],
               {**os.environ, **flink.flink_env(config)})


if __name__ == "__main__":
    main(sys.argv[1:])
