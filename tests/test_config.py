"""Settings: defaults, environment overrides, errors, and the README's table."""

import pytest

from userstream.cli import main
from userstream.config import PROJECT_ROOT, SETTINGS, Config, store_cluster_layout
from userstream.stack import kafka, process


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


def test_cluster_layout_lists_every_local_broker(tmp_path):
    store_cluster_layout(tmp_path)
    config = Config.load({"USERSTREAM_HOME": str(tmp_path),
                          "USERSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
                          "USERSTREAM_KAFKA_CONTROLLER_PORT": "19093"})
    assert config.kafka_brokers == 3
    assert config.kafka_bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert [(broker.port, broker.controller_port) for broker in kafka.brokers(config)] == [
        (19092, 19093), (19094, 19095), (19096, 19097)]
    assert kafka.replication(config) == (3, 2)
    assert "controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097" \
        in kafka._properties(config, kafka.brokers(config)[1])


def test_environment_overrides_stored_layout(tmp_path):
    store_cluster_layout(tmp_path)
    config = Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_KAFKA_BROKERS": "1"})
    assert config.kafka_bootstrap == "127.0.0.1:9092"
    assert kafka.replication(config) == (1, 1)


def test_external_kafka_bootstrap_is_kept(tmp_path):
    config = Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_KAFKA_BROKERS": "3",
                          "USERSTREAM_SERVICES": "mysql,registry,flink",
                          "USERSTREAM_KAFKA_BOOTSTRAP": "kafka-1.internal:9092"})
    assert config.kafka_bootstrap == "kafka-1.internal:9092"


def test_zero_brokers_rejected(tmp_path):
    with pytest.raises(ValueError, match="USERSTREAM_KAFKA_BROKERS=0 must be 1 or more"):
        Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_KAFKA_BROKERS": "0"})


@pytest.mark.parametrize("name, value", [
    ("USERSTREAM_BATCH_MESSAGES", "0"), ("USERSTREAM_BATCH_MESSAGES", "3000000000"),
    ("USERSTREAM_BATCH_LINGER_MS", "-1"), ("USERSTREAM_BATCH_LINGER_MS", "600000"),
])
def test_batch_limit_out_of_range_rejected(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"{name}={value} is invalid; set it from"):
        Config.load({"USERSTREAM_HOME": str(tmp_path), name: value})


def test_broker_data_of_other_size_rejected(tmp_path):
    single = Config.load({"USERSTREAM_HOME": str(tmp_path)})
    single.path("kafka", "data").mkdir(parents=True)
    single.path("kafka", "data", "meta.properties").write_text("node.id=1\n")
    kafka.check_layout(single)
    cluster = Config.load({"USERSTREAM_HOME": str(tmp_path), "USERSTREAM_KAFKA_BROKERS": "3"})
    with pytest.raises(process.StackError, match="formatted for a cluster of another size"):
        kafka.check_layout(cluster)


def test_cluster_option_rejects_one_broker_env(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("USERSTREAM_HOME", str(tmp_path))
    monkeypatch.setenv("USERSTREAM_KAFKA_BROKERS", "1")
    assert main(["up", "--cluster", "--no-job"]) == 1
    assert "USERSTREAM_KAFKA_BROKERS=1 in the environment overrides --cluster" in \
        capsys.readouterr().err
    assert not (tmp_path / "layout.json").exists()
