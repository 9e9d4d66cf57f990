"""The job's writer-schema cache: what it asks the registry, and how often."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from flink_job.schemas import WriterSchemaCache
from flink_job.validation import SchemaNotFound


class CountingRegistry:
    """Registry client stand-in that knows one schema id and counts lookups."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.lookups = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.lookups += 1
        if schema_id != 1:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(json.dumps(self.schema), "AVRO")


@pytest.fixture
def cache(contract):
    cache = WriterSchemaCache("http://127.0.0.1:9")
    cache._client = CountingRegistry(contract.schema)
    return cache


def test_known_id_fetched_once(cache):
    assert cache(1) is cache(1)
    assert cache._client.lookups == 1


def test_unknown_id_fetched_once_a_minute(cache, monkeypatch):
    for _ in range(3):
        with pytest.raises(SchemaNotFound):
            cache(7)
    assert cache._client.lookups == 1
    now = time.monotonic()
    monkeypatch.setattr("flink_job.schemas.time.monotonic",
                        lambda: now + WriterSchemaCache.NOT_FOUND_TTL_S + 1)
    with pytest.raises(SchemaNotFound):
        cache(7)
    assert cache._client.lookups == 2
