"""The first build of an index: written beside its place without a journal, then linked into place whole.

A first build writes every page of a new file (150 MiB for 100,000
entries). In WAL mode each page is written twice, to the log and then by
the checkpoint, to protect a previous state that a new file does not have.
So when there is no index file yet, the build goes to a staged file next to
it with only an in-memory rollback journal (enough for the rebuild's own
ROLLBACK) and no syncs, which is then switched to WAL, synced once and
hard-linked to the index's name. The link only ever creates the name: if
another process created the file meanwhile (a fetch writes its ledger into
the same file), the staged file is dropped and the caller builds in the
existing file the usual way. A crash leaves a staged file, never a
half-built index; the next first build (under the same lock) removes it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path


def build_staged(db: Path, run: Callable[[sqlite3.Connection], int]) -> int | None:
    """``run(conn)`` on a new staged file, then the file linked to ``db``; None (nothing linked) if ``db`` exists
    by then or cannot be linked. Call with the index lock held."""
    db.parent.mkdir(parents=True, exist_ok=True)
    for stale in db.parent.glob(f"{db.name}.build-*"):  # left by a build that crashed
        stale.unlink(missing_ok=True)
    staged = db.with_name(f"{db.name}.build-{os.getpid()}")
    try:
        conn = sqlite3.connect(staged, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=MEMORY")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-16384")
            count = run(conn)
            conn.execute("PRAGMA journal_mode=WAL")  # as every connection to the index expects
        finally:
            conn.close()
        _fsync(staged)
        try:
            os.link(staged, db)
        except OSError:  # created meanwhile, or a file system without hard links
            return None
        _fsync(db.parent)
        return count
    finally:
        staged.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # a folder that cannot be synced (some file systems): the file itself was
    finally:
        os.close(fd)
