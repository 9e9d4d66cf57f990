"""The local stack: MariaDB, Kafka, the schema registry and Flink as processes on 127.0.0.1."""
