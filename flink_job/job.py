"""The userstream Flink job: Kafka profiles in, validated rows and rejects out to MySQL.

The job reads every message of the topic with its raw key, value and position, in batches of
consecutive messages. It decodes each one with its writer schema from the registry, then
checks and normalises it against the contract (flink_job.validation). Valid profiles are upserted into `users` by user_id. Every
other message goes to `user_rejects`, keyed by topic, partition and offset.

Offsets are committed only on completed checkpoints, and the batching step and the MySQL
sink both hand on everything they hold before every checkpoint. So a restart replays at most the messages after the last checkpoint, and the
replayed writes are idempotent upserts; a replayed older version of a profile never
overwrites a newer one (io.userstream.flink.MySqlUpsertSink).

Settings come from USERSTREAM_* environment variables (userstream.config).
"""

from __future__ import annotations

import logging

from pyflink.common import Configuration, WatermarkStrategy
from pyflink.datastream import (
    CheckpointingMode,
    DataStream,
    ProcessFunction,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.base import Sink
from pyflink.datastream.connectors.kafka import KafkaSource
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

from flink_job import rows
from flink_job.validation import Reason, Rejection, ValidProfile
from userstream import security
from userstream.config import Config
from userstream.contract import Contract, load_contract

log = logging.getLogger(__name__)
# A batch is also emitted once its messages reach this many bytes.
BATCH_BYTES = 4 << 20

class ValidateProfiles(ProcessFunction):
    """Decode and check each message; emit a valid profile or a reject for each."""

    def __init__(self, registry_conf: dict, contract_schema: dict):
        # The contract travels with the function, so a restarted task validates against the
        # contract the job was submitted with, whatever the file on disk contains by then.
        # The registry configuration travels the same way, credentials included, because
        # TaskManagers of a remote cluster do not have the submitting shell's environment.
        self._registry_conf = registry_conf
        self._contract_schema = contract_schema
        self._validator = None

    def open(self, runtime_context):
        from flink_job.schemas import WriterSchemaCache
        from flink_job.validation import MessageValidator
        from userstream.contract import parse_contract

        # The registry client logs every HTTP request at INFO.
        for noisy in ("httpx", "httpx2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

        self._validator = MessageValidator(
            parse_contract(self._contract_schema), WriterSchemaCache(self._registry_conf)
        )

    def process_element(self, batch, ctx):
        if not isinstance(batch, bytes):
            batch = bytes(batch)
        yield "\n".join([self._outcome(*message) for message in rows.messages(batch)])

    def _outcome(self, topic, partition, offset, key, value) -> str:
        """Return the line of one message: its profile, or its reject with the reasons."""
        try:
            outcome = self._validator.validate(key, value)
        except Exception as error:  # no message may fail the job; it becomes a reject
            log.error("validating %s-%s@%s failed unexpectedly: %s: %s", topic, partition,
                      offset, type(error).__name__, error)
            outcome = Rejection((Reason("message", "internal_error",
                                        f"validation raised {type(error).__name__}; report it "
                                        "with this message's position"),))
        if isinstance(outcome, ValidProfile):
            return rows.profile_line(outcome.values, partition, offset, outcome.schema_id)
        return rows.reject_line(topic, partition, offset, key, value, outcome.schema_id,
                                outcome.user_id, outcome.codes(), outcome.reasons_json())


def kafka_source(config: Config) -> KafkaSource:
    """Build a Kafka source that emits raw messages, tombstones included, with positions.

    The Java builder is used directly because the job ships the unshaded connector (its own
    deserializer implements the connector's interface), while PyFlink's builder looks up
    the shaded class names of the SQL connector jar.
    """
    gateway = get_gateway()
    jvm = gateway.jvm
    offsets = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer
    reset = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    builder = (
        jvm.org.apache.flink.connector.kafka.source.KafkaSource.builder()
        .setBootstrapServers(config.kafka_bootstrap)
        .setTopics(to_jarray(jvm.String, [config.topic]))
        .setGroupId(config.consumer_group)
        .setStartingOffsets(offsets.OffsetsInitializer.committedOffsets(reset))
        .setDeserializer(jvm.io.userstream.flink.KafkaMessageDeserializer())
        .setProperty("commit.offsets.on.checkpoint", "true")
        .setProperty("partition.discovery.interval.ms", "60000")
        .setProperty("isolation.level", "read_committed")
        .setProperty("client.id.prefix", config.consumer_group)
    )
    # Security protocol, SASL login and truststore. They are set here in the client process
    # from USERSTREAM_* variables, so no password appears in the `flink run` command line.
    for key, value in security.kafka_java_properties(config).items():
        builder.setProperty(key, value)
    return KafkaSource(builder.build())


def mysql_sink(config: Config, contract: Contract) -> Sink:
    """Return the job's MySQL sink (io.userstream.flink.MySqlUpsertSink).

    Profiles are upserted into `users` by user_id, and a row from an earlier source position
    never wins. Rejects are upserted into `user_rejects` by position, together with profiles
    the database refuses for their content.
    """
    jvm = get_gateway().jvm
    sink_class = jvm.io.userstream.flink.MySqlUpsertSink
    settings = sink_class.Settings(
        config.mysql_jdbc_url(), config.mysql_user, config.mysql_password,
        config.sink_batch_rows, config.sink_flush_interval_ms, config.sink_retry_timeout_ms,
    )
    users = sink_table("users", rows.profile_columns(contract), ["user_id"], True)
    rejects = sink_table("user_rejects", rows.REJECT_COLUMNS, rows.REJECT_KEY, False)
    return Sink(sink_class(settings, users, sink_class.Refusals(config.topic, rejects)))


def sink_table(table: str, columns, keys, newer_wins: bool):
    jvm = get_gateway().jvm
    return jvm.io.userstream.flink.MySqlUpsertSink.Table(
        table, to_jarray(jvm.String, list(columns)), to_jarray(jvm.String, list(keys)),
        newer_wins,
    )


def jar_urls(config: Config) -> list[str]:
    jars = sorted(config.path("lib", "flink").glob("*.jar"))
    jars.append(config.path("lib", "userstream-flink.jar"))
    missing = [str(jar) for jar in jars if not jar.exists()]
    if missing or len(jars) < 2:
        raise FileNotFoundError(
            f"job jars are missing ({', '.join(missing) or config.path('lib', 'flink')}); "
            "run `userstream install` first"
        )
    return [jar.resolve().as_uri() for jar in jars]


def build(env: StreamExecutionEnvironment, config: Config) -> None:
    """Add the pipeline to `env`."""
    contract = load_contract(config.contract)

    # Source: every message with its raw bytes and position.
    messages = env.from_source(
        kafka_source(config), WatermarkStrategy.no_watermarks(), f"Kafka: {config.topic}",
        type_info=rows.MESSAGE_TYPE,
    ).uid("kafka-source")

    # Consecutive messages travel as one batch, so the Python stage is called once per batch.
    batches = DataStream(messages._j_data_stream.transform(
        "Batch messages", rows.MESSAGE_TYPE.get_java_type_info(),
        get_gateway().jvm.io.userstream.flink.MessageBatcher(
            config.batch_messages, BATCH_BYTES, config.batch_linger_ms),
    )).uid("batch")

    # Decode, validate and normalise. The stages are chained to the source, so a message
    # passes from Kafka to the sink without being serialized between tasks.
    outcomes = (
        batches.process(ValidateProfiles(security.registry_conf(config), contract.schema),
                         output_type=rows.OUTPUT_TYPE)
        .name("Decode, validate, normalise")
        .uid("validate")
    )

    # One sink writes profiles and rejects of a flush in one transaction.
    outcomes.sink_to(mysql_sink(config, contract)).name("MySQL: users, user_rejects") \
        .uid("mysql-sink")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config.load()
    settings = Configuration()
    # A Python bundle is closed after this many milliseconds or elements. This bounds how long
    # a record waits in the Python stage before it reaches the sink's buffer.
    settings.set_string("python.fn-execution.bundle.time", "200")
    settings.set_string("python.fn-execution.bundle.size", "5000")
    # Thread mode runs the Python functions inside the TaskManager's JVM, so no Python worker
    # process and none of the gRPC ports it would listen on (on every interface) are needed.
    settings.set_string("python.execution-mode", "thread")
    env = StreamExecutionEnvironment.get_execution_environment(settings)
    env.add_jars(*jar_urls(config))
    env.set_parallelism(config.job_parallelism)
    # No operator keeps or changes a record it has emitted (each stage builds new rows), so
    # chained operators may pass records on without copying them.
    env.get_config().enable_object_reuse()
    env.enable_checkpointing(config.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    build(env, config)
    log.info("submitting job %s (parallelism %s)", config.job_name, config.job_parallelism)
    env.execute(config.job_name)


if __name__ == "__main__":
    main()
