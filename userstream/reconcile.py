"""Compare every message in the topic with what MySQL holds for it.

Each message must end as exactly one of: the current row of its user (or a row that a later
message of the same user in the same partition replaced), or a row in `user_rejects` at its
position. A valid profile may be in `user_rejects` only with the reason `database_refused`. The check reads the topic partition by partition in chunks, validates each message
again with the job's own rules to know which outcome to expect, and looks the chunk up in
MySQL with two queries, so memory stays bounded by the chunk size, not the topic size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition

from flink_job.schemas import WriterSchemaCache
from flink_job.validation import MessageValidator, ValidProfile
from userstream import security
from userstream.config import Config
from userstream.contract import load_contract
from userstream.stack import mysql

log = logging.getLogger(__name__)
# The reason code the job's MySQL sink gives a valid profile whose row the database refused.
REFUSED_CODE = "database_refused"
_CLIENT_LOG = logging.getLogger("userstream.reconcile.librdkafka")
_CLIENT_LOG.setLevel(logging.ERROR)


@dataclass
class Report:
    """Counts of the reconciliation and up to `sample_size` examples of each problem."""

    messages: int = 0
    stored: int = 0
    superseded: int = 0
    rejected: int = 0
    missing: int = 0
    duplicated: int = 0
    missing_positions: list = field(default_factory=list)
    duplicated_positions: list = field(default_factory=list)
    sample_size: int = 20

    def note(self, kind: str, position: tuple[int, int]) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        samples = getattr(self, f"{kind}_positions", None)
        if samples is not None and len(samples) < self.sample_size:
            samples.append(position)

    @property
    def consistent(self) -> bool:
        return self.missing == 0 and self.duplicated == 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in (
            "messages", "stored", "superseded", "rejected", "missing", "duplicated",
            "missing_positions", "duplicated_positions")}


def reconcile(config: Config, chunk_size: int = 5000) -> Report:
    """Check every message of the topic against `users` and `user_rejects`."""
    validator = MessageValidator(load_contract(config.contract),
                                 WriterSchemaCache(security.registry_conf(config)))
    report = Report()
    conf = security.kafka_client_conf(config)
    consumer = Consumer({**conf, "group.id": "userstream-reconcile", "enable.auto.commit": False,
                         "logger": _CLIENT_LOG})
    connection = mysql.connect(config, autocommit=True)
    try:
        try:
            topics = consumer.list_topics(config.topic, timeout=10).topics
        except KafkaException as error:
            raise security.explained_kafka_error(config, conf, consumer, error) from error
        partitions = topics[config.topic].partitions
        for partition in sorted(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(config.topic, partition),
                                                       timeout=10)
            consumer.assign([TopicPartition(config.topic, partition, low)])
            next_offset = low
            while next_offset < high:
                chunk = _read_chunk(consumer, partition, next_offset, high, chunk_size)
                _check_chunk(connection, config.topic, partition, chunk, validator, report)
                next_offset = chunk[-1][0] + 1
            log.info("partition %s: offsets %s..%s checked", partition, low, high)
    finally:
        consumer.close()
        connection.close()
    return report


def _read_chunk(consumer, partition, start, high, chunk_size) -> list[tuple]:
    """Return up to chunk_size (offset, key, value) tuples from `start` on."""
    chunk = []
    while len(chunk) < chunk_size and start + len(chunk) < high:
        wanted = min(1000, chunk_size - len(chunk), high - start - len(chunk))
        messages = consumer.consume(wanted, timeout=10)
        if not messages:
            raise KafkaException(f"no messages read from partition {partition} at offset "
                                 f"{start + len(chunk)} within 10 s")
        for message in messages:
            if message.error():
                raise KafkaException(message.error())
            chunk.append((message.offset(), message.key(), message.value()))
    return chunk


def _check_chunk(connection, topic, partition, chunk, validator, report) -> None:
    cursor = connection.cursor()
    first, last = chunk[0][0], chunk[-1][0]
    cursor.execute("SELECT kafka_offset, reason_codes FROM user_rejects WHERE topic = %s AND "
                   "kafka_partition = %s AND kafka_offset BETWEEN %s AND %s",
                   (topic, partition, first, last))
    rejected = dict(cursor.fetchall())
    expected = {offset: validator.validate(key, value) for offset, key, value in chunk}
    user_ids = {outcome.values[0] for outcome in expected.values()
                if isinstance(outcome, ValidProfile)}
    current = _current_positions(cursor, user_ids)
    for offset, outcome in expected.items():
        report.messages += 1
        position = (partition, offset)
        if not isinstance(outcome, ValidProfile):
            report.note("rejected" if offset in rejected else "missing", position)
            continue
        row = current.get(outcome.values[0])
        if offset in rejected:
            # A valid profile is rejected only when the database refused its row; it must then
            # not be the stored row as well.
            refused = f":{REFUSED_CODE}" in rejected[offset]
            if refused and (row is None or row != (partition, offset)):
                report.note("rejected", position)
            else:
                report.note("duplicated", position)
            continue
        if row is None or row[0] != partition or row[1] < offset:
            report.note("missing", position)
        elif row[1] == offset:
            report.stored += 1
        else:
            report.superseded += 1


def _current_positions(cursor, user_ids) -> dict[int, tuple[int, int]]:
    if not user_ids:
        return {}
    placeholders = ", ".join(["%s"] * len(user_ids))
    cursor.execute(f"SELECT user_id, kafka_partition, kafka_offset FROM users "
                   f"WHERE user_id IN ({placeholders})", list(user_ids))
    return {user_id: (row_partition, row_offset)
            for user_id, row_partition, row_offset in cursor.fetchall()}
