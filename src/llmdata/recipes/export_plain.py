"""Plain exports: ``<name>.<split>.jsonl`` (one JSON object per row) and ``<name>.<split>.parquet``.

Columns are the common format's (DESIGN.md), so ``datasets.load_dataset("json"
| "parquet", data_files=...)`` and TRL read them as they read ``llmdata.load``.
"""

from __future__ import annotations

from pathlib import Path


from .export_io import copy_parquet, read_rows, safe_name, write_file, dump_jsonl


def write_jsonl(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **_) -> dict:
    files, rows = [], {}
    for split, shards in splits.items():
        file = f"{safe_name(name)}.{safe_name(split)}.jsonl"
        rows[split] = dump_jsonl(out / file, read_rows(shards))
        files.append(file)
    return {"files": files, "rows": rows, "skipped": {}}


def write_parquet(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **_) -> dict:
    files, rows = [], {}
    for split, shards in splits.items():
        file = f"{safe_name(name)}.{safe_name(split)}.parquet"

        def write(path: Path, shards: list[Path] = shards, split: str = split) -> None:
            rows[split] = copy_parquet(shards, path)

        write_file(out / file, write)
        files.append(file)
    return {"files": files, "rows": rows, "skipped": {}}
