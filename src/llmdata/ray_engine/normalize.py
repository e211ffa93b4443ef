"""Normalization on Ray: the local engine's readers and converters, one byte range of a raw file per Ray task.

The driver plans units, runs one Ray task per unit (:func:`run_units`) and
gets their counts back. A unit is a whole raw file, or for plain JSON
Lines a range of whole lines of it (``RANGE_BYTES``, cut at newlines, with the
number of its first line), so one big file is spread over every CPU. A task
runs exactly what ``convert_split`` runs (``pipeline._SplitRun``: the row
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
import logging
import os
import shutil
import time
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
from .fetch import MAX_RETRIES

RANGE_BYTES = 32 << 20
UNITS = ".units"
log = logging.getLogger(__name__)


def plan_units(splits: dict[str, list[tuple[Path, str]]], encoding: str, range_bytes: int | None = None):
    """Every split's files as units of work, in split and file order; plain JSONL files cut at newlines.

    A generator: a range's first line number needs the lines of every range
    before it counted, which means reading the file through, so each unit
    is handed out as soon as it is known and its task runs while the driver
    counts on.
    """
    range_bytes = range_bytes or RANGE_BYTES
    index = 0
    for split, inputs in splits.items():
        for path, name in inputs:
            if encoding != "utf-8" or not arrowpath.is_plain_jsonl(path) or path.stat().st_size <= range_bytes:
                ranges = [(0, -1, 0)]
            else:
                ranges = _line_ranges(path, range_bytes)
            for start, end, line in ranges:
                yield {"split": split, "path": str(path), "name": name, "start": start, "end": end, "line": line,
                       "index": index}
                index += 1


def _line_ranges(path: Path, range_bytes: int):
    """(start, end, lines before start) covering the file, each range ending just after a newline."""
    size, start, lines = path.stat().st_size, 0, 0
    with open(path, "rb") as fh:
        while start < size:
            fh.seek(min(start + range_bytes, size))
            fh.readline()  # on to the end of the line the cut fell in
            end = min(fh.tell(), size) if start + range_bytes < size else size
            yield start, end, lines
            fh.seek(start)
            lines += fh.read(end - start).count(b"\n")
            start = end


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
    """One unit through the local engine's ``_SplitRun`` into ``work/.units/<index>``; returns its counts, with
    the task's wall and CPU times (``timing``: what the driver logs, to see where a run's time goes)."""
    started, cpu = time.time(), time.process_time()
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
            **asdict(counts), "timing": {"pid": os.getpid(), "start": started, "end": time.time(),
                                         "cpu": time.process_time() - cpu}}


def run_units(units, spec: FormatSpec, source: str, strict: bool, work: Path) -> list[dict]:
    """Every unit (an iterable, see :func:`plan_units`) as one Ray task (one CPU each), submitted as it comes;
    their counts in unit order.

    Plain Ray tasks rather than a ``ray.data`` map over the units: the map
    step neither reads nor returns data (a unit is a byte range; its output
    is Parquet on the store), and Ray Data's streaming executor adds a
    scheduling step to every task (it polls its running tasks every 0.1 s
    and starts with a budget of 0 CPUs until its resource coordinator grants
    the cluster's): with tasks of under a second, 2 CPUs did little more
    than 1 (40 tasks sleeping 0.25 s on 2 CPUs took 9 s as a ``ray.data``
    map, 5.1 s as plain tasks; ``benchmarks/ray_normalize.py --scheduler``). The
    first unit that fails cancels the rest; its error is raised as the local
    engine raises it, once no task of the run is left writing.
    """
    ray = connect()
    task = ray.remote(convert_unit).options(num_cpus=1, max_retries=MAX_RETRIES)
    pending, counts = {}, []
    try:
        for unit in units:
            pending[task.remote(unit, spec, source, strict, str(work))] = unit["index"]
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            pending.pop(done[0])
            counts.append(ray.get(done[0]))
    except Exception as exc:  # Ray wraps what the task raised: raise ours as the local engine would
        raise _ours(exc) from None
    finally:
        for ref in pending:  # after a failure (or Ctrl-C): nothing else starts ...
            ray.cancel(ref)
        if pending:  # ... and nothing still running writes into the folder about to be removed
            ray.wait(list(pending), num_returns=len(pending), timeout=60)
    timings = [c.pop("timing") for c in counts]
    log.debug("%d units on Ray: task walls %.2f s, task CPU %.2f s", len(timings),
              sum(t["end"] - t["start"] for t in timings), sum(t["cpu"] for t in timings),
              extra={"timings": timings})
    return sorted(counts, key=lambda c: c["index"])


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
    """``normalize.store.normalize_fetched`` with Ray tasks converting: same folder, manifest and reuse rule."""
    return store.normalize_fetched(entry, revision, files, strict=strict, force=force, allow_empty=allow_empty,
                                   partial=partial, runner=ray_runner(range_bytes))


def ray_runner(range_bytes: int | None = None):
    """A ``store.normalize_fetched`` runner that converts on Ray, cutting JSONL files into ``range_bytes`` units."""
    return functools.partial(normalize_on_ray, range_bytes=range_bytes)


def normalize_on_ray(splits: dict[str, list[tuple[Path, str]]], spec: FormatSpec, *, source: str, out_dir: Path,
                     strict: bool = False, inputs_fingerprint: str = "", progress=None, converter=None,
                     range_bytes: int | None = None) -> dict:
    """``pipeline.normalize`` on Ray: units converted by Ray tasks, then assembled in order and published."""
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
