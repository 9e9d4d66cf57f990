"""Serialize records in the Confluent wire format with an Avro writer compiled for one schema."""

from __future__ import annotations

import io
from typing import Callable

import fastavro
from fastavro.write import LOGICAL_WRITERS

from userstream.generated import GeneratedNames

MAGIC_BYTE = 0
MAX_SCHEMA_ID = 2**31 - 1  # registry ids are signed 32-bit integers
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
# Logical types whose value fastavro's own converter turns into the underlying int or bytes.
_LOGICAL_TYPES = ("int-date", "long-timestamp-millis", "bytes-decimal")

RecordWriter = Callable[[dict, bytes], bytes]


def _zigzag_varint(number: int) -> bytes:
    """Return number as an Avro long: zigzag-encoded, then 7 bits a byte, lowest first."""
    if not _LONG_RANGE[0] <= number <= _LONG_RANGE[1]:
        raise OverflowError(f"{number} does not fit in an Avro long")
    number = (number << 1) ^ (number >> 63)
    # Most longs of the contract (credit scores, years, dates in days, user ids below 2**20)
    # take two or three bytes, which are built without the loop.
    if number < 0x80:
        return bytes((number,))
    if number < 0x4000:
        return bytes((number & 0x7F | 0x80, number >> 7))
    if number < 0x20_0000:
        return bytes((number & 0x7F | 0x80, number >> 7 & 0x7F | 0x80, number >> 14))
    encoded = bytearray()
    while number > 0x7F:
        encoded.append((number & 0x7F) | 0x80)
        number >>= 7
    encoded.append(number)
    return bytes(encoded)


# The encodings of 0 to 63, which fit in one byte; most lengths, indexes and counts are here.
_SMALL = tuple(_zigzag_varint(number) for number in range(64))


def _long(number: int) -> bytes:
    return _SMALL[number] if 0 <= number < 64 else _zigzag_varint(number)


def _union_int(number: int) -> bytes:
    # fastavro picks a union's int branch only for a plain int in the 32-bit range.
    if number.__class__ is not int or not _INT_RANGE[0] <= number <= _INT_RANGE[1]:
        raise TypeError(f"{number!r} is not an Avro int")
    return _long(number)


def _union_long(number: int) -> bytes:
    if number.__class__ is not int:
        raise TypeError(f"{number!r} is not an Avro long")
    return _long(number)


class _WriterSource(GeneratedNames):
    """Python source of one record writer, built field by field, and the names it refers to."""

    def __init__(self):
        super().__init__({"_SMALL": _SMALL, "_long": _long, "_zigzag_varint": _zigzag_varint,
                          "_union_int": _union_int, "_union_long": _union_long})
        self.parts: list[str] = []

    def sized(self, data: str) -> str:
        """Return the expressions of `data` (bytes) preceded by its length."""
        data_name, size_name = self.local(), self.local()
        return (f"(_SMALL[{size_name}] if ({size_name} := len({data_name} := {data})) < 64 "
                f"else _zigzag_varint({size_name})), {data_name}")


def _value_expressions(source: _WriterSource, avro_type, value: str,
                       in_union: bool) -> str | None:
    """Return the comma-separated expressions that encode `value`, or None if not compiled."""
    if avro_type == "string":
        return source.sized(f"{value}.encode()")
    if avro_type in ("int", "long"):
        if in_union:
            return f"_union_{avro_type}({value})"
        return f"_long({value})"
    if not isinstance(avro_type, dict):
        return None
    if avro_type.get("type") == "enum":
        indexes = {symbol: _long(index) for index, symbol in enumerate(avro_type["symbols"])}
        return f"{source.constant(indexes)}[{value}]"
    logical = f"{avro_type.get('type')}-{avro_type.get('logicalType')}"
    if logical not in _LOGICAL_TYPES or in_union:
        return None
    converted = f"{source.constant(LOGICAL_WRITERS[logical])}({value}, " \
                f"{source.constant(avro_type)})"
    if avro_type["type"] == "bytes":
        return source.sized(converted)
    return f"_long({converted})"


def _field_expressions(source: _WriterSource, field: dict) -> str | None:
    name, avro_type = field["name"], field["type"]
    if "default" in field:
        value = f"record.get({name!r}, {source.constant(field['default'])})"
    elif isinstance(avro_type, list) and "null" in avro_type:
        value = f"record.get({name!r})"
    else:
        value = f"record[{name!r}]"
    if not isinstance(avro_type, list):
        return _value_expressions(source, avro_type, value, in_union=False)
    if len(avro_type) != 2 or "null" not in avro_type:
        return None
    null_index = avro_type.index("null")
    branch = avro_type[1 - null_index]
    local = source.local()
    encoded = _value_expressions(source, branch, local, in_union=True)
    if encoded is None:
        return None
    null, other = _long(null_index), _long(1 - null_index)
    return f"*(({null!r},) if ({local} := {value}) is None else ({other!r}, {encoded}))"


def compile_writer(parsed_schema) -> RecordWriter | None:
    """Compile a function that returns prefix + the Avro binary encoding of a record.

    The function is built once per schema with one expression per field, which is about
    twice as fast as fastavro's schemaless_writer, since no type is looked up per record.
    It covers records of string, int, long and enum fields, the date, timestamp-millis and
    bytes decimal logical types, and unions of null with one string, int, long or enum.
    Logical values are converted by fastavro's own LOGICAL_WRITERS. Returns None for a
    schema that uses anything else.
    """
    if not isinstance(parsed_schema, dict) or parsed_schema.get("type") != "record":
        return None
    source = _WriterSource()
    for field in parsed_schema["fields"]:
        expressions = _field_expressions(source, field)
        if expressions is None:
            return None
        source.parts.append(expressions)
    body = ",\n        ".join(["prefix", *source.parts])
    code = f"def write(record, prefix):\n    return b''.join((\n        {body},\n    ))\n"
    exec(compile(code, f"<record writer {parsed_schema.get('name')}>", "exec"), source.names)
    return source.names["write"]


class WireSerializer:
    """Serialize records of one registered schema as magic byte 0, the schema id and the body.

    For any record, the bytes equal those of confluent-kafka's AvroSerializer with the same
    schema and schema id, because both write fastavro's encoding after the same 5-byte
    header (tests/test_serializer.py compares them). A record that the compiled writer
    cannot encode (a wrong type, a missing field, an int that fastavro converts) is written
    by fastavro.schemaless_writer instead, which encodes it or raises its own error.
    """

    def __init__(self, schema: dict, schema_id: int):
        if not 0 <= schema_id <= MAX_SCHEMA_ID:
            raise ValueError(f"schema id {schema_id} is outside 0..{MAX_SCHEMA_ID}")
        self.schema_id = schema_id
        self._header = bytes([MAGIC_BYTE]) + schema_id.to_bytes(4, "big")
        self._parsed = fastavro.parse_schema(schema)
        self._compiled = compile_writer(self._parsed)
        self._buffer = io.BytesIO()

    def __call__(self, record: dict) -> bytes:
        if self._compiled is not None:
            try:
                return self._compiled(record, self._header)
            except Exception:  # any failure of the compiled writer is settled by fastavro
                pass
        return self._write_with_fastavro(record)

    def _write_with_fastavro(self, record: dict) -> bytes:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        buffer.write(self._header)
        fastavro.schemaless_writer(buffer, self._parsed, record)
        return buffer.getvalue()
