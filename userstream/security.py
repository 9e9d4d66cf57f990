"""TLS and credentials for every client: the one place that turns the security settings into
librdkafka, Java Kafka client, schema registry client, mysql-connector and JDBC options.

No function here logs a value. The returned dicts contain passwords, so callers pass them to a
client and never print them.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import mysql.connector
from confluent_kafka import KafkaError, KafkaException

if TYPE_CHECKING:
    from userstream.config import Config

KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# The Java client needs the login module that matches the mechanism (Kafka 3.9 class names).
LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
# Protects only the integrity of a truststore that contains public CA certificates, so it is a
# fixed value rather than a secret.
TRUSTSTORE_PASSWORD = "userstream-truststore"
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# MySQL's ER_ACCESS_DENIED_ERROR, which MariaDB also returns to a REQUIRE SSL user without TLS.
ACCESS_DENIED = 1045
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class SecurityError(ValueError):
    """A security setting is invalid or a client cannot use it; the message names the setting."""


def uses_sasl(config: Config) -> bool:
    return config.kafka_security_protocol.startswith("SASL_")


def uses_tls(config: Config) -> bool:
    return config.kafka_security_protocol in ("SSL", "SASL_SSL")


def check_settings(config: Config) -> None:
    """Raise SecurityError naming the variable when a security setting cannot work."""
    if config.kafka_security_protocol not in KAFKA_PROTOCOLS:
        raise SecurityError(
            f"USERSTREAM_KAFKA_SECURITY_PROTOCOL={config.kafka_security_protocol!r} is not one "
            f"of {', '.join(KAFKA_PROTOCOLS)}")
    if config.kafka_sasl_mechanism not in LOGIN_MODULES:
        raise SecurityError(
            f"USERSTREAM_KAFKA_SASL_MECHANISM={config.kafka_sasl_mechanism!r} is not one of "
            f"{', '.join(LOGIN_MODULES)}")
    if uses_sasl(config) and not (config.kafka_sasl_username and config.kafka_sasl_password):
        raise SecurityError(
            f"USERSTREAM_KAFKA_SECURITY_PROTOCOL={config.kafka_security_protocol} needs "
            "USERSTREAM_KAFKA_SASL_USERNAME and USERSTREAM_KAFKA_SASL_PASSWORD; set both")
    if "kafka" in config.services and config.kafka_security_protocol != "PLAINTEXT":
        raise SecurityError(
            f"USERSTREAM_KAFKA_SECURITY_PROTOCOL={config.kafka_security_protocol} does not fit "
            "the local brokers, which listen on PLAINTEXT only; leave kafka out of "
            "USERSTREAM_SERVICES to use your own brokers, or set it to PLAINTEXT")
    user_info = config.registry_basic_auth_user_info
    if user_info and ":" not in user_info:
        raise SecurityError("USERSTREAM_REGISTRY_BASIC_AUTH_USER_INFO must have the form "
                            "user:password")


def ca_file(variable: str, path: str) -> str:
    """Return the CA file a client is about to use, or raise SecurityError naming the variable.

    Checked here rather than when settings load, so that `down` and `status` still run when a
    CA file has moved.
    """
    if not Path(path).is_file():
        raise SecurityError(f"{variable}={path} is not a file; set it to the PEM file of the CA "
                            "certificate(s), or unset it")
    return path


def parse_bool(variable: str, value: str) -> bool:
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise SecurityError(f"{variable}={value!r} is not a boolean; set it to true or false")


def kafka_client_conf(config: Config) -> dict:
    """Return the librdkafka settings that connect and sign in to the brokers.

    Every confluent_kafka client of the project starts from this dict and adds its own
    settings (group, acks, logger). Its error_cb is a KafkaErrorLog for explained_kafka_error.
    """
    conf = {"bootstrap.servers": config.kafka_bootstrap,
            "security.protocol": config.kafka_security_protocol}
    if uses_sasl(config):
        conf["sasl.mechanism"] = config.kafka_sasl_mechanism
        conf["sasl.username"] = config.kafka_sasl_username
        conf["sasl.password"] = config.kafka_sasl_password
    if uses_tls(config) and config.kafka_ca_file:
        conf["ssl.ca.location"] = ca_file("USERSTREAM_KAFKA_CA_FILE", config.kafka_ca_file)
    conf["error_cb"] = KafkaErrorLog()
    return conf


def kafka_java_properties(config: Config) -> dict[str, str]:
    """Return the Java Kafka client properties of the job's KafkaSource, bootstrap excluded.

    The Java client hides sasl.jaas.config in the consumer configuration it logs, because
    Kafka types it as a password.
    """
    properties = {"security.protocol": config.kafka_security_protocol}
    if uses_sasl(config):
        module = LOGIN_MODULES[config.kafka_sasl_mechanism]
        properties["sasl.mechanism"] = config.kafka_sasl_mechanism
        properties["sasl.jaas.config"] = (
            f'{module} required username="{_jaas_quote(config.kafka_sasl_username)}" '
            f'password="{_jaas_quote(config.kafka_sasl_password)}";')
    if uses_tls(config) and config.kafka_ca_file:
        # The PEM truststore type reads the CA file directly (Kafka clients 2.7 and later).
        properties["ssl.truststore.type"] = "PEM"
        properties["ssl.truststore.location"] = str(
            Path(ca_file("USERSTREAM_KAFKA_CA_FILE", config.kafka_ca_file)).resolve())
    return properties


def _jaas_quote(value: str) -> str:
    # The JAAS parser reads a double-quoted value with backslash escapes.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def registry_conf(config: Config) -> dict:
    """Return the SchemaRegistryClient configuration: URL, basic auth and CA."""
    conf = {"url": config.registry_url}
    if config.registry_basic_auth_user_info:
        conf["basic.auth.user.info"] = config.registry_basic_auth_user_info
    if config.registry_ca_file:
        conf["ssl.ca.location"] = ca_file("USERSTREAM_REGISTRY_CA_FILE", config.registry_ca_file)
    return conf


def mysql_ssl_options(config: Config) -> dict:
    """Return mysql.connector.connect's TLS arguments.

    Without a CA file the connection is unencrypted, as the job's JDBC connection is, so both
    clients fail alike against a server that requires TLS.
    """
    if not config.mysql_ca_file:
        return {"ssl_disabled": True}
    return {"ssl_disabled": False,
            "ssl_ca": ca_file("USERSTREAM_MYSQL_CA_FILE", config.mysql_ca_file),
            "ssl_verify_cert": True,
            "ssl_verify_identity": config.mysql_verify_identity}


def mysql_jdbc_tls_parameters(config: Config) -> str:
    """Return the Connector/J URL parameters for TLS, building the truststore they name.

    Connector/J 9.5 reads trusted certificates only from a Java key store (JKS or PKCS12),
    so the PEM CA file is imported into a PKCS12 file under $USERSTREAM_HOME/tls.
    """
    if not config.mysql_ca_file:
        return "sslMode=DISABLED"
    mode = "VERIFY_IDENTITY" if config.mysql_verify_identity else "VERIFY_CA"
    truststore = mysql_truststore(config)
    # NOTE: the TaskManagers open this path, so on a remote Flink cluster the same file must
    # exist at the same path there.
    return (f"sslMode={mode}&trustCertificateKeyStoreUrl={truststore.as_uri()}"
            f"&trustCertificateKeyStoreType=PKCS12"
            f"&trustCertificateKeyStorePassword={TRUSTSTORE_PASSWORD}")


def mysql_truststore(config: Config) -> Path:
    """Import the certificates of USERSTREAM_MYSQL_CA_FILE into a PKCS12 truststore once.

    The file name carries a digest of the PEM file, so a changed CA file gets a new truststore.
    """
    pem = Path(ca_file("USERSTREAM_MYSQL_CA_FILE", config.mysql_ca_file)).read_text(
        encoding="utf-8", errors="replace")
    certificates = _PEM_CERTIFICATE.findall(pem)
    if not certificates:
        raise SecurityError(f"USERSTREAM_MYSQL_CA_FILE={config.mysql_ca_file} contains no PEM "
                            "certificate (-----BEGIN CERTIFICATE-----)")
    digest = hashlib.sha256(pem.encode("utf-8")).hexdigest()[:16]
    truststore = config.path("tls", f"mysql-truststore-{digest}.p12")
    if truststore.exists():
        return truststore
    truststore.parent.mkdir(parents=True, exist_ok=True)
    partial = truststore.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    # keytool imports one certificate per call, so a bundle is imported one by one.
    for index, certificate in enumerate(certificates):
        result = subprocess.run(
            ["keytool", "-importcert", "-noprompt", "-alias", f"ca-{index}",
             "-keystore", str(partial), "-storetype", "PKCS12",
             "-storepass", TRUSTSTORE_PASSWORD],
            input=certificate + "\n", capture_output=True, text=True, check=False)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise SecurityError(
                f"keytool could not import certificate {index + 1} of USERSTREAM_MYSQL_CA_FILE="
                f"{config.mysql_ca_file}: {(result.stdout + result.stderr).strip()[-500:]}")
    partial.rename(truststore)
    return truststore


class KafkaErrorLog:
    """librdkafka error callback that keeps the last sign-in, TLS or protocol error.

    librdkafka reports a failed SASL sign-in or TLS handshake only to this callback, which
    poll() serves, while the call that failed raises a generic transport error.
    """

    def __init__(self):
        self.cause: str | None = None

    def __call__(self, error: KafkaError) -> None:
        text = error.str()
        if (error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL)
                or "security.protocol" in text):
            self.cause = text


def explained_kafka_error(config: Config, conf: dict, client, error: KafkaException
                          ) -> KafkaException:
    """Return `error` with the sign-in or TLS failure behind it and the settings to fix.

    `conf` is the dict the client was built from (kafka_client_conf), and `client` its
    Producer, Consumer or AdminClient. An error without such a cause is returned unchanged.
    """
    client.poll(0)  # serves the error callbacks queued while the failed call waited
    cause = conf["error_cb"].cause
    if cause is None:
        return error
    lowered = cause.lower()
    if "authentication" in lowered:
        fix = ("check USERSTREAM_KAFKA_SASL_USERNAME, USERSTREAM_KAFKA_SASL_PASSWORD and "
               f"USERSTREAM_KAFKA_SASL_MECHANISM ({config.kafka_sasl_mechanism})")
    elif "security.protocol" in lowered:
        fix = ("set USERSTREAM_KAFKA_SECURITY_PROTOCOL to the protocol of the broker's listener "
               f"(now {config.kafka_security_protocol})")
    elif not config.kafka_ca_file:
        fix = ("the broker's certificate is not trusted: set USERSTREAM_KAFKA_CA_FILE to the PEM "
               "file of the CA that signed it")
    else:
        fix = (f"the broker's certificate does not verify against USERSTREAM_KAFKA_CA_FILE="
               f"{config.kafka_ca_file} or does not name the host in USERSTREAM_KAFKA_BOOTSTRAP; "
               "set the CA that signed it")
    first = error.args[0] if error.args else error
    summary = first.str() if isinstance(first, KafkaError) else str(first)
    return KafkaException(f"{summary} ({cause}); {fix}")


def mysql_error_hint(config: Config, error: mysql.connector.Error) -> str:
    """Return the TLS settings to fix for a failed MySQL connection, as a sentence, or ''."""
    text = str(error.msg).lower()
    if "hostname mismatch" in text or "doesn't match" in text:
        return (f" The server's certificate does not name {config.mysql_host}: connect by a name "
                "it contains, or set USERSTREAM_MYSQL_VERIFY_IDENTITY=false to check the CA only.")
    if "certificate verify failed" in text:
        return (" The server's certificate does not verify against USERSTREAM_MYSQL_CA_FILE="
                f"{config.mysql_ca_file}; set the CA that signed it.")
    if error.errno == ACCESS_DENIED and not config.mysql_ca_file:
        return (" If the server requires TLS for this user (REQUIRE SSL), set "
                "USERSTREAM_MYSQL_CA_FILE to the PEM file of its CA certificate.")
    return ""
