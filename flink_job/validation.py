"""Decode, check and normalise one Kafka message against the contract.

The job and the tests both call `MessageValidator.validate`, so every rule lives here once.
A message either becomes a `ValidProfile` (values in contract order, ready for the `users`
table) or a `Rejection` with one `Reason` per broken rule, each naming the field.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

import fastavro

from flink_job.avro_reader import RecordReader, compile_reader
from userstream.contract import Contract, FieldSpec
from userstream.generated import GeneratedNames

MAGIC_BYTE = 0
HEADER_SIZE = 5  # magic byte + 4-byte big-endian schema id (Confluent wire format)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# Digits, spaces, + ( ) . - and x, starting with a digit after an optional "+" and "(", with
# at least 7 digits: the first, then 6 more, each after any number of the other characters.
_PHONE = re.compile(r"^\+?\(?[0-9](?:[ ()+.\-x]*[0-9]){6}[0-9 ()+.\-x]*$")
_WHITESPACE = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_EPOCH = dt.date(1970, 1, 1)
_EPOCH_DATETIME = dt.datetime(1970, 1, 1)
_NS_PER_SECOND = 10**9
_NS_PER_DAY = 86_400 * _NS_PER_SECOND
_MISSING = object()


@dataclass(frozen=True)
class Reason:
    """One broken rule: the field (or `message`), a code for machines and a sentence for people."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ValidProfile:
    """Normalised values in contract field order, plus the schema id the producer used."""

    values: tuple
    schema_id: int


@dataclass(frozen=True)
class Rejection:
    """Why a message cannot be stored; `user_id` is set when it could be read."""

    reasons: tuple[Reason, ...]
    schema_id: int | None = None
    user_id: int | None = None

    def codes(self) -> str:
        return ";".join(f"{reason.field}:{reason.code}" for reason in self.reasons)

    def reasons_json(self) -> str:
        return json.dumps([reason.as_dict() for reason in self.reasons], ensure_ascii=False)


class SchemaNotFound(LookupError):
    """The registry returned that no schema has this id."""


class SchemaUnusable(ValueError):
    """The registry has the schema, but it is not an Avro schema this job can decode."""


MAX_SCHEMA_ID = 2**31 - 1  # registry ids are signed 32-bit integers
MAX_SHOWN = 60  # characters of a rejected value repeated in a reason message


WriterSchemaLookup = Callable[[int], dict]


class MessageValidator:
    """Turn raw Kafka message bytes into a ValidProfile or a Rejection.

    `lookup_schema(schema_id)` returns the parsed writer schema or raises SchemaNotFound;
    any other exception from it is a transient failure that the caller retries.
    """

    def __init__(self, contract: Contract, lookup_schema: WriterSchemaLookup):
        self._lookup_schema = lookup_schema
        # Schema id -> (writer schema, its compiled reader or None), see _compiled_reader.
        self._readers: dict[int, tuple[dict, RecordReader | None]] = {}
        self._clock = _UtcClock()
        # (field name, value when the writer schema lacks the field, check), in contract order.
        self._fields = tuple(
            (spec.name, spec.default if spec.has_default else _MISSING,
             _field_check(spec, self._clock))
            for spec in contract.fields
        )
        # Positions in the values tuple; the last field of a name wins, as in a dict.
        position = {spec.name: index for index, spec in enumerate(contract.fields)}
        self._user_id_position = position.get("user_id")
        self._order_rules = tuple(
            (spec.name, position[spec.name], spec.not_after, position.get(spec.not_after))
            for spec in contract.fields if spec.not_after
        )
        self._accept = compile_acceptor(contract.fields, self._fields)

    def validate(self, key: bytes | None, value: bytes | None) -> ValidProfile | Rejection:
        decoded = self.decode(value)
        if isinstance(decoded, Rejection):
            return decoded
        schema_id, record = decoded
        return self.check(key, record, schema_id)

    def decode(self, value: bytes | None) -> tuple[int, dict] | Rejection:
        """Return the schema id and the record decoded with its writer schema, or a Rejection."""
        framing = _check_framing(value)
        if framing is not None:
            return Rejection((framing,))
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        if schema_id > MAX_SCHEMA_ID:
            return Rejection((_unknown_schema(schema_id),))
        try:
            writer_schema = self._lookup_schema(schema_id)
        except SchemaNotFound:
            return Rejection((_unknown_schema(schema_id),), schema_id=schema_id)
        except SchemaUnusable as error:
            return Rejection((Reason("message", "unsupported_schema",
                                     f"schema id {schema_id} cannot be used: {error}"),),
                             schema_id=schema_id)
        record = _decode(value, writer_schema, self._compiled_reader(schema_id, writer_schema))
        if isinstance(record, Reason):
            return Rejection((record,), schema_id=schema_id)
        return schema_id, record

    def _compiled_reader(self, schema_id: int, writer_schema: dict) -> RecordReader | None:
        """Return the reader compiled for writer_schema, compiling it on its id's first use.

        The reader is compiled again only when the lookup returns another object for the
        id, which WriterSchemaCache never does, because registry ids never change schema.
        """
        cached = self._readers.get(schema_id)
        if cached is None or cached[0] is not writer_schema:
            cached = (writer_schema, compile_reader(writer_schema))
            self._readers[schema_id] = cached
        return cached[1]

    def check(self, key: bytes | None, record: dict, schema_id: int) -> ValidProfile | Rejection:
        """Check and normalise a decoded record against the contract."""
        try:
            accepted = self._accept(record.get)
        except Exception:  # the full check below gets the same value and reports the error
            accepted = None
        if accepted is not None:
            position = self._user_id_position
            user_id = accepted[position] if position is not None else None
            if not (self._order_rules and self._check_order(accepted)) \
                    and not _check_key(key, user_id):
                return ValidProfile(accepted, schema_id)
        values = []
        reasons = []
        get = record.get
        for name, absent, check in self._fields:
            value, reason = check(get(name, absent))
            values.append(value)
            if reason is not None:
                reasons.append(reason)
        if self._order_rules:
            reasons.extend(self._check_order(values))
        position = self._user_id_position
        user_id = values[position] if position is not None else None
        reasons.extend(_check_key(key, user_id))
        if reasons:
            safe_id = user_id if isinstance(user_id, int) else None
            return Rejection(tuple(reasons), schema_id=schema_id, user_id=safe_id)
        return ValidProfile(tuple(values), schema_id)

    def _check_order(self, values: list) -> list[Reason]:
        reasons = []
        for earlier_name, earlier_position, later_name, later_position in self._order_rules:
            earlier = values[earlier_position]
            later = values[later_position] if later_position is not None else None
            if earlier is None or later is None:
                continue
            later_day = later.date() if isinstance(later, dt.datetime) else later
            if earlier > later_day:
                reasons.append(Reason(
                    earlier_name, "out_of_order",
                    f"{earlier_name} {earlier.isoformat()} is after {later_name} "
                    f"{later.isoformat()}; {earlier_name} must not be later",
                ))
        return reasons


def compile_acceptor(specs: tuple[FieldSpec, ...], fields: tuple) -> Callable:
    """Return a function of `record.get` that returns the normalised values of a valid record.

    The function returns None as soon as a field might fail its check, and the full check
    then finds the reasons. For the common valid message it replaces a call and a result
    tuple per field with inline tests: plain strings, integers and enum symbols in their
    contract spelling are tested inline, and other kinds call their check from `fields`. It
    accepts a value only where that check returns the same value with no reason.
    """
    source = GeneratedNames({"_str": str, "_int": int})
    lines = ["def accept(get):"]
    results = []
    for spec, (name, absent, check) in zip(specs, fields):
        value = source.local()
        results.append(value)
        lines.append(f"    {value} = get({source.constant(name)}, {source.constant(absent)})")
        if spec.kind == "string" and spec.format is None and name != "address":
            lines += _accept_string(spec, value)
        elif spec.kind == "int" and _plain_bound(spec.minimum) and _plain_bound(spec.maximum):
            lines += _accept_int(spec, value)
        elif spec.kind == "enum":
            # The symbol the check returns for each exact contract spelling.
            folded = {symbol.casefold(): symbol for symbol in spec.symbols}
            exact = {symbol: folded[symbol.casefold()] for symbol in spec.symbols
                     if symbol and symbol == symbol.strip()}
            lines += [f"    if {value}.__class__ is _str:",
                      f"        {value} = {source.constant(exact)}.get({value})",
                      f"        if {value} is None:",
                      "            return None",
                      *_accept_null(spec, value)]
        else:
            reason = source.local()
            lines += [f"    {value}, {reason} = {source.constant(check)}({value})",
                      f"    if {reason} is not None:",
                      "        return None"]
    lines.append(f"    return ({', '.join(results)},)")
    code = "\n".join(lines) + "\n"
    exec(compile(code, "<profile acceptor>", "exec"), source.names)
    return source.names["accept"]


def _plain_bound(bound: Any) -> bool:
    return bound is None or (bound.__class__ is int)


def _accept_null(spec: FieldSpec, value: str) -> list[str]:
    """Return the lines that accept None for a nullable field and reject other values."""
    if spec.nullable:
        return [f"    elif {value} is not None:", "        return None"]
    return ["    else:", "        return None"]


def _accept_string(spec: FieldSpec, value: str) -> list[str]:
    lines = [f"    if {value}.__class__ is _str:", f"        {value} = {value}.strip()"]
    if spec.nullable:
        lines += [f"        if not {value}:", f"            {value} = None"]
        limit = "        elif "
    else:
        lines += [f"        if not {value}:", "            return None"]
        limit = "        if "
    if spec.max_length is not None:
        lines += [f"{limit}len({value}) > {spec.max_length}:", "            return None"]
        limit = "        elif "
    if spec.max_bytes is not None:
        # At most 4 UTF-8 bytes per character, so only a long string needs encoding.
        lines += [f"{limit}len({value}) * 4 > {spec.max_bytes} "
                  f"and len({value}.encode('utf-8')) > {spec.max_bytes}:",
                  "            return None"]
    return lines + _accept_null(spec, value)


def _accept_int(spec: FieldSpec, value: str) -> list[str]:
    lines = [f"    if {value}.__class__ is _int:"]
    tests = []
    if spec.minimum is not None:
        tests.append(f"{value} < {spec.minimum}")
    if spec.maximum is not None:
        tests.append(f"{value} > {spec.maximum}")
    if tests:
        lines += [f"        if {' or '.join(tests)}:", "            return None"]
    else:
        lines.append("        pass")
    return lines + _accept_null(spec, value)


class _UtcClock:
    """The current UTC day and second, read from time.time_ns() and converted only on change.

    datetime.now(timezone.utc) reads the same system clock and rounds it down, so the date and
    the whole second are the ones it would give, at a fraction of its cost per record.
    """

    def __init__(self):
        self._day = self._second = None
        self._tomorrow = self._second_tomorrow = None

    def tomorrow(self) -> dt.date:
        """Return the UTC date one day after today."""
        day = time.time_ns() // _NS_PER_DAY
        if day != self._day:
            self._tomorrow = _EPOCH + dt.timedelta(days=day + 1)
            self._day = day
        return self._tomorrow

    def second_tomorrow(self) -> dt.datetime:
        """Return the current UTC time one day later, naive, rounded down to the second.

        A value with no fraction of a second is later than now + 1 day exactly when it is
        later than this.
        """
        second = time.time_ns() // _NS_PER_SECOND
        if second != self._second:
            self._second_tomorrow = _EPOCH_DATETIME + dt.timedelta(seconds=second, days=1)
            self._second = second
        return self._second_tomorrow


def _check_framing(value: bytes | None) -> Reason | None:
    if value is None:
        return Reason("message", "tombstone",
                      "the message has no value (a tombstone); profiles are never deleted "
                      "by tombstones, so send the full profile")
    if len(value) == 0:
        return Reason("message", "empty", "the message value is empty; send an Avro record")
    if len(value) <= HEADER_SIZE or value[0] != MAGIC_BYTE:
        return Reason("message", "not_wire_format",
                      f"the value ({len(value)} bytes, first byte {value[0]}) is not in the "
                      "Confluent wire format; serialize it with the registry's Avro serializer")
    return None


def _unknown_schema(schema_id: int) -> Reason:
    return Reason("message", "unknown_schema_id",
                  f"schema id {schema_id} is not in the registry; register the "
                  "producer's schema or fix the producer's registry URL")


def _decode(value: bytes, writer_schema: dict, compiled: RecordReader | None) -> dict | Reason:
    if compiled is not None and value.__class__ is bytes:
        try:
            return compiled(value, HEADER_SIZE)
        except Exception:  # fastavro reads again what the compiled reader does not accept
            pass
    stream = io.BytesIO(value)
    stream.seek(HEADER_SIZE)
    try:
        record = fastavro.schemaless_reader(stream, writer_schema, None)
    except Exception as error:  # fastavro raises many types for bytes it cannot read
        return Reason("message", "undecodable",
                      f"the Avro body does not decode with its writer schema ({type(error).__name__});"
                      " the message is truncated or was written with another schema")
    if stream.tell() != len(value):
        return Reason("message", "undecodable",
                      f"{len(value) - stream.tell()} bytes follow the Avro record; the message "
                      "was written with another schema than its id names")
    if not isinstance(record, dict):
        return Reason("message", "not_a_record", "the writer schema is not an Avro record")
    return record


def _check_key(key: bytes | None, user_id: Any) -> list[Reason]:
    if key is None:
        return [Reason("message", "key_missing",
                       "the message has no key; key each message by its user_id so that all "
                       "versions of a user stay in one partition, in order")]
    if not isinstance(user_id, int):
        return []
    if key != str(user_id).encode("ascii"):
        shown = key[:20].decode("utf-8", "replace")
        return [Reason("message", "key_mismatch",
                       f"the message key {shown!r} is not the user_id {user_id}; key each "
                       "message by its user_id so versions of a user stay in order")]
    return []


Check = Callable[[Any], "tuple[Any, Reason | None]"]

# Each kind's check takes the record's value of the field (or its default, or _MISSING)
# and returns (normalised value, None) or (None, Reason). The checks test first for the type
# that fastavro decodes a contract field to, and handle absent values and other types after.


def _field_check(spec: FieldSpec, clock: _UtcClock) -> Check:
    return _KIND_CHECKS[spec.kind](spec, _absent_check(spec), clock)


def _absent_check(spec: FieldSpec) -> Check:
    """Return the check of a missing field, a null or, for a non-string kind, a blank string."""

    def absent(raw: Any):
        if raw is _MISSING:
            return None, Reason(spec.name, "missing",
                                f"{spec.name} is missing and has no default; add it to the "
                                "producer's schema")
        if spec.nullable:
            return None, None
        return None, Reason(spec.name, "required", f"{spec.name} is null but required")

    return absent


def _is_absent(raw: Any) -> bool:
    """Return whether a value of a non-string kind counts as absent."""
    return raw is None or raw is _MISSING or (isinstance(raw, str) and not raw.strip())


def _string_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    name, nullable = spec.name, spec.nullable
    max_length, max_bytes = spec.max_length, spec.max_bytes
    is_address = name == "address"
    is_email = spec.format == "email"
    format_check = _FORMAT_CHECKS.get(spec.format)

    def check(raw: Any):
        if not isinstance(raw, str):
            if raw is None or raw is _MISSING:
                return absent(raw)
            return None, _wrong_type(spec, raw, "a string")
        value = raw.strip()
        if is_address:
            value = _WHITESPACE.sub(" ", _LINE_BREAKS.sub(", ", value))
        if is_email:
            # Lower-casing can lengthen a string (İ becomes two characters), so it happens
            # before the length check.
            value = value.lower()
        if not value:
            if nullable:
                return None, None
            return None, Reason(name, "required", f"{name} is empty but required")
        if max_length is not None and len(value) > max_length:
            return None, Reason(
                name, "too_long",
                f"{name} has {len(value)} characters; the maximum is {max_length}. "
                "Shorten it at the source; values are never truncated",
            )
        if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
            return None, Reason(
                name, "too_long",
                f"{name} has {len(value.encode('utf-8'))} bytes in UTF-8; "
                f"the maximum is {max_bytes}",
            )
        if format_check is not None:
            return format_check(spec, value)
        return value, None

    return check


def _email(spec: FieldSpec, value: str):
    if not _EMAIL.match(value):
        return None, Reason(spec.name, "invalid_format",
                            f"{spec.name} {_show(value)} is not an email address "
                            "(local@domain.tld)")
    return value, None


def _url(spec: FieldSpec, value: str):
    if not value.lower().startswith(("http://", "https://")) or " " in value:
        return None, Reason(spec.name, "invalid_format",
                            f"{spec.name} {_show(value)} is not an http or https URL")
    return value, None


def _phone(spec: FieldSpec, value: str):
    if not _PHONE.match(value):
        return None, Reason(spec.name, "invalid_format",
                            f"{spec.name} {_show(value)} is not a phone number (digits, spaces, "
                            "+ ( ) . - and x for an extension; at least 7 digits)")
    return value, None


_FORMAT_CHECKS = {"email": _email, "url": _url, "phone": _phone}


def _int_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    in_range = _range_check(spec)

    def check(raw: Any):
        if raw.__class__ is int:
            return in_range(raw)
        if _is_absent(raw):
            return absent(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            return None, _wrong_type(spec, raw, "an integer")
        return in_range(raw)

    return check


def _range_check(spec: FieldSpec) -> Check:
    try:
        bounds = (_bound(spec, spec.minimum), _bound(spec, spec.maximum))
    except ValueError:
        bounds = None  # a date bound that is not an ISO date raises on every check instead

    def in_range(value: Any):
        low, high = bounds or (_bound(spec, spec.minimum), _bound(spec, spec.maximum))
        if (low is not None and value < low) or (high is not None and value > high):
            shown = value.isoformat() if hasattr(value, "isoformat") else value
            return None, Reason(spec.name, "out_of_range",
                                f"{spec.name} {shown} is outside {_shown(low)}..{_shown(high)}")
        return value, None

    return in_range


def _bound(spec: FieldSpec, bound: Any):
    if bound is None:
        return None
    if spec.kind == "date" and isinstance(bound, str):
        return dt.date.fromisoformat(bound)
    return bound


def _shown(bound: Any) -> str:
    if bound is None:
        return ""
    return bound.isoformat() if hasattr(bound, "isoformat") else str(bound)


def _enum_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    # A value that equals a symbol ignoring case and surrounding spaces is stored with the
    # contract's spelling (`male` -> `Male`); anything else is rejected.
    by_folded = {symbol.casefold(): symbol for symbol in spec.symbols}

    def check(raw: Any):
        if not isinstance(raw, str):
            if raw is None or raw is _MISSING:
                return absent(raw)
            return None, _wrong_type(spec, raw, "an enum symbol")
        stripped = raw.strip()
        if not stripped:
            return absent(raw)
        symbol = by_folded.get(stripped.casefold())
        if symbol is None:
            return None, Reason(spec.name, "invalid_enum",
                                f"{spec.name} {_show(raw)} is not one of {', '.join(spec.symbols)}")
        return symbol, None

    return check


def _date_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    in_range = _range_check(spec)

    def check_date(day: dt.date):
        if day > clock.tomorrow():
            return None, Reason(spec.name, "out_of_range",
                                f"{spec.name} {day.isoformat()} is in the future")
        return in_range(day)

    def check(raw: Any):
        if raw.__class__ is dt.date:
            return check_date(raw)
        if _is_absent(raw):
            return absent(raw)
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, int) and not isinstance(raw, bool):
            try:
                raw = _EPOCH + dt.timedelta(days=raw)
            except OverflowError:
                return None, Reason(spec.name, "out_of_range",
                                    f"{spec.name} {raw} days from 1970-01-01 is not a date")
        elif isinstance(raw, str):
            try:
                raw = dt.date.fromisoformat(raw.strip())
            except ValueError:
                return None, Reason(spec.name, "invalid_date",
                                    f"{spec.name} {_show(raw)} is not a calendar date "
                                    "(YYYY-MM-DD)")
        if not isinstance(raw, dt.date):
            return None, _wrong_type(spec, raw, "a date")
        return check_date(raw)

    return check


def _timestamp_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    # DATETIME has no zone: the value is converted to UTC and stored to the second.
    def check_utc(value: dt.datetime):
        # value has no fraction of a second, as clock.second_tomorrow() requires.
        if value.year < 1970 or value > clock.second_tomorrow():
            return None, Reason(spec.name, "out_of_range",
                                f"{spec.name} {value.isoformat()} is before 1970 or in the future")
        return value, None

    def check(raw: Any):
        # fastavro decodes timestamp-millis to a datetime in timezone.utc, for which
        # astimezone(timezone.utc) would return the same datetime.
        if raw.__class__ is dt.datetime and raw.tzinfo is dt.timezone.utc:
            return check_utc(raw.replace(tzinfo=None, microsecond=0))
        if _is_absent(raw):
            return absent(raw)
        if isinstance(raw, str):
            try:
                raw = dt.datetime.fromisoformat(raw.strip())
            except ValueError:
                return None, Reason(spec.name, "invalid_timestamp",
                                    f"{spec.name} {_show(raw)} is not an ISO 8601 timestamp")
        if isinstance(raw, int) and not isinstance(raw, bool):
            try:
                raw = dt.datetime.fromtimestamp(raw / 1000, dt.timezone.utc)
            except (OverflowError, ValueError, OSError):
                return None, Reason(spec.name, "out_of_range",
                                    f"{spec.name} {raw} milliseconds from 1970 is not a time")
        if not isinstance(raw, dt.datetime):
            return None, _wrong_type(spec, raw, "a timestamp")
        if raw.tzinfo is not None:
            raw = raw.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return check_utc(raw.replace(microsecond=0))

    return check


def _decimal_check(spec: FieldSpec, absent: Check, clock: _UtcClock) -> Check:
    limit = Decimal(10) ** (spec.precision - spec.scale)
    quantum = Decimal(1).scaleb(-spec.scale)

    def check_decimal(raw: Decimal):
        if not raw.is_finite():
            return None, _wrong_type(spec, raw, "a decimal number")
        if abs(raw) >= limit:
            return None, Reason(spec.name, "out_of_range",
                                f"{spec.name} {_show(raw)} needs more than {spec.precision} "
                                f"digits with {spec.scale} decimals; the largest is "
                                f"{limit - quantum}")
        if raw != raw.quantize(quantum, rounding="ROUND_DOWN"):
            return None, Reason(spec.name, "invalid_scale",
                                f"{spec.name} {raw} has more than {spec.scale} decimal places")
        return raw.quantize(quantum), None

    def check(raw: Any):
        if raw.__class__ is Decimal:
            return check_decimal(raw)
        if _is_absent(raw):
            return absent(raw)
        if isinstance(raw, (int, str)) and not isinstance(raw, bool):
            try:
                raw = Decimal(raw)
            except InvalidOperation:
                return None, _wrong_type(spec, raw, "a decimal number")
        if not isinstance(raw, Decimal):
            return None, _wrong_type(spec, raw, "a decimal number")
        return check_decimal(raw)

    return check


def _show(value: Any) -> str:
    """Return the repr of a rejected value, cut to MAX_SHOWN characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + f"... ({len(text)} characters)"


def _wrong_type(spec: FieldSpec, raw: Any, expected: str) -> Reason:
    return Reason(spec.name, "wrong_type",
                  f"{spec.name} is a {type(raw).__name__}, expected {expected}; "
                  "fix the producer's schema")


_KIND_CHECKS = {
    "string": _string_check,
    "int": _int_check,
    "long": _int_check,
    "enum": _enum_check,
    "date": _date_check,
    "timestamp": _timestamp_check,
    "decimal": _decimal_check,
}
