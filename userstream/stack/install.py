"""Install what the local stack needs and is missing: MariaDB, Java pieces from Maven Central."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from userstream.config import PROJECT_ROOT, Config
from userstream.stack import mysql, process

log = logging.getLogger(__name__)
EXTENSION_MODULE = PROJECT_ROOT / "flink_job" / "jvm"
REGISTRY_MODULE = PROJECT_ROOT / "stack" / "registry"
STACK_POM = PROJECT_ROOT / "stack" / "pom.xml"


def _apt_install(packages: list[str], why: str) -> None:
    if os.geteuid() != 0:
        raise process.StackError(
            f"{why} is missing; install the Debian packages {' '.join(packages)} "
            "(sudo apt-get install ...) and run the command again"
        )
    log.info("installing %s with apt-get", " ".join(packages))
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    process.run(["apt-get", "update", "-q"], "apt-get update", env=env)
    process.run(["apt-get", "install", "-y", "-q", *packages], "apt-get install", env=env)


def ensure_tools(config: Config) -> None:
    if "mysql" in config.services and not mysql.installed():
        _apt_install(["mariadb-server", "mariadb-client"], "MariaDB")
    needs_java = bool({"kafka", "registry", "flink"} & set(config.services))
    if needs_java and (shutil.which("java") is None or shutil.which("mvn") is None):
        _apt_install(["openjdk-17-jdk-headless", "maven"], "Java 17 or Maven")


def _maven(pom: Path, what: str, *properties: str) -> None:
    log.info("resolving %s with Maven (first run downloads from Maven Central)", what)
    process.run(["mvn", "-q", "-B", "-f", str(pom), "package", *properties], f"Maven: {what}",
                timeout_s=1200)


def _newest_source(folder: Path) -> float:
    files = [path for path in folder.rglob("*") if path.is_file() and "target" not in path.parts]
    return max(path.stat().st_mtime for path in files)


def ensure_jars(config: Config) -> None:
    """Resolve the Kafka broker, connector jars, the job's own jar and the registry."""
    lib = config.path("lib")
    kafka_missing = "kafka" in config.services and not lib.joinpath("kafka").is_dir()
    # The stamp records which stack/pom.xml the jars came from, so an edited pom replaces
    # them instead of leaving the jars of the old one on the class path. Jars prebuilt
    # without Maven at hand (the container image) are kept as they are.
    stamp = lib / "stack-pom.sha256"
    expected = hashlib.sha256(STACK_POM.read_bytes()).hexdigest()
    stale = (shutil.which("mvn") is not None
             and (not stamp.exists() or stamp.read_text().strip() != expected))
    if kafka_missing or not lib.joinpath("flink").is_dir() or stale:
        # Resolved into a folder of its own first, so a failed run keeps the jars in use.
        staging = lib / "resolving"
        shutil.rmtree(staging, ignore_errors=True)
        _maven(STACK_POM, "Kafka and Flink connector jars", f"-Dstack.lib={staging}")
        for folder in ("kafka", "flink"):
            shutil.rmtree(lib / folder, ignore_errors=True)
            staging.joinpath(folder).rename(lib / folder)
        staging.rmdir()
    if stale:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(expected + "\n")
    extension = lib / "userstream-flink.jar"
    # A prebuilt jar (as in the container image, which has no Maven) is kept as it is.
    outdated = (shutil.which("mvn") is not None and extension.exists()
                and extension.stat().st_mtime < _newest_source(EXTENSION_MODULE))
    if not extension.exists() or outdated:
        _maven(EXTENSION_MODULE / "pom.xml", "the job's JVM extension")
        shutil.copy(EXTENSION_MODULE / "target" / "userstream-flink.jar", extension)
    if "registry" in config.services and not registry_app().exists():
        _maven(REGISTRY_MODULE / "pom.xml", "Apicurio Registry")


def registry_app() -> Path:
    return REGISTRY_MODULE / "target" / "apicurio-registry-runner.jar"


def install(config: Config) -> None:
    ensure_tools(config)
    ensure_jars(config)
