"""The columnar fast path: pyarrow's JSON reader and a converter's table twin on chunks of JSON Lines.

Used when the converter has a table twin and the reader is JSON: plain UTF-8
JSON Lines files are read in chunks of whole lines, and files that are one
JSON array are cut into the same (:mod:`.jsonarray`); any other file of the
split goes through the record path. The result is the record path's, row for
row (tests/test_columnar_parity.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson

from . import jsonarray
from .arrowmeta import arrow_meta
from .converters import Converter
from .run import FormatSpec, SplitCounts, _SplitRun


def eligible(conv: Converter, spec: FormatSpec, inputs) -> bool:
    """A converter with a table twin, a JSON reader and a file pyarrow's JSON reader can take (UTF-8 JSON Lines
    or a JSON array, uncompressed)."""
    return (conv.table is not None and spec.reader in ("json", "jsonl") and spec.encoding == "utf-8"
            and not spec.options.get("records") and not spec.options.get("subject_from")
            and any(is_plain_jsonl(path) or jsonarray.is_plain_array(path) for path, _ in inputs))


CHUNK = 16 << 20  # bytes of JSON Lines parsed as one Arrow table
AHEAD = 2  # chunks cut and parsed ahead of the one converted
PARSERS = 2  # chunks parsed at once


def _line_chunks(path: Path, size: int, start: int = 0, end: int | None = None):
    """The file (or its bytes ``start:end``, whole lines) in pieces of about ``size`` bytes that end at a line
    end (the last one perhaps not).

    A piece is (bytes read, length used): the partial line after the last line
    end is read again with the next piece (a seek back), so nothing is copied.
    """
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)

        def read(n: int) -> bytes:
            return fh.read(n if end is None else max(0, min(n, end - fh.tell())))

        while block := read(size):
            cut = block.rfind(b"\n") + 1
            while cut == 0:  # no line end yet: a line longer than a piece, or the file's last line
                more = read(size)
                if not more:
                    break
                block += more
                cut = block.rfind(b"\n") + 1
            if cut in (0, len(block)):
                yield block, len(block)
            else:
                fh.seek(cut - len(block), 1)
                yield block, cut


def convert_split_arrow(inputs, spec: FormatSpec, conv, source: str, split: str, directory: Path,
                         strict: bool, progress=None) -> SplitCounts:
    """Parse chunks of JSON Lines with pyarrow's JSON reader and convert them through the converter's table twin.

    A chunk is a run of whole lines (16 MiB), or of a JSON array's items. Its
    rows map to its lines only when it has no blank line, which is checked by
    counting; a chunk pyarrow cannot read as one table (a malformed line, a
    type change, a blank line, invalid UTF-8) or the twin declines goes through
    the record path, and the rows a twin leaves are parsed from their lines by
    the record path's parser. The next chunks are parsed on threads of their
    own while this one is converted and written (pyarrow's reader releases the
    GIL), ``AHEAD`` chunks ahead at most (:func:`_ahead`).
    """
    run = _SplitRun(conv, spec, source, split, directory, strict)
    try:
        for path, name in inputs:
            consume_file(run, path, name, progress)
        return run.finish(split)
    except BaseException:
        run.writer.abort()
        raise


def consume_file(run: _SplitRun, path: Path, name: str, progress=None) -> None:
    """One whole raw file through the twin: JSON Lines by lines, a JSON array by items, anything else record by
    record (the Ray engine's whole-file units take this too)."""
    if is_plain_jsonl(path):
        consume_lines(run, path, name, progress=progress)
    elif jsonarray.is_plain_array(path):
        _array_file(run, path, name, progress)
    else:
        from .readers import read_records

        spec = run.spec
        run.consume(read_records(path, spec.reader, name=name, encoding=spec.encoding, options=spec.options),
                    progress)


def _ahead(items, parse):
    """(item, ``parse(item)``) for each of ``items``, in order. The items (raw chunks: cheap to cut) are taken on
    this thread; ``parse`` runs on ``PARSERS`` worker threads, up to ``AHEAD`` items ahead of the one in use.

    Parsing is the longest stage of the fast path (pyarrow's JSON reader and the
    UTF-8 check), so one parsing thread kept the converting and writing threads
    waiting; two chunks parsed at once keep both cores busy. An error in cutting
    (a JSON array that stops being splittable) is raised at once: the items
    still parsing are dropped, and the caller's fallback reads them again. While
    the first items parse, this thread imports what converting and writing take
    (:func:`_warm`).
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    items, pending = iter(items), deque()
    with ThreadPoolExecutor(PARSERS, thread_name_prefix="llmdata-parse") as pool:
        def submit() -> None:
            for item in itertools.islice(items, 1):
                pending.append((item, pool.submit(parse, item)))

        try:
            for _ in range(AHEAD):
                submit()
            _warm()
            while pending:
                item, future = pending.popleft()
                submit()
                yield item, future.result()
        finally:
            for _, future in pending:
                future.cancel()


def _parse(item):
    """A (chunk, rows) item's chunk as pyarrow reads it (None when it cannot)."""
    from .converters.columnar import read_jsonl

    return read_jsonl(item[0])


def _warm() -> None:
    """The imports a chunk's conversion and its Parquet writing make the first time (about 0.4 s of CPU,
    pyarrow's first conversion of Python values importing pandas when it is installed), made while the parsing
    threads parse the first chunks rather than after the first one, with the parsers soon waiting."""
    import numpy  # noqa: F401
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    pa.array([0])


def consume_lines(run: _SplitRun, path: Path, name: str, start: int = 0, end: int | None = None, line: int = 0,
                  progress=None) -> None:
    """The lines of ``path`` (or of its bytes ``start:end``, after ``line`` lines) through the twin, in chunks;
    the Ray engine hands each task such a byte range."""
    import io

    from .readers import iter_jsonl, parse_line

    def chunks():
        for block, used in _line_chunks(path, CHUNK, start, end):
            yield memoryview(block)[:used], block.count(b"\n", 0, used) + (block[used - 1:used] != b"\n")

    for (chunk, lines), table in _ahead(chunks(), _parse):
        _arrow_chunk(run, chunk, table, name, "line", line + 1, lines,
                     lambda: iter_jsonl(io.BytesIO(chunk), name, start=line + 1), parse_line)
        line += lines
        if progress is not None:
            progress(run.counts.read)


def _array_file(run: _SplitRun, path: Path, name: str, progress) -> None:
    """A JSON array's items through the twin, block by block; where the split stops (see :mod:`.jsonarray`),
    the record path's reader takes the file over from the first item not yet converted."""
    from .readers import Position, read_records

    done = 0
    try:
        for (lines, count), table in _ahead(jsonarray.items(path, CHUNK), _parse):
            def whole(lines=lines, first=done):
                return [(Position(name, "item", first + i), _item(line)) for i, line in enumerate(lines.split(b"\n"))]

            _arrow_chunk(run, lines, table, name, "item", done, count, whole, _item)
            done += count
            if progress is not None:
                progress(run.counts.read)
    except jsonarray.Unsplittable:
        spec = run.spec
        records = read_records(path, spec.reader, name=name, encoding=spec.encoding, options=spec.options)
        run.consume((item for item in records if item[0].number >= done), progress)


def _item(raw: bytes):
    """An array item's value, as the record path's reader (ijson) gives it; what orjson does not parse as it
    would (NaN, a damaged file ...) is left to that reader."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise jsonarray.Unsplittable("an item orjson does not read") from None


def _arrow_chunk(run: _SplitRun, chunk, table, name: str, unit: str, first: int, rows: int, whole, parse) -> None:
    """One chunk of JSON Lines (``table``: as pyarrow read it, or None) through the twin: ``rows`` lines, numbered
    from ``first`` (lines from 1, array items from 0). ``whole()`` gives its records the record path's way, for a
    chunk the twin does not take; ``parse`` parses one line for the rows it leaves. Both run before anything of the
    chunk is counted or written."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .converters.columnar import null_lines
    from .readers import Position

    result = None
    if table is not None and table.num_rows == rows:
        nulls = (null_lines(chunk, rows),) if run.conv.table_nulls else ()
        result = run.conv.table(table, run.spec.options, *nulls)
    if result is None:
        run.consume(whole())
        return
    import numpy as np

    split_lines = None

    def raw(i: int) -> bytes:
        nonlocal split_lines
        if split_lines is None:
            split_lines = bytes(chunk).split(b"\n")
        return split_lines[i]

    left = {i: parse(raw(i)) for i in result.leave}
    run.counts.read += rows
    kept = np.setdiff1d(np.arange(rows), np.asarray(result.leave, dtype=np.int64))
    ids = pc.binary_join_element_wise(f"{name}:", pa.array(kept + first).cast(pa.string()), "")
    if result.native_ids is not None:
        ids = pc.coalesce(result.native_ids, ids)
    columns = {"id": ids, "source": pa.array([run.source]).take(pa.array(np.zeros(len(kept), dtype=np.int8))),
               "meta": arrow_meta(table, result.consumed, kept, raw, chunk), **result.columns}
    run.place(rows, result, columns, lambda i: (Position(name, unit, first + i), left[i]))


def is_plain_jsonl(path: Path) -> bool:
    """Uncompressed, BOM-less JSON Lines (its whole first line a JSON object): what pyarrow's JSON reader parses
    exactly like we do, and what the record path's reader reads as JSON Lines."""
    from .readers import is_json

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            if head[:2] == b"\x1f\x8b" or head.startswith(b"\xef\xbb\xbf") or \
                    head[:4] in (b"PK\x03\x04", b"\x28\xb5\x2f\xfd") or not head.lstrip()[:1] == b"{":
                return False
            fh.seek(0)
            first_line = fh.readline(64 << 20)  # the whole line, as the record path's reader reads it
    except OSError:
        return False
    return first_line.lstrip()[:1] == b"{" and is_json(first_line)
