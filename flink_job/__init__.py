"""The PyFlink job that validates profiles from Kafka and upserts them into MySQL."""
