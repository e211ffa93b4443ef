"""The fetch ledger in index.sqlite: per verified file, source, revision, sha256, size, time."""

from __future__ import annotations

import time

from ..index.db import write_engine


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _tables(engine) -> None:  # noqa: ANN001
    """Create the ledger tables if missing, under the index lock: create_all checks, then creates,
    and two first-time processes could both see the table missing."""
    from filelock import FileLock
    from sqlmodel import SQLModel

    from ..index.build import lock_path
    from ..index.models import LEDGER_TABLES

    with FileLock(str(lock_path()), timeout=120):
        SQLModel.metadata.create_all(engine, tables=LEDGER_TABLES)


def _upsert(conn, model, row: dict) -> None:  # noqa: ANN001
    """INSERT ... ON CONFLICT DO UPDATE: one statement, so concurrent fetches of a dataset cannot collide
    (a read-then-insert merge lets two processes both insert the same key)."""
    from sqlalchemy.dialects.sqlite import insert

    table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    statement = insert(table).values(**row)
    conn.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}))


def record(dataset_id: str, kind: str, source: str, revision: str, pinned: bool, files: list[dict]) -> None:
    """Record verified files and make ``revision`` the dataset's current one, in one transaction."""
    from ..index.models import LedgerDataset, LedgerFile

    now = _now()
    with write_engine() as engine:
        _tables(engine)
        with engine.begin() as conn:
            for f in files:
                _upsert(conn, LedgerFile, {"dataset_id": dataset_id, "revision": revision, "path": f["path"],
                                           "source_kind": kind, "source": source, "url": f["url"],
                                           "sha256": f["sha256"], "size": f["size"], "fetched_at": now})
            _upsert(conn, LedgerDataset, {"dataset_id": dataset_id, "revision": revision, "source_kind": kind,
                                          "source": source, "pinned": pinned, "fetched_at": now})


def datasets() -> list[dict]:
    from sqlmodel import Session, select

    from ..index.models import LedgerDataset

    with write_engine() as engine:
        _tables(engine)
        with Session(engine) as session:
            return [row.model_dump() for row in session.exec(select(LedgerDataset).order_by(LedgerDataset.dataset_id))]


def files(dataset_id: str, revision: str | None = None) -> list[dict]:
    from sqlmodel import Session, select

    from ..index.models import LedgerFile

    with write_engine() as engine:
        _tables(engine)
        with Session(engine) as session:
            query = select(LedgerFile).where(LedgerFile.dataset_id == dataset_id)
            if revision:
                query = query.where(LedgerFile.revision == revision)
            return [row.model_dump() for row in session.exec(query.order_by(LedgerFile.path))]


def forget(dataset_id: str) -> int:
    from sqlmodel import Session, delete

    from ..index.models import LedgerDataset, LedgerFile

    with write_engine() as engine:
        _tables(engine)
        with Session(engine) as session:
            result = session.exec(delete(LedgerFile).where(LedgerFile.dataset_id == dataset_id))  # type: ignore[call-overload]
            session.exec(delete(LedgerDataset).where(LedgerDataset.dataset_id == dataset_id))  # type: ignore[call-overload]
            session.commit()
            return result.rowcount or 0
