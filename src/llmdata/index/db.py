"""The SQLAlchemy engine for writes to index.sqlite (rebuilds and the fetch ledger)."""

from __future__ import annotations

from contextlib import contextmanager

from .. import settings


@contextmanager
def write_engine():
    """An engine in WAL mode with a generous busy timeout, disposed after use."""
    from sqlalchemy import event
    from sqlmodel import create_engine

    db = settings.index_path()
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
