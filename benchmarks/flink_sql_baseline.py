"""The Flink SQL baseline: Kafka (avro-confluent) to JDBC with the connectors' defaults.

It decodes the valid profiles with the registry's schema and inserts them into `users`, with
no validation, no reject routing and no newer-wins rule. `benchmarks/bench.py` submits it with
`flink run -py` and these environment variables besides the USERSTREAM_* settings:
BENCH_JARS (semicolon-separated jar URLs).
"""

from __future__ import annotations

import json
import os

from pyflink.table import EnvironmentSettings, TableEnvironment

from userstream.config import Config
from userstream.contract import FieldSpec, load_contract


def sql_type(spec: FieldSpec) -> str:
    if spec.kind == "date":
        text = "DATE"
    elif spec.kind == "timestamp":
        text = "TIMESTAMP(3)"
    elif spec.kind == "decimal":
        text = f"DECIMAL({spec.precision}, {spec.scale})"
    elif spec.kind in ("string", "enum"):
        text = "STRING"
    else:
        text = "BIGINT" if spec.kind == "long" else "INT"
    return text if spec.nullable else text + " NOT NULL"


def main() -> None:
    config = Config.load()
    contract = load_contract(config.contract)
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    settings = t_env.get_config()
    settings.set("pipeline.jars", os.environ["BENCH_JARS"])
    settings.set("pipeline.name", config.job_name)
    settings.set("parallelism.default", str(config.job_parallelism))
    # Offsets are committed on checkpoints; the benchmark reads them to know the job is done.
    settings.set("execution.checkpointing.interval", f"{config.checkpoint_interval_ms}ms")

    columns = [f"`{spec.name}` {sql_type(spec)}" for spec in contract.fields]
    # The contract's Avro schema is the reader schema: a reader schema derived from the table
    # would declare enums as strings, which Avro cannot resolve from an enum.
    reader_schema = json.dumps(contract.schema).replace("'", "''")
    t_env.execute_sql(f"""
        CREATE TABLE source_profiles ({', '.join(columns)},
            `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,
            `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{config.topic}',
            'properties.bootstrap.servers' = '{config.kafka_bootstrap}',
            'properties.group.id' = '{config.consumer_group}',
            'scan.startup.mode' = 'earliest-offset',
            'value.format' = 'avro-confluent',
            'value.avro-confluent.url' = '{config.registry_url}',
            'value.avro-confluent.schema' = '{reader_schema}'
        )""")
    sink_columns = columns + ["`kafka_partition` INT", "`kafka_offset` BIGINT",
                              "`schema_id` INT"]
    t_env.execute_sql(f"""
        CREATE TABLE users_sink ({', '.join(sink_columns)},
            PRIMARY KEY (`user_id`) NOT ENFORCED
        ) WITH (
            'connector' = 'jdbc',
            'url' = '{config.mysql_jdbc_url()}',
            'table-name' = 'users',
            'username' = '{config.mysql_user}',
            'password' = '{config.mysql_password}'
        )""")
    names = ", ".join(f"`{name}`" for name in contract.field_names)
    t_env.execute_sql(f"INSERT INTO users_sink SELECT {names}, `kafka_partition`, "
                      "`kafka_offset`, 0 FROM source_profiles")


if __name__ == "__main__":
    main()
