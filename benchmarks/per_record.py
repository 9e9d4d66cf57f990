"""Measure the job's Python cost per message outside Flink: decode, validate, build the row.

The messages are generated and encoded as the producer sends them (seeded, a share broken on
purpose with every kind), and pass through the job's own code: MessageValidator.decode with
a WriterSchemaCache, MessageValidator.check, then rows.profile_line or rows.reject_line.
--fastavro-only decodes every message with fastavro instead of the compiled reader. The
cache returns schemas from its own dictionary after the first message, as in the job. Its
registry lookup is replaced by the local contract, so no registry is needed.

Prints microseconds of CPU time per message for each step, the median of --runs runs.
Run it on one core for steady figures: `taskset -c 1 .venv/bin/python -m benchmarks.per_record`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from flink_job import rows
from flink_job.schemas import WriterSchemaCache
from flink_job.validation import MessageValidator, Rejection, SchemaNotFound
from producer import invalid
from producer.generator import ProfileGenerator
from producer.publisher import encode_message
from producer.serializer import WireSerializer
from userstream.contract import Contract, default_contract

SCHEMA_ID = 1
STEPS = ("decode", "validate", "row")
STEP_NAMES = {
    "decode": "decode: framing, schema id cache, Avro body",
    "validate": "validate and normalise against the contract",
    "row": "build the line: profile or reject JSON",
}


class LocalSchemas(WriterSchemaCache):
    """The job's writer schema cache, serving the contract under SCHEMA_ID from memory."""

    def __init__(self, contract: Contract):
        # The registry client is created but never called, because _fetch is replaced.
        super().__init__({"url": "http://127.0.0.1:1"})
        self._contract = contract

    def _fetch(self, schema_id: int) -> dict:
        if schema_id != SCHEMA_ID:
            raise SchemaNotFound(schema_id)
        return self._contract.parsed


class FastavroOnlyValidator(MessageValidator):
    """The job's validator with no compiled reader, so fastavro decodes every message."""

    def _compiled_reader(self, schema_id, writer_schema):
        return None


def messages(contract: Contract, count: int, seed: int,
             invalid_rate: float) -> list[tuple[bytes, bytes | None]]:
    """Return `count` (key, value) pairs as the producer sends them."""
    generator = ProfileGenerator(seed=seed)
    serializer = WireSerializer(contract.schema, SCHEMA_ID)
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        profile = generator.next_profile()
        kind = invalid.choose_kind(rng) if rng.random() < invalid_rate else None
        key = str(profile["user_id"]).encode("ascii")
        pairs.append((key, encode_message(serializer, profile, kind)))
    return pairs


def run_once(contract: Contract, pairs: list, fastavro_only: bool = False) -> dict:
    """Return the CPU seconds that each step took over all pairs."""
    validator_class = FastavroOnlyValidator if fastavro_only else MessageValidator
    validator = validator_class(contract, LocalSchemas(contract))
    seconds = {}

    started = time.process_time()
    decoded = [validator.decode(value) for _, value in pairs]
    seconds["decode"] = time.process_time() - started

    started = time.process_time()
    outcomes = [item if isinstance(item, Rejection) else validator.check(key, item[1], item[0])
                for (key, _), item in zip(pairs, decoded)]
    seconds["validate"] = time.process_time() - started

    started = time.process_time()
    for offset, ((key, value), outcome) in enumerate(zip(pairs, outcomes)):
        if isinstance(outcome, Rejection):
            rows.reject_line("users", 0, offset, key, value, outcome.schema_id, outcome.user_id,
                             outcome.codes(), outcome.reasons_json())
        else:
            rows.profile_line(outcome.values, 0, offset, outcome.schema_id)
    seconds["row"] = time.process_time() - started
    return seconds


def measure(count: int = 50_000, runs: int = 3, seed: int = 11,
            invalid_rate: float = 0.1, fastavro_only: bool = False) -> dict:
    """Return the median µs per message of each step and of all three, over `runs` runs."""
    contract = default_contract()
    pairs = messages(contract, count, seed, invalid_rate)
    results = [run_once(contract, pairs, fastavro_only) for _ in range(runs)]
    figures = {step: statistics.median(result[step] for result in results) / count * 1e6
               for step in STEPS}
    figures["total"] = statistics.median(sum(result.values()) for result in results) / count * 1e6
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000,
                        help="messages per run (default 50,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is printed")
    parser.add_argument("--seed", type=int, default=11, help="seed of the generator")
    parser.add_argument("--invalid-rate", type=float, default=0.1,
                        help="share of messages broken on purpose (default 0.1)")
    parser.add_argument("--fastavro-only", action="store_true",
                        help="decode with fastavro instead of the compiled reader")
    args = parser.parse_args()
    figures = measure(args.messages, args.runs, args.seed, args.invalid_rate,
                      args.fastavro_only)
    reader = "fastavro" if args.fastavro_only else "compiled reader"
    print(f"{args.messages:,} messages, seed {args.seed}, {args.invalid_rate:.0%} broken on "
          f"purpose, {reader}, median of {args.runs} runs, CPU time")
    for step in STEPS:
        print(f"{STEP_NAMES[step]:<48} {figures[step]:7.2f} µs/message")
    print(f"{'total':<48} {figures['total']:7.2f} µs/message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
