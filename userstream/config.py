"""Settings for every component, read from USERSTREAM_* environment variables with defaults."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from userstream import security

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVICES = ("mysql", "kafka", "registry", "flink")


@dataclass(frozen=True)
class Setting:
    """One configurable value: its environment variable, default and meaning."""

    name: str
    env: str
    default: str
    help: str


# The one place for defaults. tests/test_config.py checks that the README names each variable.
SETTINGS = (
    Setting("home", "USERSTREAM_HOME", str(PROJECT_ROOT / ".stack"),
            "folder for all local-stack state: data, logs, PID files, jars"),
    Setting("contract", "USERSTREAM_CONTRACT", str(PROJECT_ROOT / "contracts" / "user.avsc"),
            "working Avro contract; released versions sit in history/ beside it"),
    Setting("migrations", "USERSTREAM_MIGRATIONS", str(PROJECT_ROOT / "migrations"),
            "folder of the numbered SQL migrations of the tables"),
    Setting("services", "USERSTREAM_SERVICES", ",".join(LOCAL_SERVICES),
            "local services that `up` starts; leave one out to use an existing one instead"),
    Setting("kafka_bootstrap", "USERSTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:9092",
            "Kafka bootstrap servers (host:port, comma separated)"),
    Setting("kafka_controller_port", "USERSTREAM_KAFKA_CONTROLLER_PORT", "9093",
            "KRaft controller port of the local broker"),
    Setting("kafka_brokers", "USERSTREAM_KAFKA_BROKERS", "1",
            "brokers of the local Kafka cluster; `up --cluster` sets 3, which replicates each "
            "partition 3 times with min.insync.replicas 2"),
    Setting("topic", "USERSTREAM_TOPIC", "users", "topic that carries the profiles"),
    Setting("topic_partitions", "USERSTREAM_TOPIC_PARTITIONS", "2",
            "partitions of the topic when userstream creates it"),
    Setting("registry_url", "USERSTREAM_REGISTRY_URL", "http://127.0.0.1:8085/apis/ccompat/v7",
            "schema registry base URL speaking the Confluent API"),
    Setting("subject", "USERSTREAM_SUBJECT", "users-value", "registry subject of the contract"),
    Setting("flink_url", "USERSTREAM_FLINK_URL", "http://127.0.0.1:8081",
            "Flink REST endpoint (web UI) of the cluster that runs the job"),
    Setting("flink_rpc_port", "USERSTREAM_FLINK_RPC_PORT", "6123",
            "RPC port of the local JobManager"),
    Setting("job_name", "USERSTREAM_JOB_NAME", "userstream-profiles", "name of the Flink job"),
    Setting("job_parallelism", "USERSTREAM_JOB_PARALLELISM", "2",
            "parallelism of the job; match it to the topic's partitions"),
    Setting("checkpoint_interval_ms", "USERSTREAM_CHECKPOINT_INTERVAL_MS", "5000",
            "Flink checkpoint interval in milliseconds; offsets are committed on checkpoints"),
    Setting("batch_messages", "USERSTREAM_BATCH_MESSAGES", "500",
            "maximum number of messages the job passes to its Python stage in one call"),
    Setting("batch_linger_ms", "USERSTREAM_BATCH_LINGER_MS", "10",
            "longest time in milliseconds a message waits for its batch to fill"),
    Setting("sink_flush_interval_ms", "USERSTREAM_SINK_FLUSH_INTERVAL_MS", "200",
            "longest time in milliseconds a row waits in the sink's buffer"),
    Setting("sink_batch_rows", "USERSTREAM_SINK_BATCH_ROWS", "1000",
            "rows per JDBC batch"),
    Setting("sink_retry_timeout_ms", "USERSTREAM_SINK_RETRY_TIMEOUT_MS", "300000",
            "how long the sink retries a batch the database cannot take before the job restarts"),
    Setting("consumer_group", "USERSTREAM_CONSUMER_GROUP", "userstream-job",
            "Kafka consumer group of the job"),
    Setting("mysql_host", "USERSTREAM_MYSQL_HOST", "127.0.0.1", "MySQL or MariaDB host"),
    Setting("mysql_port", "USERSTREAM_MYSQL_PORT", "3306", "MySQL or MariaDB port"),
    Setting("mysql_database", "USERSTREAM_MYSQL_DATABASE", "userstream", "database name"),
    Setting("mysql_user", "USERSTREAM_MYSQL_USER", "userstream",
            "application user: reads and writes rows, nothing else"),
    Setting("mysql_password", "USERSTREAM_MYSQL_PASSWORD", "",
            "application password; empty means the one generated in $USERSTREAM_HOME/secrets.json"),
    Setting("mysql_admin_user", "USERSTREAM_MYSQL_ADMIN_USER", "userstream_admin",
            "user that applies migrations"),
    Setting("mysql_admin_password", "USERSTREAM_MYSQL_ADMIN_PASSWORD", "",
            "admin password; empty means the one generated in $USERSTREAM_HOME/secrets.json"),
    Setting("kafka_security_protocol", "USERSTREAM_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT",
            "how clients connect to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
    Setting("kafka_sasl_mechanism", "USERSTREAM_KAFKA_SASL_MECHANISM", "PLAIN",
            "SASL mechanism with a SASL_* protocol: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    Setting("kafka_sasl_username", "USERSTREAM_KAFKA_SASL_USERNAME", "",
            "SASL user name with a SASL_* protocol"),
    Setting("kafka_sasl_password", "USERSTREAM_KAFKA_SASL_PASSWORD", "",
            "SASL password with a SASL_* protocol; never printed"),
    Setting("kafka_ca_file", "USERSTREAM_KAFKA_CA_FILE", "",
            "PEM file of the CA certificate(s) that signed the brokers' certificates, with SSL "
            "or SASL_SSL; empty means the clients' default CAs"),
    Setting("registry_basic_auth_user_info", "USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO", "",
            "user:password for the registry's HTTP basic authentication; never printed"),
    Setting("registry_ca_file", "USERSTREAM_REGISTRY_CA_FILE", "",
            "PEM file of the CA certificate(s) of an https registry; empty means the default CAs"),
    Setting("mysql_ca_file", "USERSTREAM_MYSQL_CA_FILE", "",
            "PEM file of the MySQL server's CA certificate(s); when set, connections use TLS and "
            "verify the server's certificate, and when empty they are unencrypted"),
    Setting("mysql_verify_identity", "USERSTREAM_MYSQL_VERIFY_IDENTITY", "true",
            "with USERSTREAM_MYSQL_CA_FILE, also check that the certificate names "
            "USERSTREAM_MYSQL_HOST (VERIFY_IDENTITY); false checks the CA only (VERIFY_CA)"),
    Setting("jobmanager_heap", "USERSTREAM_JOBMANAGER_MEMORY", "1024m",
            "process memory of the local JobManager"),
    Setting("taskmanagers", "USERSTREAM_TASKMANAGERS", "2",
            "TaskManagers of the local Flink cluster; each runs the job's Python code in an "
            "interpreter of its own"),
    Setting("taskmanager_memory", "USERSTREAM_TASKMANAGER_MEMORY", "1280m",
            "process memory of each local TaskManager"),
    Setting("kafka_heap", "USERSTREAM_KAFKA_HEAP", "512m", "heap of the local Kafka broker"),
    Setting("registry_heap", "USERSTREAM_REGISTRY_HEAP", "256m",
            "heap of the local schema registry"),
)


@dataclass(frozen=True)
class Config:
    """Resolved settings; build with Config.load(). The repr leaves out passwords."""

    home: Path
    contract: str
    migrations: str
    services: tuple[str, ...]
    kafka_bootstrap: str
    kafka_controller_port: int
    kafka_brokers: int
    topic: str
    topic_partitions: int
    registry_url: str
    subject: str
    flink_url: str
    flink_rpc_port: int
    job_name: str
    job_parallelism: int
    checkpoint_interval_ms: int
    batch_messages: int
    batch_linger_ms: int
    sink_flush_interval_ms: int
    sink_batch_rows: int
    sink_retry_timeout_ms: int
    consumer_group: str
    mysql_host: str
    mysql_port: int
    mysql_database: str
    mysql_user: str
    mysql_password: str = field(repr=False)
    mysql_admin_user: str
    mysql_admin_password: str = field(repr=False)
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str
    kafka_sasl_password: str = field(repr=False)
    kafka_ca_file: str
    registry_basic_auth_user_info: str = field(repr=False)
    registry_ca_file: str
    mysql_ca_file: str
    mysql_verify_identity: bool
    jobmanager_heap: str
    taskmanagers: int
    taskmanager_memory: str
    kafka_heap: str
    registry_heap: str

    @classmethod
    def load(cls, environ: dict | None = None) -> "Config":
        """Read every setting from the environment, falling back to its default."""
        environ = os.environ if environ is None else environ
        home = Path(environ.get("USERSTREAM_HOME", SETTINGS[0].default)).expanduser().resolve()
        # The layout `up --cluster` stored comes between the environment and the defaults.
        layout = read_layout(home)
        raw = {setting.name: environ.get(setting.env, layout.get(setting.name, setting.default))
               for setting in SETTINGS}
        stored = read_secrets(home)
        values = {}
        for item in fields(cls):
            value = raw[item.name]
            if item.type == "int":
                value = _parse_int(item.name, value)
            elif item.type == "bool":
                value = security.parse_bool(_env_name(item.name), value)
            values[item.name] = value
        values["home"] = home
        values["services"] = _parse_services(raw["services"])
        if values["kafka_brokers"] < 1:
            raise ValueError(f"USERSTREAM_KAFKA_BROKERS={values['kafka_brokers']} must be 1 or "
                             "more")
        if not 1 <= values["batch_messages"] <= 100_000:
            raise ValueError(f"USERSTREAM_BATCH_MESSAGES={values['batch_messages']} is invalid; "
                             "set it from 1 to 100000")
        if not 0 <= values["batch_linger_ms"] <= 60_000:
            raise ValueError(f"USERSTREAM_BATCH_LINGER_MS={values['batch_linger_ms']} is invalid; "
                             "set it from 0 to 60000")
        if "kafka" in values["services"] and "," not in values["kafka_bootstrap"]:
            # Clients list every local broker, so they connect while any one of them is down.
            values["kafka_bootstrap"] = ",".join(
                f"{host}:{port}" for host, port, _ in local_brokers(
                    values["kafka_bootstrap"], values["kafka_controller_port"],
                    values["kafka_brokers"]))
        values["mysql_password"] = raw["mysql_password"] or stored.get("mysql_password", "")
        values["mysql_admin_password"] = (
            raw["mysql_admin_password"] or stored.get("mysql_admin_password", "")
        )
        config = cls(**values)
        security.check_settings(config)
        return config

    @property
    def registry_port(self) -> int:
        """Port of the local registry, taken from the registry URL."""
        return urlsplit(self.registry_url).port or 80

    @property
    def flink_port(self) -> int:
        """REST port of the local Flink cluster, taken from the Flink URL."""
        return urlsplit(self.flink_url).port or 80

    @property
    def taskmanager_names(self) -> list[str]:
        """Process names of the local TaskManagers: flink-taskmanager, flink-taskmanager-2..."""
        return ["flink-taskmanager"] + [f"flink-taskmanager-{index}"
                                        for index in range(2, self.taskmanagers + 1)]

    @property
    def contract_history(self) -> Path:
        """Folder of the released contract versions, beside the working contract."""
        return Path(self.contract).parent / "history"

    def environ(self) -> dict[str, str]:
        """Return these settings as USERSTREAM_* variables, for a process that reads them."""
        values = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if isinstance(value, tuple):
                value = ",".join(value)
            values[setting.env] = str(value)
        return values

    def path(self, *parts: str) -> Path:
        return self.home.joinpath(*parts)

    def mysql_jdbc_url(self) -> str:
        # connectionTimeZone=LOCAL with preserveInstants=false writes a DATETIME as the wall-clock
        # value it was given, whatever the JVM's or the server's time zone.
        return (
            f"jdbc:mysql://{self.mysql_host}:{self.mysql_port}/{self.mysql_database}"
            "?rewriteBatchedStatements=true&characterEncoding=UTF-8"
            "&connectionTimeZone=LOCAL&preserveInstants=false"
            f"&allowPublicKeyRetrieval=true&{security.mysql_jdbc_tls_parameters(self)}"
        )


def _env_name(name: str) -> str:
    return next(setting.env for setting in SETTINGS if setting.name == name)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{_env_name(name)}={value!r} is not a whole number; set it to an integer or unset it"
        ) from None


def _parse_services(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [name for name in names if name not in LOCAL_SERVICES]
    if unknown:
        raise ValueError(
            f"USERSTREAM_SERVICES names unknown service(s) {', '.join(unknown)}; "
            f"choose from {', '.join(LOCAL_SERVICES)}"
        )
    return names


def local_brokers(bootstrap: str, controller_port: int, count: int) -> list[tuple[str, int, int]]:
    """Return (host, client port, controller port) of each local broker.

    The first broker listens on the bootstrap address; each further one two ports above the
    one before, for clients and for the KRaft controller alike.
    """
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    return [(host or "127.0.0.1", int(port) + 2 * index, controller_port + 2 * index)
            for index in range(count)]


LAYOUT_FILE = "layout.json"
CLUSTER_LAYOUT = {"kafka_brokers": "3"}
CLUSTER_LAYOUT_ENV = {"USERSTREAM_KAFKA_BROKERS": CLUSTER_LAYOUT["kafka_brokers"]}


def read_layout(home: Path) -> dict:
    """Return the settings `up --cluster` stored for this home, or {} for the defaults."""
    path = home / LAYOUT_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it to return to one "
                         "broker, or run `userstream up --cluster` to write it again") from None


def store_cluster_layout(home: Path) -> None:
    """Record that this home runs the multi-broker layout, for every later command."""
    home.mkdir(parents=True, exist_ok=True)
    (home / LAYOUT_FILE).write_text(json.dumps(CLUSTER_LAYOUT, indent=2), encoding="utf-8")


def read_secrets(home: Path) -> dict:
    path = home / "secrets.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_secrets(home: Path) -> dict:
    """Create the local stack's passwords once, readable only by the owner."""
    path = home / "secrets.json"
    stored = read_secrets(home)
    if stored:
        return stored
    home.mkdir(parents=True, exist_ok=True)
    stored = {
        "mysql_password": secrets.token_urlsafe(18),
        "mysql_admin_password": secrets.token_urlsafe(18),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(stored, indent=2), encoding="utf-8")
    return stored
