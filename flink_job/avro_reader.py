"""Read Avro binary records with a Python function compiled for one writer schema.

`compile_reader` turns a schema parsed by fastavro into the source of one function with a
few statements per field, so no type is looked up per message. For the bytes it accepts,
the function returns the dict that `fastavro.schemaless_reader(stream, schema, None)`
returns, with the same types. Logical values go through fastavro's own LOGICAL_READERS.

The function accepts fewer inputs than fastavro and raises on the rest, and the caller then
runs fastavro, which returns the record or raises its own error. The function raises on
bytes past the end of the message, bytes left after the record, a negative length, an
array or map count larger than the message and an enum or union index outside the schema.
It also raises on encodings that Avro writers do not produce: a varint of more than 10
bytes, an index below 64 in more than one byte and a boolean byte other than 0 or 1.
fastavro reads some of these (for example, it wraps a negative enum index around the
symbol list), so leaving them to fastavro keeps its results.
"""

from __future__ import annotations

import struct
from typing import Callable

from fastavro.read import LOGICAL_READERS

from userstream.generated import GeneratedNames

# A function of (message, position of the Avro body) that returns the record.
RecordReader = Callable[[bytes, int], dict]

_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
# The zigzag-decoded values of the one-byte varints 0..127.
_ZIGZAG = tuple((byte >> 1) ^ -(byte & 1) for byte in range(128))
# For a one-byte length varint, the offset from it to the end of the data it announces. A
# negative length maps to a position past any message, and the position only grows, so
# the reader then fails at its next read or at its final check.
_PAST_ANY_MESSAGE = 2**62
_ONE_BYTE_END = tuple(1 + (byte >> 1) if byte % 2 == 0 else _PAST_ANY_MESSAGE
                      for byte in range(128))
_BOOLEANS = {0: False, 1: True}


class DeferToFastavro(ValueError):
    """The compiled reader does not read these bytes, so fastavro must settle them."""


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """Return the zigzag varint of two or more bytes at pos and the position after it."""
    number = data[pos] & 0x7F
    byte = data[pos + 1]
    if byte < 0x80:
        number |= byte << 7
        return (number >> 1) ^ -(number & 1), pos + 2
    number |= (byte & 0x7F) << 7
    byte = data[pos + 2]
    if byte < 0x80:
        number |= byte << 14
        return (number >> 1) ^ -(number & 1), pos + 3
    number |= (byte & 0x7F) << 14
    for index in range(pos + 3, pos + 9):
        byte = data[index]
        number |= (byte & 0x7F) << (7 * (index - pos))
        if byte < 0x80:
            return (number >> 1) ^ -(number & 1), index + 1
    byte = data[pos + 9]
    if byte >= 0x80:
        raise DeferToFastavro(f"the varint at byte {pos} is longer than 10 bytes")
    # fastavro's read_long (1.13.1) shifts the tenth byte left by 63 in an unsigned 64-bit
    # integer, which keeps only its lowest bit.
    number |= (byte & 1) << 63
    return (number >> 1) ^ -(number & 1), pos + 10


def _read_end(data: bytes, pos: int) -> tuple[int, int]:
    """Return where the data after the length varint at pos starts and where it ends."""
    size, start = _read_long(data, pos)
    if size < 0:
        raise DeferToFastavro(f"the length at byte {pos} is negative")
    return start, start + size


class _ReaderSource(GeneratedNames):
    """Python source of one record reader, built statement by statement, and its names."""

    def __init__(self, named_schemas: dict):
        super().__init__({
            "_ZIGZAG": _ZIGZAG, "_ONE_BYTE_END": _ONE_BYTE_END, "_BOOLEANS": _BOOLEANS,
            "_read_long": _read_long, "_read_end": _read_end,
            "_unpack_float": struct.Struct("<f").unpack_from,
            "_unpack_double": struct.Struct("<d").unpack_from,
            "DeferToFastavro": DeferToFastavro,
        })
        self.lines: list[str] = []
        self.named_schemas = named_schemas
        self.records_in_progress: set[str] = set()

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def long(self, depth: int, target: str) -> None:
        """Emit the statements that read a varint into target, one-byte values inline."""
        self.line(depth, f"{target} = data[pos]")
        self.line(depth, f"if {target} < 128:")
        self.line(depth + 1, "pos += 1")
        self.line(depth + 1, f"{target} = _ZIGZAG[{target}]")
        self.line(depth, "else:")
        self.line(depth + 1, f"{target}, pos = _read_long(data, pos)")

    def sized(self, depth: int, target: str, suffix: str = "") -> None:
        """Emit the statements that read a length, then that many bytes + suffix into target."""
        start, end = self.local(), self.local()
        self.line(depth, f"{end} = data[pos]")
        self.line(depth, f"if {end} < 128:")
        self.line(depth + 1, f"{end} = pos + _ONE_BYTE_END[{end}]")
        self.line(depth + 1, f"{target} = data[pos + 1:{end}]{suffix}")
        self.line(depth, "else:")
        self.line(depth + 1, f"{start}, {end} = _read_end(data, pos)")
        self.line(depth + 1, f"{target} = data[{start}:{end}]{suffix}")
        self.line(depth, f"pos = {end}")

    def index(self, depth: int, target: str, count: int) -> None:
        """Emit the statements that read an index below count, doubled, into target.

        Up to 64 entries, only the one-byte encoding 2 * index is accepted, which is what
        writers produce.
        """
        if count <= 64:
            self.line(depth, f"{target} = data[pos]")
            self.line(depth, "pos += 1")
            self.line(depth, f"if {target} & 1 or {target} >= {2 * count}:")
        else:
            self.long(depth, target)
            self.line(depth, f"{target} *= 2")
            self.line(depth, f"if not 0 <= {target} < {2 * count}:")
        self.line(depth + 1, "raise DeferToFastavro('index outside the schema')")


def _emit_primitive(source: _ReaderSource, avro_type: str, target: str, depth: int) -> None:
    if avro_type == "null":
        source.line(depth, f"{target} = None")
    elif avro_type == "boolean":
        source.line(depth, f"{target} = _BOOLEANS[data[pos]]")
        source.line(depth, "pos += 1")
    elif avro_type in ("int", "long"):
        source.long(depth, target)
    elif avro_type in ("float", "double"):
        source.line(depth, f"{target}, = _unpack_{avro_type}(data, pos)")
        source.line(depth, f"pos += {4 if avro_type == 'float' else 8}")
    elif avro_type == "bytes":
        source.sized(depth, target)
    else:
        source.sized(depth, target, ".decode()")


def _emit_value(source: _ReaderSource, schema, target: str, depth: int) -> bool:
    """Emit the statements that read one value of schema into target, or return False."""
    if isinstance(schema, list):
        return _emit_union(source, schema, target, depth)
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            _emit_primitive(source, schema, target, depth)
            return True
        named = source.named_schemas.get(schema)
        return named is not None and _emit_value(source, named, target, depth)
    if not isinstance(schema, dict) or not isinstance(schema.get("type"), str):
        return False
    avro_type = schema["type"]
    if avro_type in _PRIMITIVES:
        _emit_primitive(source, avro_type, target, depth)
    elif avro_type == "enum":
        _emit_enum(source, schema, target, depth)
    elif avro_type == "fixed":
        end = source.local()
        source.line(depth, f"{end} = pos + {int(schema['size'])}")
        source.line(depth, f"{target} = data[pos:{end}]")
        source.line(depth, f"pos = {end}")
    elif avro_type == "record":
        if not _emit_record(source, schema, target, depth):
            return False
    elif avro_type in ("array", "map"):
        if not _emit_blocks(source, schema, target, depth):
            return False
    else:
        return False
    _emit_logical(source, schema, target, depth)
    return True


def _emit_logical(source: _ReaderSource, schema: dict, target: str, depth: int) -> None:
    # fastavro converts a value whose schema has a logical type it has a reader for, and
    # passes the writer schema and no reader schema, as here.
    logical_type = schema.get("logicalType")
    if not logical_type:
        return
    convert = LOGICAL_READERS.get(f"{schema['type']}-{logical_type}")
    if convert is not None:
        source.line(depth, f"{target} = {source.constant(convert)}({target}, "
                           f"{source.constant(schema)}, None)")


def _emit_enum(source: _ReaderSource, schema: dict, target: str, depth: int) -> None:
    symbols = tuple(schema["symbols"])
    source.index(depth, target, len(symbols))
    source.line(depth, f"{target} = {source.constant(symbols)}[{target} >> 1]")


def _emit_union(source: _ReaderSource, branches: list, target: str, depth: int) -> bool:
    if not branches:
        return False
    index = source.local()
    source.index(depth, index, len(branches))
    if len(branches) == 1:
        return _emit_value(source, branches[0], target, depth)
    for position, branch in enumerate(branches):
        if position == 0:
            source.line(depth, f"if {index} == 0:")
        elif position < len(branches) - 1:
            source.line(depth, f"elif {index} == {2 * position}:")
        else:
            source.line(depth, "else:")  # source.index has checked the range
        if not _emit_value(source, branch, target, depth + 1):
            return False
    return True


def _emit_record(source: _ReaderSource, schema: dict, target: str, depth: int) -> bool:
    name = schema.get("name")
    if name in source.records_in_progress:
        return False  # a recursive record would need a function per record type
    source.records_in_progress.add(name)
    fields = []
    for field in schema["fields"]:
        local = source.local()
        if not _emit_value(source, field["type"], local, depth):
            return False
        fields.append(f"{field['name']!r}: {local}")
    source.records_in_progress.discard(name)
    source.line(depth, f"{target} = {{{', '.join(fields)}}}")
    return True


def _emit_blocks(source: _ReaderSource, schema: dict, target: str, depth: int) -> bool:
    """Emit the reading of an array or map: blocks of items until a block count of 0."""
    count, item = source.local(), source.local()
    is_map = schema["type"] == "map"
    source.line(depth, f"{target} = {{}}" if is_map else f"{target} = []")
    source.long(depth, count)
    source.line(depth, f"while {count}:")
    source.line(depth + 1, f"if {count} < 0:")
    source.line(depth + 2, f"{count} = -{count}")
    source.long(depth + 2, source.local())  # the block size in bytes, which is not needed
    # Items of null or an empty record take no bytes, and fastavro reads any count of them.
    source.line(depth + 1, f"if {count} > len(data):")
    source.line(depth + 2, "raise DeferToFastavro('block count larger than the message')")
    source.line(depth + 1, f"for _ in range({count}):")
    if is_map:
        key = source.local()
        _emit_primitive(source, "string", key, depth + 2)
        if not _emit_value(source, schema["values"], item, depth + 2):
            return False
        source.line(depth + 2, f"{target}[{key}] = {item}")
    else:
        if not _emit_value(source, schema["items"], item, depth + 2):
            return False
        source.line(depth + 2, f"{target}.append({item})")
    source.long(depth + 1, count)
    return True


def compile_reader(parsed_schema) -> RecordReader | None:
    """Compile a function that reads the Avro record after the given position of a message.

    parsed_schema is a writer schema as fastavro.parse_schema returns it. The function
    returns the same dict as fastavro.schemaless_reader with no reader schema and default
    options, or raises if it cannot read the bytes or bytes follow the record. It covers
    every Avro type except recursive records. Returns None for a schema that is not a
    record or that it does not cover.
    """
    if not isinstance(parsed_schema, dict) or parsed_schema.get("type") != "record":
        return None
    source = _ReaderSource(parsed_schema.get("__named_schemas", {}))
    if not _emit_value(source, parsed_schema, "record", 1):
        return None
    source.line(1, "if pos != len(data):")
    source.line(2, "raise DeferToFastavro('the record does not end where the message ends')")
    source.line(1, "return record")
    code = "def read(data, pos):\n" + "\n".join(source.lines) + "\n"
    exec(compile(code, f"<record reader {parsed_schema.get('name')}>", "exec"), source.names)
    return source.names["read"]
