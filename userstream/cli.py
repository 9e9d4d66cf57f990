"""The `userstream` command: run the local stack, produce profiles, show status."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import KafkaException

from userstream.config import (CLUSTER_LAYOUT_ENV, SETTINGS, Config, ensure_secrets,
                               store_cluster_layout)
from userstream.contract import ContractError, default_contract, load_contract, parse_contract
from userstream.ddl import initial_migration
from userstream.stack.process import StackError

log = logging.getLogger("userstream")


def _stop_event() -> threading.Event:
    """Return an event set by SIGINT or SIGTERM, so loops can finish and flush."""
    stop = threading.Event()

    def handle(signum, _frame):
        log.info("received %s; finishing", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


def cmd_install(config: Config, _args) -> int:
    from userstream.stack import install

    install.install(config)
    return 0


def cmd_up(config: Config, args) -> int:
    from userstream.stack import lifecycle

    lifecycle.up(config, submit=not args.no_job)
    return 0


def cmd_down(config: Config, _args) -> int:
    from userstream.stack import lifecycle

    lifecycle.down(config)
    return 0


def cmd_produce(config: Config, args) -> int:
    from producer import publisher

    counts = publisher.run(
        config, count=args.count, rate=args.rate, batch_size=args.batch_size,
        interval_s=(args.interval_min, args.interval_max), seed=args.seed,
        invalid_rate=args.invalid_rate, stop=_stop_event(), report_path=args.report,
        first_user_id=args.first_user_id, update_share=args.update_share,
    )
    print(f"delivered {counts.delivered}, failed {counts.failed}, "
          f"unconfirmed {counts.pending}")
    return 1 if counts.failed or counts.pending else 0


def cmd_status(config: Config, args) -> int:
    from userstream import status

    while True:
        current = status.collect(config)
        print(json.dumps(current, indent=2) if args.json else status.render(current), flush=True)
        if not args.watch:
            return 0 if status.healthy(current) else 1
        time.sleep(args.watch)
        print()


def cmd_reconcile(config: Config, args) -> int:
    from userstream.reconcile import reconcile

    report = reconcile(config)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"{report.messages} messages: {report.stored} current rows, {report.superseded} "
              f"replaced by a later version, {report.rejected} rejected; "
              f"{report.missing} missing, {report.duplicated} duplicated")
        for kind in ("missing", "duplicated"):
            positions = getattr(report, f"{kind}_positions")
            if positions:
                shown = ", ".join(f"{partition}:{offset}" for partition, offset in positions)
                print(f"{kind} (partition:offset, first {len(positions)}): {shown}")
    return 0 if report.consistent else 1


def cmd_run(config: Config, args) -> int:
    from userstream.stack import lifecycle

    return lifecycle.run_until_interrupted(config, batch_size=args.batch_size, seed=args.seed,
                                           stop=_stop_event())


def cmd_migrate(config: Config, _args) -> int:
    from userstream.stack import mysql

    applied = mysql.migrate(config)
    print("applied: " + (", ".join(applied) if applied else "nothing, the schema is current"))
    return 0


def cmd_contract_ddl(_config: Config, _args) -> int:
    sys.stdout.write(initial_migration(default_contract()))
    return 0


def _check(config: Config, contract_path, use_registry: bool, coordinated: bool):
    """Return the problems of the working contract, the versions checked, and whether the
    registration needs the relaxed (backward-only) check for enum symbols."""
    from userstream import evolution

    working = load_contract(contract_path or config.contract)
    problems, versions = [], {}
    released = evolution.released_versions(config.contract_history)
    for version, contract in released:
        problems += evolution.compatibility_problems(working, contract, version)
        versions[version] = contract
    if use_registry:
        from userstream.stack import registry

        for version, schema in registry.registered_versions(config):
            label = f"registered version {version} of {config.subject}"
            contract = parse_contract(schema, label)
            problems += evolution.compatibility_problems(working, contract, label)
            versions[label] = contract
    accepted = evolution.accepted_enum_additions(problems, working, versions,
                                                 released[-1][1] if released else None)
    problems = [problem for problem in problems if problem not in accepted]
    relaxed = bool(accepted)
    if coordinated:
        added = [problem for problem in problems
                 if problem.rule == "forward: missing_enum_symbols"]
        problems = [problem for problem in problems if problem not in added]
        relaxed = relaxed or bool(added)
    return problems, list(versions), relaxed


def cmd_contract_check(config: Config, args) -> int:
    return _report(*_check(config, args.contract, not args.no_registry,
                           args.coordinated_enum_upgrade))


def _report(problems, checked, relaxed) -> int:
    """Print the result of `_check`; return the exit code."""
    from userstream import evolution

    for problem in problems:
        print(f"incompatible {problem}")
    if problems:
        hint = ""
        if any(problem.rule == "forward: missing_enum_symbols" for problem in problems):
            hint = ("; new enum symbols need `userstream contract register "
                    "--coordinated-enum-upgrade`")
        print(f"userstream: the contract breaks {evolution.COMPATIBILITY} in {len(problems)} "
              "place(s); add fields with defaults, widen limits, and never remove, rename or "
              f"retype a field (see docs/evolution.md){hint}", file=sys.stderr)
        return 1
    rule = evolution.COMPATIBILITY + (", with new enum symbols through a coordinated upgrade"
                                      if relaxed else "")
    print(f"compatible ({rule}) with {len(checked)} earlier version(s): "
          + (", ".join(checked) or "none released or registered yet"))
    return 0


def _planned_changes(config: Config):
    from userstream import evolution
    from userstream.stack import mysql

    pending = mysql.pending_migrations(config)
    if pending:
        raise StackError(f"migration(s) {', '.join(path.name for path in pending)} are not "
                         "applied yet; run `userstream migrate` first")
    columns = [evolution.Column(*column) for column in mysql.table_columns(config)]
    return evolution.plan_changes(load_contract(config.contract), columns)


def cmd_contract_migrate(config: Config, args) -> int:
    from userstream import evolution

    changes = _planned_changes(config)
    if not changes:
        print("the users table matches the contract; no migration written")
        return 0
    destructive = [change for change in changes if change.destructive]
    if destructive and not args.allow_destructive:
        for change in destructive:
            print(f"destructive: {change.clause.split(' COMMENT ')[0]} ({change.reason})")
        print("userstream: the contract needs changes that can lose data; change the contract, "
              "or pass --allow-destructive after checking the list above", file=sys.stderr)
        return 1
    path = evolution.next_migration_path(Path(config.migrations), changes)
    path.write_text(evolution.migration_text(changes, Path(config.contract).name),
                    encoding="utf-8")
    print(f"wrote {path}: " + "; ".join(f"{change.column} ({change.reason})" for change in changes))
    return 0


def cmd_contract_register(config: Config, args) -> int:
    from userstream import evolution
    from userstream.stack import flink, mysql, registry

    # 1. Refuse an incompatible contract before anything changes.
    problems, checked, relaxed = _check(config, None, True, args.coordinated_enum_upgrade)
    if _report(problems, checked, relaxed) != 0:
        return 1
    working = load_contract(config.contract)
    # 2. Columns first: the running job and old producers never write them, so adding or
    #    widening them breaks neither.
    applied = mysql.migrate(config)
    remaining = _planned_changes(config)
    if remaining:
        print("userstream: the users table does not match the contract yet ("
              + "; ".join(change.column for change in remaining)
              + "); run `userstream contract migrate`, review and commit the migration, then "
              "register again", file=sys.stderr)
        return 1
    # New enum symbols pass a backward-only registry check: the job reads them once it is
    # upgraded below, and no producer writes them before the version is registered.
    if relaxed:
        registry.set_compatibility(config, "BACKWARD_TRANSITIVE")
    try:
        # 3. A dry run in the registry, so a version it would refuse never reaches the job.
        registry.test_compatibility(config, working)
        # 4. The job next: the new contract reads every earlier version, so it takes over from
        #    a savepoint before any record of the new version exists.
        upgraded = None
        if not args.no_job_upgrade and flink.active_job(config) is not None:
            upgraded = flink.upgrade_job(config)
        # 5. Producers last: registering the version lets them write it.
        schema_id = registry.register_contract(config, working, set_policy=not relaxed)
    finally:
        if relaxed:
            registry.set_compatibility(config, evolution.COMPATIBILITY)
    released = None
    if not evolution.is_released(working, config.contract_history):
        released = evolution.release(working, config.contract_history)
    print(f"migrations applied: {', '.join(applied) or 'none pending'}; job "
          f"{'upgraded from a savepoint as ' + upgraded if upgraded else 'not running, not upgraded'}"
          f"; registered under {config.subject} with id {schema_id}"
          + (f"; released as {released} (commit it)" if released else ""))
    return 0


def cmd_job_upgrade(config: Config, _args) -> int:
    from userstream.stack import flink

    # The same checks as `contract register`, before the job is stopped: a contract the job
    # cannot run with must not replace the running one.
    problems, _, _ = _check(config, None, True, coordinated=False)
    if problems:
        for problem in problems:
            print(f"incompatible {problem}")
        print("userstream: the working contract is not compatible with the registered "
              "versions; the job was left running", file=sys.stderr)
        return 1
    remaining = _planned_changes(config)
    if remaining:
        print("userstream: the users table does not match the working contract ("
              + "; ".join(change.column for change in remaining) + "); run `userstream "
              "contract register`, which migrates first; the job was left running",
              file=sys.stderr)
        return 1
    print(f"job resumed from a savepoint as {flink.upgrade_job(config)}")
    return 0


def cmd_config(_config: Config, _args) -> int:
    for setting in SETTINGS:
        print(f"{setting.env:<36} {setting.default!r:<45} {setting.help}")
    return 0


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be a finite number greater than 0")
        return value
    return parse


CLUSTER_HELP = ("run 3 Kafka brokers (replication factor 3, min.insync.replicas 2) beside the "
                "2 TaskManagers; kept for this USERSTREAM_HOME until that folder is deleted "
                "(`make clean` for the default one)")


def _use_cluster_layout() -> Config:
    """Check the multi-broker layout against the environment and the local data, store it
    for this home and return the settings with it."""
    from userstream.stack import kafka

    config = Config.load({**CLUSTER_LAYOUT_ENV, **os.environ})
    if config.kafka_brokers < 3:
        raise ValueError(f"USERSTREAM_KAFKA_BROKERS={config.kafka_brokers} in the environment "
                         "overrides --cluster; unset it or set it to 3 or more")
    if config.taskmanagers < 2 or config.job_parallelism < 2:
        raise ValueError("--cluster runs the job on 2 or more TaskManagers with parallelism 2 "
                         f"or more; USERSTREAM_TASKMANAGERS is {config.taskmanagers} and "
                         f"USERSTREAM_JOB_PARALLELISM {config.job_parallelism}")
    kafka.check_layout(config)
    store_cluster_layout(config.home)
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="userstream", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("install", help="install missing tools and resolve jars"
                        ).set_defaults(func=cmd_install)
    up = commands.add_parser("up", help="start the local stack and submit the job")
    up.add_argument("--no-job", action="store_true",
                    help="start the services, apply migrations, create the topic and register "
                    "the contract, but submit no job")
    up.add_argument("--cluster", action="store_true", help=CLUSTER_HELP)
    up.set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop everything `up` started").set_defaults(func=cmd_down)

    produce = commands.add_parser("produce", help="publish generated profiles")
    produce.add_argument("--count", type=_positive(int),
                         help="send this many messages, then exit (with --rate: at that rate)")
    produce.add_argument("--rate", type=_positive(float),
                         help="messages per second, until stopped or --count is reached")
    produce.add_argument("--batch-size", type=_positive(int), default=1000,
                         help="messages per scheduled batch (default 1000)")
    produce.add_argument("--interval-min", type=_positive(float), default=300.0,
                         help="minimum pause between batches in seconds (default 300)")
    produce.add_argument("--interval-max", type=_positive(float), default=600.0,
                         help="maximum pause between batches in seconds (default 600)")
    produce.add_argument("--seed", type=int, help="seed for reproducible profiles")
    produce.add_argument("--invalid-rate", type=float, default=0.0,
                         help="share of messages broken on purpose, 0..1 (default 0)")
    produce.add_argument("--first-user-id", type=_positive(int), default=1,
                         help="user_id of the first new user (default 1)")
    produce.add_argument("--update-share", type=float, default=0.1,
                         help="share of messages that update an earlier user_id, 0..1 "
                         "(default 0.1)")
    produce.add_argument("--report", type=Path,
                         help="append one JSON line per acknowledged message to this file")
    produce.set_defaults(func=cmd_produce)

    status = commands.add_parser("status", help="show job state, topic size, rows and rejects")
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    status.add_argument("--watch", type=_positive(float), metavar="SECONDS",
                        help="repeat every SECONDS until interrupted")
    status.set_defaults(func=cmd_status)

    run = commands.add_parser("run", help="up, produce on the default schedule, live status; "
                              "Ctrl-C stops everything")
    run.add_argument("--batch-size", type=_positive(int), default=1000,
                     help="messages per scheduled batch (default 1000)")
    run.add_argument("--seed", type=int, help="seed for reproducible profiles")
    run.add_argument("--cluster", action="store_true", help=CLUSTER_HELP)
    run.set_defaults(func=cmd_run)

    reconcile = commands.add_parser(
        "reconcile", help="check every message in the topic against users and user_rejects; "
        "exit 1 if any is missing or duplicated")
    reconcile.add_argument("--json", action="store_true", help="print JSON for scripts")
    reconcile.set_defaults(func=cmd_reconcile)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)
    contract = commands.add_parser("contract", help="contract tools")
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    contract_commands.add_parser("ddl", help="print the DDL generated from the contract"
                                 ).set_defaults(func=cmd_contract_ddl)
    check = contract_commands.add_parser(
        "check", help="check the contract against every released and registered version; "
        "exit 1 on an incompatible change")
    check.add_argument("--contract", type=Path, help="contract file to check (default: the "
                       "working contract)")
    check.add_argument("--no-registry", action="store_true",
                       help="check against the released versions in history/ only")
    check.add_argument("--coordinated-enum-upgrade", action="store_true",
                       help="accept new enum symbols, which need the job upgraded first")
    check.set_defaults(func=cmd_contract_check)
    migrate = contract_commands.add_parser(
        "migrate", help="write the next migration from the contract and the users table")
    migrate.add_argument("--allow-destructive", action="store_true",
                         help="also write changes that can lose data (drops, narrowing)")
    migrate.set_defaults(func=cmd_contract_migrate)
    register = contract_commands.add_parser(
        "register", help="check, apply migrations, upgrade the job from a savepoint, register "
        "the contract and release it")
    register.add_argument("--no-job-upgrade", action="store_true",
                          help="leave the running job on its contract")
    register.add_argument("--coordinated-enum-upgrade", action="store_true",
                          help="register new enum symbols: the job is upgraded first and the "
                          "registry checks this version backward only")
    register.set_defaults(func=cmd_contract_register)
    job = commands.add_parser("job", help="job tools")
    job_commands = job.add_subparsers(dest="job_command", required=True)
    job_commands.add_parser("upgrade", help="stop the job with a savepoint and resubmit it "
                            "from there with the current code and contract"
                            ).set_defaults(func=cmd_job_upgrade)
    commands.add_parser("config", help="list settings, environment variables and defaults"
                        ).set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "interval_min", 0) and args.interval_min > args.interval_max:
        print("userstream: --interval-min is larger than --interval-max", file=sys.stderr)
        return 2
    for option in ("invalid_rate", "update_share"):
        value = getattr(args, option, None)
        if value is not None and not 0 <= value <= 1:
            name = "--" + option.replace("_", "-")
            print(f"userstream: {name} {value} is outside 0..1", file=sys.stderr)
            return 2
    if getattr(args, "count", None) and args.first_user_id + args.count > 2**31:
        print("userstream: --first-user-id plus --count exceeds the largest user_id "
              f"{2**31 - 1}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Client libraries log every HTTP request and connection at INFO.
    for noisy in ("httpx", "httpx2", "mysql.connector"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = Config.load()
        if args.command in ("up", "run", "install"):
            ensure_secrets(config.home)
            config = Config.load()
        if getattr(args, "cluster", False):
            config = _use_cluster_layout()
        return args.func(config, args)
    except (StackError, ContractError, ValueError, OSError, KafkaException) as error:
        print(f"userstream: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
