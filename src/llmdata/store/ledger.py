"""The fetch ledger in index.sqlite: per verified file, source, revision, sha256, size, time.

Writes go through the typed tables (``ledger_tables``) with one upsert per
row; reads use plain ``sqlite3`` so ``list``, ``verify`` and ``load`` stay light.
A store that has never fetched anything simply has no ledger rows.
"""

from __future__ import annotations

import time

from . import layout
from .db import has_table, read_connection, write_engine


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _create_tables(engine) -> None:  # noqa: ANN001
    """Create the ledger tables if missing, under the index lock: create_all checks, then creates,
    and two first-time processes could both see the table missing."""
    from filelock import FileLock
    from sqlmodel import SQLModel

    from .ledger_tables import LEDGER_TABLES

    with FileLock(str(layout.index_lock()), timeout=120):
        SQLModel.metadata.create_all(engine, tables=LEDGER_TABLES)


def _upsert(conn, model, rows: list[dict]) -> None:  # noqa: ANN001
    """INSERT ... ON CONFLICT DO UPDATE for every row, as one executemany: concurrent fetches of a dataset
    cannot collide (a read-then-insert merge lets two processes both insert the same key), and a dataset of
    thousands of files is recorded in one statement rather than one round trip per file."""
    from sqlalchemy.dialects.sqlite import insert

    if not rows:
        return
    table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={k: statement.excluded[k] for k in rows[0] if k not in keys})
    conn.execute(statement, rows)


def record(dataset_id: str, kind: str, source: str, revision: str, pinned: bool, files: list[dict]) -> None:
    """Record verified files and make ``revision`` the dataset's current one, in one transaction."""
    from .ledger_tables import LedgerDataset, LedgerFile

    now = _now()
    with write_engine() as engine:
        _create_tables(engine)
        with engine.begin() as conn:
            _upsert(conn, LedgerFile, [{"dataset_id": dataset_id, "revision": revision, "path": f["path"],
                                        "source_kind": kind, "source": source, "url": f["url"],
                                        "sha256": f["sha256"], "size": f["size"], "fetched_at": now} for f in files])
            _upsert(conn, LedgerDataset, [{"dataset_id": dataset_id, "revision": revision, "source_kind": kind,
                                           "source": source, "pinned": pinned, "fetched_at": now}])


_DATASET_COLUMNS = "dataset_id, revision, source_kind, source, pinned, fetched_at"


def _datasets(conn, dataset_id: str | None = None) -> list[dict]:  # noqa: ANN001 - sqlite3 connection or None
    if conn is None or not has_table(conn, "ledger_dataset"):
        return []
    where, params = ("WHERE dataset_id = ? ", [dataset_id]) if dataset_id is not None else ("", [])
    rows = conn.execute(f"SELECT {_DATASET_COLUMNS} FROM ledger_dataset {where}ORDER BY dataset_id", params)
    return [{**dict(r), "pinned": bool(r["pinned"])} for r in rows]


def _files(conn, dataset_id: str, revision: str | None) -> list[dict]:  # noqa: ANN001 - sqlite3 connection or None
    if conn is None or not has_table(conn, "ledger_file"):
        return []
    sql = ("SELECT dataset_id, revision, path, source_kind, source, url, sha256, size, fetched_at "
           "FROM ledger_file WHERE dataset_id = ?")
    params: list = [dataset_id]
    if revision:
        sql += " AND revision = ?"
        params.append(revision)
    return [dict(r) for r in conn.execute(sql + " ORDER BY path", params)]


def datasets() -> list[dict]:
    """The current revision of every dataset in the store, by id."""
    with read_connection() as conn:
        return _datasets(conn)


def current(dataset_id: str) -> dict | None:
    """The ledger row of ``dataset_id``'s current revision, or None when it was never fetched."""
    with read_connection() as conn:
        return next(iter(_datasets(conn, dataset_id)), None)


def files(dataset_id: str, revision: str | None = None) -> list[dict]:
    """Recorded files of a dataset (one revision, or all), by path."""
    with read_connection() as conn:
        return _files(conn, dataset_id, revision)


def current_files(dataset_id: str) -> tuple[dict | None, list[dict]]:
    """The current revision's row and its files, read in one transaction (what ``load`` needs, consistently)."""
    with read_connection() as conn:
        if conn is None:
            return None, []
        with conn:  # one read transaction: a fetch committing in between cannot mix two revisions
            conn.execute("BEGIN")
            row = next(iter(_datasets(conn, dataset_id)), None)
            return row, _files(conn, dataset_id, row["revision"]) if row else []


def forget(dataset_id: str) -> int:
    """Delete a dataset's ledger rows; returns how many file rows there were."""
    from sqlalchemy import delete

    from .ledger_tables import LedgerDataset, LedgerFile

    with write_engine() as engine:
        _create_tables(engine)
        with engine.begin() as conn:
            result = conn.execute(delete(LedgerFile).where(LedgerFile.dataset_id == dataset_id))
            conn.execute(delete(LedgerDataset).where(LedgerDataset.dataset_id == dataset_id))
            return result.rowcount or 0
