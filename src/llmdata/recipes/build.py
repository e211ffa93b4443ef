"""``llmdata build RECIPE --out DIR``: inputs -> filters and sampling -> dedup -> decontamination -> output.

The output directory holds ``data/train-*.parquet`` (the common format with
its ``source`` column), ``README.md`` (the dataset card), ``exports/<kind>/``
when the recipe asks, and ``llmdata.lock``. It is assembled aside and renamed
into place only when complete; with ``locked`` the inputs are first compared
with the lock, and the new bytes with the lock's hashes, before anything is
replaced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import LlmdataError, Problem, UsageError
from ..store.atomic import publish_dir, staging_path
from . import card, decontam, dedup, lock, sample
from .inputs import Stored, entry_for, stored_eval_entries
from .inputs import materialize as inputs_materialize
from .spec import Recipe, RecipeError, load_recipe_file
from .text import row_key, row_text

TRAINING_FORMATS = ("chat", "preference", "text")


class LockMismatchError(LlmdataError):
    """--locked: an input (or the recipe, or the output) differs from the lock."""

    exit_code = 1


@dataclass
class SourceStats:
    id: str
    split: str
    available: int = 0
    passed: int = 0
    filtered_out: dict = field(default_factory=dict)
    wanted: int = 0
    taken: int = 0
    exact_dups: int = 0
    near_dups: int = 0
    contaminated: int = 0
    rows: int = 0


@dataclass
class BuildReport:
    name: str
    out: Path
    format: str
    rows: int
    sources: list[SourceStats]
    exact_lost: list[dict]
    near_lost: list[dict]
    contamination: dict
    licence: dict
    outputs: list[dict]
    locked: bool = False

    def as_dict(self) -> dict:
        data = asdict(self)
        data["out"] = str(self.out)
        return data


def _inputs(recipe: Recipe, catalogs, materialize=None) -> list[Stored]:
    materialize = materialize or inputs_materialize
    stored, problems = [], []
    for item in recipe.inputs:
        s = materialize(entry_for(item.id, catalogs))
        if s.format not in TRAINING_FORMATS:
            problems.append(Problem(str(recipe.path), item.line, None, item.id, "id",
                                    f"{item.id} is {s.format} data; a mixture takes {', '.join(TRAINING_FORMATS)}"))
        stored.append(s)
    formats = {s.format for s in stored}
    if not problems and len(formats) > 1:
        problems.append(Problem(str(recipe.path), None, None, None, "datasets",
                                f"inputs mix formats ({', '.join(sorted(formats))})", "build one mixture per format"))
    if problems:
        raise RecipeError(problems)
    for item, s in zip(recipe.inputs, stored):
        s.shards(item.split)  # unknown split: a clear error before any work
    return stored


def _benchmarks(recipe: Recipe, inputs: list[Stored], catalogs, materialize=None) -> tuple[list[Stored], dict]:
    materialize = materialize or inputs_materialize
    cfg = recipe.decontam
    if cfg is None:
        return [], {}
    own = {s.entry.id for s in inputs}
    if cfg.against is not None:
        entries = [entry_for(i, catalogs) for i in cfg.against]
        chosen = [materialize(e) for e in entries]
    else:
        chosen = [materialize(e, fetch_missing=False) for e in stored_eval_entries(catalogs) if e.id not in own]
    tables = {}
    for s in chosen:
        if s.format not in decontam_formats():
            raise UsageError(f"{s.entry.id} is {s.format} data, not a benchmark (mcq, qa or code)")
        splits = [sp for sp in s.splits if (sp in cfg.splits if cfg.splits else sp != "train")]
        tables[s.entry.id] = [(s.read(sp).to_pylist(), s.format) for sp in splits]
    return chosen, tables


def decontam_formats() -> tuple[str, ...]:
    return ("mcq", "qa", "code")


@dataclass
class Plan:
    """A build's inputs, checked: the recipe, the stored datasets and benchmarks, and what the lock records."""

    recipe: Recipe
    out: Path
    old_lock: dict | None
    inputs: list[Stored]
    benchmarks: list[Stored]
    bench_tables: dict
    facts: list[dict]
    bench_facts: list[dict]

    @property
    def format(self) -> str:
        return self.inputs[0].format


def plan(recipe_path: str | Path, out: str | Path, *, locked: bool = False, catalogs=None,
         materialize=None) -> Plan:
    """Read the recipe, check ``out`` and the lock, and get every input into the store (``materialize``: how)."""
    recipe = load_recipe_file(recipe_path)
    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()) and not (out / lock.LOCK).is_file():
        raise UsageError(f"{out} is not empty and holds no {lock.LOCK}: it would be replaced",
                         hint="give an empty or new directory, or an earlier build's --out")
    old_lock = lock.read(out) if locked else None
    if locked and old_lock is None:
        raise UsageError(f"--locked: no {lock.LOCK} in {out}", hint="build once without --locked to write it")
    if old_lock and old_lock["recipe"]["sha256"] != recipe.digest:
        raise LockMismatchError(f"the recipe differs from the one in {out / lock.LOCK}",
                                hint="build without --locked to accept the new recipe")
    inputs = _inputs(recipe, catalogs, materialize)
    benchmarks, bench_tables = _benchmarks(recipe, inputs, catalogs, materialize)
    facts = [{**s.facts(), "split": item.split, "take": {item.take: item.amount if item.take != "all" else True}}
             for item, s in zip(recipe.inputs, inputs)]
    bench_facts = [s.facts() for s in benchmarks]
    if old_lock:
        changes = lock.diff_inputs(old_lock["inputs"], facts) + lock.diff_inputs(old_lock["benchmarks"], bench_facts)
        if changes:
            raise LockMismatchError("inputs changed since the lock was written:\n  " + "\n  ".join(changes),
                                    hint="build without --locked to accept them and write a new lock")
    return Plan(recipe, out, old_lock, inputs, benchmarks, bench_tables, facts, bench_facts)


def build(recipe_path: str | Path, out: str | Path, *, locked: bool = False, catalogs=None) -> BuildReport:
    """Build the mixture a recipe describes into ``out`` (see module docstring)."""
    import numpy as np
    import pyarrow as pa

    p = plan(recipe_path, out, locked=locked, catalogs=catalogs)
    recipe, inputs, bench_tables = p.recipe, p.inputs, p.bench_tables
    fmt = inputs[0].format
    stats = [SourceStats(item.id, item.split) for item in recipe.inputs]

    # filters, then sampling
    rows_by_input, candidates, passed = [], [], {}
    for i, (item, s) in enumerate(zip(recipe.inputs, inputs)):
        table = s.read(item.split)
        rows = table.to_pylist()
        mask, reasons = sample.keep_mask(rows, fmt, item.filters) if item.filters.active else ([True] * len(rows), {})
        candidates.append([k for k, ok in enumerate(mask) if ok])
        rows_by_input.append((table, rows))
        stats[i].available, stats[i].passed, stats[i].filtered_out = len(rows), len(candidates[i]), reasons
        passed[i] = len(candidates[i])
    wanted = sample.allocate(recipe, passed)
    tables, rows, sources = [], [], []
    for i, item in enumerate(recipe.inputs):
        picks = sample.draw(recipe.seed, item, candidates[i], wanted[i])
        stats[i].wanted, stats[i].taken = wanted[i], len(picks)
        table, all_rows = rows_by_input[i]
        tables.append(table.take(pa.array(picks, type=pa.int64())))
        rows += [all_rows[k] for k in picks]
        sources += [item.id] * len(picks)
    del rows_by_input
    mixture = pa.concat_tables(tables) if tables else None

    # dedup, then decontamination
    keep = [True] * len(rows)
    exact_lost, near_lost = Counter(), Counter()
    if recipe.exact_dedup:
        result = dedup.exact([row_key(r, fmt) for r in rows], sources)
        keep, exact_lost = result.keep, result.lost
    texts = [row_text(r, fmt) for r in rows]
    if recipe.near_dup is not None:
        result = dedup.near(texts, sources, keep, recipe.near_dup, seed=recipe.seed)
        keep, near_lost = result.keep, result.lost
    flagged: dict[int, tuple[str, ...]] = {}
    per_bench: Counter = Counter()
    bench_info = {}
    if bench_tables:
        index = decontam.index_benchmarks(bench_tables, recipe.decontam.ngram)
        alive = [i for i, k in enumerate(keep) if k]
        hits = zip(alive, decontam.scan([texts[i] for i in alive], index, recipe.decontam.ngram))
        flagged, per_bench = tally_contamination(hits, sources, keep, recipe.decontam.action)
        bench_info = {name: {"items": index.items[name], "too_short": index.too_short[name]} for name in index.names}
    kept = [i for i, k in enumerate(keep) if k]
    report = account(p, stats, exact_lost, near_lost, Counter(sources[i] for i in flagged),
                     Counter(sources[i] for i in kept), per_bench, bench_info)
    if recipe.shuffle:
        kept = [kept[j] for j in np.random.default_rng(recipe.seed).permutation(len(kept)).tolist()]
    final = mixture.take(pa.array(kept, type=pa.int64())) if mixture is not None else None
    if flagged and recipe.decontam.action == "flag":
        final = flag_contaminated(final, [flagged.get(i, ()) for i in kept])
    write(p, report, lambda work: write_shards(work, final, fmt, recipe.shard_rows))
    return report


def tally_contamination(hits, sources, keep: list[bool], action: str) -> tuple[dict, Counter]:
    """``hits``: (row, benchmarks it shares an n-gram with) of the rows still kept, in mixture order.
    Returns the flagged rows and rows per benchmark and per (source, benchmark); ``drop`` unkeeps them."""
    flagged: dict[int, tuple[str, ...]] = {}
    per_bench: Counter = Counter()
    for i, names in hits:
        if names:
            flagged[i] = names
            per_bench.update(names)
            for name in names:
                per_bench[(sources[i], name)] += 1
            if action == "drop":
                keep[i] = False
    return flagged, per_bench


def account(p: Plan, stats: list[SourceStats], exact_lost: Counter, near_lost: Counter, contaminated: Counter,
            rows: Counter, per_bench: Counter, bench_info: dict) -> BuildReport:
    """The report from what the stages decided: losses by (loser, winner) source, contaminated and kept rows
    by source, rows per benchmark and per (source, benchmark)."""
    from .licence import roll_up

    recipe = p.recipe
    ids = [s.id for s in stats]
    for (loser, _winner), count in exact_lost.items():
        stats[ids.index(loser)].exact_dups += count
    for (loser, _winner), count in near_lost.items():
        stats[ids.index(loser)].near_dups += count
    for source, count in contaminated.items():
        stats[ids.index(source)].contaminated += count
    for source, count in rows.items():
        stats[ids.index(source)].rows += count
    licence = roll_up([s.entry for s in p.inputs], {s.id: s.rows for s in stats})
    contamination = {"ngram": recipe.decontam.ngram if recipe.decontam else None,
                     "action": recipe.decontam.action if recipe.decontam else None,
                     "benchmarks": {name: {**info, "rows": per_bench[name],
                                           "by_source": {s.id: per_bench[(s.id, name)] for s in stats
                                                         if per_bench[(s.id, name)]}}
                                    for name, info in bench_info.items()}}
    return BuildReport(recipe.name, p.out, p.format, sum(rows.values()), stats,
                       [{"source": a, "duplicate_of": b, "rows": n} for (a, b), n in sorted(exact_lost.items())],
                       [{"source": a, "duplicate_of": b, "rows": n} for (a, b), n in sorted(near_lost.items())],
                       contamination, licence, [], p.old_lock is not None)


def flag_contaminated(table, names: list[tuple[str, ...]]):
    """``meta`` of each row with the benchmarks it shares an n-gram with (``decontaminate: {action: flag}``)."""
    import orjson
    import pyarrow as pa

    metas = table.column("meta").to_pylist()
    new = [m if not n else orjson.dumps({**orjson.loads(m or "{}"), "llmdata_contamination": list(n)}).decode()
           for m, n in zip(metas, names)]
    return table.set_column(table.schema.get_field_index("meta"), "meta", pa.array(new, type=pa.string()))


def shard_names(rows: int, shard_rows: int) -> list[str]:
    """The output's Parquet files for ``rows`` rows (one, empty, when there are none)."""
    count = max(1, -(-rows // shard_rows))
    return [f"data/train-{k:05d}-of-{count:05d}.parquet" for k in range(count)]


def write_shard(table, path: Path) -> None:
    """One output shard, written the one way both engines write it (so their bytes agree)."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")


def write_shards(work: Path, table, fmt: str, shard_rows: int) -> list[str]:
    """``table`` (None: the format's empty table) as the output's shards under ``work``; returns their names."""
    from ..normalize.formats import arrow_schema

    if table is None:
        table = arrow_schema(fmt).empty_table()
    names = shard_names(table.num_rows, shard_rows)
    for k, name in enumerate(names):
        write_shard(table.slice(k * shard_rows, shard_rows), work / name)
    return names


def write(p: Plan, report: BuildReport, write_data) -> None:
    """Assemble the output aside (``write_data(work)`` writes ``data/`` and returns its names), then exports,
    card and lock, compared with the old lock under --locked; publish by rename."""
    recipe, out = p.recipe, report.out
    work = staging_path(out)
    work.mkdir(parents=True)
    try:
        (work / "data").mkdir()
        names = list(write_data(work))
        for kind in recipe.exports:
            from .export import export_files

            done = export_files(kind, recipe.name, p.format, {"train": [work / n for n in names]},
                                work / "exports" / kind)
            names += [f"exports/{kind}/{f}" for f in done["files"]]
        (work / "README.md").write_text(card.render(recipe, report), encoding="utf-8")
        names.append("README.md")
        report.outputs = lock.output_hashes(work, names)
        from .. import __version__

        data = {"version": lock.LOCK_VERSION, "llmdata": __version__,
                "recipe": {"name": recipe.name, "file": recipe.path.name if recipe.path else None,
                           "sha256": recipe.digest},
                "seed": recipe.seed, "inputs": p.facts, "benchmarks": p.bench_facts, "outputs": report.outputs}
        if p.old_lock is not None:
            changed = lock.diff_outputs(p.old_lock["outputs"], report.outputs)
            if changed:
                raise LockMismatchError("the rebuild is not byte-identical to the lock:\n  " + "\n  ".join(changed),
                                        hint="the inputs match the lock; a library version change may alter bytes")
        (work / lock.LOCK).write_bytes(lock.render(data))
        publish_dir(work, out)
    except BaseException:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        raise
