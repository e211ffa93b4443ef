"""Run a converter over raw files: read, convert, write rows and rejects, count, publish.

Every record read is accounted for: it either produced rows (written) or went
to the rejects file with its position and reason (rejected), so
``written + rejected == read`` always holds and is stored in the manifest.
Output is assembled in a private directory and renamed into place only when
every split is complete; a failure leaves the previous output untouched.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import orjson

from ..errors import UsageError
from ..store.atomic import staged_dir
from . import arrowpath
from .converters import Converter, Reject, get
from .readers import READER_OPTIONS, read_records
from .run import FormatSpec, SplitCounts, StrictConversionError, _SplitRun

MANIFEST = "manifest.json"
__all__ = ["FormatSpec", "SplitCounts", "StrictConversionError", "check_options", "convert_split", "normalize",
           "read_manifest"]


def convert_split(inputs: list[tuple[Path, str]], conv: Converter, spec: FormatSpec, *, source: str, split: str,
                  directory: Path, strict: bool = False, progress=None) -> SplitCounts:
    """Convert the files of one split into ``directory``; ``inputs`` are (path, name shown in positions)."""
    if arrowpath.eligible(conv, spec, inputs):
        return arrowpath.convert_split_arrow(inputs, spec, conv, source, split, directory, strict, progress)
    run = _SplitRun(conv, spec, source, split, directory, strict)
    try:
        records = (item for path, name in inputs
                   for item in read_records(path, spec.reader, name=name, encoding=spec.encoding, options=spec.options))
        run.consume(with_subjects(records, spec), progress)
        return run.finish(split)
    except BaseException:
        run.writer.abort()
        raise


def with_subjects(items, spec: FormatSpec):
    """``subject_from: filename``: each record's subject from its file (per record: zip members are files of their own)."""
    if spec.options.get("subject_from") != "filename":
        yield from items
        return
    for item in items:
        if isinstance(item[1], dict):
            item[1].setdefault("subject", _subject_from(item[0].file))
        yield item


def _table_plan(conv: Converter, spec: FormatSpec, split: str) -> tuple[Converter, FormatSpec]:
    """corpus / queries / qrels.<name> -> the layout's table converter, and the reader it reads with.

    The entry's reader is used when the table converter accepts it; otherwise the
    table's own first reader (a BEIR qrels file is TSV whatever the corpus is). The table's
    reader options are defaults: the entry's own options win (T2Ranking's TSVs have a header).
    """
    from .converters.retrieval import table_of

    try:
        table = conv.tables[table_of(split)]
    except Reject as exc:
        raise StrictConversionError(str(exc), hint="name retrieval splits corpus, queries and qrels.<split>") from None
    reader = spec.reader if not table.readers or spec.reader in table.readers else table.readers[0]
    return table, FormatSpec(reader, table.name, {**table.reader_options, **spec.options}, spec.encoding)


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
        manifest = manifest_head(conv, spec, source, inputs_fingerprint)
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


def manifest_head(conv: Converter, spec: FormatSpec, source: str, inputs_fingerprint: str) -> dict:
    """What every engine's manifest says before its splits: format, converter and version, reader, inputs."""
    return {
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


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return orjson.loads((out_dir / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
