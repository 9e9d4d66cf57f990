"""The clients against servers that require TLS and credentials.

A Kafka broker with a SASL_SSL listener (SCRAM-SHA-256 and PLAIN), MariaDB with users created
REQUIRE SSL, and a plain-HTTP schema registry run on 127.0.0.1 on 25xxx ports. They share a
home of their own and use certificates from a CA the test makes. They are stopped at the end of the
module. The registry's basic auth and TLS are not exercised here, because the local Apicurio
signs users in only through an identity server (tests/test_security.py checks the client
configuration instead).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from producer import publisher
from userstream import security, status
from userstream.config import PROJECT_ROOT, Config
from userstream.reconcile import reconcile
from userstream.stack import kafka, mysql, process, registry

pytestmark = pytest.mark.stack

# Below 32768, the start of the range Linux picks connections' local ports from, so no
# connection of another test can hold one of these ports when a server binds it.
KAFKA_PORT = 25092
KAFKA_INTERNAL_PORT = 25094
KAFKA_CONTROLLER_PORT = 25093
MYSQL_PORT = 25306
REGISTRY_PORT = 25085
KAFKA_USER = "alice"
KAFKA_PASSWORD = secrets.token_urlsafe(12)
MESSAGES = 300
JAVA_TESTS = PROJECT_ROOT / "tests" / "java"


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make_certificates(folder: Path) -> dict[str, Path]:
    """Create a CA, a server certificate it signs for 127.0.0.1, and an unrelated CA."""
    for name in ("ca", "other-ca"):
        _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN=userstream test {name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.pem")
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr")
    folder.joinpath("server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    # Kafka's PEM keystore takes the private key and the certificate chain in one file.
    keystore = folder / "server-keystore.pem"
    keystore.write_text(folder.joinpath("server.key").read_text()
                        + folder.joinpath("server.pem").read_text())
    return {"ca": folder / "ca.pem", "other_ca": folder / "other-ca.pem",
            "cert": folder / "server.pem", "key": folder / "server.key", "keystore": keystore}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home with the Kafka and connector jars resolved into it by Maven."""
    home = tmp_path_factory.mktemp("secure-home")
    process.run(["mvn", "-q", "-B", "-f", str(PROJECT_ROOT / "stack" / "pom.xml"), "package",
                 f"-Dstack.lib={home / 'lib'}"], "resolving the Kafka jars", timeout_s=1200)
    return home


@pytest.fixture(scope="module")
def secure_env(home, certificates) -> dict[str, str]:
    """Settings of a user whose Kafka, MySQL and registry are not started by userstream."""
    passwords = {"USERSTREAM_MYSQL_PASSWORD": secrets.token_urlsafe(12),
                 "USERSTREAM_MYSQL_ADMIN_PASSWORD": secrets.token_urlsafe(12)}
    return {
        "USERSTREAM_HOME": str(home), "USERSTREAM_SERVICES": "",
        "USERSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{KAFKA_PORT}",
        "USERSTREAM_KAFKA_CONTROLLER_PORT": str(KAFKA_CONTROLLER_PORT),
        "USERSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "USERSTREAM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "USERSTREAM_KAFKA_SASL_USERNAME": KAFKA_USER,
        "USERSTREAM_KAFKA_SASL_PASSWORD": KAFKA_PASSWORD,
        "USERSTREAM_KAFKA_CA_FILE": str(certificates["ca"]),
        "USERSTREAM_TOPIC": "secure-users",
        "USERSTREAM_REGISTRY_URL": f"http://127.0.0.1:{REGISTRY_PORT}/apis/ccompat/v7",
        "USERSTREAM_REGISTRY_HEAP": "192m",
        "USERSTREAM_MYSQL_PORT": str(MYSQL_PORT),
        "USERSTREAM_MYSQL_CA_FILE": str(certificates["ca"]),
        **passwords,
    }


def load(env: dict, **overrides: str) -> Config:
    return Config.load({**env, **overrides})


def _broker_properties(home: Path, certificates: dict[str, Path]) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{KAFKA_CONTROLLER_PORT}",
        "listeners": f"SASL_SSL://127.0.0.1:{KAFKA_PORT},"
                     f"INTERNAL://127.0.0.1:{KAFKA_INTERNAL_PORT},"
                     f"CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{KAFKA_PORT},"
                                f"INTERNAL://127.0.0.1:{KAFKA_INTERNAL_PORT}",
        "listener.security.protocol.map":
            "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "INTERNAL",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-256,PLAIN",
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.sasl_ssl.plain.sasl.jaas.config":
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{KAFKA_USER}="{KAFKA_PASSWORD}";',
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certificates["keystore"]),
        "log.dirs": str(home / "secure-kafka" / "data"),
        "num.partitions": "2",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@pytest.fixture(scope="module")
def secure_kafka(home, certificates, secure_env) -> Config:
    """A KRaft broker whose client listener takes SASL_SSL only, user alice in SCRAM and PLAIN."""
    config = load(secure_env)
    folder = home / "secure-kafka"
    folder.mkdir()
    properties = folder / "server.properties"
    properties.write_text(_broker_properties(home, certificates))
    java = ["java", "-Xms256m", "-Xmx256m", "-XX:+UseSerialGC",
            "-cp", f"{home / 'lib' / 'kafka'}/*"]
    process.run(java + ["kafka.tools.StorageTool", "format", "-t",
                        "userstream-secure-test", "-c", str(properties), "--add-scram",
                        f"SCRAM-SHA-256=[name={KAFKA_USER},password={KAFKA_PASSWORD}]"],
                "formatting the SASL_SSL broker's storage")
    process.start(config, "secure-kafka", java + ["kafka.Kafka", str(properties)])
    try:
        process.wait_until(lambda: process.port_open("127.0.0.1", KAFKA_PORT),
                           f"SASL_SSL broker on 127.0.0.1:{KAFKA_PORT}", 90,
                           process.log_file(config, "secure-kafka"), config, "secure-kafka")
        kafka.ensure_topic(config)
        yield config
    finally:
        process.stop(config, "secure-kafka")


def _mysql_socket(home: Path) -> Path:
    return home / "run" / "secure-mysql.sock"


@pytest.fixture(scope="module")
def tls_mariadb(home, certificates, secure_env) -> Config:
    """MariaDB with the test CA's certificate; both project users are created REQUIRE SSL."""
    config = load(secure_env)
    datadir = home / "secure-mysql"
    datadir.mkdir()
    root = ["--user=root"] if os.geteuid() == 0 else []
    process.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}",
                 "--auth-root-authentication-method=socket", "--skip-test-db", *root],
                "initialising the TLS MariaDB")
    process.start(config, "secure-mysql", [
        "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={datadir}",
        f"--socket={_mysql_socket(home)}", f"--pid-file={home / 'run' / 'secure-mysql.pid.own'}",
        f"--port={MYSQL_PORT}", "--bind-address=127.0.0.1", "--skip-name-resolve",
        "--innodb-buffer-pool-size=32M", "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci", f"--ssl-ca={certificates['ca']}",
        f"--ssl-cert={certificates['cert']}", f"--ssl-key={certificates['key']}", *root])
    try:
        process.wait_until(lambda: _mysql_socket(home).exists()
                           and process.port_open("127.0.0.1", MYSQL_PORT),
                           f"MariaDB on 127.0.0.1:{MYSQL_PORT}", 60,
                           process.log_file(config, "secure-mysql"), config, "secure-mysql")
        statements = [f"CREATE DATABASE `{config.mysql_database}`;"]
        for user, password, grant in (
                (config.mysql_admin_user, config.mysql_admin_password, "ALL PRIVILEGES"),
                (config.mysql_user, config.mysql_password, mysql.APP_PRIVILEGES)):
            statements += [
                f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}' REQUIRE SSL;",
                f"GRANT {grant} ON `{config.mysql_database}`.* TO '{user}'@'127.0.0.1';"]
        process.run(["mariadb", f"--socket={_mysql_socket(home)}", "-uroot"],
                    "creating the REQUIRE SSL users", input_text="\n".join(statements))
        mysql.migrate(config)
        yield config
    finally:
        process.stop(config, "secure-mysql", timeout_s=60)


@pytest.fixture(scope="module")
def schema_registry(home, secure_env) -> Config:
    config = load(secure_env)
    registry.start(config)
    try:
        registry.register_contract(config)
        yield config
    finally:
        registry.stop(config)


@pytest.fixture(scope="module")
def produced(secure_kafka, schema_registry) -> publisher.Counts:
    """Publish MESSAGES profiles over SASL_SSL with the project's producer."""
    return publisher.run(secure_kafka, count=MESSAGES, rate=None, batch_size=100,
                         interval_s=(1, 1), seed=7, invalid_rate=0.0,
                         stop=threading.Event())


def test_producer_delivers_over_sasl_ssl(produced):
    assert produced.delivered == MESSAGES
    assert produced.failed == 0


def test_status_reads_topic_over_sasl_ssl(secure_kafka, produced):
    offsets = status.topic_offsets(secure_kafka)
    assert sum(high - low for low, high in offsets.values()) == MESSAGES


def test_plain_mechanism_reads_topic(secure_env, produced):
    config = load(secure_env, USERSTREAM_KAFKA_SASL_MECHANISM="PLAIN")
    offsets = status.topic_offsets(config)
    assert sum(high - low for low, high in offsets.values()) == MESSAGES


def test_reconcile_reads_topic_and_tls_mysql(secure_kafka, tls_mariadb, produced):
    report = reconcile(tls_mariadb)
    # No job ran, so every message is read, validated and found missing from MySQL.
    assert report.messages == MESSAGES
    assert report.missing == MESSAGES


def _write_java_properties(path: Path, properties: dict[str, str]) -> None:
    # A .properties file treats backslashes as escapes, so they are doubled.
    path.write_text("".join(f"{key}={value.replace(chr(92), chr(92) * 2)}\n"
                            for key, value in properties.items()), encoding="utf-8")


def _java_classpath(home: Path, *patterns: str) -> str:
    jars = [str(jar) for pattern in patterns for jar in sorted(home.joinpath("lib").glob(pattern))]
    return os.pathsep.join(jars)


def test_job_kafka_properties_read_topic(secure_kafka, home, produced, tmp_path):
    """The KafkaSource's properties work with the kafka-clients version the job ships."""
    properties = {"bootstrap.servers": secure_kafka.kafka_bootstrap,
                  **security.kafka_java_properties(secure_kafka)}
    path = tmp_path / "client.properties"
    _write_java_properties(path, properties)
    classpath = _java_classpath(home, "flink/kafka-clients-*.jar", "kafka/slf4j-api-*.jar",
                                "kafka/lz4-java-*.jar")
    result = subprocess.run(
        ["java", "-Xmx128m", "-XX:+UseSerialGC", "-cp", classpath,
         str(JAVA_TESTS / "ReadTopic.java"), str(path), secure_kafka.topic, str(MESSAGES)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"read {MESSAGES}" in result.stdout


def test_wrong_kafka_password_names_setting(secure_env, secure_kafka):
    config = load(secure_env, USERSTREAM_KAFKA_SASL_PASSWORD="wrong-password")
    with pytest.raises(process.StackError) as raised:
        kafka.ensure_topic(config)
    assert "USERSTREAM_KAFKA_SASL_PASSWORD" in str(raised.value)
    assert "wrong-password" not in str(raised.value)


def test_missing_kafka_ca_names_setting(secure_env, secure_kafka):
    config = load(secure_env, USERSTREAM_KAFKA_CA_FILE="")
    with pytest.raises(process.StackError, match="set USERSTREAM_KAFKA_CA_FILE"):
        kafka.ensure_topic(config)


def test_other_kafka_ca_names_setting(secure_env, secure_kafka, certificates):
    config = load(secure_env, USERSTREAM_KAFKA_CA_FILE=str(certificates["other_ca"]))
    with pytest.raises(process.StackError, match="USERSTREAM_KAFKA_CA_FILE"):
        kafka.ensure_topic(config)


def test_status_names_setting_for_wrong_password(secure_env, secure_kafka):
    config = load(secure_env, USERSTREAM_KAFKA_SASL_PASSWORD="wrong-password")
    topic = status.collect(config)["topic"]
    assert "USERSTREAM_KAFKA_SASL_PASSWORD" in topic["error"]


def test_producer_names_setting_for_wrong_password(secure_env, secure_kafka, schema_registry):
    config = load(secure_env, USERSTREAM_KAFKA_SASL_PASSWORD="wrong-password")
    with pytest.raises(OSError, match="USERSTREAM_KAFKA_SASL_PASSWORD"):
        publisher.run(config, count=1, rate=None, batch_size=1, interval_s=(1, 1), seed=1,
                      invalid_rate=0.0, stop=threading.Event())


def test_mysql_connects_over_tls_with_ca(tls_mariadb):
    connection = mysql.connect(tls_mariadb)
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        cipher = cursor.fetchone()[1]
    finally:
        connection.close()
    assert cipher, "the connection is not encrypted"


def test_mysql_without_ca_names_setting(secure_env, tls_mariadb):
    config = load(secure_env, USERSTREAM_MYSQL_CA_FILE="")
    with pytest.raises(process.StackError, match="set USERSTREAM_MYSQL_CA_FILE"):
        mysql.check_access(config)


def test_mysql_other_ca_names_setting(secure_env, tls_mariadb, certificates):
    config = load(secure_env, USERSTREAM_MYSQL_CA_FILE=str(certificates["other_ca"]))
    with pytest.raises(process.StackError, match="USERSTREAM_MYSQL_CA_FILE"):
        mysql.check_access(config)


def test_mysql_identity_checked_against_host(secure_env, tls_mariadb):
    # The server's certificate names 127.0.0.1 only, not localhost.
    config = load(secure_env, USERSTREAM_MYSQL_HOST="localhost")
    with pytest.raises(process.StackError, match="USERSTREAM_MYSQL_VERIFY_IDENTITY"):
        mysql.check_access(config)


def test_jdbc_url_connects_over_tls(tls_mariadb, home):
    """The sink's JDBC URL verifies the server through the truststore built from the CA."""
    classpath = _java_classpath(home, "flink/mysql-connector-j-*.jar")
    result = subprocess.run(
        ["java", "-Xmx128m", "-XX:+UseSerialGC", "-cp", classpath,
         str(JAVA_TESTS / "JdbcConnect.java"), tls_mariadb.mysql_jdbc_url(),
         tls_mariadb.mysql_user],
        env={**os.environ, "USERSTREAM_MYSQL_PASSWORD": tls_mariadb.mysql_password},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.startswith("cipher TLS"), result.stdout
