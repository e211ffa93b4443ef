"""Normalization on Ray Data: the local engine's readers and converters, one byte range of a raw file per task.

The pipeline is ``ray.data.from_items(units)`` → ``map_batches(convert)`` →
counts back on the driver. A unit is a whole raw file, or for plain JSON
Lines a range of whole lines of it (``RANGE_BYTES``, cut at newlines, with the
number of its first line), so one big file is spread over every CPU. The map
step runs exactly what ``convert_split`` runs (``pipeline._SplitRun``: the row
converter, the columnar twin, the same ids ``file:line``, ``meta`` and
rejects) and writes its Parquet shards and rejects with the local
``SplitWriter`` into its own folder of the staged output, on the shared
store. The driver then renames the shards into ``<split>-NNNNN.parquet`` in
file order, joins the rejects files in file order, adds up the counts
(``read == written + rejected`` per unit, so per split) and publishes the
folder with its manifest atomically, as the local engine does. A task that
Ray retries starts its folder afresh.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import orjson

from ..catalog.model import Entry, thaw
from ..errors import NotNormalizableError
from ..normalize import pipeline
from ..normalize.pipeline import BATCH, MANIFEST, FormatSpec, SplitCounts, read_manifest
from ..normalize.arrowpath import is_plain_jsonl
from ..normalize.readers import Position, iter_jsonl, read_records
from ..normalize.store import _fingerprint, check_not_empty, split_inputs
from ..store import layout
from ..store.atomic import staged_dir
from . import connect

RANGE_BYTES = 32 << 20
UNITS = ".units"


def plan_units(splits: dict[str, list[tuple[Path, str]]], encoding: str, range_bytes: int | None = None) -> list[dict]:
    """Every split's files as units of work, in split and file order; plain JSONL files cut at newlines."""
    range_bytes = range_bytes or RANGE_BYTES
    units = []
    for split, inputs in splits.items():
        for path, name in inputs:
            if encoding != "utf-8" or not is_plain_jsonl(path) or path.stat().st_size <= range_bytes:
                units.append({"split": split, "path": str(path), "name": name, "start": 0, "end": -1, "line": 0})
                continue
            for start, end, line in _line_ranges(path, range_bytes):
                units.append({"split": split, "path": str(path), "name": name, "start": start, "end": end,
                              "line": line})
    for index, unit in enumerate(units):
        unit["index"] = index
    return units


def _line_ranges(path: Path, range_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, lines before start) covering the file, each range ending just after a newline."""
    size, ranges, start, lines = path.stat().st_size, [], 0, 0
    with open(path, "rb") as fh:
        while start < size:
            fh.seek(min(start + range_bytes, size))
            fh.readline()  # on to the end of the line the cut fell in
            end = min(fh.tell(), size) if start + range_bytes < size else size
            ranges.append((start, end, lines))
            fh.seek(start)
            lines += fh.read(end - start).count(b"\n")
            start = end
    return ranges


def _records(unit: dict, spec: FormatSpec):
    path = Path(unit["path"])
    if unit["end"] < 0:
        yield from read_records(path, spec.reader, name=unit["name"], encoding=spec.encoding, options=spec.options)
        return
    with open(path, "rb") as fh:
        fh.seek(unit["start"])
        data = fh.read(unit["end"] - unit["start"])
    offset, new = unit["line"], tuple.__new__
    for position, record in iter_jsonl(io.BytesIO(data), unit["name"], spec.encoding):
        yield new(Position, (position[0], position[1], position[2] + offset)), record


def convert_unit(unit: dict, spec: FormatSpec, source: str, strict: bool, work: str) -> dict:
    """One unit through the local engine's ``_SplitRun`` into ``work/.units/<index>``; returns its counts."""
    conv = pipeline.get(spec.converter)
    split = unit["split"]
    split_conv, split_spec = pipeline._table_plan(conv, spec, split) if conv.tables else (conv, spec)
    folder = Path(work) / UNITS / f"{unit['index']:06d}"
    shutil.rmtree(folder, ignore_errors=True)  # a retried task starts afresh
    folder.mkdir(parents=True)
    run = pipeline._SplitRun(split_conv, split_spec, source, split, folder, strict)
    by_file = split_spec.options.get("subject_from") == "filename"
    pending: list = []
    try:
        for item in _records(unit, split_spec):
            if by_file and isinstance(item[1], dict):
                item[1].setdefault("subject", pipeline._subject_from(item[0].file))
            pending.append(item)
            if len(pending) >= BATCH:
                run.counts.read += len(pending)
                run.batch(pending)
                pending = []
        run.counts.read += len(pending)
        run.batch(pending)
        counts = run.finish(split)
    except BaseException:
        run.writer.abort()
        raise
    return {"index": unit["index"], "split": split, "table": split_conv.produces if conv.tables else None,
            **asdict(counts)}


def _convert_batch(batch: dict, spec: dict, source: str, strict: bool, work: str) -> dict:
    """The ``map_batches`` step: each unit in the batch converted; one row of counts (as JSON) per unit."""
    format_spec = FormatSpec(**spec)
    keys = list(batch)
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, values)}
            for values in zip(*(batch[k] for k in keys))]
    return {"counts": [orjson.dumps(convert_unit(u, format_spec, source, strict, work)).decode() for u in rows]}


def run_units(units: list[dict], spec: FormatSpec, source: str, strict: bool, work: Path) -> list[dict]:
    ray = connect()
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ds = ray.data.from_items(units, override_num_blocks=max(1, len(units)))
    out = ds.map_batches(_convert_batch, batch_size=1, num_cpus=1,
                         fn_kwargs={"spec": asdict(spec), "source": source, "strict": strict, "work": str(work)})
    try:
        rows = out.take_all()
    except Exception as exc:  # Ray wraps what the map step raised: raise ours as the local engine would
        raise _ours(exc) from None
    return sorted((orjson.loads(r["counts"]) for r in rows), key=lambda c: c["index"])


def _ours(exc: BaseException) -> BaseException:
    """The llmdata error inside Ray's wrappers (``cause`` / ``__cause__`` chains), else ``exc`` itself."""
    from ..errors import LlmdataError

    seen, current = 0, exc
    while current is not None and seen < 10:
        if isinstance(current, LlmdataError) and type(current).__module__.startswith("llmdata"):
            return current
        current = getattr(current, "cause", None) or current.__cause__
        seen += 1
    return exc


def _assemble(split: str, parts: list[dict], work: Path) -> dict:
    """One split's unit outputs renamed and joined in file order; its counts summed."""
    total = SplitCounts()
    shards: list[Path] = []
    rejects = work / f"{split}.rejects.jsonl"
    for part in parts:
        folder = work / UNITS / f"{part['index']:06d}"
        for key in ("read", "written", "rejected", "rows"):
            setattr(total, key, getattr(total, key) + part[key])
        for field in ("reject_reasons", "flagged"):
            merged = getattr(total, field)
            for reason, n in part[field].items():
                merged[reason] = merged.get(reason, 0) + n
        shards += [folder / name for name in part["shards"]]
        if part["rejects_file"]:
            with open(rejects, "ab") as out, open(folder / part["rejects_file"], "rb") as src:
                shutil.copyfileobj(src, out)
    # an empty unit writes a schema-only shard: keep one only when the whole split is empty
    shards = list(_with_rows(parts, work)) if total.rows else shards[:1]
    for n, shard in enumerate(shards):
        name = f"{split}-{n:05d}.parquet"
        os.replace(shard, work / name)
        total.shards.append(name)
    total.rejects_file = rejects.name if total.rejected else None
    result = asdict(total)
    if parts and parts[0]["table"]:
        result["table"] = parts[0]["table"]
    return result


def _with_rows(parts: list[dict], work: Path):
    import pyarrow.parquet as pq

    for part in parts:
        folder = work / UNITS / f"{part['index']:06d}"
        for name in part["shards"]:
            if pq.ParquetFile(folder / name).metadata.num_rows:
                yield folder / name


def normalize_fetched(entry: Entry, revision: str, files: list[dict], *, strict: bool = False, force: bool = False,
                      allow_empty: bool = False, partial: bool | None = None,
                      range_bytes: int | None = None) -> dict:
    """``normalize.store.normalize_fetched`` on Ray Data: same output folder, same manifest, same reuse rule."""
    from ..normalize.converters import get

    fmt = entry.format
    raw_dir = layout.raw_dir(entry.id, revision)
    if not fmt.supported:
        raise NotNormalizableError(f"{entry.id} cannot be normalized: {fmt.reason or 'no converter declared'}",
                                   hint=f"the raw files are in {raw_dir}")
    spec = FormatSpec(fmt.reader or "", fmt.converter or "", thaw(fmt.options), fmt.encoding)
    converter = get(spec.converter)
    pipeline.check_options(converter, spec.options)
    splits = split_inputs(entry, raw_dir, files, partial=partial)
    fingerprint = _fingerprint(spec, converter.version, files, splits)
    out = layout.normalized_dir(entry.id, revision, converter.produces)
    current = read_manifest(out)
    if current and current.get("inputs") == fingerprint and not force and not (
            strict and any(c.get("rejected") for c in current["splits"].values())):
        manifest = current
    else:
        layout.require_writable(f"normalizing {entry.id}")
        with staged_dir(out) as work:
            counts = run_units(plan_units(splits, spec.encoding, range_bytes), spec, entry.id, strict, work)
            manifest = {"source": entry.id, "format": converter.produces, "converter": converter.name,
                        "converter_version": converter.version, "reader": spec.reader, "options": spec.options,
                        "encoding": spec.encoding, "inputs": fingerprint,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "engine": "ray",
                        "splits": {split: _assemble(split, [c for c in counts if c["split"] == split], work)
                                   for split in splits}}
            shutil.rmtree(work / UNITS)
            (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    if not allow_empty:
        check_not_empty(manifest, out)
    return manifest


def load_split(dataset_id: str, revision: str, manifest: dict, split: str):
    """Exactly one split's Parquet shards (listed in its manifest, never a glob) as a ``ray.data.Dataset``."""
    ray = connect()
    out = layout.normalized_dir(dataset_id, revision, manifest["format"])
    shards = [str(out / shard) for shard in manifest["splits"][split]["shards"]]
    return ray.data.read_parquet(shards)


def load(entry: Entry, revision: str, files: list[dict], split: str | None, *, allow_empty: bool = False):
    """``llmdata.load(..., engine="ray")``: one split as a ``ray.data.Dataset``, or a dict of them by split."""
    from ..errors import UsageError

    manifest = normalize_fetched(entry, revision, files, allow_empty=allow_empty)
    splits = manifest["splits"]
    if split is not None and split not in splits:
        raise UsageError(f"{entry.id} has no split {split!r}", hint=f"splits: {', '.join(splits)}")
    if split is not None:
        return load_split(entry.id, revision, manifest, split)
    return {name: load_split(entry.id, revision, manifest, name) for name in splits}
