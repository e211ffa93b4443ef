"""Connections to index.sqlite: SQLAlchemy for writes, the standard library for reads.

The search index and the fetch ledger share one SQLite file (WAL mode, so
readers never wait for a writer). Reads use ``sqlite3`` so that ``search``,
``list`` and ``load`` never pay for importing SQLAlchemy.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import layout


def connect_ro(db: Path) -> sqlite3.Connection:
    """A read-only connection that also works when the database's folder is read-only.

    A WAL database normally needs its ``-shm`` file, which a reader creates
    beside it; in a read-only folder that fails ("unable to open database
    file"). There nobody can write through this mount either, so the file is
    opened as immutable: no locks, no shared memory.
    """
    # in a SQLite URI only '%', '?' and '#' of the path need escaping (urllib costs ~10 ms to import)
    uri = "file:" + str(db).replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro"
    if not os.access(db.parent, os.W_OK):
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, timeout=60)
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


@contextmanager
def write_engine(db: Path | None = None):
    """An engine in WAL mode with a generous busy timeout, disposed after use (default: the store's index)."""
    from sqlalchemy import event
    from sqlmodel import create_engine

    db = db or layout.index_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{db}", connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA busy_timeout=60000")

    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def read_connection() -> Iterator[sqlite3.Connection | None]:
    """A read-only connection with rows as mappings, or None when there is no database yet."""
    db = layout.index_path()
    if not db.exists():
        yield None
        return
    conn = connect_ro(db)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None
