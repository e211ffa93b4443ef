"""Connections to index.sqlite: SQLAlchemy for writes, the standard library for reads.

The search index and the fetch ledger share one SQLite file (WAL mode, so
readers never wait for a writer). Reads use ``sqlite3`` so that ``search``,
``list`` and ``load`` never pay for importing SQLAlchemy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import layout


def connect_ro(db: Path, **options) -> sqlite3.Connection:
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
    conn = sqlite3.connect(uri, uri=True, timeout=60, **options)
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


@dataclass
class _Kept:
    conn: sqlite3.Connection
    pid: int
    identity: tuple[int, ...]


_kept: dict[str, _Kept] = {}
_kept_lock = threading.RLock()
_KEEP = 4  # stores a process reads at once (tests and tools may switch LLMDATA_HOME)


@contextmanager
def read_connection() -> Iterator[sqlite3.Connection | None]:
    """A read-only connection with rows as mappings, or None when there is no database yet.

    The connection is kept open for the next call in this process: opening one
    and parsing the schema (the search index's tables included) costs more than
    the ledger queries ``load`` runs on it. Keeping it is safe because SQLite
    starts every read transaction from the latest commit of any process. It is
    opened again when the file at the path is another one (removed and
    created again: the kept handle keeps the old inode alive, so the new file
    cannot reuse its number), when an immutable connection's file changed at
    all (read-only folder: SQLite then does no change detection), and in a
    forked child (SQLite connections must not cross a fork). Callers are
    serialised: one connection, used by one thread at a time.
    """
    db = layout.index_path()
    try:
        st = os.stat(db)
    except OSError:
        yield None
        return
    with _kept_lock:
        kept = _kept.pop(str(db), None)
        immutable = not os.access(db.parent, os.W_OK)
        identity = (st.st_dev, st.st_ino) + ((st.st_size, st.st_mtime_ns) if immutable else ())
        if kept is not None and (kept.pid != os.getpid() or kept.identity != identity):
            if kept.pid == os.getpid():
                kept.conn.close()
            kept = None  # a connection inherited over fork is left alone, never used or closed
        if kept is None:
            conn = connect_ro(db, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            kept = _Kept(conn, os.getpid(), identity)
        while len(_kept) >= _KEEP:
            _kept.pop(next(iter(_kept))).conn.close()
        _kept[str(db)] = kept
        yield kept.conn


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None
