"""Security settings and the options each client receives from them.

tests/test_security_stack.py runs the same clients against a SASL_SSL broker and a TLS
MariaDB. The registry's basic auth is checked here against a small HTTPS stand-in, because the
local Apicurio signs users in only through an identity server.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from flink_job.schemas import WriterSchemaCache
from tests.test_security_stack import make_certificates
from userstream import security
from userstream.config import Config

SASL = {"USERSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "USERSTREAM_KAFKA_SASL_USERNAME": "alice",
        "USERSTREAM_KAFKA_SASL_PASSWORD": 'pa"ss\\word'}
STAND_IN_PORT = 25443


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


def load(tmp_path, **env: str) -> Config:
    # The brokers are the user's own: the local ones listen on PLAINTEXT only.
    return Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_SERVICES": "", **env})


def test_plaintext_is_default(tmp_path):
    conf = security.kafka_client_conf(load(tmp_path))
    assert conf["security.protocol"] == "PLAINTEXT"
    assert "sasl.username" not in conf
    assert "ssl.ca.location" not in conf


def test_librdkafka_conf_for_sasl_ssl(tmp_path, certificates):
    config = load(tmp_path, **SASL, USERSTREAM_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
                  USERSTREAM_KAFKA_CA_FILE=str(certificates["ca"]))
    conf = security.kafka_client_conf(config)
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.username"] == "alice"
    assert conf["sasl.password"] == 'pa"ss\\word'
    assert conf["ssl.ca.location"] == str(certificates["ca"])


def test_sasl_plaintext_sends_no_ca(tmp_path, certificates):
    config = load(tmp_path, **{**SASL, "USERSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
                  USERSTREAM_KAFKA_CA_FILE=str(certificates["ca"]))
    assert "ssl.ca.location" not in security.kafka_client_conf(config)
    assert "ssl.truststore.location" not in security.kafka_java_properties(config)


@pytest.mark.parametrize("mechanism, module", [
    ("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule"),
    ("SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule"),
    ("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule"),
])
def test_java_properties_pick_login_module(tmp_path, mechanism, module):
    config = load(tmp_path, **SASL, USERSTREAM_KAFKA_SASL_MECHANISM=mechanism)
    properties = security.kafka_java_properties(config)
    assert properties["security.protocol"] == "SASL_SSL"
    assert properties["sasl.mechanism"] == mechanism
    assert properties["sasl.jaas.config"].startswith(f"{module} required ")


def test_java_jaas_config_escapes_quotes(tmp_path):
    properties = security.kafka_java_properties(load(tmp_path, **SASL))
    assert properties["sasl.jaas.config"].endswith(
        'username="alice" password="pa\\"ss\\\\word";')


def test_java_truststore_is_pem_file(tmp_path, certificates):
    config = load(tmp_path, **SASL, USERSTREAM_KAFKA_CA_FILE=str(certificates["ca"]))
    properties = security.kafka_java_properties(config)
    assert properties["ssl.truststore.type"] == "PEM"
    assert properties["ssl.truststore.location"] == str(certificates["ca"].resolve())


@pytest.mark.parametrize("variable, value, message", [
    ("USERSTREAM_KAFKA_SECURITY_PROTOCOL", "TLS", "is not one of PLAINTEXT"),
    ("USERSTREAM_KAFKA_SASL_MECHANISM", "GSSAPI", "is not one of PLAIN"),
    ("USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO", "no-colon", "user:password"),
    ("USERSTREAM_MYSQL_VERIFY_IDENTITY", "maybe", "is not a boolean"),
])
def test_invalid_setting_is_named(tmp_path, variable, value, message):
    with pytest.raises(security.SecurityError, match=message) as raised:
        load(tmp_path, **{variable: value})
    assert variable in str(raised.value)


@pytest.mark.parametrize("variable, build", [
    ("USERSTREAM_KAFKA_CA_FILE", security.kafka_client_conf),
    ("USERSTREAM_KAFKA_CA_FILE", security.kafka_java_properties),
    ("USERSTREAM_REGISTRY_CA_FILE", security.registry_conf),
    ("USERSTREAM_MYSQL_CA_FILE", security.mysql_ssl_options),
    ("USERSTREAM_MYSQL_CA_FILE", security.mysql_jdbc_tls_parameters),
])
def test_missing_ca_file_named_by_client(tmp_path, variable, build):
    config = load(tmp_path, **SASL, **{variable: "/nonexistent/ca.pem"})
    with pytest.raises(security.SecurityError, match="is not a file") as raised:
        build(config)
    assert variable in str(raised.value)


def test_local_brokers_reject_sasl(tmp_path):
    with pytest.raises(security.SecurityError, match="listen on PLAINTEXT only"):
        Config.load({"USERSTREAM_HOME": str(tmp_path), **SASL})


def test_sasl_without_password_is_named(tmp_path):
    with pytest.raises(security.SecurityError, match="USERSTREAM_KAFKA_SASL_PASSWORD"):
        load(tmp_path, USERSTREAM_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
             USERSTREAM_KAFKA_SASL_USERNAME="alice")


def test_repr_leaves_out_secrets(tmp_path):
    config = load(tmp_path, **SASL, USERSTREAM_MYSQL_PASSWORD="mysql-secret",
                  USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO="bob:registry-secret")
    text = repr(config)
    for secret in ('pa"ss', "mysql-secret", "registry-secret"):
        assert secret not in text


def test_config_command_prints_no_values(monkeypatch, capsys):
    from userstream import cli

    monkeypatch.setenv("USERSTREAM_SERVICES", "")
    monkeypatch.setenv("USERSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("USERSTREAM_KAFKA_SASL_USERNAME", "alice")
    monkeypatch.setenv("USERSTREAM_KAFKA_SASL_PASSWORD", "kafka-secret")
    assert cli.main(["config"]) == 0
    assert "kafka-secret" not in capsys.readouterr().out


def test_registry_conf_reaches_client(tmp_path, certificates):
    config = load(tmp_path, USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO="bob:s3:cret",
                  USERSTREAM_REGISTRY_CA_FILE=str(certificates["ca"]))
    conf = security.registry_conf(config)
    assert conf["basic.auth.user.info"] == "bob:s3:cret"
    assert conf["ssl.ca.location"] == str(certificates["ca"])
    rest_client = SchemaRegistryClient(conf)._rest_client
    assert rest_client.auth == ("bob", "s3:cret")


class _RegistryStandIn(BaseHTTPRequestHandler):
    """Serves GET /schemas/ids/1 to requests with the expected basic-auth header only."""

    expected = "Basic " + base64.b64encode(b"bob:secret").decode()

    def do_GET(self):
        if self.headers.get("Authorization") != self.expected:
            self._reply(401, {"error_code": 401, "message": "Unauthorized"})
        elif self.path.startswith("/schemas/ids/1"):
            self._reply(200, {"schema": json.dumps({"type": "string"})})
        else:
            self._reply(404, {"error_code": 40403, "message": "Schema not found"})

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args):
        pass


@pytest.fixture
def https_registry(certificates):
    server = HTTPServer(("127.0.0.1", STAND_IN_PORT), _RegistryStandIn)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{STAND_IN_PORT}"
    server.shutdown()
    server.server_close()


def test_writer_schema_lookup_uses_auth_and_ca(tmp_path, certificates, https_registry):
    config = load(tmp_path, USERSTREAM_REGISTRY_URL=https_registry,
                  USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO="bob:secret",
                  USERSTREAM_REGISTRY_CA_FILE=str(certificates["ca"]))
    assert WriterSchemaCache(security.registry_conf(config))(1) == {"type": "string"}


def test_mysql_without_ca_disables_tls(tmp_path):
    config = load(tmp_path)
    assert security.mysql_ssl_options(config) == {"ssl_disabled": True}
    assert config.mysql_jdbc_url().endswith("&sslMode=DISABLED")


def test_mysql_ca_sets_verification(tmp_path, certificates):
    config = load(tmp_path, USERSTREAM_MYSQL_CA_FILE=str(certificates["ca"]),
                  USERSTREAM_MYSQL_VERIFY_IDENTITY="false")
    options = security.mysql_ssl_options(config)
    assert options["ssl_ca"] == str(certificates["ca"])
    assert options["ssl_verify_cert"] is True
    assert options["ssl_verify_identity"] is False
    assert "sslMode=VERIFY_CA&" in config.mysql_jdbc_url()


def test_jdbc_truststore_holds_every_certificate(tmp_path, certificates):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(certificates["ca"].read_text() + certificates["other_ca"].read_text())
    config = load(tmp_path, USERSTREAM_MYSQL_CA_FILE=str(bundle))
    url = config.mysql_jdbc_url()
    truststore = security.mysql_truststore(config)
    assert "sslMode=VERIFY_IDENTITY&" in url
    assert f"trustCertificateKeyStoreUrl={truststore.as_uri()}&" in url
    listing = subprocess.run(["keytool", "-list", "-keystore", str(truststore), "-storepass",
                              security.TRUSTSTORE_PASSWORD], capture_output=True, text=True,
                             check=True).stdout
    assert "ca-0" in listing
    assert "ca-1" in listing


def test_registry_without_auth_is_rejected(tmp_path, certificates, https_registry):
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    config = load(tmp_path, USERSTREAM_REGISTRY_URL=https_registry,
                  USERSTREAM_REGISTRY_CA_FILE=str(certificates["ca"]))
    with pytest.raises(SchemaRegistryError) as raised:
        SchemaRegistryClient(security.registry_conf(config)).get_schema(1)
    assert raised.value.http_status_code == 401
