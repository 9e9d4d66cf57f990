"""A single Kafka 4 broker in KRaft mode, run from the jars Maven resolved."""

from __future__ import annotations

import base64
import logging
import uuid

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from userstream.config import Config
from userstream.stack import process

log = logging.getLogger(__name__)
NAME = "kafka"
# librdkafka logs every refused connection; a failed start-up is reported once as StackError.
_CLIENT_LOG = logging.getLogger("userstream.kafka.librdkafka")
_CLIENT_LOG.setLevel(logging.CRITICAL)


def _host_port(config: Config) -> tuple[str, int]:
    host, _, port = config.kafka_bootstrap.split(",")[0].rpartition(":")
    return host or "127.0.0.1", int(port)


def _properties(config: Config) -> str:
    host, port = _host_port(config)
    controller = config.kafka_controller_port
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(config.path("kafka", "data")),
        "num.partitions": str(config.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created on purpose by `up`, so a mistyped name fails instead of
        # silently creating an empty topic.
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _log4j(config: Config) -> str:
    return (
        "Configuration:\n  status: warn\n  Appenders:\n    Console:\n      name: STDOUT\n"
        "      PatternLayout:\n        pattern: \"[%d] %p %m (%c)%n\"\n"
        "  Loggers:\n    Root:\n      level: info\n      AppenderRef:\n        - ref: STDOUT\n"
        "    Logger:\n      - name: kafka\n        level: info\n"
        "      - name: org.apache.kafka\n        level: warn\n"
    )


def _java_argv(config: Config, main_class: str, heap: str) -> list[str]:
    classpath = str(config.path("lib", "kafka")) + "/*"
    return [
        "java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config.path('kafka', 'log4j2.yaml')}",
        "-cp", classpath, main_class,
    ]


def start(config: Config) -> None:
    """Format the storage on first use and start the broker; idempotent."""
    if process.running_pid(config, NAME):
        log.info("kafka already running")
        return
    host, port = _host_port(config)
    process.require_free_port("127.0.0.1", port, "USERSTREAM_KAFKA_BOOTSTRAP")
    process.require_free_port("127.0.0.1", config.kafka_controller_port,
                              "USERSTREAM_KAFKA_CONTROLLER_PORT")
    folder = config.path("kafka")
    folder.mkdir(parents=True, exist_ok=True)
    properties = folder / "server.properties"
    properties.write_text(_properties(config))
    folder.joinpath("log4j2.yaml").write_text(_log4j(config))
    if not folder.joinpath("data", "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = _java_argv(config, "kafka.tools.StorageTool", "256m")
        process.run(argv + ["format", "-t", cluster_id, "-c", str(properties)],
                    "formatting Kafka storage")
        log.info("formatted Kafka storage with cluster id %s", cluster_id)
    process.start(config, NAME, _java_argv(config, "kafka.Kafka", config.kafka_heap)
                  + [str(properties)])
    process.wait_until(lambda: _ready(config), f"Kafka on {config.kafka_bootstrap}", 90,
                       process.log_file(config, NAME), config, NAME)


def _ready(config: Config) -> bool:
    host, port = _host_port(config)
    if not process.port_open(host, port):
        return False
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap, "socket.timeout.ms": 2000,
                         "logger": _CLIENT_LOG})
    try:
        admin.list_topics(timeout=2)
        return True
    except Exception:  # KafkaException while the broker is still starting
        return False


def ensure_topic(config: Config) -> None:
    """Create the profile topic with the configured partitions unless it exists."""
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap,
                         "logger": _CLIENT_LOG})
    try:
        topics = admin.list_topics(timeout=10).topics
    except KafkaException as error:
        raise process.StackError(
            f"cannot reach Kafka at {config.kafka_bootstrap} within 10 s ({error}); start it "
            "or set USERSTREAM_KAFKA_BOOTSTRAP to a reachable broker"
        ) from error
    if config.topic in topics:
        return
    topic = NewTopic(config.topic, num_partitions=config.topic_partitions, replication_factor=1)
    for name, future in admin.create_topics([topic]).items():
        future.result(timeout=30)
        log.info("created topic %s with %s partitions", name, config.topic_partitions)


def stop(config: Config) -> None:
    process.stop(config, NAME, timeout_s=60)
