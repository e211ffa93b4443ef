"""Is the index current? A hash of the catalog files compared with the one stored in the index.

The check is cheap on purpose (hash the catalog bytes, read one row): it runs
on every ``llmdata search`` and must not import YAML, jsonschema or sqlmodel.
"""

from __future__ import annotations

import hashlib
import sqlite3
from functools import lru_cache
from pathlib import Path

from ..store.db import connect_ro
from .fts import INDEX_SCHEMA_VERSION


def fingerprint(paths: list[Path]) -> str:
    """Hash of the index layout version and every catalog file's path and bytes."""
    digest = hashlib.sha256(f"index-schema={INDEX_SCHEMA_VERSION}\n".encode())
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            stat = path.stat()
            digest.update(_file_digest(path, stat.st_mtime_ns, stat.st_size))
        except OSError:
            digest.update(b"<missing>")  # validation reports it when the rebuild runs
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _file_digest(path: Path, _mtime_ns: int, _size: int) -> bytes:
    """SHA-256 of a catalog file, read again only when its stat changes (a process calling ``load``
    in a loop pays for one stat per file, not one hash of the whole catalog)."""
    return hashlib.sha256(path.read_bytes()).digest()


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
