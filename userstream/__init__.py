"""userstream: a contract-first pipeline from a profile generator through Kafka and Flink to MySQL."""

__version__ = "0.1.0"
