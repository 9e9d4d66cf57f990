"""Publish generated profiles to Kafka, Avro-encoded against the schema registry."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from confluent_kafka import KafkaException, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from producer import invalid
from producer.generator import ProfileGenerator
from producer.serializer import WireSerializer
from userstream import security
from userstream.config import Config
from userstream.contract import default_contract

log = logging.getLogger(__name__)
INVALID_HEADER = "userstream-invalid-kind"
# librdkafka logs every failed connection attempt; failures are reported through delivery
# reports and the summary, so only its errors are shown.
_CLIENT_LOG = logging.getLogger("producer.librdkafka")
_CLIENT_LOG.setLevel(logging.CRITICAL)


@dataclass
class Counts:
    """Delivery outcomes reported by the broker, and messages still waiting for one."""

    produced: int = 0
    delivered: int = 0
    failed: int = 0
    invalid_by_kind: dict = field(default_factory=dict)

    @property
    def pending(self) -> int:
        return self.produced - self.delivered - self.failed


class ProfilePublisher:
    """Encode profiles under the contract's registered schema id and send them keyed by user_id.

    `schema_id` is the id that require_registered returns. The producer is idempotent with
    acks=all, so a retried send is written once. Delivery reports are served after every
    send. When `report` (a writable text file) is given, it receives one JSON line per
    acknowledged message: partition, offset, user_id, invalid kind.
    """

    def __init__(self, config: Config, generator: ProfileGenerator, schema_id: int,
                 invalid_rate: float = 0.0, seed: int | None = None,
                 report: IO[str] | None = None):
        if not 0.0 <= invalid_rate <= 1.0:
            raise ValueError(f"invalid rate {invalid_rate} is outside 0..1; pass a share such "
                             "as 0.1 for 10%")
        self._config = config
        self._generator = generator
        self._invalid_rate = invalid_rate
        self._rng = random.Random(seed)
        self._report = report
        self.counts = Counts()
        self._serializer = WireSerializer(default_contract().schema, schema_id)
        self._client_conf = security.kafka_client_conf(config)
        self._producer = Producer({
            **self._client_conf,
            "logger": _CLIENT_LOG,
            "client.id": "userstream-producer",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            "message.timeout.ms": 120000,
        })

    def check_connection(self, timeout_s: float = 10.0) -> None:
        """Raise KafkaException naming the setting to fix unless the brokers return metadata.

        A failed sign-in or TLS handshake would otherwise surface only when every queued
        message times out, after message.timeout.ms.
        """
        try:
            self._producer.list_topics(self._config.topic, timeout=timeout_s)
        except KafkaException as error:
            raise security.explained_kafka_error(self._config, self._client_conf,
                                                 self._producer, error) from error

    def send_one(self) -> None:
        """Generate, encode and send one message; a share of them broken on purpose."""
        profile = self._generator.next_profile()
        kind = None
        if self._invalid_rate and self._rng.random() < self._invalid_rate:
            kind = invalid.choose_kind(self._rng)
        key = str(profile["user_id"]).encode("ascii")
        value = encode_message(self._serializer, profile, kind)
        headers = [(INVALID_HEADER, kind.encode())] if kind else None
        self._produce(key, value, headers, profile["user_id"], kind)

    def _produce(self, key, value, headers, user_id, kind) -> None:
        def on_delivery(error, message):
            self._on_delivery(error, message, user_id, kind)

        while True:
            try:
                self._producer.produce(self._config.topic, value=value, key=key,
                                       headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._producer.poll(0.1)
        self.counts.produced += 1
        if kind:
            self.counts.invalid_by_kind[kind] = self.counts.invalid_by_kind.get(kind, 0) + 1
        self._producer.poll(0)

    def _on_delivery(self, error, message, user_id, kind) -> None:
        if error is not None:
            self.counts.failed += 1
            log.error("delivery failed for user_id %s: %s", user_id, error)
            return
        self.counts.delivered += 1
        if self._report is not None:
            self._report.write(json.dumps({
                "partition": message.partition(), "offset": message.offset(),
                "user_id": user_id, "kind": kind,
                # CreateTime in epoch milliseconds, set by the client when produce() was called.
                "timestamp": message.timestamp()[1],
            }) + "\n")

    def flush(self, timeout_s: float = 60.0) -> int:
        """Wait for outstanding deliveries; return how many are still unconfirmed."""
        remaining = self._producer.flush(timeout_s)
        if self._report is not None:
            self._report.flush()
        return remaining


def encode_message(serializer: WireSerializer, profile: dict, kind: str | None) -> bytes | None:
    """Return the message value of profile, broken on purpose as `kind` names unless it is None."""
    if kind == "decimal_overflow":
        # The serializer raises on a decimal wider than the contract, so this kind is
        # encoded by hand under the contract's schema id.
        return invalid.encode_violation(kind, profile, serializer.schema_id)
    if kind in invalid.CONTRACT_VIOLATIONS:
        return serializer(invalid.break_profile(kind, profile))
    value = serializer(profile)
    if kind in invalid.MALFORMED:
        return invalid.break_message(kind, value)
    return value


def require_registered(config: Config) -> int:
    """Return the schema id of the working contract, registered under the subject.

    Raises OSError when the contract is not a registered version of the subject. Checked
    before anything is generated, so a contract the registry refused publishes nothing.
    Registration is `userstream contract register`'s job, because it upgrades the job and
    the tables first; the producer only looks its contract up.
    """
    registry = SchemaRegistryClient(security.registry_conf(config))
    schema = Schema(default_contract().schema_str(), "AVRO")
    try:
        registered = registry.lookup_schema(config.subject, schema)
    except SchemaRegistryError as error:
        if error.http_status_code == 404:
            raise OSError(
                f"the producer's contract ({config.contract}) is not registered under subject "
                f"{config.subject} at {config.registry_url}; register it with `userstream "
                "contract register`, which checks it against every earlier version first"
            ) from error
        raise OSError(f"the registry at {config.registry_url} refused the lookup of the "
                      f"contract: {error.error_message} (HTTP {error.http_status_code})"
                      ) from error
    except Exception as error:  # the HTTP client raises its own connection errors
        raise OSError(f"cannot reach the schema registry at {config.registry_url} ({error}); "
                      "start it or set USERSTREAM_REGISTRY_URL") from error
    return registered.schema_id


def run(config: Config, *, count: int | None, rate: float | None, batch_size: int,
        interval_s: tuple[float, float], seed: int | None, invalid_rate: float,
        stop: threading.Event, report_path: Path | None = None, first_user_id: int = 1,
        update_share: float = 0.1) -> Counts:
    """Publish by count, by rate or on the batch schedule until done or `stop` is set."""
    schema_id = require_registered(config)
    generator = ProfileGenerator(seed=seed, update_share=update_share,
                                 first_user_id=first_user_id)
    report = open(report_path, "a", encoding="utf-8", buffering=1) if report_path else None
    publisher = None
    try:
        publisher = ProfilePublisher(config, generator, schema_id, invalid_rate, seed, report)
        publisher.check_connection()
        log.info("producing to %s on %s (count=%s rate=%s batch=%s)", config.topic,
                 config.kafka_bootstrap, count, rate, batch_size)
        if rate:
            _by_rate(publisher, rate, count, stop)
        elif count is not None:
            _by_count(publisher, count, stop)
        else:
            _on_schedule(publisher, batch_size, interval_s, seed, stop)
        unconfirmed = publisher.flush()
        counts = publisher.counts
        log.info("producer finished: %s delivered, %s failed, %s unconfirmed; invalid by kind %s",
                 counts.delivered, counts.failed, unconfirmed, counts.invalid_by_kind)
        return counts
    except Exception as error:  # registry and Kafka clients raise their own error types
        counts = publisher.counts if publisher is not None else Counts()
        raise OSError(f"producing failed after {counts.delivered} delivered messages "
                      f"({counts.pending} unconfirmed): {error}. Check that Kafka "
                      f"({config.kafka_bootstrap}) and the registry ({config.registry_url}) "
                      "are reachable") from error
    finally:
        if report is not None:
            report.close()


def _by_count(publisher: ProfilePublisher, count: int, stop: threading.Event) -> None:
    for _ in range(count):
        if stop.is_set():
            return
        publisher.send_one()


def _by_rate(publisher: ProfilePublisher, rate: float, count: int | None,
             stop: threading.Event) -> None:
    started = time.monotonic()
    sent = 0
    while not stop.is_set() and (count is None or sent < count):
        due = int((time.monotonic() - started) * rate) + 1
        while sent < due and (count is None or sent < count):
            publisher.send_one()
            sent += 1
        stop.wait(max(0.0, started + sent / rate - time.monotonic()))


def _on_schedule(publisher: ProfilePublisher, batch_size: int, interval_s: tuple[float, float],
                 seed: int | None, stop: threading.Event) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        _by_count(publisher, batch_size, stop)
        publisher.flush()
        pause = rng.uniform(*interval_s)
        log.info("sent a batch of %s; next batch in %.0fs (%s delivered so far)", batch_size,
                 pause, publisher.counts.delivered)
        stop.wait(pause)
