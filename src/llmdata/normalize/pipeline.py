"""Run a converter over raw files: read, convert, write rows and rejects, count, publish.

Every record read is accounted for: it either produced rows (written) or went
to the rejects file with its position and reason (rejected), so
``written + rejected == read`` always holds and is stored in the manifest.
Output is assembled in a private directory and renamed into place only when
every split is complete; a failure leaves the previous output untouched.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import orjson

from ..errors import LlmdataError, UsageError
from ..store.atomic import staged_dir
from .converters import Converter, Reject, get
from .readers import READER_OPTIONS, BadRecord, read_records
from .writer import SplitWriter

MANIFEST = "manifest.json"


class StrictConversionError(LlmdataError, ValueError):
    """--strict: the first record that cannot be converted stops the run."""

    exit_code = 2


@dataclass
class SplitCounts:
    read: int = 0
    written: int = 0
    rejected: int = 0
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    reject_reasons: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)  # kept rows worth knowing about: {"answer withheld": 12}


@dataclass(frozen=True)
class FormatSpec:
    """What the catalog's ``format`` says: how to read and which converter to run."""

    reader: str
    converter: str
    options: dict = field(default_factory=dict)
    encoding: str = "utf-8"

    @classmethod
    def from_entry(cls, fmt: dict) -> FormatSpec:
        return cls(fmt["reader"], fmt["converter"], dict(fmt.get("options") or {}), fmt.get("encoding", "utf-8"))


def _reason_key(reason: str) -> str:
    return reason.split(":")[0][:80]


BATCH = 20_000


class _SplitRun:
    """State of one split's conversion: the writer, the counts and the reject policy."""

    def __init__(self, conv: Converter, spec: FormatSpec, source: str, split: str, directory: Path,
                 strict: bool) -> None:
        self.conv, self.spec, self.source, self.strict = conv, spec, source, strict
        self.writer = SplitWriter(directory, conv.produces, split)
        self.counts = SplitCounts()

    def reject(self, position, reason: str, raw: object) -> None:
        if self.strict:
            raise StrictConversionError(f"{position}: {reason}",
                                        hint="drop --strict to send such records to the rejects file")
        self.writer.reject(str(position), reason, raw)
        self.counts.rejected += 1
        key = _reason_key(reason)
        self.counts.reject_reasons[key] = self.counts.reject_reasons.get(key, 0) + 1

    def convert(self, position, record: object) -> list[dict] | None:
        """The row converter on one record: its rows, complete; None when it is rejected (and recorded as such)."""
        if isinstance(record, BadRecord):
            return self.reject(position, record.reason, record.raw)
        if not isinstance(record, dict):
            return self.reject(position, f"record is a {type(record).__name__}, not an object", record)
        try:
            rows = list(self.conv.fn(record, self.spec.options))
        except Reject as exc:
            return self.reject(position, str(exc), record)
        if not rows:
            return self.reject(position, "the converter produced no rows", record)
        self.counts.written += 1
        base = rows[0].native_id or f"{position.file}:{position.number}"
        out = []
        for k, row in enumerate(rows):
            for flag in row.flags:
                self.counts.flagged[flag] = self.counts.flagged.get(flag, 0) + 1
            meta = {key: value for key, value in record.items() if key not in row.consumed}
            meta.update(row.fields.pop("_meta", None) or {})
            row.fields["id"] = base if len(rows) == 1 else f"{base}#{k}"
            row.fields["source"] = self.source
            row.fields["meta"] = orjson.dumps(meta, default=str).decode()
            out.append(row.fields)
        return out

    def rows(self, position, record: object) -> None:
        for fields in self.convert(position, record) or ():
            self.writer.add(fields)

    def place(self, n: int, result, columns: dict, left) -> None:
        """A twin's result for ``n`` rows, written in their order: the rows it converted (``columns``: all of
        the format's columns for them) and those it left to the row converter (``left(i)`` -> position, record)."""
        import numpy as np

        produced = [(i, rows) for i in result.leave if (rows := self.convert(*left(i)))]
        kept = n - len(result.leave)
        self.counts.written += kept
        if not produced:
            return self.writer.add_columns(columns)
        kept_index = np.setdiff1d(np.arange(n), np.asarray(result.leave, dtype=np.int64))
        start = 0
        for i, rows in produced:  # rows the row converter kept go between the twin's, where they were read
            cut = int(np.searchsorted(kept_index, i))
            if cut > start:
                self.writer.add_columns(_slice(columns, start, cut))
            for fields in rows:
                self.writer.add(fields)
            start = cut
        if start < kept:
            self.writer.add_columns(_slice(columns, start, kept))
        return None

    def batch(self, items: list) -> None:
        """A batch through the columnar twin when there is one; row by row otherwise."""
        where = [i for i, (_, rec) in enumerate(items) if isinstance(rec, dict)]
        result = self.conv.batch([items[i][1] for i in where], self.spec.options) if self.conv.batch and where else None
        if result is None or len(where) < len(items):
            for position, record in items:
                self.rows(position, record)
            return
        leave = set(result.leave)
        kept = [rec for i, (_, rec) in enumerate(items) if i not in leave]
        positions = [pos for i, (pos, _) in enumerate(items) if i not in leave]
        consumed = result.consumed
        dumps = orjson.dumps
        metas = ["{}" if rec.keys() <= consumed else
                 dumps({k: v for k, v in rec.items() if k not in consumed}, default=str).decode() for rec in kept]
        natives = result.native_ids.to_pylist() if result.native_ids is not None else [None] * len(kept)
        ids = [native if native is not None else f"{pos.file}:{pos.number}" for native, pos in zip(natives, positions)]
        self.place(len(items), result, {"id": ids, "source": [self.source] * len(kept), "meta": metas,
                                        **result.columns}, lambda i: items[i])

    def finish(self, split: str) -> SplitCounts:
        """Close the writer and complete the counts with what it wrote."""
        self.writer.close()
        counts = self.counts
        counts.rows, counts.shards = self.writer.rows, self.writer.shards
        counts.rejects_file = f"{split}.rejects.jsonl" if self.writer.rejects else None
        return counts


def convert_split(inputs: list[tuple[Path, str]], conv: Converter, spec: FormatSpec, *, source: str, split: str,
                  directory: Path, strict: bool = False, progress=None) -> SplitCounts:
    """Convert the files of one split into ``directory``; ``inputs`` are (path, name shown in positions)."""
    if _arrow_eligible(conv, spec, inputs):
        return _convert_split_arrow(inputs, spec, conv, source, split, directory, strict, progress)
    run = _SplitRun(conv, spec, source, split, directory, strict)
    pending: list = []
    by_file = spec.options.get("subject_from") == "filename"
    try:
        for path, name in inputs:
            for item in read_records(path, spec.reader, name=name, encoding=spec.encoding, options=spec.options):
                if by_file and isinstance(item[1], dict):  # per record: zip members are files of their own
                    item[1].setdefault("subject", _subject_from(item[0].file))
                pending.append(item)
                if len(pending) >= BATCH:
                    run.counts.read += len(pending)
                    run.batch(pending)
                    pending = []
                    if progress is not None:
                        progress(run.counts.read)
        run.counts.read += len(pending)
        run.batch(pending)
        if progress is not None:
            progress(run.counts.read)
        return run.finish(split)
    except BaseException:
        run.writer.abort()
        raise


def _table_plan(conv: Converter, spec: FormatSpec, split: str) -> tuple[Converter, FormatSpec]:
    """corpus / queries / qrels.<name> -> the layout's table converter, and the reader it reads with.

    The entry's reader is used when the table converter accepts it; otherwise the
    table's own first reader (a BEIR qrels file is TSV whatever the corpus is).
    """
    from .converters.retrieval import table_of

    try:
        table = conv.tables[table_of(split)]
    except Reject as exc:
        raise StrictConversionError(str(exc), hint="name retrieval splits corpus, queries and qrels.<split>") from None
    reader = spec.reader if not table.readers or spec.reader in table.readers else table.readers[0]
    return table, FormatSpec(reader, table.name, {**spec.options, **table.reader_options}, spec.encoding)


def check_options(conv: Converter, options: dict) -> None:
    """Unknown option names fail before any record is read (``llmdata validate`` also checks their types)."""
    known = set(conv.option_names) | {name for name, *_ in READER_OPTIONS}
    unknown = sorted(set(options) - known)
    if unknown:
        import difflib

        guess = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.6)
        raise UsageError(f"converter {conv.name!r} has no option {unknown[0]!r}",
                         hint=(f"did you mean {guess[0]!r}? " if guess else "")
                         + f"its options: {', '.join(sorted(conv.option_names)) or 'none'}; "
                         + f"reader options: {', '.join(name for name, *_ in READER_OPTIONS)}")


@lru_cache(maxsize=4096)
def _subject_from(name: str) -> str:
    """data/test/high_school_mathematics.csv -> high_school_mathematics; m3ke.zip!m3ke/law.jsonl -> law"""
    stem = name.rsplit("/", 1)[-1].split("!")[-1]
    for suffix in (".gz", ".jsonl", ".json", ".csv", ".tsv", ".parquet"):
        stem = stem.removesuffix(suffix)
    return stem


def _slice(columns: dict, start: int, stop: int) -> dict:
    return {name: values[start:stop] if isinstance(values, list) else values.slice(start, stop - start)
            for name, values in columns.items()}


def _arrow_eligible(conv: Converter, spec: FormatSpec, inputs) -> bool:
    """Plain UTF-8 JSON Lines files and a converter with a table twin: pyarrow's JSON reader can do the parsing."""
    from .readers import is_plain_jsonl

    return (conv.table is not None and spec.reader in ("json", "jsonl") and spec.encoding == "utf-8"
            and not spec.options.get("records") and not spec.options.get("subject_from")
            and all(is_plain_jsonl(path) for path, _ in inputs))


CHUNK = 16 << 20  # bytes of JSON Lines parsed as one Arrow table


def _line_chunks(path: Path, size: int):
    """The file in pieces of about ``size`` bytes that end at a line end (the last one perhaps not).

    A piece is (bytes read, length used): the partial line after the last line
    end is read again with the next piece (a seek back), so nothing is copied.
    """
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(size):
            cut = block.rfind(b"\n") + 1
            while cut == 0:  # no line end yet: a line longer than a piece, or the file's last line
                more = fh.read(size)
                if not more:
                    break
                block += more
                cut = block.rfind(b"\n") + 1
            if cut in (0, len(block)):
                yield block, len(block)
            else:
                fh.seek(cut - len(block), 1)
                yield block, cut


def _convert_split_arrow(inputs, spec: FormatSpec, conv, source: str, split: str, directory: Path,
                         strict: bool, progress=None) -> SplitCounts:
    """Parse JSON Lines with pyarrow's JSON reader and convert whole chunks through the converter's table twin.

    A chunk is a run of whole lines (16 MiB). Its rows map to its lines only
    when it has no blank line, which is checked by counting; a chunk pyarrow
    cannot read as one table (a malformed line, a type change, a blank line,
    invalid UTF-8) or the twin declines goes through the record path, and the
    rows a twin leaves are parsed from their lines by the record path's parser.
    """
    run = _SplitRun(conv, spec, source, split, directory, strict)
    try:
        for path, name in inputs:
            line = 0
            for block, end in _line_chunks(path, CHUNK):
                lines = block.count(b"\n", 0, end) + (block[end - 1:end] != b"\n")
                _arrow_chunk(run, block, end, name, line, lines)
                line += lines
                if progress is not None:
                    progress(run.counts.read)
        return run.finish(split)
    except BaseException:
        run.writer.abort()
        raise


def _arrow_chunk(run: _SplitRun, block: bytes, end: int, name: str, first: int, lines: int) -> None:
    """One chunk of JSON Lines, ``block[:end]`` (its first line is line ``first + 1`` of the file), through the twin."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc

    from .converters.columnar import read_jsonl
    from .readers import Position, iter_jsonl, parse_line

    chunk = memoryview(block)[:end]
    table = read_jsonl(chunk)
    result = None
    if table is not None and table.num_rows == lines:
        result = run.conv.table(table, run.spec.options)
    if result is None:
        pending = []
        for item in iter_jsonl(io.BytesIO(chunk), name, start=first + 1):
            pending.append(item)
            if len(pending) >= BATCH:
                run.counts.read += len(pending)
                run.batch(pending)
                pending = []
        run.counts.read += len(pending)
        run.batch(pending)
        return
    import numpy as np

    run.counts.read += lines
    split_lines = None

    def raw(i: int) -> bytes:
        nonlocal split_lines
        if split_lines is None:
            split_lines = bytes(chunk).split(b"\n")
        return split_lines[i]

    kept = np.setdiff1d(np.arange(lines), np.asarray(result.leave, dtype=np.int64))
    numbers = pa.array(kept + first + 1).cast(pa.string())
    ids = pc.binary_join_element_wise(f"{name}:", numbers, "")
    if result.native_ids is not None:
        ids = pc.coalesce(result.native_ids, ids)
    columns = {"id": ids, "source": pa.array([run.source]).take(pa.array(np.zeros(len(kept), dtype=np.int8))),
               "meta": _arrow_meta(table, result.consumed, kept, raw), **result.columns}
    run.place(lines, result, columns, lambda i: (Position(name, "line", first + i + 1), parse_line(raw(i))))


_JSON_ESCAPES = r'["\\\x00-\x1f]'


def _arrow_meta(table, consumed: frozenset, kept, raw):
    """The ``meta`` JSON of the kept rows: the fields the converter did not consume, exactly as orjson writes them.

    Without such fields it is ``{}``; one string or integer field without nulls is
    assembled in Arrow (a null may be a missing key, and key order is only known
    from the line); anything else is taken from the line itself.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    extra = [name for name in table.column_names if name not in consumed]
    if not extra:
        return pa.array(["{}"]).take(pa.array(np.zeros(len(kept), dtype=np.int8)))
    if len(extra) == 1:
        column = table.column(extra[0]).combine_chunks().take(pa.array(kept))
        head = "{" + orjson.dumps(extra[0]).decode() + ":"
        if column.null_count == 0 and column.type == pa.string() and \
                not pc.any(pc.match_substring_regex(column, _JSON_ESCAPES)).as_py():
            return pc.binary_join_element_wise(head + '"', column, '"}', "")
        if column.null_count == 0 and pa.types.is_integer(column.type):
            return pc.binary_join_element_wise(head, column.cast(pa.string()), "}", "")
    from .readers import parse_line

    dumps = orjson.dumps
    return [dumps({k: v for k, v in parse_line(raw(i)).items() if k not in consumed}, default=str).decode()
            for i in kept.tolist()]


def normalize(splits: dict[str, list[tuple[Path, str]]], spec: FormatSpec, *, source: str, out_dir: Path,
              strict: bool = False, inputs_fingerprint: str = "", progress=None,
              converter: Converter | None = None) -> dict:
    """Convert every split and publish ``out_dir`` atomically; returns the manifest.

    ``converter`` is the declared record of ``spec.converter`` when the caller
    already holds it; otherwise it is looked up once here, and handed on.
    """
    conv = converter or get(spec.converter)
    check_options(conv, spec.options)
    with staged_dir(out_dir) as work:
        manifest = {
            "source": source,
            "format": conv.produces,
            "converter": conv.name,
            "converter_version": conv.version,
            "reader": spec.reader,
            "options": spec.options,
            "encoding": spec.encoding,
            "inputs": inputs_fingerprint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "splits": {},
        }
        done = 0  # records of the splits before this one: progress counts for the whole dataset
        for split, inputs in splits.items():
            split_conv, split_spec = _table_plan(conv, spec, split) if conv.tables else (conv, spec)
            counts = convert_split(inputs, split_conv, split_spec, source=source, split=split, directory=work,
                                   strict=strict,
                                   progress=None if progress is None else (lambda n, base=done: progress(base + n)))
            done += counts.read
            manifest["splits"][split] = asdict(counts)
            if conv.tables:
                manifest["splits"][split]["table"] = split_conv.produces
        (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return orjson.loads((out_dir / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
