"""Is the index current? A hash of the catalog files compared with the one stored in the index.

The check is cheap on purpose (hash the catalog bytes, read one row): it runs
on every ``llmdata search`` and must not import YAML, jsonschema or sqlmodel.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from ..store.db import connect_ro
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
    """The fingerprint the index was built from, or None when there is no usable index."""
    if not db.exists():
        return None
    try:
        conn = connect_ro(db)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None
