"""Load the Avro contract and expose each field's type and constraints."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro

CONTRACT_PATH = Path(__file__).resolve().parent.parent / "contracts" / "user.avsc"

# Avro types the contract may use, mapped to the kind the validator and DDL generator handle.
_PRIMITIVE_KINDS = {"string": "string", "int": "int", "long": "long"}
_LOGICAL_KINDS = {"date": "date", "timestamp-millis": "timestamp", "decimal": "decimal"}


class ContractError(ValueError):
    """The contract file is invalid or uses a construct that userstream does not support."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of the contract with the constraints carried as schema attributes."""

    name: str
    kind: str
    nullable: bool
    doc: str = ""
    max_length: int | None = None
    max_bytes: int | None = None
    minimum: Any = None
    maximum: Any = None
    format: str | None = None
    symbols: tuple[str, ...] = ()
    not_after: str | None = None
    precision: int | None = None
    scale: int | None = None
    sql_type: str | None = None
    sensitivity: str | None = None
    default: Any = field(default=None, compare=False)
    has_default: bool = False


@dataclass(frozen=True)
class Contract:
    """The parsed contract: the raw schema, the fastavro-parsed schema and the field specs."""

    schema: dict
    parsed: dict
    fields: tuple[FieldSpec, ...]

    @property
    def field_names(self) -> list[str]:
        return [spec.name for spec in self.fields]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def schema_str(self) -> str:
        return json.dumps(self.schema, ensure_ascii=False)


def _unwrap_nullable(avro_type: Any, name: str) -> tuple[Any, bool]:
    if not isinstance(avro_type, list):
        return avro_type, False
    branches = [branch for branch in avro_type if branch != "null"]
    if len(branches) != 1 or len(avro_type) != 2:
        raise ContractError(
            f"field {name}: only unions of null and one type are supported, got {avro_type}"
        )
    return branches[0], True


def _field_spec(raw: dict) -> FieldSpec:
    name = raw["name"]
    avro_type, nullable = _unwrap_nullable(raw["type"], name)
    symbols: tuple[str, ...] = tuple(raw.get("allowedValues", ()))
    precision = scale = None
    if isinstance(avro_type, dict) and avro_type.get("type") == "enum":
        kind = "enum"
        symbols = tuple(avro_type["symbols"])
    elif isinstance(avro_type, dict) and "logicalType" in avro_type:
        kind = _LOGICAL_KINDS.get(avro_type["logicalType"])
        precision, scale = avro_type.get("precision"), avro_type.get("scale", 0)
    else:
        kind = _PRIMITIVE_KINDS.get(avro_type) if isinstance(avro_type, str) else None
    if kind is None:
        raise ContractError(f"field {name}: unsupported Avro type {avro_type!r}")
    if symbols and kind == "string":
        kind = "enum"
    if kind == "string" and raw.get("maxLength") is None and raw.get("maxBytes") is None:
        raise ContractError(f"field {name}: a string needs maxLength or maxBytes")
    return FieldSpec(
        name=name,
        kind=kind,
        nullable=nullable,
        doc=raw.get("doc", ""),
        max_length=raw.get("maxLength"),
        max_bytes=raw.get("maxBytes"),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        format=raw.get("format"),
        symbols=symbols,
        not_after=raw.get("notAfter"),
        precision=precision,
        scale=scale,
        sql_type=raw.get("sqlType"),
        sensitivity=raw.get("sensitivity"),
        default=raw.get("default"),
        has_default="default" in raw,
    )


def _check_default(raw: dict, source: str) -> None:
    """Raise ContractError when a field's default does not fit its type.

    Avro requires a union's default to match the union's first branch; the registry rejects
    the schema otherwise, but the Python Avro libraries accept it.
    """
    if "default" not in raw:
        return
    avro_type = raw["type"]
    first = avro_type[0] if isinstance(avro_type, list) else avro_type
    default = raw["default"]
    if isinstance(first, dict) and "logicalType" in first:
        first = first["type"]  # Avro defaults are given in the underlying type
    if isinstance(first, dict) and first.get("type") == "enum":
        fits = default in first["symbols"]
    else:
        fits = {
            "null": default is None,
            "string": isinstance(default, str),
            "bytes": isinstance(default, str),
            "int": isinstance(default, int) and not isinstance(default, bool),
            "long": isinstance(default, int) and not isinstance(default, bool),
            "boolean": isinstance(default, bool),
        }.get(first, True)
    if not fits:
        raise ContractError(
            f"{source}: field {raw['name']}: default {default!r} does not match the type "
            f"{json.dumps(first)}; a union's default must match its first branch, so put "
            '"null" first for a default of null')


def load_contract(path: Path | str = CONTRACT_PATH) -> Contract:
    """Read and parse a contract file."""
    path = Path(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ContractError(f"cannot read the contract {path}: {error}") from error
    return parse_contract(schema, str(path))


def parse_contract(schema: dict, source: str = "the contract") -> Contract:
    """Parse a contract schema and check that every field is of a supported kind."""
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as error:  # fastavro raises several exception types for invalid schemas
        raise ContractError(f"{source} is not a valid Avro schema: {error}") from error
    specs = tuple(_field_spec(raw) for raw in schema["fields"])
    for raw in schema["fields"]:
        _check_default(raw, source)
    names = {spec.name for spec in specs}
    for spec in specs:
        if spec.not_after and spec.not_after not in names:
            raise ContractError(f"field {spec.name}: notAfter names unknown field {spec.not_after}")
    return Contract(schema=schema, parsed=parsed, fields=specs)


@lru_cache(maxsize=4)
def _cached(path: str) -> Contract:
    return load_contract(path)


def default_contract() -> Contract:
    """Return the working contract ($USERSTREAM_CONTRACT or contracts/user.avsc), parsed once."""
    return _cached(os.environ.get("USERSTREAM_CONTRACT") or str(CONTRACT_PATH))
