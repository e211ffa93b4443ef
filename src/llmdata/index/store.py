"""Open the index for reading, rebuilding it first when the catalog changed.

The freshness check is cheap on purpose (hash the catalog bytes, read one
row): it runs on every ``llmdata search`` and must not import YAML, jsonschema
or sqlmodel. Only a stale index pays for the rebuild.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from .. import settings
from ..catalog import catalog_paths
from .fts import INDEX_SCHEMA_VERSION


def fingerprint(paths: list[Path]) -> str:
    """Hash of the index layout version and every catalog file's path and bytes."""
    digest = hashlib.sha256(f"index-schema={INDEX_SCHEMA_VERSION}\n".encode())
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"<missing>")  # validation reports it when the rebuild runs
    return digest.hexdigest()


def read_fingerprint(db: Path) -> str | None:
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def open_index(extra_catalogs: list[Path] | None = None) -> sqlite3.Connection:
    """A read connection to an index that reflects the current catalog files."""
    paths = catalog_paths(extra_catalogs)
    db = settings.index_path()
    wanted = fingerprint(paths)
    if read_fingerprint(db) != wanted:
        from .build import rebuild

        rebuild(paths, wanted)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=60000")
    return conn
