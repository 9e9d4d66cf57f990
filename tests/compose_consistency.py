"""Compare the Compose path with the local stack: ports, settings, versions and job jars.

The Compose side is docker-compose.yml, docker/compose.env.example and docker/Dockerfile.
The local side is the settings' defaults, stack/pom.xml, stack/registry/pom.xml,
flink_job/jvm/pom.xml and pyproject.toml. find_mismatches() returns one sentence per value
that differs, naming both values.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from userstream.config import SETTINGS, Config

COMPOSE_FILE = "docker-compose.yml"
ENV_FILE = "docker/compose.env"
ENV_EXAMPLE = "docker/compose.env.example"
DOCKERFILE = "docker/Dockerfile"
POM_NAMESPACE = {"m": "http://maven.apache.org/POM/4.0.0"}
# docs/decisions.md: the SQL in migrations/ runs on MariaDB and on MySQL 8.0 or newer.
MYSQL_MAJOR = "8"
# The registry image that runs the app the local stack builds: apicurio-registry-app with H2.
REGISTRY_IMAGE = "apicurio/apicurio-registry-mem"
# Settings the Compose file may set only to the local default, so that both paths use the
# same topic, subject, job, consumer group, database and users.
SAME_AS_LOCAL = (
    "USERSTREAM_TOPIC", "USERSTREAM_TOPIC_PARTITIONS", "USERSTREAM_SUBJECT",
    "USERSTREAM_JOB_NAME", "USERSTREAM_JOB_PARALLELISM", "USERSTREAM_CONSUMER_GROUP",
    "USERSTREAM_MYSQL_DATABASE", "USERSTREAM_MYSQL_USER", "USERSTREAM_MYSQL_ADMIN_USER",
)


@dataclass
class LocalStack:
    """What the local stack runs, read from its own files."""

    settings: dict[str, str]  # environment variable -> default
    kafka_version: str
    apicurio_version: str
    flink_version: str
    java_release: str
    mysql_major: str
    job_jars: list[str]  # paths under $USERSTREAM_HOME/lib that the job ships

    @classmethod
    def load(cls, root: Path) -> "LocalStack":
        extension_pom = root / "flink_job" / "jvm" / "pom.xml"
        return cls(
            settings={setting.env: setting.default for setting in SETTINGS},
            kafka_version=pom_property(root / "stack" / "pom.xml", "kafka.version"),
            apicurio_version=pom_property(root / "stack" / "registry" / "pom.xml",
                                          "apicurio.version"),
            flink_version=pyproject_pin(root / "pyproject.toml", "apache-flink"),
            java_release=pom_property(extension_pom, "maven.compiler.release"),
            mysql_major=MYSQL_MAJOR,
            # userstream.stack.install copies the extension to lib/userstream-flink.jar.
            job_jars=sorted(pom_copied_jars(root / "stack" / "pom.xml")
                            + [pom_final_name(extension_pom) + ".jar"]),
        )


@dataclass
class ComposePath:
    """The Compose file, its env file example and the Dockerfile of the app image."""

    compose: dict
    env_example: dict[str, str]
    dockerfile: str
    root: Path = field(repr=False)  # the poms the Dockerfile names are read from here

    @classmethod
    def load(cls, root: Path) -> "ComposePath":
        return cls(
            compose=yaml.safe_load((root / COMPOSE_FILE).read_text(encoding="utf-8")),
            env_example=parse_env_file((root / ENV_EXAMPLE).read_text(encoding="utf-8")),
            dockerfile=(root / DOCKERFILE).read_text(encoding="utf-8"),
            root=root,
        )


def find_mismatches(compose: ComposePath, local: LocalStack) -> list[str]:
    """Return every difference between the Compose path and the local stack, as sentences."""
    mismatches = (check_settings(compose, local) + check_ports(compose, local)
                  + check_versions(compose, local) + check_jars(compose, local))
    return list(dict.fromkeys(mismatches))


# --- reading the files


def pom_property(path: Path, name: str) -> str:
    value = ElementTree.parse(path).getroot().findtext(f"m:properties/m:{name}",
                                                      namespaces=POM_NAMESPACE)
    if value is None:
        raise ValueError(f"{path} has no <{name}> property")
    return value.strip()


def _resolve_properties(path: Path, text: str) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda match: pom_property(path, match.group(1)), text)


def pom_copied_jars(path: Path) -> list[str]:
    """Return the jars the pom's dependency:copy executions write, relative to ${stack.lib}."""
    jars = []
    root = ElementTree.parse(path).getroot()
    for execution in root.iterfind(".//m:execution", POM_NAMESPACE):
        if execution.findtext("m:goals/m:goal", namespaces=POM_NAMESPACE) != "copy":
            continue
        output = execution.findtext("m:configuration/m:outputDirectory",
                                    namespaces=POM_NAMESPACE) or ""
        folder = output.removeprefix("${stack.lib}").strip("/")
        for item in execution.iterfind(".//m:artifactItem", POM_NAMESPACE):
            artifact = item.findtext("m:artifactId", namespaces=POM_NAMESPACE)
            version = _resolve_properties(path, item.findtext("m:version",
                                                              namespaces=POM_NAMESPACE))
            jars.append(f"{folder}/{artifact}-{version}.jar" if folder else
                        f"{artifact}-{version}.jar")
    return jars


def pom_final_name(path: Path) -> str:
    name = ElementTree.parse(path).getroot().findtext("m:build/m:finalName",
                                                      namespaces=POM_NAMESPACE)
    if name is None:
        raise ValueError(f"{path} has no <build><finalName>")
    return name.strip()


def pyproject_pin(path: Path, package: str) -> str:
    match = re.search(rf'"{re.escape(package)}==([^"]+)"', path.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{path} does not pin {package} with ==")
    return match.group(1)


def parse_env_file(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines, skipping blank lines and # comments as Compose does."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, with continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_env(text: str) -> dict[str, str]:
    values = {}
    for keyword, arguments in dockerfile_instructions(text):
        if keyword == "ENV":
            words = shlex.split(arguments)
            if len(words) == 2 and "=" not in words[0]:
                words = [f"{words[0]}={words[1]}"]
            values.update(word.split("=", 1) for word in words)
    return values


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def service_environment(service: dict) -> dict[str, str]:
    """Return the service's `environment`, in either the mapping or the list form."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None)
                           for item in environment)
    return {key: _text(value) for key, value in environment.items()}


def _env_files(service: dict) -> list[str]:
    entries = service.get("env_file") or []
    entries = [entries] if isinstance(entries, (str, dict)) else entries
    return [entry["path"] if isinstance(entry, dict) else entry for entry in entries]


def container_environment(compose: ComposePath, name: str) -> dict[str, str]:
    """Return the container's environment: the app image's ENV, env_file, then environment."""
    service = compose.compose["services"][name]
    values = dict(dockerfile_env(compose.dockerfile)) if is_app_service(service) else {}
    for path in _env_files(service):
        if path != ENV_FILE:
            raise ValueError(f"service {name} reads env_file {path}, but only {ENV_FILE} "
                             f"has an example ({ENV_EXAMPLE}) to read in its place")
        values.update(compose.env_example)
    values.update(service_environment(service))
    return values


def is_app_service(service: dict) -> bool:
    build = service.get("build") or {}
    dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
    return dockerfile == DOCKERFILE


def app_services(compose: ComposePath) -> list[str]:
    return [name for name, service in compose.compose["services"].items()
            if is_app_service(service)]


# --- checks


def check_settings(compose: ComposePath, local: LocalStack) -> list[str]:
    """Check that every USERSTREAM_* variable is a setting and that the app accepts them."""
    mismatches = []
    sources = {f"{COMPOSE_FILE} services.{name}.environment": service_environment(service)
               for name, service in compose.compose["services"].items()}
    sources[ENV_EXAMPLE] = compose.env_example
    sources[f"{DOCKERFILE} ENV"] = dockerfile_env(compose.dockerfile)
    for source, values in sources.items():
        for variable in values:
            if variable.startswith("USERSTREAM_") and variable not in local.settings:
                mismatches.append(f"{source} sets {variable}, which is not a userstream "
                                  "setting (`userstream config` lists them)")
    for name in app_services(compose):
        environment = container_environment(compose, name)
        try:
            Config.load(environment)
        except ValueError as error:
            mismatches.append(f"services.{name}: userstream rejects its environment: {error}")
        for variable in SAME_AS_LOCAL:
            value = environment.get(variable)
            if value is not None and value != local.settings.get(variable):
                mismatches.append(f"services.{name} sets {variable}={value}, but the local "
                                  f"default is {local.settings.get(variable)}")
    return mismatches + _check_mysql_accounts(compose, local)


def _check_mysql_accounts(compose: ComposePath, local: LocalStack) -> list[str]:
    """The mysql image creates the database and admin user that userstream signs in with."""
    server = container_environment(compose, "mysql")
    mismatches = []
    for image_variable, setting in (("MYSQL_DATABASE", "USERSTREAM_MYSQL_DATABASE"),
                                    ("MYSQL_USER", "USERSTREAM_MYSQL_ADMIN_USER"),
                                    ("MYSQL_PASSWORD", "USERSTREAM_MYSQL_ADMIN_PASSWORD")):
        for name in app_services(compose):
            app_value = container_environment(compose, name).get(
                setting, local.settings.get(setting))
            if server.get(image_variable) != app_value:
                mismatches.append(f"services.mysql has {image_variable}="
                                  f"{server.get(image_variable)}, but services.{name} has "
                                  f"{setting}={app_value}")
    return mismatches


def _port(address: str) -> str:
    """Return the port of a URL or of host:port (the first, if comma separated)."""
    address = address.split(",")[0]
    if "://" in address:
        return str(urlsplit(address).port)
    return address.rpartition(":")[2]


def _listener_port(listeners: str, name: str) -> str | None:
    for listener in listeners.split(","):
        if listener.startswith(f"{name}://"):
            return _port(listener)
    return None


def _healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


def _healthcheck_ports(service: dict, pattern: str) -> list[str]:
    return [_port(address) for address in re.findall(pattern, _healthcheck_text(service))]


def _compose_ports(compose: ComposePath) -> dict[str, list[tuple[str, str]]]:
    """Return, per local setting, (where, port) pairs of the Compose path that must equal it."""
    services = compose.compose["services"]
    kafka = service_environment(services["kafka"])
    registry = services["registry"]
    jobmanager = services["jobmanager"]
    mysql = container_environment(compose, "mysql")
    ports = {
        "USERSTREAM_KAFKA_BOOTSTRAP": [
            ("services.kafka KAFKA_LISTENERS", _listener_port(kafka.get("KAFKA_LISTENERS", ""),
                                                              "PLAINTEXT")),
            ("services.kafka KAFKA_ADVERTISED_LISTENERS",
             _listener_port(kafka.get("KAFKA_ADVERTISED_LISTENERS", ""), "PLAINTEXT")),
        ] + [("services.kafka healthcheck", port) for port in
             _healthcheck_ports(services["kafka"], r"--bootstrap-server\s+(\S+)")],
        "USERSTREAM_KAFKA_CONTROLLER_PORT": [
            ("services.kafka KAFKA_LISTENERS", _listener_port(kafka.get("KAFKA_LISTENERS", ""),
                                                              "CONTROLLER")),
        ] + [("services.kafka KAFKA_CONTROLLER_QUORUM_VOTERS", _port(voter)) for voter in
             kafka.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").split(",")],
        # The image listens on 8080 unless HTTP_PORT sets another port.
        "USERSTREAM_REGISTRY_URL": [
            ("services.registry HTTP_PORT", service_environment(registry).get("HTTP_PORT",
                                                                              "8080")),
        ] + [("services.registry healthcheck", port) for port in
             _healthcheck_ports(registry, r"https?://[^\s'\"]+")],
        "USERSTREAM_FLINK_URL": [
            ("services.jobmanager healthcheck", port) for port in
            _healthcheck_ports(jobmanager, r"https?://[^\s'\"]+")
        ] + [("services.jobmanager ports", str(mapping).rpartition(":")[2]) for mapping in
             jobmanager.get("ports", [])],
        # The mysql image listens on 3306 unless MYSQL_TCP_PORT sets another port.
        "USERSTREAM_MYSQL_PORT": [("services.mysql MYSQL_TCP_PORT",
                                   mysql.get("MYSQL_TCP_PORT", "3306"))],
    }
    for name in app_services(compose):
        environment = container_environment(compose, name)
        for setting in ports:
            if setting in environment:
                ports[setting].append((f"services.{name} {setting}",
                                       _port(environment[setting])))
        if "USERSTREAM_FLINK_RPC_PORT" in environment:
            ports.setdefault("USERSTREAM_FLINK_RPC_PORT", []).append(
                (f"services.{name} USERSTREAM_FLINK_RPC_PORT",
                 environment["USERSTREAM_FLINK_RPC_PORT"]))
    return ports


def check_ports(compose: ComposePath, local: LocalStack) -> list[str]:
    """Check that the containers listen on the ports of the local defaults."""
    mismatches = []
    for setting, places in _compose_ports(compose).items():
        local_port = _port(local.settings[setting])
        for where, port in places:
            if port != local_port:
                mismatches.append(f"port: {where} is {port}, but the local default "
                                  f"({setting}) is {local_port}")
    for name in app_services(compose):
        url = container_environment(compose, name).get("USERSTREAM_REGISTRY_URL")
        local_path = urlsplit(local.settings["USERSTREAM_REGISTRY_URL"]).path
        if url is not None and urlsplit(url).path != local_path:
            mismatches.append(f"services.{name} USERSTREAM_REGISTRY_URL has the path "
                              f"{urlsplit(url).path}, but the local default has {local_path}")
    return mismatches + _check_sizes(compose, local)


def _check_sizes(compose: ComposePath, local: LocalStack) -> list[str]:
    """Check the broker heap, the default partitions and the number of TaskManagers."""
    services = compose.compose["services"]
    kafka = service_environment(services["kafka"])
    mismatches = []
    heap = re.search(r"-Xmx(\S+)", kafka.get("KAFKA_HEAP_OPTS", ""))
    local_heap = local.settings["USERSTREAM_KAFKA_HEAP"]
    if heap is None or heap.group(1) != local_heap:
        mismatches.append(f"services.kafka KAFKA_HEAP_OPTS is "
                          f"{kafka.get('KAFKA_HEAP_OPTS', 'not set')}, but the local broker runs "
                          f"with -Xmx{local_heap} (USERSTREAM_KAFKA_HEAP)")
    partitions = local.settings["USERSTREAM_TOPIC_PARTITIONS"]
    if kafka.get("KAFKA_NUM_PARTITIONS", partitions) != partitions:
        mismatches.append(f"services.kafka KAFKA_NUM_PARTITIONS is "
                          f"{kafka['KAFKA_NUM_PARTITIONS']}, but the local default "
                          f"(USERSTREAM_TOPIC_PARTITIONS) is {partitions}")
    taskmanager = services["taskmanager"]
    replicas = _text((taskmanager.get("deploy") or {}).get("replicas",
                                                           taskmanager.get("scale", 1)))
    expected = container_environment(compose, "taskmanager").get(
        "USERSTREAM_TASKMANAGERS", local.settings["USERSTREAM_TASKMANAGERS"])
    if replicas != expected:
        mismatches.append(f"services.taskmanager has {replicas} replica(s), but "
                          f"USERSTREAM_TASKMANAGERS is {expected}, which sets the slots of "
                          "each TaskManager")
    return mismatches


def _image_tag(image: str) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    return (repository, tag) if repository else (image, "latest")


def _dockerfile_flink_version(compose: ComposePath) -> str | None:
    """Return the apache-flink version docker/Dockerfile installs."""
    instructions = dockerfile_instructions(compose.dockerfile)
    copies_pyproject = any(keyword == "COPY" and "pyproject.toml" in arguments.split()
                           for keyword, arguments in instructions)
    for keyword, arguments in instructions:
        if keyword != "RUN" or "pip install" not in arguments:
            continue
        pinned = re.search(r"apache-flink==(\S+)", arguments)
        if pinned:
            return pinned.group(1)
        if copies_pyproject and re.search(r"pip install(\s+-\S+)*\s+(-e\s+)?\.(\s|$)",
                                          arguments):
            return pyproject_pin(compose.root / "pyproject.toml", "apache-flink")
    return None


def check_versions(compose: ComposePath, local: LocalStack) -> list[str]:
    """Check the images' versions against the local stack's."""
    services = compose.compose["services"]
    mismatches = []
    kafka_repository, kafka_tag = _image_tag(services["kafka"]["image"])
    if kafka_repository != "apache/kafka" or kafka_tag != local.kafka_version:
        mismatches.append(f"services.kafka image is {services['kafka']['image']}, but the "
                          f"local broker is Kafka {local.kafka_version} (stack/pom.xml)")
    registry_repository, registry_tag = _image_tag(services["registry"]["image"])
    if registry_repository != REGISTRY_IMAGE or registry_tag != local.apicurio_version:
        mismatches.append(f"services.registry image is {services['registry']['image']}, "
                          f"but the local stack runs the H2 build of Apicurio Registry "
                          f"{local.apicurio_version} (stack/registry/pom.xml), published as "
                          f"{REGISTRY_IMAGE}:{local.apicurio_version}")
    mysql_repository, mysql_tag = _image_tag(services["mysql"]["image"])
    if mysql_repository != "mysql" or mysql_tag.split(".")[0] != local.mysql_major:
        mismatches.append(f"services.mysql image is {services['mysql']['image']}, but the "
                          f"migrations are written for MySQL {local.mysql_major}")
    flink = _dockerfile_flink_version(compose)
    if flink != local.flink_version:
        mismatches.append(f"{DOCKERFILE} installs apache-flink {flink}, but the local "
                          f"stack runs {local.flink_version} (pyproject.toml)")
    java = set(re.findall(r"(?:openjdk-|eclipse-temurin-)(\d+)", compose.dockerfile))
    if java != {local.java_release}:
        mismatches.append(f"{DOCKERFILE} uses Java {', '.join(sorted(java)) or 'none'}, but "
                          f"the job's jar is built for Java {local.java_release}")
    return mismatches


def image_job_jars(compose: ComposePath) -> tuple[list[str], list[str]]:
    """Return the jars the app image puts under $USERSTREAM_HOME/lib, and any problems."""
    text = re.sub(r"\\\n", " ", compose.dockerfile)
    stack_lib = re.search(r"-Dstack\.lib=(\S+)", text)
    if stack_lib is None:
        return [], [f"{DOCKERFILE} runs no Maven build with -Dstack.lib"]
    stack_lib = stack_lib.group(1).rstrip("/")
    jars = []
    for pom in re.findall(r"\bmvn\b[^&;]*?\s-f\s+(\S+)", text):
        jars += pom_copied_jars(compose.root / pom)
    for source, target in re.findall(r"\bcp\s+(\S+\.jar)\s+(\S+)", text):
        if target.startswith(stack_lib + "/"):
            jars.append(target.removeprefix(stack_lib + "/"))
    for removed in re.findall(rf"\brm\s+-rf\s+{re.escape(stack_lib)}/(\S+)", text):
        jars = [jar for jar in jars if not jar.startswith(removed.rstrip("/") + "/")]
    problems = []
    home = dockerfile_env(compose.dockerfile).get("USERSTREAM_HOME")
    copies = re.findall(r"COPY\s+--from=\S+\s+(\S+)\s+(\S+)", text)
    if (stack_lib, f"{home}/lib") not in [(source.rstrip("/"), target.rstrip("/"))
                                          for source, target in copies]:
        problems.append(f"{DOCKERFILE} does not copy {stack_lib} to $USERSTREAM_HOME/lib "
                        f"({home}/lib), where the job looks for its jars")
    return sorted(jars), problems


def check_jars(compose: ComposePath, local: LocalStack) -> list[str]:
    """Check that the image ships the job the same jars as the local stack."""
    jars, mismatches = image_job_jars(compose)
    for jar in sorted(set(local.job_jars) - set(jars)):
        mismatches.append(f"{DOCKERFILE} does not put lib/{jar} into the image, but the "
                          "local stack ships it with the job")
    for jar in sorted(set(jars) - set(local.job_jars)):
        mismatches.append(f"{DOCKERFILE} puts lib/{jar} into the image, but the local "
                          "stack does not ship it with the job")
    return mismatches
