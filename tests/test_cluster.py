"""The multi-node layout (3 Kafka brokers, 2 TaskManagers) under faults, and the job on a
Flink cluster that `userstream up` did not start.

Both run beside the main local stack on ports of their own, so they share no process with it.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource

from tests.conftest import wait_for_job_running
from tests.faults import Production, assert_reconciled, kill_9
from tests.pipeline import wait_for
from userstream.config import PROJECT_ROOT, Config
from userstream.stack import flink, install, kafka, lifecycle, mysql, process

pytestmark = pytest.mark.stack

# Ports of the multi-node stack: brokers on 29192, 29194, 29196 (controllers one above each).
# All fixed ports of the tests are below 32768, where Linux's range for connections' local
# ports starts. A port inside that range may be the local end of a connection when a broker
# binds it.
CLUSTER_PORTS = {
    "USERSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:29192",
    "USERSTREAM_KAFKA_CONTROLLER_PORT": "29193",
    "USERSTREAM_REGISTRY_URL": "http://127.0.0.1:28185/apis/ccompat/v7",
    "USERSTREAM_FLINK_URL": "http://127.0.0.1:28181",
    "USERSTREAM_FLINK_RPC_PORT": "26223",
    "USERSTREAM_MYSQL_PORT": "23406",
    "USERSTREAM_KAFKA_HEAP": "384m",
}
# The stand-in for a user's own Flink cluster.
OTHER_FLINK_REST_PORT = 28281
OTHER_FLINK_RPC_PORT = 26323


def userstream(env: dict, *args: str, timeout_s: float = 540) -> str:
    result = subprocess.run([sys.executable, "-m", "userstream.cli", *args], env=env,
                            capture_output=True, text=True, timeout=timeout_s, cwd=PROJECT_ROOT)
    assert result.returncode == 0, (f"userstream {' '.join(args)} exited {result.returncode}:\n"
                                    f"{result.stderr[-3000:]}")
    return result.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Start the stack with `userstream up --cluster` in a home of its own."""
    install.install(Config.load())
    home = tmp_path_factory.mktemp("cluster-home")
    # The jars are the ones the main stack resolved; nothing else is shared.
    home.joinpath("lib").symlink_to(Config.load().path("lib"), target_is_directory=True)
    env = {**os.environ, **CLUSTER_PORTS, "USERSTREAM_HOME": str(home)}
    env.pop("USERSTREAM_KAFKA_BROKERS", None)
    config = None
    try:
        userstream(env, "up", "--cluster")
        config = Config.load(env)
        wait_for_job_running(config, timeout_s=180)
        yield config
    finally:
        userstream(env, "down", timeout_s=300)
        shutil.rmtree(home, ignore_errors=True)


def partition_leader(config: Config, partition: int) -> kafka.Broker:
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap})
    leader = admin.list_topics(config.topic, timeout=10).topics[config.topic].partitions[
        partition].leader
    return next(broker for broker in kafka.brokers(config) if broker.node_id == leader)


def test_cluster_replicates_topic_and_parallelises_job(cluster):
    assert cluster.kafka_brokers == 3
    assert len(cluster.kafka_bootstrap.split(",")) == 3
    admin = AdminClient({"bootstrap.servers": cluster.kafka_bootstrap})
    metadata = admin.list_topics(cluster.topic, timeout=10)
    assert len(metadata.brokers) == 3
    partitions = metadata.topics[cluster.topic].partitions
    assert len(partitions) >= cluster.job_parallelism >= 2
    assert all(len(partition.replicas) == 3 for partition in partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, cluster.topic)
    topic_config = admin.describe_configs([resource])[resource].result(timeout=10)
    assert topic_config["min.insync.replicas"].value == "2"
    # The web UI shows each operator's parallelism from this REST resource.
    job = flink.active_job(cluster)
    vertices = flink.rest_get(cluster, f"/jobs/{job['jid']}")["vertices"]
    assert {vertex["parallelism"] for vertex in vertices} == {cluster.job_parallelism}
    overview = flink.rest_get(cluster, "/overview")
    assert overview["taskmanagers"] == 2
    status = userstream({**os.environ, **cluster.environ()}, "status")
    assert f"parallelism {cluster.job_parallelism}" in status
    assert "3 replica(s) each on 3 broker(s)" in status


@pytest.mark.faults
def test_broker_and_taskmanager_killed(cluster):
    production = Production(cluster)
    time.sleep(10)
    leader = partition_leader(cluster, 0)
    kill_9(cluster, leader.name)
    time.sleep(10)
    kill_9(cluster, "flink-taskmanager-2")
    time.sleep(5)
    # `up` starts what is missing: the killed broker and TaskManager.
    lifecycle.up(cluster)
    production.wait()
    wait_for_job_running(cluster, timeout_s=180)
    assert_reconciled(cluster)
    admin = AdminClient({"bootstrap.servers": cluster.kafka_bootstrap})
    wait_for(lambda: all(
        len(partition.isrs) == 3 for partition in
        admin.list_topics(cluster.topic, timeout=10).topics[cluster.topic].partitions.values()),
        120, "the restarted broker to rejoin every partition's in-sync replicas")


def start_other_flink_cluster(folder: Path) -> list[subprocess.Popen]:
    """Start a JobManager and a TaskManager from the distribution, configured as docs/deploy.md
    describes for a cluster that runs the job."""
    lib = folder / "lib"
    lib.mkdir()
    for jar in [*flink.FLINK_HOME.joinpath("lib").glob("*.jar"),
                *flink.FLINK_HOME.joinpath("opt").glob("flink-python-*.jar")]:
        lib.joinpath(jar.name).symlink_to(jar)

    conf = folder / "conf"
    conf.mkdir()
    for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
        shutil.copy(flink.FLINK_HOME / "conf" / name, conf / name)
    settings = {
        "env.java.opts.all": flink._default_java_opts(),
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": OTHER_FLINK_RPC_PORT,
        "jobmanager.bind-host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.host": "127.0.0.1",
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": OTHER_FLINK_REST_PORT,
        "jobmanager.memory.process.size": "768m",
        "taskmanager.memory.process.size": "1280m",
        "taskmanager.memory.jvm-metaspace.size": "384m",
        "taskmanager.numberOfTaskSlots": 1,
        "python.executable": sys.executable,
        "classloader.parent-first-patterns.additional": "pemja.",
        "io.tmp.dirs": str(folder / "tmp"),
        "env.pid.dir": str(folder),
        "blob.server.port": "0",
    }
    conf.joinpath("config.yaml").write_text(
        "".join(f"{key}: {value}\n" for key, value in settings.items()))

    env = {**os.environ, "FLINK_CONF_DIR": str(conf), "FLINK_LIB_DIR": str(lib),
           "FLINK_LOG_DIR": str(folder / "logs"), "FLINK_HOME": str(flink.FLINK_HOME),
           # The embedded interpreter starts from the base Python, so PYTHONPATH points it at
           # the packages of the environment that python.executable belongs to.
           "PYTHONPATH": os.pathsep.join([sysconfig.get_paths()["purelib"], str(PROJECT_ROOT)]),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}

    started = []
    for role in ("jobmanager", "taskmanager"):
        log = open(folder / f"{role}.out", "ab")
        started.append(subprocess.Popen(
            ["bash", str(flink.FLINK_HOME / "bin" / f"{role}.sh"), "start-foreground"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return started


def test_job_on_external_flink_cluster(stack, tmp_path):
    for port in (OTHER_FLINK_REST_PORT, OTHER_FLINK_RPC_PORT):
        process.require_free_port("127.0.0.1", port, "the other Flink cluster's ports")
    suffix = secrets.token_hex(3)
    config = dataclasses.replace(
        stack, topic=f"users-external-{suffix}", subject=f"users-external-{suffix}-value",
        mysql_database=f"userstream_external_{suffix}", job_name=f"userstream-external-{suffix}",
        consumer_group=f"userstream-external-{suffix}", job_parallelism=1,
        flink_url=f"http://127.0.0.1:{OTHER_FLINK_REST_PORT}",
        services=tuple(name for name in stack.services if name != "flink"))
    started = start_other_flink_cluster(tmp_path)
    try:
        wait_for(lambda: (flink.rest_get(config, "/overview") or {}).get("slots-total", 0) >= 1,
                 120, f"the other Flink cluster at {config.flink_url}")
        mysql.create_database_and_users(config)
        # `up` with flink left out of USERSTREAM_SERVICES submits to the cluster at
        # USERSTREAM_FLINK_URL and starts no Flink process of its own.
        userstream({**os.environ, **config.environ()}, "up")
        wait_for_job_running(config, timeout_s=180)
        assert flink.rest_get(stack, "/jobs/overview") is not None
        assert all(job["name"] != config.job_name
                   for job in flink.rest_get(stack, "/jobs/overview")["jobs"])
        Production(config, count=1000, rate=250).wait()
        assert_reconciled(config, timeout_s=120)
        connection = mysql.connect(config, autocommit=True)
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM users")
        assert cursor.fetchone()[0] > 0
        connection.close()
    finally:
        if flink.rest_get(config, "/overview") is not None:
            flink.cancel_job(config)
        for running in started:
            os.killpg(running.pid, signal.SIGTERM)
        for running in started:
            running.wait(timeout=60)
        process.run(["mariadb", f"--socket={stack.path('run', 'mysqld.sock')}", "-uroot"],
                    "dropping the external-cluster test database",
                    input_text=f"DROP DATABASE IF EXISTS `{config.mysql_database}`;")


def test_topic_on_external_kafka_takes_cluster_defaults(stack):
    # The main stack's broker plays the part of a cluster that userstream did not start.
    config = dataclasses.replace(stack, topic=f"users-defaults-{secrets.token_hex(3)}",
                                 services=("mysql", "registry", "flink"))
    kafka.ensure_topic(config)
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap})
    try:
        partitions = admin.list_topics(config.topic, timeout=10).topics[config.topic].partitions
        assert len(partitions) == config.topic_partitions
        assert {len(partition.replicas) for partition in partitions.values()} == {1}
        # No topic-level override: the local-stack branch would set min.insync.replicas here.
        resource = ConfigResource(ConfigResource.Type.TOPIC, config.topic)
        entry = admin.describe_configs([resource])[resource].result(timeout=10)[
            "min.insync.replicas"]
        assert entry.source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    finally:
        for future in admin.delete_topics([config.topic]).values():
            future.result(timeout=30)
