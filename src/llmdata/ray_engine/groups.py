"""Dedup's grouping on Ray Data: rows hashed into buckets, each bucket grouped whole by one ``map_groups`` call.

The local engine finds duplicates with dicts keyed by a row's 128-bit hash or
by a band of its MinHash signature. Here every (key, position) row gets a
``bucket`` column (the key modulo the bucket count: equal keys share a bucket),
``ray.data``'s ``groupby("bucket").map_groups`` hands each bucket to one task,
and numpy sorts it by (key, position) and walks the runs of equal keys. Keys
are compared whole (both hash halves; every value of a band and the band's
number), so a run is exactly a dict entry of the local engine, and the
earliest position of a run is the row the local engine met first.

- :func:`exact_losers`: (row, first row with the same key) for every later copy;
- :func:`band_members`: rows that share some band with another row (LSH pass 1);
- :func:`band_pairs`: (row, earliest row sharing one of its narrow bands) (pass 2);
- :func:`similar_pairs`: those pairs whose signatures agree on at least ``threshold``
  of their values, joined with the signatures by two more bucketed groupings.
"""

from __future__ import annotations

BUCKET_ROWS = 1_000_000  # rows per bucket a task sorts at once (memory bound of one grouping task)


def buckets_for(rows: int, cpus: int) -> int:
    """Buckets for a grouping of ``rows`` rows: at least one per CPU, at most ``BUCKET_ROWS`` rows each."""
    return max(1, cpus, -(-rows // BUCKET_ROWS))


def _runs(keys: list, pos):
    """Sort rows by (keys..., pos); returns the order, which sorted rows start a run of equal keys, and
    for each sorted row the index of its run's start (the run's earliest position)."""
    import numpy as np

    order = np.lexsort([pos, *reversed(keys)])
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for key in keys:
        k = key[order]
        new[1:] |= k[1:] != k[:-1]
    first = np.flatnonzero(new)[np.cumsum(new) - 1]
    return order, new, first


def _matrix(column, width: int):
    """A fixed-size list column of uint32 as an (n, width) array."""
    import numpy as np

    flat = column.combine_chunks().flatten() if hasattr(column, "combine_chunks") else column.flatten()
    return np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.uint32).reshape(-1, width)


def _np(table, name: str):
    import numpy as np

    return np.asarray(table.column(name).to_numpy())


def _pairs_table(pos, other):
    import pyarrow as pa

    return pa.table({"pos": pa.array(pos, type=pa.int64()), "other": pa.array(other, type=pa.int64())})


# ---------------------------------------------------------------- exact duplicates

def exact_group(table):
    """One bucket of (pos, k0, k1): every later copy of a key, with the key's first position."""
    k0, k1, pos = _np(table, "k0"), _np(table, "k1"), _np(table, "pos")
    order, new, first = _runs([k0, k1], pos)
    sorted_pos = pos[order]
    return _pairs_table(sorted_pos[~new], sorted_pos[first][~new])


def with_key_bucket(table, buckets: int):
    """The ``bucket`` of each (pos, k0, k1) row."""
    import numpy as np
    import pyarrow as pa

    return table.append_column("bucket", pa.array((_np(table, "k0") % np.uint64(buckets)).astype(np.int64)))


def exact_losers(features, buckets: int):
    """Dataset of (pos, other): each row whose key an earlier row has, and the first row with that key."""
    keyed = features.select_columns(["pos", "k0", "k1"]).map_batches(
        with_key_bucket, batch_format="pyarrow", fn_kwargs={"buckets": buckets})
    return keyed.groupby("bucket", num_partitions=buckets).map_groups(exact_group, batch_format="pyarrow")


# ---------------------------------------------------------------- LSH bands

def _explode(table, rows: int, num_perm: int, buckets: int, keep_ref):
    return explode(table, rows, num_perm, buckets, cached(keep_ref))


def explode(table, rows: int, num_perm: int, buckets: int, mask):
    """Every (row, band) of the signatures of the rows ``mask`` keeps (by pos), as a row: pos, band,
    the band's values, nonempty, bucket."""
    import numpy as np
    import pyarrow as pa

    pos = _np(table, "pos")
    sig = _matrix(table.column("sig"), num_perm)
    nonempty = _np(table, "nonempty")
    alive = mask[pos]
    pos, sig, nonempty = pos[alive], sig[alive], nonempty[alive]
    bands = num_perm // rows  # as the local engine, values past the last whole band are in no band
    values = sig[:, : bands * rows].reshape(-1, rows)
    band = np.tile(np.arange(bands, dtype=np.int32), len(pos))
    with np.errstate(over="ignore"):
        mixed = values[:, 0].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + band.astype(np.uint64)
    return pa.table({
        "pos": pa.array(np.repeat(pos, bands), type=pa.int64()),
        "band": pa.array(band),
        "values": pa.FixedSizeListArray.from_arrays(pa.array(values.ravel(), type=pa.uint32()), rows),
        "nonempty": pa.array(np.repeat(nonempty, bands)),
        "bucket": pa.array(((mixed >> np.uint64(32)) % np.uint64(buckets)).astype(np.int64)),
    })


def _band_runs(table, rows: int):
    values = _matrix(table.column("values"), rows)
    keys = [_np(table, "band")] + [values[:, j] for j in range(rows)]
    pos = _np(table, "pos")
    order, new, first = _runs(keys, pos)
    return pos[order], new, first, order


def members_group(table, rows: int):
    """One bucket of exploded bands: the non-empty rows whose (band, values) another row shares."""
    import numpy as np
    import pyarrow as pa

    sorted_pos, new, first, order = _band_runs(table, rows)
    run = np.cumsum(new) - 1
    size = np.bincount(run)
    shared = size[run] > 1
    nonempty = _np(table, "nonempty")[order]
    return pa.table({"pos": pa.array(np.unique(sorted_pos[shared & nonempty]), type=pa.int64())})


def pairs_group(table, rows: int):
    """One bucket of exploded bands: (row, the earliest row with the same (band, values)) for the later ones."""
    sorted_pos, new, first, _ = _band_runs(table, rows)
    return _pairs_table(sorted_pos[~new], sorted_pos[first][~new])


def _banded(features, rows: int, num_perm: int, buckets: int, keep_ref):
    return features.select_columns(["pos", "sig", "nonempty"]).map_batches(
        _explode, batch_format="pyarrow",
        fn_kwargs={"rows": rows, "num_perm": num_perm, "buckets": buckets, "keep_ref": keep_ref})


def band_members(features, rows: int, num_perm: int, buckets: int, keep_ref):
    """Dataset of pos: the kept, non-empty rows sharing a whole band (``rows`` values) with another kept row."""
    return _banded(features, rows, num_perm, buckets, keep_ref).groupby(
        "bucket", num_partitions=buckets).map_groups(members_group, batch_format="pyarrow",
                                                     fn_kwargs={"rows": rows})


def band_pairs(features, rows: int, num_perm: int, buckets: int, keep_ref):
    """Dataset of (pos, other), among the rows ``keep_ref``'s mask keeps: for each band a row shares, the
    earliest row holding that band (other < pos)."""
    return _banded(features, rows, num_perm, buckets, keep_ref).groupby(
        "bucket", num_partitions=buckets).map_groups(pairs_group, batch_format="pyarrow", fn_kwargs={"rows": rows})


# ---------------------------------------------------------------- the Jaccard check, as two bucketed joins

_CACHE: dict = {}


def cached(ref_box):
    """A broadcast object (``[ObjectRef]``), fetched once per worker process."""
    import ray

    [ref] = ref_box
    key = ref.hex()
    if key not in _CACHE:
        while len(_CACHE) >= 4:  # a build broadcasts a few objects; older builds' go
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = ray.get(ref)
    return _CACHE[key]


def side(table, by: str, buckets: int, num_perm: int):
    """Pairs or signatures in one schema (pos, other, sig, bucket); signatures have other = -1."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    sig = table.column("sig") if "sig" in table.column_names else pa.nulls(n, pa.list_(pa.uint32(), num_perm))
    other = table.column("other") if "other" in table.column_names else pa.array(np.full(n, -1), type=pa.int64())
    bucket = (_np(table, by) % buckets).astype(np.int64)
    return pa.table({"pos": table.column("pos"), "other": other,
                     "sig": sig.combine_chunks() if hasattr(sig, "combine_chunks") else sig,
                     "bucket": pa.array(bucket)})


def _lookup(table, num_perm: int):
    """Split a joined bucket into its signatures (sorted by pos) and its pairs."""
    import numpy as np

    other = _np(table, "other")
    is_sig = other < 0
    sigs = table.filter(is_sig)
    pairs = table.filter(~is_sig)
    spos = _np(sigs, "pos")
    order = np.argsort(spos, kind="stable")
    return spos[order], _matrix(sigs.column("sig"), num_perm)[order], pairs


def attach_group(table, num_perm: int):
    """Pairs bucketed by ``other``, with the signatures bucketed by pos: each pair gets ``other``'s signature."""
    import numpy as np
    import pyarrow as pa

    spos, smat, pairs = _lookup(table, num_perm)
    at = np.searchsorted(spos, _np(pairs, "other"))
    values = smat[at].ravel() if len(at) else np.zeros(0, dtype=np.uint32)
    return pa.table({"pos": pairs.column("pos"), "other": pairs.column("other"),
                     "sig": pa.FixedSizeListArray.from_arrays(pa.array(values, type=pa.uint32()), num_perm)})


def compare_group(table, num_perm: int, threshold: float):
    """Pairs carrying ``other``'s signature, bucketed by pos with the signatures: keep those similar enough."""
    import numpy as np

    spos, smat, pairs = _lookup(table, num_perm)
    mine = smat[np.searchsorted(spos, _np(pairs, "pos"))]
    theirs = _matrix(pairs.column("sig"), num_perm)
    similar = np.mean(mine == theirs, axis=1) >= threshold if len(mine) else np.zeros(0, dtype=bool)
    return _pairs_table(_np(pairs, "pos")[similar], _np(pairs, "other")[similar])


def _select(table, keep_ref):
    return table.filter(cached(keep_ref)[_np(table, "pos")])


def similar_pairs(pairs, features, keep_ref, num_perm: int, threshold: float, buckets: int):
    """(pos, other) of ``pairs`` whose signatures' estimated Jaccard similarity reaches ``threshold``
    (the local engine's ``np.mean(sig[pos] == sig[other]) >= threshold``); the signatures are those of
    the rows ``keep_ref``'s mask keeps."""
    def bucketed(ds, by):
        return ds.map_batches(side, batch_format="pyarrow",
                              fn_kwargs={"by": by, "buckets": buckets, "num_perm": num_perm})

    sigs = bucketed(features.select_columns(["pos", "sig"]).map_batches(
        _select, batch_format="pyarrow", fn_kwargs={"keep_ref": keep_ref}), "pos")
    attached = bucketed(pairs, "other").union(sigs).groupby("bucket", num_partitions=buckets).map_groups(
        attach_group, batch_format="pyarrow", fn_kwargs={"num_perm": num_perm})
    return bucketed(attached, "pos").union(sigs).groupby("bucket", num_partitions=buckets).map_groups(
        compare_group, batch_format="pyarrow", fn_kwargs={"num_perm": num_perm, "threshold": threshold})
