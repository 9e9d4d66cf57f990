"""Schema evolution on the real stack: the registry's policy, migrations and a job upgrade.

The tests run on a topic, subject, database and job of their own, with a contract and
migrations in a temporary folder, so the project's contract and the main pipeline stay as
they are. The main job is cancelled meanwhile (the TaskManager has slots for one job) and
resubmitted at the end, resuming from its committed offsets.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import wait_for_job_running
from tests.pipeline import MessageSender, rows_by_user, unique_user_ids, wait_for
from tests.profiles import valid_profile
from userstream.config import PROJECT_ROOT
from userstream import status
from userstream.reconcile import reconcile
from userstream.stack import flink, kafka, mysql, process, registry

pytestmark = pytest.mark.stack


def wait_for_no_job(config) -> None:
    wait_for(lambda: flink.active_job(config) is None, 60, f"job {config.job_name} to end")


@pytest.fixture(scope="module")
def evolving(stack, tmp_path_factory):
    suffix = secrets.token_hex(3)
    folder = tmp_path_factory.mktemp("evolution")
    shutil.copytree(PROJECT_ROOT / "contracts", folder / "contracts")
    shutil.copytree(PROJECT_ROOT / "migrations", folder / "migrations")
    config = dataclasses.replace(
        stack, topic=f"users-evolution-{suffix}", subject=f"users-evolution-{suffix}-value",
        mysql_database=f"userstream_evolution_{suffix}", job_name=f"userstream-evolution-{suffix}",
        consumer_group=f"userstream-evolution-{suffix}",
        contract=str(folder / "contracts" / "user.avsc"), migrations=str(folder / "migrations"))
    mysql.create_database_and_users(config)
    mysql.migrate(config)
    kafka.ensure_topic(config)
    registry.register_contract(config)
    flink.cancel_job(stack)
    wait_for_no_job(stack)
    try:
        flink.submit_job(config)
        wait_for_job_running(config)
        yield config
    finally:
        flink.cancel_job(config)
        wait_for_no_job(config)
        process.run(["mariadb", f"--socket={stack.path('run', 'mysqld.sock')}", "-uroot"],
                    "dropping the evolution test database",
                    input_text=f"DROP DATABASE IF EXISTS `{config.mysql_database}`;")
        flink.submit_job(stack)
        wait_for_job_running(stack)


def userstream(config, *args: str) -> subprocess.CompletedProcess:
    """Run the command line with `config` as its environment."""
    return subprocess.run([sys.executable, "-m", "userstream.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **config.environ()},
                          timeout=400)


def working_schema(config) -> dict:
    with open(config.contract, encoding="utf-8") as file:
        return json.load(file)


def write_contract(config, schema: dict) -> None:
    with open(config.contract, "w", encoding="utf-8") as file:
        json.dump(schema, file, indent=2)


def field(schema: dict, name: str) -> dict:
    return next(item for item in schema["fields"] if item["name"] == name)


def topic_size(config) -> int:
    return sum(high - low for low, high in status.topic_offsets(config).values())


@pytest.mark.parametrize("change, named", [
    (lambda s: s["fields"].remove(field(s, "city")), "city"),
    (lambda s: field(s, "pet_age").update(type=["null", "string"], maxLength=3), "pet_age"),
    (lambda s: field(s, "city").update(name="town"), "town"),
])
def test_breaking_change_refused_by_check_and_registry(evolving, change, named):
    original = working_schema(evolving)
    broken = json.loads(json.dumps(original))
    change(broken)
    write_contract(evolving, broken)
    size_before = topic_size(evolving)
    try:
        check = userstream(evolving, "contract", "check")
        assert check.returncode == 1, check.stdout + check.stderr
        assert f"field {named}:" in check.stdout
        register = userstream(evolving, "contract", "register")
        assert register.returncode == 1
        # The registry refuses the version on its own, whatever client sends it.
        with pytest.raises(process.StackError, match="refused the contract"):
            registry.register_contract(evolving)
        up = userstream(evolving, "up", "--no-job")
        assert up.returncode == 1
        assert "userstream contract register" in up.stderr
        produce = userstream(evolving, "produce", "--count", "5")
        assert produce.returncode == 1
        assert "not registered" in produce.stderr
        assert topic_size(evolving) == size_before
    finally:
        write_contract(evolving, original)


def test_job_upgrade_refuses_contract_table_lacks(evolving):
    original = working_schema(evolving)
    newer = json.loads(json.dumps(original))
    newer["fields"].append({"name": "nickname", "type": ["null", "string"], "default": None,
                            "maxLength": 30})
    write_contract(evolving, newer)
    try:
        upgrade = userstream(evolving, "job", "upgrade")
    finally:
        write_contract(evolving, original)
    assert upgrade.returncode == 1
    assert "does not match the working contract" in upgrade.stderr
    job = flink.active_job(evolving)
    assert job is not None and job["state"] == "RUNNING"


class Sender:
    """Send profiles written with one schema version at a steady rate from a thread."""

    def __init__(self, config, schema: dict, make_profile, rate: float = 40):
        self.sender = MessageSender(config)
        self.serializer = self.sender.serializer(schema)
        self.make_profile = make_profile
        self.rate = rate
        self.user_ids: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for user_id in unique_user_ids(100_000):
            if self.stop.is_set():
                break
            value = self.sender.encode(self.serializer, self.make_profile(user_id))
            self.sender.send(str(user_id).encode(), value)
            self.user_ids.append(user_id)
            time.sleep(1 / self.rate)
        self.sender.flush()

    def finish(self) -> list[int]:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        return self.user_ids


def assert_reconciled(config):
    last = {}

    def consistent():
        last["report"] = reconcile(config)
        return last["report"].missing == 0

    try:
        wait_for(consistent, 120, "reconcile with 0 missing", interval_s=3)
    except AssertionError:
        raise AssertionError(f"missing: {last['report'].missing_positions}") from None
    assert last["report"].duplicated == 0, last["report"].duplicated_positions


LONG_CITY = "Llanfairpwllgwyngyll-gogerychwyrndrobwll-llantysilio"  # 52 characters


def test_new_field_and_wider_column_during_upgrade(evolving):
    v1 = working_schema(evolving)
    old_producer = Sender(evolving, v1, valid_profile)
    time.sleep(3)

    v2 = json.loads(json.dumps(v1))
    v2["fields"].append({"name": "referral_code", "type": ["null", "string"], "default": None,
                         "maxLength": 20, "doc": "Code of the campaign the user came from."})
    field(v2, "city")["maxLength"] = 80
    write_contract(evolving, v2)
    check = userstream(evolving, "contract", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    migrate = userstream(evolving, "contract", "migrate")
    assert migrate.returncode == 0, migrate.stderr
    [migration] = Path(evolving.migrations).glob("V002__*.sql")
    text = migration.read_text(encoding="utf-8")
    assert "ADD COLUMN `referral_code` VARCHAR(20) NULL" in text
    assert "MODIFY COLUMN `city` VARCHAR(80) NOT NULL" in text
    register = userstream(evolving, "contract", "register")
    assert register.returncode == 0, register.stdout + register.stderr
    assert "upgraded from a savepoint" in register.stdout

    new_producer = Sender(evolving, v2, lambda user_id: dict(
        valid_profile(user_id, city=LONG_CITY), referral_code=f"R{user_id % 1000}"))
    time.sleep(5)
    new_ids = new_producer.finish()
    old_ids = old_producer.finish()
    assert old_ids and new_ids

    assert_reconciled(evolving)
    db = mysql.connect(evolving, autocommit=True)
    try:
        old_rows = rows_by_user(db, old_ids)
        new_rows = rows_by_user(db, new_ids)
    finally:
        db.close()
    assert sorted(old_rows) == sorted(old_ids)
    assert sorted(new_rows) == sorted(new_ids)
    assert {row["referral_code"] for row in old_rows.values()} == {None}
    for user_id, row in new_rows.items():
        assert row["referral_code"] == f"R{user_id % 1000}", user_id
        assert row["city"] == LONG_CITY, user_id
    assert (evolving.contract_history / "user.v2.avsc").exists()


def test_enum_symbol_needs_coordinated_upgrade(evolving):
    current = working_schema(evolving)
    newer = json.loads(json.dumps(current))
    field(newer, "subscription_type")["type"]["symbols"].append("Family")
    write_contract(evolving, newer)
    migrate = userstream(evolving, "contract", "migrate")
    assert migrate.returncode == 0, migrate.stderr

    # Without coordination: an older reader cannot read the new symbol, so FULL_TRANSITIVE
    # refuses it in the check and in the registry.
    check = userstream(evolving, "contract", "check")
    assert check.returncode == 1
    assert "field subscription_type:" in check.stdout
    assert "missing_enum_symbols" in check.stdout
    with pytest.raises(process.StackError, match="refused the contract"):
        registry.register_contract(evolving)

    # Coordinated: the job moves to the new contract first, then the version is registered.
    register = userstream(evolving, "contract", "register", "--coordinated-enum-upgrade")
    assert register.returncode == 0, register.stdout + register.stderr
    sender = MessageSender(evolving)
    user_ids = unique_user_ids(2)
    old = sender.send(str(user_ids[0]).encode(), sender.encode(
        sender.serializer(current), valid_profile(user_ids[0], subscription_type="Basic")))
    new = sender.send(str(user_ids[1]).encode(), sender.encode(
        sender.serializer(newer), valid_profile(user_ids[1], subscription_type="Family")))
    sender.flush()
    assert old and new
    db = mysql.connect(evolving, autocommit=True)
    try:
        rows = wait_for(lambda: (found := rows_by_user(db, user_ids)) and len(found) == 2
                        and found, 60, "both profiles in MySQL")
    finally:
        db.close()
    assert rows[user_ids[0]]["subscription_type"] == "Basic"
    assert rows[user_ids[1]]["subscription_type"] == "Family"
    assert_reconciled(evolving)


def test_release_after_coordinated_enum_upgrade_passes(evolving):
    newer = working_schema(evolving)
    newer["fields"].append({"name": "loyalty_points", "type": ["null", "int"], "default": None,
                            "minimum": 0})
    write_contract(evolving, newer)
    check = userstream(evolving, "contract", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "coordinated upgrade" in check.stdout
    migrate = userstream(evolving, "contract", "migrate")
    assert migrate.returncode == 0, migrate.stderr
    register = userstream(evolving, "contract", "register")
    assert register.returncode == 0, register.stdout + register.stderr
    assert registry.registered_versions(evolving)[-1][1] == newer
