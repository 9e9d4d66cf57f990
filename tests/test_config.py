"""Settings: defaults, environment overrides, errors, and the README's table."""

import pytest

from userstream.config import PROJECT_ROOT, SETTINGS, Config


def test_defaults_point_at_loopback(tmp_path):
    config = Config.load({"USERSTREAM_HOME": str(tmp_path)})
    assert config.kafka_bootstrap == "127.0.0.1:9092"
    assert config.registry_port == 8085
    assert config.flink_port == 8081
    assert config.mysql_host == "127.0.0.1"


def test_environment_overrides_default(tmp_path):
    config = Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_TOPIC": "profiles",
                          "USERSTREAM_FLINK_URL": "http://127.0.0.1:18081"})
    assert config.topic == "profiles"
    assert config.flink_port == 18081


def test_invalid_number_names_variable(tmp_path):
    with pytest.raises(ValueError, match="USERSTREAM_MYSQL_PORT='abc' is not a whole number"):
        Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_MYSQL_PORT": "abc"})


def test_unknown_service_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown service.*zookeeper"):
        Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_SERVICES": "kafka,zookeeper"})


def test_readme_lists_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.env}`" in readme, f"README lacks {setting.env}"
