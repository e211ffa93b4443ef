"""Normalization on Ray Data: the local engine's readers and converters, one byte range of a raw file per task.

The pipeline is ``ray.data.from_items(units)`` → ``map_batches(convert)`` →
counts back on the driver. A unit is a whole raw file, or for plain JSON
Lines a range of whole lines of it (``RANGE_BYTES``, cut at newlines, with the
number of its first line), so one big file is spread over every CPU. The map
step runs exactly what ``convert_split`` runs (``pipeline._SplitRun``: the row
converter, the columnar twin, the same ids ``file:line``, ``meta`` and
rejects; plain JSON Lines through pyarrow's reader, ``arrowpath.consume_lines``
on the unit's bytes) and writes its Parquet shards and rejects with the local
``SplitWriter`` into its own folder of the staged output, on the shared
store. The driver then renames the shards into ``<split>-NNNNN.parquet`` in
file order, joins the rejects files in file order, adds up the counts
(``read == written + rejected`` per unit, so per split) and publishes the
folder with its manifest atomically, as the local engine does. A task that
Ray retries starts its folder afresh.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import orjson

from ..catalog.model import Entry
from ..normalize import arrowpath, pipeline, store
from ..normalize.pipeline import MANIFEST, FormatSpec, SplitCounts
from ..normalize.readers import Position, iter_jsonl, read_records
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
            if encoding != "utf-8" or not arrowpath.is_plain_jsonl(path) or path.stat().st_size <= range_bytes:
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
    path, name = Path(unit["path"]), unit["name"]
    try:
        if arrowpath.eligible(split_conv, split_spec, [(path, name)]):  # the local engine's columnar path
            if unit["end"] < 0:
                arrowpath.consume_file(run, path, name)
            else:  # a byte range of plain JSON Lines
                arrowpath.consume_lines(run, path, name, unit["start"], unit["end"], unit["line"])
        else:
            run.consume(pipeline.with_subjects(_records(unit, split_spec), split_spec))
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
    """``normalize.store.normalize_fetched`` with Ray Data converting: same folder, manifest and reuse rule."""
    return store.normalize_fetched(entry, revision, files, strict=strict, force=force, allow_empty=allow_empty,
                                   partial=partial, runner=ray_runner(range_bytes))


def ray_runner(range_bytes: int | None = None):
    """A ``store.normalize_fetched`` runner that converts on Ray, cutting JSONL files into ``range_bytes`` units."""
    return functools.partial(normalize_on_ray, range_bytes=range_bytes)


def normalize_on_ray(splits: dict[str, list[tuple[Path, str]]], spec: FormatSpec, *, source: str, out_dir: Path,
                     strict: bool = False, inputs_fingerprint: str = "", progress=None, converter=None,
                     range_bytes: int | None = None) -> dict:
    """``pipeline.normalize`` on Ray Data: units converted by tasks, then assembled in order and published."""
    converter = converter or pipeline.get(spec.converter)
    pipeline.check_options(converter, spec.options)
    with staged_dir(out_dir) as work:
        counts = run_units(plan_units(splits, spec.encoding, range_bytes), spec, source, strict, work)
        manifest = pipeline.manifest_head(converter, spec, source, inputs_fingerprint)
        manifest["engine"] = "ray"
        manifest["splits"] = {split: _assemble(split, [c for c in counts if c["split"] == split], work)
                              for split in splits}
        shutil.rmtree(work / UNITS)
        (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
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
