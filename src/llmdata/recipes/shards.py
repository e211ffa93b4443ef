"""Write a built mixture's ``data/train-*.parquet`` shards from the stream, one shard in memory at a time.

``order`` lists, for each output row, its mixture position (shuffled or not).
Shards are ``shard_rows`` consecutive output rows, each written as one Parquet
row group with zstd, exactly as a whole table sliced into shards would be, so
rebuilds stay byte-identical. In mixture order each shard reads just its own
rows. Shuffled, every shard has rows from everywhere, so groups of up to
``GROUP`` shards are filled in one pass over the mixture, each shard's rows
spilled to an Arrow IPC file under the staging directory until the pass ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .mixture import Mixture

GROUP = 128  # shards filled per pass over the mixture (open spill files at once)
ROW = "__llmdata_row"


def shard_names(rows: int, shard_rows: int) -> list[str]:
    """The output's Parquet files for ``rows`` rows (one, empty, when there are none)."""
    count = max(1, -(-rows // shard_rows))
    return [f"data/train-{k:05d}-of-{count:05d}.parquet" for k in range(count)]


def write_shard(table, path: Path) -> None:
    """One output shard, written the one way every engine writes it (so their bytes agree)."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")


def write_shards(work: Path, table, fmt: str, shard_rows: int) -> list[str]:
    """A whole in-memory table as the output shards (None: the format's empty table)."""
    from ..normalize.formats import arrow_schema

    if table is None:
        table = arrow_schema(fmt).empty_table()
    names = shard_names(table.num_rows, shard_rows)
    for k, name in enumerate(names):
        write_shard(table.slice(k * shard_rows, shard_rows), work / name)
    return names


def write(mixture: Mixture, order, shard_rows: int, work: Path, *, shuffled: bool, empty_schema=None,
          finish: Callable | None = None) -> list[str]:
    """Write the shards into ``work``; ``finish(table, order_slice)`` may rewrite a shard's table first.
    Returns the shard names (relative to ``work``)."""
    import shutil

    names = shard_names(len(order), shard_rows)
    schema = mixture.schema() if mixture.parts else empty_schema
    step = GROUP if shuffled else 1
    for g in range(0, len(names), step):
        shards = range(g, min(len(names), g + step))
        for k, table in _gather(mixture, order, shards, shard_rows, schema, work / ".shards"):
            lo = k * shard_rows
            if finish is not None:
                table = finish(table, order[lo: lo + shard_rows])
            write_shard(table, work / names[k])
    shutil.rmtree(work / ".shards", ignore_errors=True)
    return names


def _gather(mixture: Mixture, order, shards: range, shard_rows: int, schema, spill: Path):
    """``(k, table)`` for each shard ``k`` of ``shards``, its rows in output order."""
    import numpy as np
    import pyarrow as pa

    lo, hi = shards.start * shard_rows, min(len(order), shards.stop * shard_rows)
    wanted = order[lo:hi]
    by_position = np.argsort(wanted, kind="stable")
    positions = wanted[by_position]
    sinks = {k: _Sink(spill / f"{k}.arrow" if len(shards) > 1 else None) for k in shards}
    done = 0
    for rows, batch in mixture.batches(positions=positions):
        dest = by_position[done: done + len(rows)] + lo  # output row of each batch row
        done += len(rows)
        shard = dest // shard_rows
        for k in np.unique(shard).tolist():
            sel = np.flatnonzero(shard == k)
            piece = batch if len(sel) == batch.num_rows else batch.take(pa.array(sel))
            sinks[k].add(piece.append_column(ROW, pa.array(dest[sel] - k * shard_rows)))
    for k in shards:
        table = sinks[k].table(schema.append(pa.field(ROW, pa.int64())))
        rows = np.argsort(table[ROW].to_numpy())
        if (rows != np.arange(len(rows))).any():  # shuffled: a second copy while the rows are put in order
            table = table.take(pa.array(rows))
        table = table.drop_columns([ROW]).replace_schema_metadata(schema.metadata).combine_chunks()
        yield k, table  # (rebound first, so the pieces are freed before the shard is written)


class _Sink:
    """The rows of one shard while its group is read: in memory, or in an Arrow IPC file when given a path."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.pieces, self.writer = path, [], None

    def add(self, batch) -> None:
        import pyarrow as pa

        if self.path is None:
            self.pieces.append(batch)
            return
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pa.ipc.new_stream(self.path, batch.schema,
                                            options=pa.ipc.IpcWriteOptions(compression="lz4"))
        self.writer.write_batch(batch)

    def table(self, schema):
        import pyarrow as pa

        if self.writer is not None:
            self.writer.close()
            with pa.ipc.open_stream(self.path) as reader:
                pieces = list(reader)
            self.path.unlink()
        else:
            pieces = self.pieces
        self.pieces = []
        return pa.Table.from_batches([p.replace_schema_metadata(None) for p in pieces],
                                     schema=schema.remove_metadata())
