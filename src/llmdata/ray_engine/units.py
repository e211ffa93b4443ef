"""Units of the Ray build's work: ranges of rows of the inputs' shards, one Ray task each.

A unit is ``UNIT_ROWS`` rows of one normalized shard of one input (``first``:
its first row's number in that input). Once sampling has drawn, a unit also
carries its picks (row numbers in the unit, int64 bytes) and ``pos``, the
mixture position of its first pick. Mixture positions are the local engine's
row numbers (recipe order, then row order), so "the first copy wins" means
"the lowest position wins" on every node.
"""

from __future__ import annotations

UNIT_ROWS = 100_000  # rows of one shard a task reads at once


def plan_units(inputs: list[tuple[str, list]]) -> list[dict]:
    """``inputs``: per recipe input, its split's shard paths; every shard cut into ``UNIT_ROWS`` row ranges."""
    import pyarrow.parquet as pq

    units = []
    for i, shards in enumerate(inputs):
        first = 0
        for path in shards:
            rows = pq.ParquetFile(path).metadata.num_rows
            for start in range(0, rows, UNIT_ROWS):
                end = min(start + UNIT_ROWS, rows)
                units.append({"index": len(units), "input": i, "path": str(path), "start": start, "end": end,
                              "first": first + start})
            first += rows
    return units


def with_picks(units: list[dict], picks: list) -> tuple[list[dict], list[int]]:
    """The units holding drawn rows (``picks``: sorted row numbers per input), each with its picks and first
    mixture position; and the mixture position where each input starts (one more: the total)."""
    import numpy as np

    bases = np.concatenate([[0], np.cumsum([len(x) for x in picks])]).astype(np.int64).tolist()
    out = []
    for u in units:
        mine = picks[u["input"]]
        lo, hi = np.searchsorted(mine, [u["first"], u["first"] + u["end"] - u["start"]])
        if hi > lo:
            out.append({**u, "picks": (mine[lo:hi] - u["first"]).tobytes(), "pos": bases[u["input"]] + int(lo)})
    return out, bases


def size(unit: dict) -> int:
    """Rows the unit contributes: its picks once drawn, else its range."""
    return len(unit["picks"]) // 8 if "picks" in unit else unit["end"] - unit["start"]


def read(unit: dict):
    """A unit's rows (only its picks, once they are drawn), reading just the row groups that hold them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(unit["path"])
    sizes = [parquet.metadata.row_group(g).num_rows for g in range(parquet.metadata.num_row_groups)]
    ends = np.cumsum(sizes)
    wanted = [g for g in range(len(sizes)) if ends[g] - sizes[g] < unit["end"] and ends[g] > unit["start"]]
    offset = int(ends[wanted[0]] - sizes[wanted[0]])
    table = parquet.read_row_groups(wanted).slice(unit["start"] - offset, unit["end"] - unit["start"])
    if "picks" in unit:
        table = table.take(pa.array(np.frombuffer(unit["picks"], dtype=np.int64)))
    return table


def unit_of(batch) -> dict:
    """The one unit in a ``map_batches`` batch (``batch_size=1``)."""
    [unit] = batch.to_pylist()
    return unit


def over_units(units: list[dict], fn, **kwargs):
    """``fn(batch, **kwargs)`` as one Ray task per unit (a ``ray.data`` map over the units)."""
    import ray

    return ray.data.from_items(units, override_num_blocks=len(units)).map_batches(
        fn, batch_size=1, batch_format="pyarrow", num_cpus=1, fn_kwargs=kwargs)


def collect(ds, columns: list[str]) -> dict:
    """A small result dataset's columns on the driver (numpy arrays; lists for strings and bytes)."""
    import numpy as np
    import pyarrow as pa
    import ray

    tables = [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
    if not tables:
        return {c: np.zeros(0, dtype=np.int64) for c in columns}
    table = pa.concat_tables(tables)
    return {c: (table.column(c).to_pylist() if not pa.types.is_integer(table.schema.field(c).type)
                else table.column(c).to_numpy()) for c in columns}
