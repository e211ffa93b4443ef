"""Write normalized rows as Parquet shards, and rejects as JSON Lines, into a work directory.

Rows are buffered per column and flushed in batches, so memory stays bounded
by the batch, not the dataset. A batch is encoded and compressed on a writer
thread while the next one is converted (pyarrow releases the GIL there); one
batch waits at most, and an error there is raised by the next call. The
caller publishes the directory by rename once every split is complete.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .formats import FORMAT_COLUMNS, arrow_schema

BATCH_ROWS = 20_000
SHARD_ROWS = 1_000_000


def _dictionary_columns(fmt: str) -> list[str]:
    """Columns worth dictionary-encoding: the few distinct values ones. Trying it on text columns costs
    time (a dictionary is built until it overflows) for nothing."""
    schema = arrow_schema(fmt)
    names = [n for n in ("source", "subject", "category", "answer", "entry_point") if n in schema.names]
    return names + [f"{n}.list.element.role" for n in ("messages", "prompt", "chosen", "rejected") if n in schema.names
                    and str(schema.field(n).type).startswith("list")]


class SplitWriter:
    def __init__(self, directory: Path, fmt: str, split: str, *, shard_rows: int = SHARD_ROWS) -> None:
        self.directory, self.fmt, self.split, self.shard_rows = directory, fmt, split, shard_rows
        self.columns = FORMAT_COLUMNS[fmt]
        self.buffer: dict[str, list] = {c: [] for c in self.columns}
        self.shards: list[str] = []
        self.rows = 0
        self._writer = None
        self._shard_rows = 0
        self._rejects = None
        self.rejects = 0
        self._pool = None
        self._pending = None

    def add(self, row: dict) -> None:
        for column in self.columns:
            self.buffer[column].append(row.get(column))
        if len(self.buffer["id"]) >= BATCH_ROWS:
            self._flush()

    def add_columns(self, columns: dict) -> None:
        """A whole batch at once (lists or Arrow arrays per column), after any buffered rows."""
        import pyarrow as pa

        if not columns["id"]:
            return
        self._flush()
        schema = arrow_schema(self.fmt)
        arrays = [columns[name] if name in columns else pa.nulls(len(columns["id"]), schema.field(name).type)
                  for name in self.columns]
        table = pa.Table.from_arrays([pa.array(a, type=schema.field(n).type) if isinstance(a, list) else
                                      a.cast(schema.field(n).type) for a, n in zip(arrays, self.columns)],
                                     schema=schema)
        self._write(table)

    def reject(self, position: str, reason: str, raw: object) -> None:
        if self._rejects is None:
            self._rejects = open(self.directory / f"{self.split}.rejects.jsonl", "wb")  # noqa: SIM115
        record = {"position": position, "reason": reason, "record": raw}
        self._rejects.write(orjson.dumps(record, default=str) + b"\n")
        self.rejects += 1

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.buffer["id"]:
            return
        table = pa.Table.from_pydict(self.buffer, schema=arrow_schema(self.fmt))
        self.buffer = {c: [] for c in self.columns}
        self._write(table)

    def _write(self, table) -> None:
        """Hand ``table`` to the writer thread, once the one before it is written."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="llmdata-write")
        self._wait()
        self._pending = self._pool.submit(self._write_now, table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write_now(self, table) -> None:
        import pyarrow.parquet as pq

        count = table.num_rows
        if self._writer is None or self._shard_rows >= self.shard_rows:
            self._close_shard()
            name = f"{self.split}-{len(self.shards):05d}.parquet"
            self._writer = pq.ParquetWriter(self.directory / name, arrow_schema(self.fmt), compression="zstd",
                                            use_dictionary=_dictionary_columns(self.fmt))
            self.shards.append(name)
            self._shard_rows = 0
        self._writer.write_table(table)
        self._shard_rows += count
        self.rows += count

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self._flush()
        self._finish_thread()
        if not self.shards:  # an empty split still gets a readable shard: the schema and no row group at all
            import pyarrow.parquet as pq

            name = f"{self.split}-00000.parquet"  # (a 0-row row group makes `datasets` ask for batches of size 0)
            pq.ParquetWriter(self.directory / name, arrow_schema(self.fmt), compression="zstd").close()
            self.shards.append(name)
        self._close_shard()
        if self._rejects is not None:
            self._rejects.close()

    def _finish_thread(self) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def abort(self) -> None:
        try:
            self._finish_thread()
        except Exception:  # noqa: BLE001 - aborting: the error that made us abort is the one raised
            pass
        self._close_shard()
        if self._rejects is not None:
            self._rejects.close()
