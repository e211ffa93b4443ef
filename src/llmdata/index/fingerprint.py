"""Is the index current? The catalog files' stat compared with what the index was built from.

The check runs on every ``llmdata search`` and ``info``, so it reads no file:
one ``stat`` per catalog file and one row of the index. A file's stat is
its device, inode, size, modification and change times (nanoseconds); an
edit changes at least one of them. A file written so shortly before the index
read it that a second edit in the same clock tick could keep its stat (the
"racy" case of version control systems) is marked racy, and the index then
stays "not current" until a rebuild, which hashes what it cannot trust,
sees the file settled.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..store.db import connect_ro
from .tables import INDEX_SCHEMA_VERSION

# A file modified less than this before the index read it is not trusted by its stat alone.
RACY_SECONDS = 2.0


def file_stat(path: Path) -> str | None:
    """The stat of a catalog file as stored in the index, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def is_racy(stat: str, read_at_ns: int) -> bool:
    """Was the file changed so shortly before ``read_at_ns`` that its stat may not show the next edit?"""
    mtime_ns, ctime_ns = (int(x) for x in stat.split(":")[3:5])
    return read_at_ns - max(mtime_ns, ctime_ns) < RACY_SECONDS * 1e9


def fingerprint(paths: list[Path]) -> str:
    """The index layout version and every catalog file's path and stat, as JSON text.

    Not hashed: it is only compared for equality and is a few hundred bytes
    per catalog file, while a hash would load OpenSSL on every search.
    """
    import json

    return json.dumps([f"index-schema={INDEX_SCHEMA_VERSION}",
                       *([str(path), file_stat(path) or "<missing>"] for path in paths)], ensure_ascii=False)


def same_contents(db: Path, paths: list[Path]) -> bool:
    """Was ``db`` built from exactly these catalog files, byte for byte? (For a shared, read-only store: an
    index built on another machine has other ``stat`` values for the same files.) Hashes every file."""
    try:
        conn = connect_ro(db)
        try:
            stored = dict(conn.execute("SELECT path, sha256 FROM catalog_file ORDER BY place"))
            row = conn.execute("SELECT value FROM meta WHERE key='index_schema'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    import hashlib

    if not row or row[0] != str(INDEX_SCHEMA_VERSION) or list(stored) != [str(p) for p in paths]:
        return False
    for path in paths:
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() != stored[str(path)]:
                return False
        except OSError:
            return False
    return True


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
