"""Helpers every exporter shares: read shards, write a file (or JSON Lines) atomically, make names safe.

Rows are read and written a batch at a time, so exporting a split (or a
built mixture) never holds it whole in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..store.atomic import staging_path

BATCH_ROWS = 4096
ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default largest row group, which pq.write_table of a whole table uses


def read_rows(shards: list[Path]) -> Iterator[dict]:
    """The rows of ``shards``, in order, read ``BATCH_ROWS`` at a time."""
    import pyarrow.parquet as pq

    for shard in shards:
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=BATCH_ROWS):
            yield from batch.to_pylist()


def copy_parquet(shards: list[Path], path: Path) -> int:
    """``shards`` as one Parquet file, one row group in memory at a time; returns the rows written.

    The bytes are those of ``pq.write_table`` over the shards read and joined as one table: the same row
    groups, each made of the same pieces of the same shard tables."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, schema, pending, rows = None, None, [], 0
    try:
        for shard in shards:
            table = pq.read_table(shard)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            while table.num_rows:
                take = min(ROW_GROUP_ROWS - sum(t.num_rows for t in pending), table.num_rows)
                pending.append(table.slice(0, take))
                table = table.slice(take)
                if sum(t.num_rows for t in pending) == ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending))
                    rows, pending = rows + ROW_GROUP_ROWS, []
        if pending or (writer is not None and not rows):  # no rows at all: one empty row group, as write_table
            writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table())
            rows += sum(t.num_rows for t in pending)
    finally:
        if writer is not None:
            writer.close()
    return rows


def write_file(final: Path, write: Callable[[Path], None]) -> None:
    """Write through a hidden staging file, then rename: a reader never sees half a file."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = staging_path(final)
    try:
        write(staged)
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)


def dump_jsonl(final: Path, records: Iterable[dict]) -> int:
    """``records`` as JSON Lines at ``final``, whole or not at all; returns how many."""
    import orjson

    count = 0

    def dump(path: Path) -> None:
        nonlocal count
        with open(path, "wb") as f:
            for record in records:
                f.write(orjson.dumps(record) + b"\n")
                count += 1

    write_file(final, dump)
    return count


def safe_name(text: str) -> str:
    """A file- and task-name-safe form of an id or subject (letters, digits, _ . -)."""
    import re

    cleaned = re.sub(r"[^\w.-]+", "_", text, flags=re.ASCII).strip("_")
    return cleaned or "default"
