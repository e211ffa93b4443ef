"""The fetch ledger in index.sqlite: per verified file, source, revision, sha256, size, time."""

from __future__ import annotations

import time

from ..index.db import write_engine


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _tables(engine) -> None:  # noqa: ANN001
    from sqlmodel import SQLModel

    from ..index.models import LEDGER_TABLES

    SQLModel.metadata.create_all(engine, tables=LEDGER_TABLES)


def record(dataset_id: str, kind: str, source: str, revision: str, pinned: bool, files: list[dict]) -> None:
    """Record verified files and make ``revision`` the dataset's current one, in one transaction."""
    from sqlmodel import Session

    from ..index.models import LedgerDataset, LedgerFile

    now = _now()
    with write_engine() as engine:
        _tables(engine)
        with Session(engine) as session:
            for f in files:
                session.merge(LedgerFile(dataset_id=dataset_id, revision=revision, path=f["path"], source_kind=kind,
                                         source=source, url=f["url"], sha256=f["sha256"], size=f["size"],
                                         fetched_at=now))
            session.merge(LedgerDataset(dataset_id=dataset_id, revision=revision, source_kind=kind, source=source,
                                        pinned=pinned, fetched_at=now))
            session.commit()


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
