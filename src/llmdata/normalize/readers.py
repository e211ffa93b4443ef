"""Read raw dataset files into records, one at a time, each with its position.

Datasets ship JSON arrays, JSON Lines (often named .json), pretty-printed objects written one after another,
CSV/TSV with or without a header, Parquet, and any of those gzip-, xz-, bzip2- or zstd-compressed or inside a
zip or tar. The reader named in the catalog is a hint: JSON flavours are detected from the bytes, so a
``.json`` file that is really JSON Lines still reads.

Encoding: strict UTF-8 (a BOM is stripped); GB18030 only when the catalog
says so. A JSONL line that is not UTF-8 or not JSON becomes a
:class:`BadRecord` (the converter step rejects it with its line number);
damage that makes the rest of a file unreadable raises :class:`ReadError`.
Memory stays bounded for JSONL, JSON arrays (ijson), CSV/TSV and Parquet, which are streamed.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from operator import itemgetter

import orjson

from ..errors import LlmdataError

# The readers a catalog entry can name, and the options they take (declared once: validate and the README use them).
READERS = {
    "json": "a JSON array, JSON Lines or concatenated objects, detected from the bytes",
    "jsonl": "JSON Lines (detected like json)",
    "json-concat": "pretty-printed objects one after another (detected like json)",
    "csv": "comma-separated values",
    "tsv": "tab-separated values",
    "parquet": "Parquet, streamed in batches",
    "text": "one record {text} per line",
}
READER_OPTIONS = (
    # (name, JSON Schema of the value, readers it applies to, default, doc)
    ("records", {"type": "string", "minLength": 1}, ("json", "jsonl", "json-concat"), None,
     "read the list under this key of each top-level object as the records (SQuAD's `data`); `*`: the lists under "
     "every key, the key as the position (Safety-Prompts' scenarios)"),
    ("header", {"type": "boolean"}, ("csv", "tsv"), True, "the first row names the columns; false: columns are col0, col1 ..."),
    ("columns", {"type": "array", "items": {"type": "string"}, "minItems": 1}, ("csv", "tsv"), None,
     "column names for a file without a header row"),
    ("quoting", {"enum": ["minimal", "none"]}, ("csv", "tsv"), "minimal",
     "none: quote characters are plain text (TSVs written without CSV quoting, e.g. T2Ranking)"),
    ("members", {"type": "string", "minLength": 1}, READERS, "*", "glob of the zip members to read"),
    ("subject_from", {"enum": ["filename"]}, READERS, None,
     "put the file's (or zip member's) name, without extension, in each record's `subject` field"),
)


class ReadError(LlmdataError, ValueError):
    exit_code = 2


@dataclass(frozen=True)
class BadRecord:
    """A record that could not even be parsed; it carries the reason to the rejects file."""

    reason: str
    raw: str


class Position(tuple):
    """Where a record came from: (file, unit, number); a bare tuple because one is made per record."""

    __slots__ = ()

    def __new__(cls, file: str, unit: str, number: int):  # noqa: D102
        return tuple.__new__(cls, (file, unit, number))

    file = property(itemgetter(0))
    unit = property(itemgetter(1))  # "line", "item", "row", "object"
    number = property(itemgetter(2))

    def __str__(self) -> str:
        return f"{self[0]} {self[1]} {self[2]}"


def _open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed (gzip, xz, bzip2, zstd) when its magic number says so."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    magic = handle.peek(6)[:6]
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    if magic == b"\xfd7zXZ\x00":  # xz (PKU-SafeRLHF moved its files to .jsonl.xz)
        import lzma

        return io.BufferedReader(lzma.LZMAFile(handle))  # type: ignore[arg-type]
    if magic[:3] == b"BZh":
        import bz2

        return io.BufferedReader(bz2.BZ2File(handle))  # type: ignore[arg-type]
    if magic[:4] == b"\x28\xb5\x2f\xfd":  # zstd (SlimPajama, RedPajama shards)
        import pyarrow as pa

        handle.close()
        return io.BufferedReader(pa.CompressedInputStream(pa.OSFile(str(path)), "zstd"))  # type: ignore[arg-type]
    return handle


def _first_significant_byte(handle) -> bytes:
    head = handle.peek(4096)[:4096] if hasattr(handle, "peek") else b""
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def _decode(data: bytes, encoding: str, where: str) -> str:
    try:
        if encoding == "utf-8":
            return data.decode("utf-8-sig")
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{where}: not valid {encoding} at byte {exc.start}",
            hint="if the file is GBK/GB18030, set `encoding: gb18030` in the entry's format",
        ) from None


def iter_jsonl(handle, name: str, encoding: str = "utf-8", start: int = 1) -> Iterator[tuple[Position, object]]:
    new = tuple.__new__
    for number, line in enumerate(handle, start=start):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip():
            continue
        yield new(Position, (name, "line", number)), parse_line(line, encoding)


def parse_line(line: bytes, encoding: str = "utf-8") -> object:
    """One JSON Lines line as a value, or a :class:`BadRecord` saying why it is not one."""
    try:
        return orjson.loads(line if encoding == "utf-8" else line.decode(encoding).encode("utf-8"))
    except UnicodeDecodeError as exc:
        return BadRecord(f"not valid {encoding} at byte {exc.start} of the line", line[:200].decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        value = _json_with_nan(line)
        if value is not None:
            return value
        reason = "not valid UTF-8" if "utf-8" in str(exc).lower() else f"invalid JSON: {exc}"
        return BadRecord(reason, line[:200].decode("utf-8", "replace"))


def iter_json_array(data: bytes, name: str) -> Iterator[tuple[Position, object]]:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        items = _json_with_nan(data)  # pandas writes NaN for a missing cell (PandaLM's testset)
        if items is None:
            raise ReadError(f"{name}: invalid JSON array: {exc}", hint="check that the download is complete") from None
    new = tuple.__new__
    for index, item in enumerate(items):
        yield new(Position, (name, "item", index)), item


def stream_json_array(handle, name: str) -> Iterator[tuple[Position, object]]:
    """The items of a JSON array, parsed incrementally (ijson's C backend): memory is bounded by one item.

    Values are what orjson gives (floats as float, not Decimal). What yajl
    refuses (NaN, which pandas writes for a missing cell; a damaged file) is
    parsed again whole, as before, and the items not yet given are given from
    there, so the result is the same; without ijson, or when the handle cannot
    be read again, the array is parsed whole (orjson: about 3.5x the file's size).
    """
    try:
        import ijson
    except ImportError:
        ijson = None
    if ijson is None or not handle.seekable() or "yajl2_c" not in ijson.backend:
        data = handle.read()
        yield from iter_json_array(data[3:] if data.startswith(b"\xef\xbb\xbf") else data, name)
        return
    start = handle.tell()
    if handle.peek(3)[:3] == b"\xef\xbb\xbf":
        handle.read(3)
    new = tuple.__new__
    index = 0
    try:
        for item in ijson.items(handle, "item", use_float=True, buf_size=1 << 16):
            yield new(Position, (name, "item", index)), item
            index += 1
        return
    except (ijson.JSONError, ValueError):
        pass
    handle.seek(start)
    data = handle.read()
    for position, item in iter_json_array(data[3:] if data.startswith(b"\xef\xbb\xbf") else data, name):
        if position.number >= index:
            yield position, item


def _json_with_nan(data: bytes):
    """Python's JSON parser, which accepts NaN and Infinity; None when the bytes are not JSON even so."""
    if b"NaN" not in data and b"Infinity" not in data:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def iter_json_document(text: str, name: str) -> Iterator[tuple[Position, object]]:
    """A JSON array (one record per item), or objects written one after another."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from iter_json_array(stripped.encode("utf-8"), name)
        return
    decoder = json.JSONDecoder()
    index, number, end = 0, 0, len(text)
    while True:
        while index < end and text[index] in " \t\r\n":
            index += 1
        if index >= end:
            return
        try:
            obj, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            line = text.count("\n", 0, exc.pos) + 1
            raise ReadError(f"{name}: invalid JSON at line {line}: {exc.msg}",
                            hint="check that the download is complete") from None
        yield Position(name, "object", number), obj
        number += 1


def iter_json_auto(handle, name: str, encoding: str = "utf-8") -> Iterator[tuple[Position, object]]:
    """JSON array, JSON Lines or concatenated objects, decided from the bytes."""
    first, head = _first_significant_byte(handle), b""
    if first == b"{":
        head = handle.readline()  # the whole first line: a peek sees one buffer (8 KiB) only
        if is_json(head.lstrip(b"\xef\xbb\xbf")):
            yield from iter_jsonl(itertools.chain([head], handle), name, encoding)
            return
    if first == b"[" and encoding == "utf-8":
        yield from stream_json_array(handle, name)
        return
    yield from iter_json_document(_decode(head + handle.read(), encoding, name), name)


def is_json(data: bytes) -> bool:
    """Whether orjson parses ``data``."""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def iter_delimited(handle, name: str, delimiter: str, encoding: str = "utf-8", header: bool = True,
                   columns: list[str] | None = None, quoting: str = "minimal") -> Iterator[tuple[Position, object]]:
    csv.field_size_limit(1 << 30)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="",
                            errors="strict")
    reader = csv.reader(text, delimiter=delimiter, quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL)
    names = columns
    try:
        for row in reader:
            if names is None:
                if header:
                    names = [c.strip() or f"col{i}" for i, c in enumerate(row)]
                    continue
                names = [f"col{i}" for i in range(len(row))]
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                yield Position(name, "line", number), BadRecord(
                    f"expected {len(names)} columns, got {len(row)}", delimiter.join(row)[:200])
                continue
            yield Position(name, "line", number), dict(zip(names, row))
    except UnicodeDecodeError as exc:
        raise ReadError(f"{name}: not valid {encoding} near line {reader.line_num + 1} (byte {exc.start})",
                        hint="set `encoding: gb18030` in the entry's format if the file is GBK/GB18030") from None


def iter_parquet(path: Path | io.BufferedIOBase, name: str) -> Iterator[tuple[Position, object]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            yield Position(name, "row", number), row
            number += 1


def read_records(path: Path, reader: str, *, name: str | None = None, encoding: str = "utf-8",
                 options: dict | None = None) -> Iterator[tuple[Position, object]]:
    """Records of one file with their positions; ``name`` is what positions and rejects call the file.

    Option ``records: KEY`` reads the list under KEY of a top-level object
    (SQuAD-style ``{"version": .., "data": [...]}``) as the records; ``records: "*"``
    reads the lists under every key of it, in file order (Safety-Prompts'
    ``{scenario: [...], ...}``), and the key becomes the position's unit.
    """
    options = options or {}
    key = options.get("records")
    if key:
        for position, document in _read_records(path, reader, name=name, encoding=encoding, options=options):
            groups = (document if key == "*" else {key: document.get(key)}) if isinstance(document, dict) else {}
            if not groups or not all(isinstance(items, list) for items in groups.values()):
                raise ReadError(f"{position}: expected an object with " + (
                    "a list under every key" if key == "*" else f"a list under {key!r}"),
                    hint="check the `records` option of the entry's format")
            for unit, items in groups.items():
                for index, item in enumerate(items):
                    yield Position(position.file, str(unit), index), item
        return
    yield from _read_records(path, reader, name=name, encoding=encoding, options=options)


def _read_records(path: Path, reader: str, *, name: str | None = None, encoding: str = "utf-8",
                  options: dict | None = None) -> Iterator[tuple[Position, object]]:
    options = options or {}
    name = name or path.name
    if zipfile.is_zipfile(path) and reader != "parquet":
        yield from _read_zip(path, reader, name, encoding, options)
        return
    if path.name.lower().endswith(TAR_SUFFIXES):
        yield from _read_tar(path, reader, name, encoding, options)
        return
    if reader == "parquet":
        yield from iter_parquet(path, name)
        return
    if reader not in STREAM_READERS:
        raise ReadError(f"unknown reader {reader!r}", hint="use json, jsonl, json-concat, csv, tsv, parquet or text")
    with _open_bytes(path) as raw:
        handle = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type]
        yield from _read_stream(handle, name, reader, encoding, options)


STREAM_READERS = ("json", "jsonl", "json-concat", "csv", "tsv", "text")


def _read_stream(handle, name: str, reader: str, encoding: str, options: dict) -> Iterator[tuple[Position, object]]:
    """Records of one byte stream (a file, or a zip or tar member) read with one of ``STREAM_READERS``."""
    if reader in ("json", "jsonl", "json-concat"):
        yield from iter_json_auto(handle, name, encoding)
    elif reader in ("csv", "tsv"):
        yield from iter_delimited(handle, name, "," if reader == "csv" else "\t", encoding,
                                  header=options.get("header", True), columns=options.get("columns"),
                                  quoting=options.get("quoting", "minimal"))
    else:
        yield from _iter_text(handle, name, encoding)


def _iter_text(handle, name: str, encoding: str) -> Iterator[tuple[Position, object]]:
    for number, line in enumerate(handle, start=1):
        yield Position(name, "line", number), {"text": _decode(line, encoding, f"{name} line {number}").rstrip("\r\n")}


TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")


def _read_member(handle, member_name: str, reader: str, encoding: str, options: dict):
    if reader in ("json", "jsonl", "json-concat", "csv", "tsv"):
        yield from _read_stream(handle, member_name, reader, encoding, options)
    elif reader == "parquet":
        yield from iter_parquet(io.BytesIO(handle.read()), member_name)
    else:
        raise ReadError(f"{member_name}: reader {reader!r} cannot read archive members")


def _read_tar(path: Path, reader: str, name: str, encoding: str, options: dict) -> Iterator[tuple[Position, object]]:
    """Members of a tar (plain or compressed) matching ``members``, in archive order; only regular files."""
    import fnmatch
    import tarfile

    pattern = options.get("members", "*")
    with tarfile.open(path, "r:*") as archive:
        for info in archive:
            if not info.isreg() or not fnmatch.fnmatch(info.name, pattern):
                continue
            member = archive.extractfile(info)
            if member is None:
                continue
            with member:
                yield from _read_member(io.BufferedReader(member), f"{name}!{info.name}", reader, encoding, options)


def _read_zip(path: Path, reader: str, name: str, encoding: str, options: dict) -> Iterator[tuple[Position, object]]:
    import fnmatch

    pattern = options.get("members", "*")
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not fnmatch.fnmatch(info.filename, pattern):
                continue
            member_name = f"{name}!{info.filename}"
            with archive.open(info) as member:
                if reader in STREAM_READERS:
                    handle = io.BufferedReader(member)  # type: ignore[arg-type]
                    yield from _read_stream(handle, member_name, reader, encoding, options)
                else:
                    raise ReadError(f"{member_name}: reader {reader!r} cannot read zip members",
                                    hint="zip members are read as json, jsonl, csv, tsv or text; for other files "
                                         "set `extract: true` on the source and name the unpacked files in splits")
