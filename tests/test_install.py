"""Resolving the stack's jars again when stack/pom.xml changes (runs Maven, no services)."""

from __future__ import annotations

import hashlib

import pytest

from userstream.config import Config
from userstream.stack import install, process

pytestmark = pytest.mark.stack


@pytest.fixture
def home(tmp_path):
    """A home whose lib/ contains jars of an older pom: a stray jar and another pom's stamp."""
    config = Config.load({"USERSTREAM_HOME": str(tmp_path)})
    install.ensure_jars(config)
    lib = config.path("lib")
    lib.joinpath("kafka", "stray-binding-1.0.jar").write_bytes(b"")
    lib.joinpath("stack-pom.sha256").write_text("0" * 64 + "\n")
    return config


def test_changed_pom_replaces_jars(home):
    install.ensure_jars(home)
    lib = home.path("lib")
    assert not lib.joinpath("kafka", "stray-binding-1.0.jar").exists()
    assert any(lib.joinpath("kafka").glob("kafka_2.13-*.jar"))
    assert any(lib.joinpath("flink").glob("flink-connector-kafka-*.jar"))
    expected = hashlib.sha256(install.STACK_POM.read_bytes()).hexdigest()
    assert lib.joinpath("stack-pom.sha256").read_text().strip() == expected


def test_failed_resolution_keeps_jars(home, tmp_path, monkeypatch):
    broken = tmp_path / "pom.xml"
    broken.write_text("<project>not a pom")
    monkeypatch.setattr(install, "STACK_POM", broken)
    with pytest.raises(process.StackError, match="Maven: Kafka and Flink connector jars"):
        install.ensure_jars(home)
    lib = home.path("lib")
    assert lib.joinpath("kafka", "stray-binding-1.0.jar").exists()
    assert any(lib.joinpath("kafka").glob("kafka_2.13-*.jar"))
    assert any(lib.joinpath("flink").glob("flink-connector-kafka-*.jar"))
