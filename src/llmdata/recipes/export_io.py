"""Helpers every exporter shares: read shards, write a file (or JSON Lines) atomically, make names safe."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..store.atomic import staging_path


def read_rows(shards: list[Path]) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for shard in shards:
        rows += pq.read_table(shard).to_pylist()
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


def dump_jsonl(final: Path, records: list[dict]) -> None:
    """``records`` as JSON Lines at ``final``, whole or not at all."""
    import orjson

    def dump(path: Path) -> None:
        with open(path, "wb") as f:
            for record in records:
                f.write(orjson.dumps(record) + b"\n")

    write_file(final, dump)


def safe_name(text: str) -> str:
    """A file- and task-name-safe form of an id or subject (letters, digits, _ . -)."""
    import re

    cleaned = re.sub(r"[^\w.-]+", "_", text, flags=re.ASCII).strip("_")
    return cleaned or "default"
