"""Plain exports: ``<name>.<split>.jsonl`` (one JSON object per row) and ``<name>.<split>.parquet``.

Columns are the common format's (DESIGN.md), so ``datasets.load_dataset("json"
| "parquet", data_files=...)`` and TRL read them as they read ``llmdata.load``.
"""

from __future__ import annotations

from pathlib import Path


from .export_io import read_rows, safe_name, write_file, dump_jsonl


def write_jsonl(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **_) -> dict:
    files, rows = [], {}
    for split, shards in splits.items():
        data = read_rows(shards)
        file = f"{safe_name(name)}.{safe_name(split)}.jsonl"
        dump_jsonl(out / file, data)
        files.append(file)
        rows[split] = len(data)
    return {"files": files, "rows": rows, "skipped": {}}


def write_parquet(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **_) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files, rows = [], {}
    for split, shards in splits.items():
        tables = [pq.read_table(s) for s in shards]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        file = f"{safe_name(name)}.{safe_name(split)}.parquet"
        write_file(out / file, lambda path, table=table: pq.write_table(table, path, compression="zstd"))
        files.append(file)
        rows[split] = table.num_rows
    return {"files": files, "rows": rows, "skipped": {}}
