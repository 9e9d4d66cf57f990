"""Schema evolution: compatibility of contract versions and table changes that follow them.

Compatibility is FULL_TRANSITIVE: a new contract must read every earlier version's records
(backward) and every earlier version must read the new contract's records (forward). Avro's
own resolution rules are checked by Apache Avro's compatibility checker. The constraints that
Avro cannot see (maxLength, ranges, allowed values, formats, SQL types) are checked here: a
version may widen them, never narrow them, because records an earlier version accepted are
already in the topic and the table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from userstream import ddl
from userstream.contract import Contract, FieldSpec, parse_contract

COMPATIBILITY = "FULL_TRANSITIVE"
# Columns the pipeline adds to `users` beside the contract's fields.
SOURCE_COLUMNS = ("kafka_partition", "kafka_offset", "schema_id", "stored_at")


@dataclass(frozen=True)
class Problem:
    """One incompatibility between the working contract and an earlier version."""

    version: str
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"against {self.version}: field {self.field}: {self.message} [{self.rule}]"


def _avro(schema: dict):
    return avro.schema.parse(json.dumps(schema))


def _field_at(location: str, schema: dict) -> str | None:
    match = re.match(r"^/fields/(\d+)", location)
    if match is None:
        return None
    fields = schema["fields"]
    index = int(match.group(1))
    return fields[index]["name"] if index < len(fields) else None


def _avro_problems(version: str, reader: dict, writer: dict, direction: str) -> list[Problem]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(_avro(reader), _avro(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    names = sorted({name for name in (_field_at(loc, reader) for loc in result.locations)
                    if name})
    if not names:
        # The checker does not always say where; name the fields whose Avro types differ.
        writer_types = {field["name"]: field["type"] for field in writer["fields"]}
        names = sorted(field["name"] for field in reader["fields"]
                       if field["name"] in writer_types
                       and writer_types[field["name"]] != field["type"])
    if direction == "backward":
        meaning = "the new contract cannot read records written with this version"
    else:
        meaning = "this version cannot read records written with the new contract"
    rules = ", ".join(sorted({item.value for item in result.incompatibilities}))
    details = "; ".join(sorted(result.messages))
    return [Problem(version, name, f"{direction}: {rules}", f"{meaning} ({details})")
            for name in names or ["(record)"]]


def _narrowing(version: str, new: FieldSpec, old: FieldSpec) -> list[Problem]:
    problems = []

    def narrowed(rule: str, message: str) -> None:
        problems.append(Problem(version, new.name, f"constraint: {rule}",
                                f"{message}; earlier records may not fit, so only widen it"))

    for attribute, label in (("max_length", "maxLength"), ("max_bytes", "maxBytes")):
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before is not None and after is not None and after < before:
            narrowed(f"{label} narrowed", f"{label} goes from {before} to {after}")
        elif before is None and after is not None:
            narrowed(f"{label} added", f"a {label} of {after} is new")
    if old.minimum is not None and new.minimum is not None and new.minimum > old.minimum:
        narrowed("minimum raised", f"minimum goes from {old.minimum} to {new.minimum}")
    if old.minimum is None and new.minimum is not None:
        narrowed("minimum added", f"a minimum of {new.minimum} is new")
    if old.maximum is not None and new.maximum is not None and new.maximum < old.maximum:
        narrowed("maximum lowered", f"maximum goes from {old.maximum} to {new.maximum}")
    if old.maximum is None and new.maximum is not None:
        narrowed("maximum added", f"a maximum of {new.maximum} is new")
    removed = [symbol for symbol in old.symbols if symbol not in new.symbols]
    if removed and old.kind == new.kind:
        narrowed("allowed value removed", f"{', '.join(removed)} no longer allowed")
    if not old.symbols and new.symbols:
        narrowed("allowed values added", f"only {', '.join(new.symbols)} are allowed now")
    if new.format != old.format and new.format is not None:
        narrowed("format changed", f"format goes from {old.format} to {new.format}")
    if (new.precision, new.scale) != (old.precision, old.scale):
        problems.append(Problem(version, new.name, "constraint: decimal changed",
                                f"decimal({old.precision},{old.scale}) becomes "
                                f"decimal({new.precision},{new.scale}); add a new field instead"))
    if new.sql_type != old.sql_type:
        problems.append(Problem(version, new.name, "constraint: sqlType changed",
                                f"sqlType goes from {old.sql_type} to {new.sql_type}; "
                                "add a new field instead"))
    if new.not_after != old.not_after and new.not_after is not None:
        narrowed("order rule added", f"must now not be after {new.not_after}")
    return problems


def compatibility_problems(new: Contract, old: Contract, version: str) -> list[Problem]:
    """Return every reason `new` may not follow `old` under FULL_TRANSITIVE and the contract."""
    problems = _avro_problems(version, new.schema, old.schema, "backward")
    problems += _avro_problems(version, old.schema, new.schema, "forward")
    old_fields = {spec.name: spec for spec in old.fields}
    for spec in new.fields:
        before = old_fields.get(spec.name)
        # A changed Avro type is Avro's problem above; allowedValues turn a string into an enum.
        if before is not None and (before.kind == spec.kind
                                   or (before.kind, spec.kind) == ("string", "enum")):
            problems += _narrowing(version, spec, before)
    return problems


def accepted_enum_additions(problems: list[Problem], working: Contract,
                            versions: dict[str, Contract], last_release: Contract | None
                            ) -> list[Problem]:
    """Return the `forward: missing_enum_symbols` problems that an earlier coordinated release
    already accepted: every symbol the working contract has beyond that version's is in the
    last released contract too, so the job and the registry have it already."""
    if last_release is None:
        return []
    accepted = []
    for problem in problems:
        if problem.rule != "forward: missing_enum_symbols" or problem.version not in versions:
            continue
        try:
            new = set(working.field(problem.field).symbols)
            old = set(versions[problem.version].field(problem.field).symbols)
            released = set(last_release.field(problem.field).symbols)
        except KeyError:
            continue
        if new - old and (new - old) <= released:
            accepted.append(problem)
    return accepted


def released_versions(history: Path) -> list[tuple[str, Contract]]:
    """Return the released contracts in `history` (user.v1.avsc, user.v2.avsc, ...) in order."""
    found = []
    for path in history.glob("user.v*.avsc"):
        match = re.fullmatch(r"user\.v(\d+)\.avsc", path.name)
        if match:
            schema = json.loads(path.read_text(encoding="utf-8"))
            found.append((int(match.group(1)), path.name, parse_contract(schema, str(path))))
    return [(name, contract) for _, name, contract in sorted(found, key=lambda item: item[0])]


def is_released(contract: Contract, history: Path) -> bool:
    """Return whether the last released version equals `contract`."""
    versions = released_versions(history)
    return bool(versions) and versions[-1][1].schema == contract.schema


def release(contract: Contract, history: Path) -> Path:
    """Copy `contract` into the history as the next version and return its path."""
    versions = released_versions(history)
    number = int(re.search(r"v(\d+)", versions[-1][0]).group(1)) + 1 if versions else 1
    path = history / f"user.v{number}.avsc"
    history.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(contract.schema, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


# Table changes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column of the live `users` table as information_schema describes it."""

    name: str
    column_type: str
    nullable: bool


@dataclass(frozen=True)
class Change:
    """One ALTER TABLE clause and whether it can lose data."""

    column: str
    clause: str
    destructive: bool
    reason: str


def normal_type(column_type: str) -> str:
    """Normalise a column type for comparison: lower-case keywords, no integer display width.

    ENUM symbols keep their case, because MySQL stores them as written.
    """
    text = column_type.replace(", ", ",").strip()
    match = re.fullmatch(r"(?i)enum\((.*)\)", text)
    if match:
        return f"enum({match.group(1)})"
    text = text.lower()
    return re.sub(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", text)


def _enum_symbols(column_type: str) -> list[str] | None:
    match = re.fullmatch(r"enum\((.*)\)", column_type)
    if match is None:
        return None
    return [item.replace("''", "'") for item in re.findall(r"'((?:[^']|'')*)'", match.group(1))]


def _widens(old: str, new: str) -> bool:
    """Return whether a column of type `old` can become `new` without losing a stored value."""
    if old == new:
        return True
    sizes = [re.fullmatch(r"varchar\((\d+)\)", text) for text in (old, new)]
    if all(sizes):
        return int(sizes[1].group(1)) >= int(sizes[0].group(1))
    if (old, new) in {("int", "bigint"), ("smallint", "int"), ("smallint", "bigint")}:
        return True
    old_symbols, new_symbols = _enum_symbols(old), _enum_symbols(new)
    if old_symbols is not None and new_symbols is not None:
        return new_symbols[:len(old_symbols)] == old_symbols
    decimals = [re.fullmatch(r"decimal\((\d+),(\d+)\)", text) for text in (old, new)]
    if all(decimals):
        (p1, s1), (p2, s2) = ((int(m.group(1)), int(m.group(2))) for m in decimals)
        return s2 >= s1 and p2 - s2 >= p1 - s1
    return False


def _default_clause(spec: FieldSpec) -> str:
    """Return the column's DEFAULT clause for the field's Avro default, or "" for none.

    Avro gives a date default in days and a timestamp default in milliseconds since the epoch;
    MySQL needs them as date and datetime text. A decimal default is Avro bytes, which has no
    column default here.
    """
    default = spec.default
    if not spec.has_default or default is None or isinstance(default, bool):
        return ""
    if spec.kind in ("string", "enum") and isinstance(default, str):
        return f" DEFAULT {ddl.quote(default)}"
    if spec.kind in ("int", "long") and isinstance(default, int):
        return f" DEFAULT {default}"
    epoch = dt.datetime(1970, 1, 1)
    if spec.kind == "date" and isinstance(default, int):
        return f" DEFAULT '{(epoch + dt.timedelta(days=default)).date().isoformat()}'"
    if spec.kind == "timestamp" and isinstance(default, int):
        moment = epoch + dt.timedelta(milliseconds=default)
        return f" DEFAULT '{moment:%Y-%m-%d %H:%M:%S}'"
    return ""


def plan_changes(contract: Contract, columns: list[Column]) -> list[Change]:
    """Return the ALTER TABLE clauses that make `users` match the contract."""
    current = {column.name: column for column in columns}
    changes = []
    previous = None
    for spec in contract.fields:
        definition = ddl.column_definition(spec, _default_clause(spec))
        column = current.get(spec.name)
        if column is None:
            place = f" AFTER `{previous}`" if previous else " FIRST"
            destructive = not spec.nullable and not _default_clause(spec)
            changes.append(Change(spec.name, f"ADD COLUMN {definition}{place}", destructive,
                                  "new field" + (" without a column default: existing rows "
                                                 "would get the type's zero value; make it "
                                                 "nullable or give it a string or number "
                                                 "default" if destructive else "")))
        else:
            expected = normal_type(ddl.column_type(spec))
            actual = normal_type(column.column_type)
            if expected != actual or column.nullable != spec.nullable:
                safe = _widens(actual, expected) and (spec.nullable or not column.nullable)
                changes.append(Change(
                    spec.name, f"MODIFY COLUMN {definition}", not safe,
                    f"{column.column_type}{' NULL' if column.nullable else ' NOT NULL'} becomes "
                    f"{ddl.column_type(spec)}{' NULL' if spec.nullable else ' NOT NULL'}"))
        previous = spec.name
    names = set(contract.field_names) | set(SOURCE_COLUMNS)
    for column in columns:
        if column.name not in names:
            changes.append(Change(column.name, f"DROP COLUMN `{column.name}`", True,
                                  "no longer in the contract"))
    return changes


def migration_text(changes: list[Change], source: str) -> str:
    clauses = ",\n  ".join(change.clause for change in changes)
    reasons = "".join(f"-- {change.column}: {change.reason}\n" for change in changes)
    return (f"-- Generated by `userstream contract migrate` from {source}; review before "
            "committing.\n-- Runs on MariaDB 10.6+ and MySQL 8.0+.\n" + reasons
            + f"\nALTER TABLE `users`\n  {clauses};\n")


def next_migration_path(directory: Path, changes: list[Change]) -> Path:
    numbers = [int(match.group(1)) for path in directory.glob("V*__*.sql")
               if (match := re.match(r"V(\d+)__", path.name))]
    verbs = {"ADD": "add", "MODIFY": "change", "DROP": "drop"}
    words = [f"{verbs[change.clause.split()[0]]}_{change.column}" for change in changes[:3]]
    slug = "_and_".join(words) + ("_and_more" if len(changes) > 3 else "")
    return directory / f"V{max(numbers, default=0) + 1:03d}__{slug}.sql"
