"""Collect what the pipeline is doing: job state, topic size, rows stored, rejects by reason."""

from __future__ import annotations

import logging
from collections import Counter

from confluent_kafka import Consumer, KafkaException, TopicPartition

from userstream import security
from userstream.config import Config
from userstream.stack import flink, mysql

log = logging.getLogger(__name__)
# librdkafka logs every refused connection; `status` reports an unreachable broker once itself.
_CLIENT_LOG = logging.getLogger("userstream.status.librdkafka")
_CLIENT_LOG.setLevel(logging.CRITICAL)


def topic_offsets(config: Config) -> dict[int, tuple[int, int]]:
    """Return {partition: (low, high)} watermark offsets of the profile topic."""
    return topic_state(config)["offsets"]


def topic_state(config: Config) -> dict:
    """Return the topic's watermark offsets by partition, the brokers the cluster reports and
    the partitions with fewer in-sync replicas than replicas."""
    conf = security.kafka_client_conf(config)
    consumer = Consumer({**conf, "group.id": "userstream-status", "enable.auto.commit": False,
                         "logger": _CLIENT_LOG})
    try:
        try:
            metadata = consumer.list_topics(config.topic, timeout=5)
        except KafkaException as error:
            raise security.explained_kafka_error(config, conf, consumer, error) from error
        partitions = metadata.topics[config.topic].partitions
        offsets = {
            partition: consumer.get_watermark_offsets(TopicPartition(config.topic, partition),
                                                      timeout=5)
            for partition in sorted(partitions)
        }
        under_replicated = sorted(number for number, partition in partitions.items()
                                  if len(partition.isrs) < len(partition.replicas))
        replicas = max((len(partition.replicas) for partition in partitions.values()), default=0)
        return {"offsets": offsets, "brokers": len(metadata.brokers), "replicas": replicas,
                "under_replicated": under_replicated}
    finally:
        consumer.close()


def job_parallelism(config: Config, job_id: str) -> int | None:
    """Return the highest parallelism among the job's operators, as the web UI shows it."""
    details = flink.rest_get(config, f"/jobs/{job_id}") or {}
    return max((vertex["parallelism"] for vertex in details.get("vertices", [])), default=None)


def reject_reasons(cursor) -> Counter:
    cursor.execute("SELECT `reason_codes`, COUNT(*) FROM `user_rejects` GROUP BY `reason_codes`")
    reasons: Counter = Counter()
    for codes, count in cursor.fetchall():
        for code in codes.split(";"):
            reasons[code] += count
    return reasons


def collect(config: Config) -> dict:
    """Gather the status as a dict; a part that cannot be read holds an `error` entry."""
    status: dict = {}
    job = flink.active_job(config)
    status["job"] = {"name": config.job_name, "state": job["state"] if job else "NOT RUNNING",
                     "id": job["jid"] if job else None, "web_ui": config.flink_url,
                     "parallelism": job_parallelism(config, job["jid"]) if job else None}
    try:
        state = topic_state(config)
        offsets = state["offsets"]
        status["topic"] = {"name": config.topic, "partitions": len(offsets),
                           "messages": sum(high - low for low, high in offsets.values()),
                           "brokers": state["brokers"], "replicas": state["replicas"],
                           "under_replicated": state["under_replicated"]}
    except (KafkaException, KeyError) as error:
        status["topic"] = {"name": config.topic, "error": str(error)}
    try:
        connection = mysql.connect(config)
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT COUNT(*) FROM `users`")
            rows = cursor.fetchone()[0]
            cursor.execute("SELECT COUNT(*) FROM `user_rejects`")
            rejects = cursor.fetchone()[0]
            status["mysql"] = {"users": rows, "rejects": rejects,
                               "rejects_by_reason": dict(reject_reasons(cursor).most_common())}
        finally:
            connection.close()
    except Exception as error:  # mysql.connector raises many subclasses of Error
        status["mysql"] = {"error": str(error)}
    return status


def healthy(status: dict) -> bool:
    """Return whether the job runs and both Kafka and MySQL could be read."""
    return (status["job"]["state"] == "RUNNING" and "error" not in status["topic"]
            and "error" not in status["mysql"])


def render(status: dict) -> str:
    """Format the status for a terminal."""
    job, topic, db = status["job"], status["topic"], status["mysql"]
    lines = [f"job      {job['name']}: {job['state']}"
             + (f" ({job['id']}" + (f", parallelism {job['parallelism']}"
                                       if job["parallelism"] else "") + ")"
                if job["id"] else "")
             + f"  web UI {job['web_ui']}"]
    if "error" in topic:
        lines.append(f"topic    {topic['name']}: unavailable ({topic['error']})")
    else:
        lines.append(f"topic    {topic['name']}: {topic['messages']} messages in "
                     f"{topic['partitions']} partitions, {topic['replicas']} replica(s) each "
                     f"on {topic['brokers']} broker(s)")
        if topic["under_replicated"]:
            lines.append("         under-replicated partitions (a broker is down or catching "
                         f"up): {', '.join(map(str, topic['under_replicated']))}")
    if "error" in db:
        lines.append(f"mysql    unavailable ({db['error']})")
        if db["error"].startswith("1045"):
            lines.append("hint     MySQL refused the sign-in: check USERSTREAM_MYSQL_USER and "
                         "USERSTREAM_MYSQL_PASSWORD, or the password in "
                         "$USERSTREAM_HOME/secrets.json of the stack you started")
    else:
        lines.append(f"mysql    users: {db['users']} rows, user_rejects: {db['rejects']} rows")
        for reason, count in db["rejects_by_reason"].items():
            lines.append(f"           {count:>8}  {reason}")
    if not healthy(status):
        lines.append("hint     start the stack and the job with `userstream up` (make up); "
                     "logs are in $USERSTREAM_HOME/logs")
    return "\n".join(lines)
