"""Open the index for reading, rebuilding it first when the catalog changed.

Only a stale index pays for the rebuild (YAML, jsonschema, sqlmodel); a
current one costs a hash of the catalog bytes and one row read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..catalog import catalog_paths
from ..store import layout
from .fingerprint import fingerprint, read_fingerprint


def open_index(extra_catalogs: list[Path] | None = None) -> sqlite3.Connection:
    """A read connection to an index that reflects the current catalog files."""
    paths = catalog_paths(extra_catalogs)
    db = layout.index_path()
    wanted = fingerprint(paths)
    if read_fingerprint(db) != wanted:
        from .build import rebuild

        rebuild(paths, wanted)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=60000")
    return conn
