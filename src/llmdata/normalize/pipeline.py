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

    def rows(self, position, record: object) -> None:
        """The row converter on one record: rows written, or the record rejected with its reason."""
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
        for k, row in enumerate(rows):
            for flag in row.flags:
                self.counts.flagged[flag] = self.counts.flagged.get(flag, 0) + 1
            meta = {key: value for key, value in record.items() if key not in row.consumed}
            meta.update(row.fields.pop("_meta", None) or {})
            row.fields["id"] = base if len(rows) == 1 else f"{base}#{k}"
            row.fields["source"] = self.source
            row.fields["meta"] = orjson.dumps(meta, default=str).decode()
            self.writer.add(row.fields)
        return None

    def batch(self, items: list) -> None:
        """A batch through the columnar twin when there is one; row by row otherwise."""
        where = [i for i, (_, rec) in enumerate(items) if isinstance(rec, dict)]
        result = self.conv.batch([items[i][1] for i in where], self.spec.options) if self.conv.batch and where else None
        if result is None:
            for position, record in items:
                self.rows(position, record)
            return
        columns, rejected = result
        by_row = set(range(len(items))) - set(where)
        by_row.update(where[i] for i in rejected)
        for index in sorted(by_row):  # in file order; the row converter says why each one fails
            self.rows(*items[index])
        kept = [items[i] for i in where if i not in by_row]
        consumed = columns.pop("consumed")
        plain = columns.pop("plain", False)
        dumps = orjson.dumps
        metas = ["{}"] * len(kept) if plain else [
            "{}" if rec.keys() <= consumed else dumps({k: v for k, v in rec.items() if k not in consumed},
                                                      default=str).decode() for _, rec in kept]
        ids = [f"{pos.file}:{pos.number}" for pos, _ in kept]
        self.writer.add_columns({"id": ids, "source": [self.source] * len(kept), "meta": metas, **columns})
        self.counts.written += len(kept)

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
        counts = _convert_split_arrow(inputs, spec, conv, source, split, directory, strict, progress)
        if counts is not None:
            return counts
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


def _arrow_eligible(conv: Converter, spec: FormatSpec, inputs) -> bool:
    """Plain UTF-8 JSON Lines files and a converter with a table twin: pyarrow's JSON reader can do the parsing."""
    from .readers import is_plain_jsonl

    return (conv.table is not None and spec.reader in ("json", "jsonl") and spec.encoding == "utf-8"
            and all(is_plain_jsonl(path) for path, _ in inputs))


def _convert_split_arrow(inputs, spec: FormatSpec, conv, source: str, split: str, directory: Path,
                         strict: bool, progress=None) -> SplitCounts | None:
    """Parse with pyarrow's JSON reader and convert whole blocks; None means "use the record path".

    Rows map to lines only when the file has no blank lines, which is checked by
    counting: any surprise (a malformed line, a type change between blocks, extra
    fields) abandons this attempt before anything is published.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    from .readers import Position, count_lines

    table_fn = conv.table
    run = _SplitRun(conv, spec, source, split, directory, strict)
    try:
        for path, name in inputs:
            lines = count_lines(path)
            row = 0
            with pj.open_json(path, read_options=pj.ReadOptions(block_size=4 << 20)) as reader:
                for batch in reader:
                    table = pa.Table.from_batches([batch])
                    result = table_fn(table, spec.options)
                    if result is None:
                        raise _UseRecordPath
                    messages, rejected = result
                    skip = set(rejected)
                    for index in rejected:
                        record = {k: v for k, v in table.slice(index, 1).to_pylist()[0].items() if v is not None}
                        run.rows(Position(name, "line", row + index + 1), record)
                    n = table.num_rows
                    ids = [f"{name}:{row + i + 1}" for i in range(n) if i not in skip]
                    run.writer.add_columns({"id": ids, "source": [source] * len(ids), "meta": ["{}"] * len(ids),
                                            "messages": messages})
                    run.counts.read += n
                    run.counts.written += len(ids)
                    row += n
                    if progress is not None:
                        progress(run.counts.read)
            if row != lines:
                raise _UseRecordPath
        return run.finish(split)
    except (_UseRecordPath, pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        run.writer.abort()
        for leftover in directory.glob(f"{split}-*.parquet"):
            leftover.unlink()
        (directory / f"{split}.rejects.jsonl").unlink(missing_ok=True)
        return None
    except BaseException:
        run.writer.abort()
        raise


class _UseRecordPath(Exception):
    """The fast path met something only the record path handles exactly."""


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
