"""Static checks of docker-compose.yml against the local stack (no Docker engine needed)."""

import re

import pytest
import yaml

from userstream.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def pom_property(path: str, name: str) -> str:
    text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", text)
    assert match, f"{path} has no <{name}>"
    return match.group(1)


def test_kafka_image_matches_local_broker(compose):
    version = pom_property("stack/pom.xml", "kafka.version")
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_registry_image_matches_local_registry(compose):
    version = pom_property("stack/registry/pom.xml", "apicurio.version")
    assert compose["services"]["registry"]["image"].endswith(f":{version}")


def test_services_start_after_dependencies(compose):
    submit = compose["services"]["submit"]["depends_on"]
    for name in ("kafka", "registry", "mysql", "jobmanager"):
        assert submit[name]["condition"] == "service_healthy", name
        assert "healthcheck" in compose["services"][name], f"{name} has no healthcheck"


def test_no_secret_in_compose_file():
    text = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "PASSWORD" not in text
