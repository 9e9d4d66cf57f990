"""Kafka 4 in KRaft mode, run from the jars Maven resolved: one broker, or a cluster of them."""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from userstream import security
from userstream.config import Config, local_brokers
from userstream.stack import process

log = logging.getLogger(__name__)
NAME = "kafka"
# librdkafka logs every refused connection; a failed start-up is reported once as StackError.
_CLIENT_LOG = logging.getLogger("userstream.kafka.librdkafka")
_CLIENT_LOG.setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Broker:
    """One node of the local cluster: broker and KRaft controller in one process."""

    node_id: int
    host: str
    port: int
    controller_port: int

    @property
    def name(self) -> str:
        """Process name; the first node keeps the plain name of the single-broker layout."""
        return NAME if self.node_id == 1 else f"{NAME}-{self.node_id}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def brokers(config: Config) -> list[Broker]:
    return [Broker(index + 1, host, port, controller_port)
            for index, (host, port, controller_port) in enumerate(
                local_brokers(config.kafka_bootstrap, config.kafka_controller_port,
                              config.kafka_brokers))]


def replication(config: Config) -> tuple[int, int]:
    """Return (replication factor, min.insync.replicas) for this many brokers.

    Three or more brokers keep 3 copies and accept a write once 2 have it, so one broker can
    be lost without losing an acknowledged message or stopping producers.
    """
    if config.kafka_brokers >= 3:
        return 3, 2
    return config.kafka_brokers, 1


def _properties(config: Config, broker: Broker) -> str:
    factor, min_insync = replication(config)
    voters = ",".join(f"{node.node_id}@127.0.0.1:{node.controller_port}"
                      for node in brokers(config))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(broker.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{broker.port},"
                     f"CONTROLLER://127.0.0.1:{broker.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{broker.address}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(config.path(broker.name, "data")),
        "num.partitions": str(config.topic_partitions),
        "default.replication.factor": str(factor),
        "min.insync.replicas": str(min_insync),
        "offsets.topic.replication.factor": str(factor),
        "transaction.state.log.replication.factor": str(factor),
        "transaction.state.log.min.isr": str(min_insync),
        "share.coordinator.state.topic.replication.factor": str(factor),
        "share.coordinator.state.topic.min.isr": str(min_insync),
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


def _java_argv(config: Config, broker: Broker, main_class: str, heap: str) -> list[str]:
    classpath = str(config.path("lib", "kafka")) + "/*"
    return [
        "java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config.path(broker.name, 'log4j2.yaml')}",
        "-cp", classpath, main_class,
    ]


def start(config: Config) -> None:
    """Format each broker's storage on first use and start the brokers; idempotent.

    Every broker is started before any is waited for: with several, a broker finishes
    starting only once a majority of the KRaft controllers runs.
    """
    check_layout(config)
    started = []
    for broker in brokers(config):
        if process.running_pid(config, broker.name):
            log.info("%s already running", broker.name)
            continue
        _start_broker(config, broker)
        started.append(broker)
    for broker in started:
        process.wait_until(lambda broker=broker: _ready(broker.address),
                           f"Kafka broker {broker.node_id} on {broker.address}", 90,
                           process.log_file(config, broker.name), config, broker.name)


def check_layout(config: Config) -> None:
    """Raise StackError when the brokers' stored data belongs to a cluster of another size."""
    nodes = brokers(config)
    formatted = [broker for broker in nodes
                 if config.path(broker.name, "data", "meta.properties").exists()]
    extra = config.path(f"{NAME}-{len(nodes) + 1}", "data", "meta.properties")
    if (formatted and len(formatted) != len(nodes)) or extra.exists():
        raise process.StackError(
            f"the Kafka data in {config.home} was formatted for a cluster of another size than "
            f"USERSTREAM_KAFKA_BROKERS={len(nodes)}; keep the size it had, or delete the local "
            "state with `make clean` (all local data) or use another USERSTREAM_HOME")


def _start_broker(config: Config, broker: Broker) -> None:
    process.require_free_port("127.0.0.1", broker.port, "USERSTREAM_KAFKA_BOOTSTRAP")
    process.require_free_port("127.0.0.1", broker.controller_port,
                              "USERSTREAM_KAFKA_CONTROLLER_PORT")
    folder = config.path(broker.name)
    folder.mkdir(parents=True, exist_ok=True)
    properties = folder / "server.properties"
    properties.write_text(_properties(config, broker))
    folder.joinpath("log4j2.yaml").write_text(_log4j(config))
    if not folder.joinpath("data", "meta.properties").exists():
        argv = _java_argv(config, broker, "kafka.tools.StorageTool", "256m")
        process.run(argv + ["format", f"--cluster-id={_cluster_id(config)}", "-c",
                            str(properties)],
                    f"formatting the storage of Kafka broker {broker.node_id}")
        log.info("formatted storage of Kafka broker %s", broker.node_id)
    process.start(config, broker.name,
                  _java_argv(config, broker, "kafka.Kafka", config.kafka_heap)
                  + [str(properties)])


def _cluster_id(config: Config) -> str:
    """Return the id every broker of this home is formatted with, made once."""
    path = config.path(NAME, "cluster-id")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
    return path.read_text().strip()


def _ready(address: str) -> bool:
    host, _, port = address.rpartition(":")
    if not process.port_open(host, int(port)):
        return False
    admin = AdminClient({"bootstrap.servers": address, "socket.timeout.ms": 2000,
                         "logger": _CLIENT_LOG})
    try:
        admin.list_topics(timeout=2)
        return True
    except Exception:  # KafkaException while the broker is still starting
        return False


def ensure_topic(config: Config) -> None:
    """Create the profile topic with the configured partitions unless it exists."""
    conf = security.kafka_client_conf(config)
    admin = AdminClient({**conf, "logger": _CLIENT_LOG})
    try:
        topics = admin.list_topics(timeout=10).topics
    except KafkaException as failure:
        error = security.explained_kafka_error(config, conf, admin, failure)
        raise process.StackError(
            f"cannot reach Kafka at {config.kafka_bootstrap} within 10 s ({error}); start it "
            "or set USERSTREAM_KAFKA_BOOTSTRAP to a reachable broker"
        ) from error
    if config.topic in topics:
        _warn_idle_subtasks(config, len(topics[config.topic].partitions))
        return
    _warn_idle_subtasks(config, config.topic_partitions)
    if "kafka" in config.services:
        factor, min_insync = replication(config)
        topic = NewTopic(config.topic, num_partitions=config.topic_partitions,
                         replication_factor=factor,
                         config={"min.insync.replicas": str(min_insync)})
    else:
        # A cluster userstream did not start applies its own default.replication.factor and
        # min.insync.replicas.
        factor, min_insync = "the cluster's default", "the cluster's default"
        topic = NewTopic(config.topic, num_partitions=config.topic_partitions,
                         replication_factor=-1)
    for name, future in admin.create_topics([topic]).items():
        future.result(timeout=30)
        log.info("created topic %s with %s partitions, replication factor %s, "
                 "min.insync.replicas %s", name, config.topic_partitions, factor, min_insync)


def _warn_idle_subtasks(config: Config, partitions: int) -> None:
    if partitions < config.job_parallelism:
        log.warning("topic %s has %s partitions for a job parallelism of %s: %s source "
                    "subtask(s) will idle; add partitions or lower USERSTREAM_JOB_PARALLELISM",
                    config.topic, partitions, config.job_parallelism,
                    config.job_parallelism - partitions)


def stop(config: Config) -> None:
    """Stop every local broker, also those of an earlier run with more of them."""
    names = {path.stem for path in config.path("run").glob(f"{NAME}*.pid")}
    names |= {broker.name for broker in brokers(config)}
    # All at once: a broker stopped after the others would wait for a controller majority.
    errors: list[BaseException] = []

    def stop_one(name: str) -> None:
        try:
            process.stop(config, name, timeout_s=60)
        except Exception as error:  # re-raised below, after every broker was asked to stop
            errors.append(error)

    stopping = [threading.Thread(target=stop_one, args=(name,)) for name in sorted(names)]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()
    if errors:
        raise errors[0]
