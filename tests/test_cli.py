"""The `userstream` command: exit codes and messages for bad usage and bad settings."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from userstream.stack import mysql, process


def userstream(*args: str, env: dict | None = None, timeout_s: float = 60):
    return subprocess.run([sys.executable, "-m", "userstream.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout_s)


def test_zero_count_exits_2():
    result = userstream("produce", "--count", "0")
    assert result.returncode == 2
    assert "0 must be a finite number greater than 0" in result.stderr


def test_infinite_rate_exits_2():
    result = userstream("produce", "--rate", "inf")
    assert result.returncode == 2
    assert "inf must be a finite number" in result.stderr


def test_update_share_outside_range_exits_2():
    result = userstream("produce", "--update-share", "2")
    assert result.returncode == 2
    assert "--update-share 2.0 is outside 0..1" in result.stderr


def test_invalid_rate_outside_range_exits_2():
    result = userstream("produce", "--invalid-rate", "1.5")
    assert result.returncode == 2
    assert "outside 0..1" in result.stderr


def test_invalid_setting_names_variable():
    result = userstream("status", env={"USERSTREAM_MYSQL_PORT": "x"})
    assert result.returncode == 1
    assert "USERSTREAM_MYSQL_PORT='x' is not a whole number" in result.stderr


@pytest.mark.stack
def test_status_json_when_running(stack):
    result = userstream("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["job"]["state"] == "RUNNING"
    assert status["topic"]["partitions"] == stack.topic_partitions


@pytest.mark.stack
def test_wrong_password_names_setting(stack):
    result = userstream("up", env={"USERSTREAM_MYSQL_PASSWORD": "wrong"}, timeout_s=30)
    assert result.returncode == 1
    assert "Access denied" in result.stderr
    assert "USERSTREAM_MYSQL_PASSWORD" in result.stderr


@pytest.mark.stack
def test_unreachable_kafka_names_setting(stack):
    result = userstream("up", env={"USERSTREAM_SERVICES": "mysql",
                                   "USERSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1"}, timeout_s=30)
    assert result.returncode == 1
    assert "cannot reach Kafka at 127.0.0.1:1" in result.stderr
    assert "USERSTREAM_KAFKA_BOOTSTRAP" in result.stderr


@pytest.mark.stack
def test_unreachable_registry_names_setting(stack):
    result = userstream("up", env={"USERSTREAM_SERVICES": "mysql,kafka",
                                   "USERSTREAM_REGISTRY_URL": "http://127.0.0.1:1/apis/ccompat/v7"},
                        timeout_s=30)
    assert result.returncode == 1
    assert "cannot reach the schema registry" in result.stderr
    assert "USERSTREAM_REGISTRY_URL" in result.stderr


@pytest.mark.stack
def test_up_twice_keeps_job(stack):
    from userstream.stack import flink

    before = flink.active_job(stack)["jid"]
    result = userstream("up", timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert flink.active_job(stack)["jid"] == before


@pytest.mark.stack
def test_missing_table_names_table_and_fix(stack):
    database = "userstream_missing_table_test"
    config = dataclasses.replace(stack, mysql_database=database)
    mysql.create_database_and_users(config)
    mysql.migrate(config)
    admin = mysql.connect(config, admin=True, autocommit=True)
    try:
        admin.cursor().execute("DROP TABLE users")
        started = time.monotonic()
        result = userstream("up", "--no-job", env={"USERSTREAM_MYSQL_DATABASE": database},
                            timeout_s=30)
        assert time.monotonic() - started < 30
    finally:
        admin.cursor().execute(f"DROP DATABASE `{database}`")
        admin.close()
    assert result.returncode == 1
    assert "table users is missing" in result.stderr
    assert "schema_migrations" in result.stderr


def test_taken_port_names_setting():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(process.StackError) as raised:
            process.require_free_port("127.0.0.1", port, "USERSTREAM_KAFKA_BOOTSTRAP")
    assert str(port) in str(raised.value)
    assert "USERSTREAM_KAFKA_BOOTSTRAP" in str(raised.value)


def test_port_held_by_connection_taken():
    """A port that is the local end of an open connection cannot be bound by a server,
    though nothing listens on it."""
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.bind(("127.0.0.1", 0))
        client.connect(server.getsockname())
        client_port = client.getsockname()[1]
        assert not process.port_open("127.0.0.1", client_port)
        with pytest.raises(process.StackError) as raised:
            process.require_free_port("127.0.0.1", client_port, "USERSTREAM_MYSQL_PORT")
    assert f"port {client_port} on 127.0.0.1 is already in use" in str(raised.value)
    assert "USERSTREAM_MYSQL_PORT" in str(raised.value)


def test_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process.require_free_port("127.0.0.1", port, "USERSTREAM_MYSQL_PORT")


def test_status_names_password_setting_when_refused():
    from userstream import status

    text = status.render({
        "job": {"name": "userstream-profiles", "state": "RUNNING", "id": "abc",
                "web_ui": "http://127.0.0.1:8081", "parallelism": 2},
        "topic": {"name": "users", "error": "unreachable"},
        "mysql": {"error": "1045 (28000): Access denied for user 'userstream'@'localhost'"},
    })
    assert "USERSTREAM_MYSQL_PASSWORD" in text
