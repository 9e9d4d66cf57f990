"""Helpers for end-to-end tests: send messages to the real topic and read the outcome."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from userstream import security
from userstream.config import Config


@dataclass(frozen=True)
class Sent:
    """A message acknowledged by the broker."""

    partition: int
    offset: int
    key: bytes | None


class MessageSender:
    """Send raw or registry-serialized messages and wait for their acknowledgements."""

    def __init__(self, config: Config):
        self.config = config
        self.registry = SchemaRegistryClient(security.registry_conf(config))
        self.producer = Producer({**security.kafka_client_conf(config),
                                  "enable.idempotence": True, "acks": "all"})
        self.context = SerializationContext(config.topic, MessageField.VALUE)

    def serializer(self, schema: dict, subject: str | None = None) -> AvroSerializer:
        subject = subject or self.config.subject
        return AvroSerializer(self.registry, json.dumps(schema),
                              conf={"auto.register.schemas": True,
                                    "subject.name.strategy": lambda *_: subject})

    def encode(self, serializer: AvroSerializer, record: dict) -> bytes:
        return serializer(record, self.context)

    def send(self, key: bytes | None, value: bytes | None) -> list:
        """Queue one message; the returned list receives its Sent on delivery."""
        slot: list = []

        def on_delivery(error, message):
            if error is not None:
                raise AssertionError(f"delivery failed: {error}")
            slot.append(Sent(message.partition(), message.offset(), key))

        self.producer.produce(self.config.topic, key=key, value=value, on_delivery=on_delivery)
        self.producer.poll(0)
        return slot

    def flush(self) -> None:
        remaining = self.producer.flush(30)
        assert remaining == 0, f"{remaining} messages were not acknowledged within 30s"


def unique_user_ids(count: int) -> list[int]:
    """Return user_ids that no other test run uses, so tests can share one running job."""
    base = random.SystemRandom().randrange(100_000_000, 2_000_000_000)
    return list(range(base, base + count))


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f}s")
        time.sleep(interval_s)


def rows_by_user(db, user_ids) -> dict[int, dict]:
    if not user_ids:
        return {}
    cursor = db.cursor(dictionary=True)
    placeholders = ", ".join(["%s"] * len(user_ids))
    cursor.execute(f"SELECT * FROM users WHERE user_id IN ({placeholders})", list(user_ids))
    return {row["user_id"]: row for row in cursor.fetchall()}


def rejects_at(db, topic: str, positions) -> dict[tuple[int, int], dict]:
    """Return reject rows at the given (partition, offset) positions."""
    positions = list(positions)
    if not positions:
        return {}
    cursor = db.cursor(dictionary=True)
    found = {}
    for start in range(0, len(positions), 500):
        chunk = positions[start:start + 500]
        condition = " OR ".join(["(kafka_partition = %s AND kafka_offset = %s)"] * len(chunk))
        params = [value for position in chunk for value in position]
        cursor.execute(f"SELECT * FROM user_rejects WHERE topic = %s AND ({condition})",
                       [topic, *params])
        for row in cursor.fetchall():
            found[(row["kafka_partition"], row["kafka_offset"])] = row
    return found
