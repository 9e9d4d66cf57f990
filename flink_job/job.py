"""The userstream Flink job: Kafka profiles in, validated rows and rejects out to MySQL.

The job reads every message of the topic with its raw key, value and position. It decodes
each one with its writer schema from the registry, then checks and normalises it against the
contract (flink_job.validation). Valid profiles are upserted into `users` by user_id. Every
other message goes to `user_rejects`, keyed by topic, partition and offset.

Offsets are committed only on completed checkpoints, and both JDBC sinks flush on every
checkpoint. So a restart replays at most the messages after the last checkpoint, and the
replayed writes are idempotent upserts.

Settings come from USERSTREAM_* environment variables (userstream.config).
"""

from __future__ import annotations

import logging

from pyflink.common import Configuration, WatermarkStrategy
from pyflink.datastream import (
    CheckpointingMode,
    OutputTag,
    ProcessFunction,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.kafka import KafkaSource
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment
from pyflink.util.java_utils import to_jarray

from flink_job import rows
from flink_job.validation import Reason, Rejection, ValidProfile
from userstream.config import Config
from userstream.contract import default_contract

log = logging.getLogger(__name__)

REJECTS = OutputTag("rejects", rows.REJECT_TYPE)


class ValidateProfiles(ProcessFunction):
    """Decode and check each message; emit valid profiles and send rejects to a side output."""

    def __init__(self, registry_url: str):
        self._registry_url = registry_url
        self._validator = None

    def open(self, runtime_context):
        from flink_job.schemas import WriterSchemaCache
        from flink_job.validation import MessageValidator

        self._validator = MessageValidator(
            default_contract(), WriterSchemaCache(self._registry_url)
        )

    def process_element(self, message, ctx):
        key, value, topic, partition, offset = (message[0], message[1], message[2], message[3],
                                                message[4])
        key = bytes(key) if key is not None else None
        value = bytes(value) if value is not None else None
        try:
            outcome = self._validator.validate(key, value)
        except Exception as error:  # no message may fail the job; it becomes a reject
            log.error("validating %s-%s@%s failed unexpectedly: %s: %s", topic, partition,
                      offset, type(error).__name__, error)
            outcome = Rejection((Reason("message", "internal_error",
                                        f"validation raised {type(error).__name__}; report it "
                                        "with this message's position"),))
        if isinstance(outcome, ValidProfile):
            yield rows.profile_row(outcome.values, partition, offset, outcome.schema_id)
            return
        yield REJECTS, rows.Row(
            topic, partition, offset, key, value, outcome.schema_id, outcome.user_id,
            outcome.codes(), outcome.reasons_json(),
        )


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
    return KafkaSource(builder.build())


def jdbc_options(config: Config, table: str) -> str:
    options = {
        "connector": "jdbc",
        "url": config.mysql_jdbc_url(),
        "table-name": table,
        "username": config.mysql_user,
        "password": config.mysql_password,
        "sink.buffer-flush.max-rows": str(config.sink_batch_rows),
        "sink.buffer-flush.interval": f"{config.sink_flush_interval_ms}ms",
        "sink.max-retries": "5",
    }
    return ",\n".join(f"'{name}' = '{value}'" for name, value in options.items())


def users_sink_ddl(config: Config) -> str:
    contract = default_contract()
    columns = [f"`{spec.name}` {rows.flink_sql_type(spec)}" for spec in contract.fields]
    columns += ["`kafka_partition` INT", "`kafka_offset` BIGINT", "`schema_id` INT"]
    return (
        f"CREATE TEMPORARY TABLE users_sink ({', '.join(columns)}, "
        f"PRIMARY KEY (`user_id`) NOT ENFORCED) WITH ({jdbc_options(config, 'users')})"
    )


def rejects_sink_ddl(config: Config) -> str:
    return (
        "CREATE TEMPORARY TABLE rejects_sink (`topic` STRING, `kafka_partition` INT, "
        "`kafka_offset` BIGINT, `message_key` BYTES, `message_value` BYTES, `schema_id` INT, "
        "`user_id` INT, `reason_codes` STRING, `reasons` STRING, "
        "PRIMARY KEY (`topic`, `kafka_partition`, `kafka_offset`) NOT ENFORCED) "
        f"WITH ({jdbc_options(config, 'user_rejects')})"
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


def build(env: StreamExecutionEnvironment, config: Config) -> StreamTableEnvironment:
    """Add the pipeline to `env` and return the table environment that owns its sinks."""
    contract = default_contract()
    t_env = StreamTableEnvironment.create(env)

    # Source: every message with its raw bytes and position.
    messages = env.from_source(
        kafka_source(config), WatermarkStrategy.no_watermarks(), f"Kafka: {config.topic}",
        type_info=rows.MESSAGE_TYPE,
    ).uid("kafka-source")

    # Decode, validate and normalise; rejects leave through a side output. A chain of its own
    # makes the web UI show records read from Kafka and records checked as separate counts.
    profiles = (
        messages.process(ValidateProfiles(config.registry_url),
                         output_type=rows.profile_type(contract))
        .name("Decode, validate, normalise")
        .uid("validate")
        .start_new_chain()
    )
    rejects = profiles.get_side_output(REJECTS)

    # Sinks: upsert profiles by user_id, rejects by source position.
    t_env.create_temporary_view("valid_profiles", t_env.from_data_stream(profiles))
    t_env.create_temporary_view("rejected_messages", t_env.from_data_stream(rejects))
    t_env.execute_sql(users_sink_ddl(config))
    t_env.execute_sql(rejects_sink_ddl(config))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(
        f"INSERT INTO users_sink SELECT {rows.sql_select_list(contract)} FROM valid_profiles"
    )
    statements.add_insert_sql(
        f"INSERT INTO rejects_sink SELECT {', '.join(rows.REJECT_COLUMNS)} FROM rejected_messages"
    )
    statements.attach_as_datastream()
    return t_env


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
    env.enable_checkpointing(config.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    build(env, config)
    log.info("submitting job %s (parallelism %s)", config.job_name, config.job_parallelism)
    env.execute(config.job_name)


if __name__ == "__main__":
    main()
