"""``llmdata build RECIPE --engine ray``: the local build's stages with the per-row work on Ray Data.

What runs where:

- driver: the recipe, the lock checks and the inputs (fetched and normalized
  with the Ray engine when missing), as ``recipes.build.plan`` does; the
  sampling draw (``sample.allocate`` / ``sample.draw`` over row numbers); one
  keep flag per mixture row; the report, card, exports and lock
  (``recipes.build.account`` / ``write``).
- Ray tasks, one per unit (:mod:`.units`: a range of rows of one input
  shard): the filters (``sample.keep_mask``), then each picked row's
  features (:mod:`.features`: exact-dedup hash, MinHash signature, the
  benchmarks it shares an n-gram with, against an index broadcast with ``ray.put``).
- Ray Data groupings (:mod:`.groups`): exact duplicates, LSH bands (pass 1),
  narrow bands (pass 2) and the Jaccard check.
- Ray tasks again: each output shard gathered by a grouping on its shard
  number, sorted into mixture (or shuffled) order and written with
  ``recipes.build.write_shard``.

Rows are numbered in mixture order (recipe order, then row order) and every
"first copy wins" rule takes the lowest number, so the same rows are kept,
lost to the same rows, flagged for the same benchmarks and written in the
same order, to the same bytes, as the local engine; ``--locked`` works across
engines. The output directory, like the store, must be on a filesystem every
node sees.
"""

from __future__ import annotations

import functools
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from ..recipes import build as local, decontam, sample
from ..recipes.inputs import materialize
from . import connect, features, units

SHUFFLE = "sort_shuffle_pull_based"


def _materialize():
    from .fetch import download_all
    from .normalize import ray_runner

    return functools.partial(materialize, fetch_runner=download_all, normalize_runner=ray_runner())


# ---------------------------------------------------------------- filters and sampling

def _filter_unit(batch, fmt: str, filters: list):
    import numpy as np
    import orjson
    import pyarrow as pa

    unit = units.unit_of(batch)
    mask, reasons = sample.keep_mask(units.read(unit).to_pylist(), fmt, filters[unit["input"]])
    return pa.table({"index": [unit["index"]], "mask": [np.asarray(mask, dtype=bool).tobytes()],
                     "reasons": [orjson.dumps(reasons).decode()]})


def _sample(p: local.Plan, planned: list[dict], stats: list) -> list:
    """Rows each input contributes (sorted row numbers), drawn as the local engine draws them."""
    import numpy as np
    import orjson

    recipe = p.recipe
    filtered = [u for u in planned if recipe.inputs[u["input"]].filters.active]
    masks: dict[int, tuple] = {}
    if filtered:
        out = units.collect(units.over_units(filtered, _filter_unit, fmt=p.format,
                                             filters=[item.filters for item in recipe.inputs]),
                            ["index", "mask", "reasons"])
        masks = {int(k): (m, r) for k, m, r in zip(out["index"], out["mask"], out["reasons"])}
    candidates, passed = [], {}
    for i, item in enumerate(recipe.inputs):
        mine = [u for u in planned if u["input"] == i]
        available = sum(units.size(u) for u in mine)
        reasons: dict = {}
        if item.filters.active:
            mask = np.concatenate([np.frombuffer(masks[u["index"]][0], dtype=bool) for u in mine]) if mine else \
                np.zeros(0, dtype=bool)
            for u in mine:
                for reason, n in orjson.loads(masks[u["index"]][1]).items():
                    reasons[reason] = reasons.get(reason, 0) + n
            candidates.append(np.flatnonzero(mask).tolist())
        else:
            candidates.append(range(available))
        stats[i].available, stats[i].passed, stats[i].filtered_out = available, len(candidates[i]), reasons
        passed[i] = len(candidates[i])
    wanted = sample.allocate(recipe, passed)
    picks = []
    for i, item in enumerate(recipe.inputs):
        drawn = sample.draw(recipe.seed, item, candidates[i], wanted[i])
        stats[i].wanted, stats[i].taken = wanted[i], len(drawn)
        picks.append(np.asarray(drawn, dtype=np.int64))
    return picks


def _inputs_of(bases: list[int]):
    """Mixture positions -> the index of their input in the recipe."""
    import numpy as np

    edges = np.asarray(bases[1:-1], dtype=np.int64)
    return lambda positions: np.searchsorted(edges, positions, side="right")


def _sources(bases: list[int], ids: list[str]):
    """Mixture positions -> the ids of their inputs."""
    input_of = _inputs_of(bases)
    return lambda positions: [ids[k] for k in input_of(positions).tolist()]


# ---------------------------------------------------------------- output shards

def _payload_unit(batch, shard_rows: int):
    import numpy as np
    import orjson
    import pyarrow as pa

    unit = units.unit_of(batch)
    table = units.read(unit)
    dest = np.frombuffer(unit["dest"], dtype=np.int64)
    flags = [None] * len(dest)
    for k, names in orjson.loads(unit["flags"]).items():
        flags[int(k)] = names
    chosen = dest >= 0
    table = table.filter(pa.array(chosen))
    return table.append_column("__out", pa.array(dest[chosen])).append_column(
        "__shard", pa.array(dest[chosen] // shard_rows)).append_column(
        "__flag", pa.array([f for f, c in zip(flags, chosen) if c], type=pa.string()))


def _write_group(table, work: str, names: list[str], schema, flag: bool):
    import pyarrow as pa

    table = table.sort_by("__out")
    shard = table.column("__shard")[0].as_py()
    body = pa.Table.from_arrays([table.column(f.name).combine_chunks().cast(f.type) for f in schema], schema=schema)
    if flag:
        body = local.flag_contaminated(body, [tuple(f.split("\n")) if f else () for f in
                                              table.column("__flag").to_pylist()])
    local.write_shard(body, Path(work) / names[shard])
    return pa.table({"shard": [shard], "rows": [body.num_rows]})


def _write_data(p: local.Plan, picked: list[dict], total: int, order, flagged: dict, flag: bool,
                work: Path) -> list[str]:
    """The kept rows in ``order`` as the output shards, each gathered and written by one Ray task."""
    import numpy as np
    import orjson
    import pyarrow.parquet as pq

    recipe = p.recipe
    schema = pq.ParquetFile(p.inputs[0].shards(recipe.inputs[0].split)[0]).schema_arrow
    names = local.shard_names(len(order), recipe.shard_rows)
    if not len(order):
        return local.write_shards(work, schema.empty_table(), p.format, recipe.shard_rows)
    dest = np.full(total, -1, dtype=np.int64)
    dest[order] = np.arange(len(order))
    marked = np.asarray(sorted(flagged) if flag else [], dtype=np.int64)
    items = []
    for u in picked:
        n = units.size(u)
        lo, hi = np.searchsorted(marked, [u["pos"], u["pos"] + n])
        marks = {str(k - u["pos"]): "\n".join(flagged[k]) for k in marked[lo:hi].tolist()}
        items.append({**u, "dest": dest[u["pos"]: u["pos"] + n].tobytes(), "flags": orjson.dumps(marks).decode()})
    ds = units.over_units(items, _payload_unit, shard_rows=recipe.shard_rows)
    written = units.collect(ds.groupby("__shard", num_partitions=len(names)).map_groups(
        _write_group, batch_format="pyarrow",
        fn_kwargs={"work": str(work), "names": names, "schema": schema, "flag": flag}), ["shard", "rows"])
    if sorted(written["shard"].tolist()) != list(range(len(names))) or int(written["rows"].sum()) != len(order):
        raise RuntimeError(f"the output shards came back incomplete ({len(written['shard'])} of {len(names)})")
    return names


# ---------------------------------------------------------------- the build

@contextmanager
def _sort_shuffle(ray):
    """Groupings shuffle with tasks (sort-based), not with aggregator actors started per grouping: a build
    groups six times, and each actor start costs seconds on a small cluster."""
    ctx = ray.data.DataContext.get_current()
    saved = ctx.shuffle_strategy
    ctx.shuffle_strategy = SHUFFLE
    try:
        yield
    finally:
        ctx.shuffle_strategy = saved


def build(recipe_path: str | Path, out: str | Path, *, locked: bool = False, catalogs=None) -> local.BuildReport:
    """``recipes.build.build`` with the per-row stages on Ray (see module docstring); the same report and bytes."""
    ray = connect()
    with _sort_shuffle(ray):
        return _build(ray, recipe_path, out, locked=locked, catalogs=catalogs)


def _build(ray, recipe_path, out, *, locked: bool, catalogs) -> local.BuildReport:
    import numpy as np

    p = local.plan(recipe_path, out, locked=locked, catalogs=catalogs, materialize=_materialize())
    recipe = p.recipe
    stats = [local.SourceStats(item.id, item.split) for item in recipe.inputs]
    planned = units.plan_units([s.shards(item.split) for item, s in zip(recipe.inputs, p.inputs)])
    picked, bases = units.with_picks(planned, _sample(p, planned, stats))
    total = bases[-1]
    source_of = _sources(bases, [item.id for item in recipe.inputs])
    keep = np.ones(total, dtype=bool)
    exact_lost, near_lost = Counter(), Counter()
    flagged, per_bench, bench_info = {}, Counter(), {}
    index = decontam.index_benchmarks(p.bench_tables, recipe.decontam.ngram) if p.bench_tables else None
    if total and (recipe.exact_dedup or recipe.near_dup is not None or index is not None):
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        found = features.compute(picked, p.format, recipe, index)
        exact_lost, near_lost = features.dedup(recipe, found, keep, cpus, source_of)
        if index is not None:
            hits = features.contamination_hits(found, keep)
            flagged, per_bench = local.tally_contamination(
                hits, dict(zip([i for i, _ in hits], source_of([i for i, _ in hits]))), keep, recipe.decontam.action)
        del found
    if index is not None:
        bench_info = {name: {"items": index.items[name], "too_short": index.too_short[name]} for name in index.names}
    kept = np.flatnonzero(keep)
    rows = Counter()
    for k, n in enumerate(np.bincount(_inputs_of(bases)(kept), minlength=len(recipe.inputs)).tolist()):
        if n:
            rows[recipe.inputs[k].id] += n
    report = local.account(p, stats, exact_lost, near_lost, Counter(source_of(list(flagged))), rows, per_bench,
                           bench_info)
    order = kept[np.random.default_rng(recipe.seed).permutation(len(kept))] if recipe.shuffle else kept
    flag = bool(flagged) and recipe.decontam.action == "flag"
    local.write(p, report, lambda work: _write_data(p, picked, total, order, flagged, flag, work))
    return report
