"""Writer schemas fetched from the registry by id, parsed once and cached."""

from __future__ import annotations

import json
import logging
import time

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from flink_job.validation import SchemaNotFound, SchemaUnusable

log = logging.getLogger(__name__)

# Confluent API error code for "schema not found", which Apicurio returns too.
SCHEMA_NOT_FOUND = 40403


class WriterSchemaCache:
    """Look up writer schemas by id, retrying while the registry is unreachable.

    Only a registry response that the id does not exist raises SchemaNotFound;
    while it cannot be reached, the lookup waits with capped exponential backoff, so the
    job slows down instead of rejecting messages it could read a moment later.
    """

    # How long an id the registry reported as not found is not asked for again, so a run of
    # messages with the same bad id costs one request a minute instead of one each.
    NOT_FOUND_TTL_S = 60.0
    NOT_FOUND_MAX_IDS = 10_000

    def __init__(self, registry_conf: dict, max_backoff_s: float = 10.0):
        """`registry_conf` is a SchemaRegistryClient configuration (security.registry_conf)."""
        self._client = SchemaRegistryClient(registry_conf)
        self._parsed: dict[int, dict] = {}
        self._not_found_until: dict[int, float] = {}
        self._max_backoff_s = max_backoff_s

    def __call__(self, schema_id: int) -> dict:
        parsed = self._parsed.get(schema_id)
        if parsed is not None:
            return parsed
        until = self._not_found_until.get(schema_id)
        if until is not None and time.monotonic() < until:
            raise SchemaNotFound(schema_id)
        try:
            parsed = self._fetch(schema_id)
        except SchemaNotFound:
            if len(self._not_found_until) >= self.NOT_FOUND_MAX_IDS:
                self._not_found_until.clear()
            self._not_found_until[schema_id] = time.monotonic() + self.NOT_FOUND_TTL_S
            raise
        self._not_found_until.pop(schema_id, None)
        self._parsed[schema_id] = parsed
        return parsed

    def _fetch(self, schema_id: int) -> dict:
        attempt = 0
        while True:
            attempt += 1
            try:
                schema = self._client.get_schema(schema_id)
                break
            except SchemaRegistryError as error:
                if error.http_status_code == 404 or error.error_code == SCHEMA_NOT_FOUND:
                    raise SchemaNotFound(schema_id) from error
                failure = error
            except Exception as error:  # connection errors come from the HTTP library
                failure = error
            delay = min(self._max_backoff_s, 0.25 * 2 ** min(attempt, 8))
            log.warning("schema registry lookup of id %s failed (attempt %s, retry in %.1fs): %s",
                        schema_id, attempt, delay, failure)
            time.sleep(delay)
        if schema.schema_type not in (None, "AVRO"):
            raise SchemaUnusable(f"it is a {schema.schema_type} schema, not Avro")
        if schema.references:
            raise SchemaUnusable("it uses schema references, which this job does not resolve")
        try:
            parsed = fastavro.parse_schema(json.loads(schema.schema_str))
        except Exception as error:  # fastavro raises several types for schemas it cannot use
            raise SchemaUnusable(f"fastavro cannot parse it ({type(error).__name__})") from error
        log.info("cached writer schema id %s", schema_id)
        return parsed
