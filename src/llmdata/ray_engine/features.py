"""Each mixture row's dedup and decontamination features, computed by Ray tasks; then the decisions.

A task per unit computes, for its picked rows, exactly what the local engine
computes row by row: the exact-dedup hash (``dedup.key_digest`` of
``text.row_key``, as two uint64), the MinHash signature (``dedup.shingle_hashes``
and ``dedup.digests`` with the recipe's ``num_perm``, shingles and seed) and
the benchmarks the row shares an n-gram with (``decontam.scan`` against the
benchmark index, built once on the driver and broadcast with ``ray.put``).
The materialized features stay in Ray's object store; :func:`dedup` groups
them (:mod:`.groups`) and brings back only who lost to whom.
"""

from __future__ import annotations

from collections import Counter

from ..recipes import decontam, dedup as local_dedup
from ..recipes.text import row_key, row_text
from . import groups, units


def _features_unit(batch, fmt: str, exact: bool, near, seed: int, index_ref, ngram: int):
    import numpy as np
    import pyarrow as pa

    unit = units.unit_of(batch)
    rows = units.read(unit).to_pylist()
    columns = {"pos": pa.array(np.arange(unit["pos"], unit["pos"] + len(rows)), type=pa.int64())}
    if exact:
        keys = np.frombuffer(b"".join(local_dedup.key_digest(row_key(r, fmt)) for r in rows), dtype=np.uint64)
        columns["k0"], columns["k1"] = pa.array(keys[0::2]), pa.array(keys[1::2])
    texts = [row_text(r, fmt) for r in rows] if near is not None or index_ref is not None else []
    if near is not None:
        columns.update(signature_columns(texts, near, seed))
    if index_ref is not None:
        found = decontam.scan(texts, groups.cached(index_ref), ngram)
        columns["contam"] = pa.array(["\n".join(names) for names in found], type=pa.string())
    return pa.table(columns)


def compute(picked: list[dict], fmt: str, recipe, index):
    """The features of every picked row, materialized in Ray's object store (``index``: benchmarks, or None)."""
    import ray

    return units.over_units(picked, _features_unit, fmt=fmt, exact=recipe.exact_dedup, near=recipe.near_dup,
                            seed=recipe.seed, index_ref=[ray.put(index)] if index is not None else None,
                            ngram=recipe.decontam.ngram if recipe.decontam else 0).materialize()


def signature_columns(texts: list[str], near, seed: int) -> dict:
    """``sig`` (each text's MinHash signature, as ``dedup.near`` computes it) and ``nonempty`` (it has shingles)."""
    import numpy as np
    import pyarrow as pa

    shingles, offsets = local_dedup.shingle_hashes(texts, near)
    sig = np.asarray(local_dedup.digests(shingles, offsets, near, seed).to_rows(), dtype=np.uint32)
    sig = sig.reshape(-1, near.num_perm)
    return {"sig": pa.FixedSizeListArray.from_arrays(pa.array(sig.ravel(), type=pa.uint32()), near.num_perm),
            "nonempty": pa.array(np.diff(offsets.astype(np.int64)) > 0)}


def earliest_partners(pos, other):
    """Of (row, similar earlier row) pairs: each row once, with its earliest partner (``dedup.near`` takes
    the first candidate, in mixture order, that is similar enough)."""
    import numpy as np

    order = np.lexsort([other, pos])
    pos, other = pos[order], other[order]
    first = np.ones(len(pos), dtype=bool)
    first[1:] = pos[1:] != pos[:-1]
    return pos[first], other[first]


def _lost(losers, winners, source_of) -> Counter:
    return Counter(zip(source_of(losers), source_of(winners)))


def dedup(recipe, features, keep, cpus: int, source_of) -> tuple[Counter, Counter]:
    """Exact, then near duplicates, as ``dedup.exact`` and ``dedup.near`` decide them: clears the losers'
    ``keep`` flags; returns the (loser source, winner source) counts of each."""
    import numpy as np
    import ray

    total = len(keep)
    exact_lost, near_lost = Counter(), Counter()
    if recipe.exact_dedup:
        pairs = units.collect(groups.exact_losers(features, groups.buckets_for(total, cpus)), ["pos", "other"])
        keep[pairs["pos"]] = False
        exact_lost = _lost(pairs["pos"], pairs["other"], source_of)
    cfg = recipe.near_dup
    if cfg is None:
        return exact_lost, near_lost
    bands, rows = local_dedup.lsh_params(cfg.threshold, cfg.num_perm)
    members = units.collect(groups.band_members(features, rows, cfg.num_perm, groups.buckets_for(
        int(keep.sum()) * bands, cpus), [ray.put(keep.copy())]), ["pos"])["pos"]
    if not len(members):
        return exact_lost, near_lost
    flagged = np.zeros(total, dtype=bool)
    flagged[members] = True
    flagged_ref = [ray.put(flagged)]
    buckets = groups.buckets_for(len(members) * (cfg.num_perm // local_dedup.SECOND_PASS_ROWS), cpus)
    pairs_ds = groups.band_pairs(features, local_dedup.SECOND_PASS_ROWS, cfg.num_perm, buckets, flagged_ref)
    similar = units.collect(groups.similar_pairs(pairs_ds, features, flagged_ref, cfg.num_perm, cfg.threshold,
                                                 buckets), ["pos", "other"])
    losers, winners = earliest_partners(similar["pos"], similar["other"])
    keep[losers] = False
    return exact_lost, _lost(losers, winners, source_of)


def _contaminated(table):
    import pyarrow.compute as pc

    return table.select(["pos", "contam"]).filter(pc.not_equal(table.column("contam"), ""))


def contamination_hits(features, keep) -> list[tuple[int, tuple[str, ...]]]:
    """(row, benchmarks) of the kept rows that share an n-gram with a benchmark, in mixture order."""
    found = units.collect(features.map_batches(_contaminated, batch_format="pyarrow"), ["pos", "contam"])
    return sorted((int(i), tuple(c.split("\n"))) for i, c in zip(found["pos"], found["contam"]) if keep[i])
