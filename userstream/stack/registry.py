"""Apicurio Registry 2.4 (Confluent-compatible API) as a local process; contract registration."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from userstream import security
from userstream.config import Config
from userstream.contract import Contract, load_contract
from userstream.evolution import COMPATIBILITY
from userstream.stack import install, process

log = logging.getLogger(__name__)
NAME = "registry"


def _argv(config: Config) -> list[str]:
    # Schemas live in an H2 file under $USERSTREAM_HOME, so schema ids that messages carry
    # stay valid across registry restarts. Sign-in and error reporting stay off, because
    # the registry listens on loopback only.
    database = config.path("registry", "db")
    return [
        "java", f"-Xmx{config.registry_heap}", f"-Xms{config.registry_heap}",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={config.registry_port}",
        f"-Dquarkus.datasource.jdbc.url=jdbc:h2:file:{database};DB_CLOSE_ON_EXIT=FALSE",
        "-Dquarkus.datasource.jdbc.initial-size=2", "-Dquarkus.datasource.jdbc.min-size=2",
        "-Dregistry.auth.enabled=false", "-Dregistry.enable.sentry=false",
        "-Dsentry.dsn=noop://localhost",
        "-jar", str(install.registry_app()),
    ]


def _ready(config: Config) -> bool:
    url = f"http://127.0.0.1:{config.registry_port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(config: Config) -> None:
    if process.running_pid(config, NAME):
        log.info("registry already running")
        return
    process.require_free_port("127.0.0.1", config.registry_port, "USERSTREAM_REGISTRY_URL")
    process.start(config, NAME, _argv(config), cwd=config.path("run"))
    process.wait_until(lambda: _ready(config), f"schema registry on 127.0.0.1:{config.registry_port}",
                       120, process.log_file(config, NAME), config, NAME)


def stop(config: Config) -> None:
    process.stop(config, NAME)


def client(config: Config) -> SchemaRegistryClient:
    return SchemaRegistryClient({**security.registry_conf(config), "timeout": 10})


_RAISE = object()


def _call(config: Config, what: str, action, hint: str = "", not_found=_RAISE):
    """Run `action(client)` and turn the registry client's errors into StackError.

    A 404 returns `not_found` when one is given; any other error response names `what` the
    registry refused, and a connection error names the setting to fix.
    """
    try:
        return action(client(config))
    except SchemaRegistryError as error:
        if error.http_status_code == 404 and not_found is not _RAISE:
            return not_found
        raise process.StackError(
            f"the registry at {config.registry_url} refused {what}: {error.error_message} "
            f"(HTTP {error.http_status_code}){hint}") from error
    except Exception as error:  # the HTTP client raises its own connection errors
        raise process.StackError(
            f"cannot reach the schema registry at {config.registry_url} ({error}); start it or "
            "set USERSTREAM_REGISTRY_URL to a registry with the Confluent API") from error


def _schema(contract: Contract) -> Schema:
    return Schema(contract.schema_str(), "AVRO")


def set_compatibility(config: Config, level: str) -> None:
    """Set the subject's compatibility level, so the registry refuses incompatible versions."""
    _call(config, f"compatibility {level} for subject {config.subject}",
          lambda registry: registry.set_compatibility(subject_name=config.subject, level=level))


def registered_versions(config: Config) -> list[tuple[int, dict]]:
    """Return (version, schema) for every version of the subject; empty if it has none."""
    versions = _call(config, f"the listing of subject {config.subject}",
                     lambda registry: registry.get_versions(config.subject), not_found=[])
    return [(version, json.loads(_call(
        config, f"version {version} of subject {config.subject}",
        lambda registry, version=version: registry.get_version(config.subject, version),
    ).schema.schema_str)) for version in sorted(versions)]


def register_contract(config: Config, contract: Contract | None = None,
                      set_policy: bool = True) -> int:
    """Register the contract under the configured subject; return its schema id.

    The subject's compatibility is set first, so the registry itself refuses a contract that
    breaks an earlier version.
    """
    contract = contract or load_contract(config.contract)
    if set_policy:
        set_compatibility(config, COMPATIBILITY)
    schema_id = _call(config, f"the contract for subject {config.subject}",
                      lambda registry: registry.register_schema(config.subject,
                                                                _schema(contract)),
                      hint="; run `userstream contract check` to see which field breaks which "
                           "rule")
    log.info("contract registered under %s with id %s (compatibility %s)", config.subject,
             schema_id, COMPATIBILITY)
    return schema_id


def ensure_registered(config: Config) -> int:
    """Register the contract on a new subject; on an existing one, require it registered.

    A new version of the contract goes through `userstream contract register`, which moves
    the tables and the job first; `up` never registers one on the side.
    """
    contract = load_contract(config.contract)
    if not registered_versions(config):
        return register_contract(config, contract)
    registered = _call(config, "the lookup of the contract",
                       lambda registry: registry.lookup_schema(config.subject,
                                                               _schema(contract)),
                       not_found=None)
    if registered is None:
        raise process.StackError(
            f"the working contract {config.contract} is not a registered version of subject "
            f"{config.subject}; release it with `userstream contract register` (see "
            "docs/evolution.md), or restore the released version")
    return registered.schema_id


def test_compatibility(config: Config, contract: Contract) -> None:
    """Raise StackError unless the registry would accept `contract` as the subject's next
    version: a dry run of the registration, with the subject's own rules."""
    # A subject without versions accepts any valid schema.
    compatible = _call(config, f"the contract for subject {config.subject}",
                       lambda registry: registry.test_compatibility(config.subject,
                                                                    _schema(contract)),
                       not_found=True)
    if not compatible:
        raise process.StackError(
            f"the registry at {config.registry_url} finds the contract incompatible with "
            f"subject {config.subject} under its compatibility rules; run `userstream contract "
            "check` for the field and rule")
