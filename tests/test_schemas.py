"""The job's writer-schema cache against the real registry: how often it sends a lookup."""

from __future__ import annotations

import time

import pytest

from flink_job.schemas import WriterSchemaCache
from flink_job.validation import SchemaNotFound
from userstream import security
from userstream.stack import registry

pytestmark = pytest.mark.stack

UNKNOWN_ID = 1_999_999_998


class CountingClient:
    """Registry client that passes each lookup to the real one and counts them."""

    def __init__(self, real):
        self.real = real
        self.lookups = 0

    def get_schema(self, schema_id: int):
        self.lookups += 1
        return self.real.get_schema(schema_id)


@pytest.fixture
def cache(stack):
    cache = WriterSchemaCache(security.registry_conf(stack))
    cache._client = CountingClient(cache._client)
    return cache


def test_known_id_fetched_once(stack, cache):
    schema_id = registry.register_contract(stack)
    assert cache(schema_id) is cache(schema_id)
    assert cache._client.lookups == 1


def test_unknown_id_fetched_once_a_minute(cache, monkeypatch):
    for _ in range(3):
        with pytest.raises(SchemaNotFound):
            cache(UNKNOWN_ID)
    assert cache._client.lookups == 1
    now = time.monotonic()
    monkeypatch.setattr("flink_job.schemas.time.monotonic",
                        lambda: now + WriterSchemaCache.NOT_FOUND_TTL_S + 1)
    with pytest.raises(SchemaNotFound):
        cache(UNKNOWN_ID)
    assert cache._client.lookups == 2
