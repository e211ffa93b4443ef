"""The fetch ledger's tables, as sqlmodel models (imported only when the ledger is written)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class LedgerFile(SQLModel, table=True):
    """One verified file in the store: what was fetched, from where, at which revision."""

    __tablename__ = "ledger_file"

    dataset_id: str = Field(primary_key=True)
    revision: str = Field(primary_key=True)
    path: str = Field(primary_key=True)
    source_kind: str
    source: str = Field(description="repo id or URL of the source actually used (credentials removed)")
    url: str = Field(description="the URL the bytes came from, after mirror rewrites (credentials removed)")
    sha256: str
    size: int
    fetched_at: str


class LedgerDataset(SQLModel, table=True):
    """Which revision of a dataset is the current one in the store."""

    __tablename__ = "ledger_dataset"

    dataset_id: str = Field(primary_key=True)
    revision: str
    source_kind: str
    source: str
    pinned: bool
    fetched_at: str


LEDGER_TABLES = [LedgerFile.__table__, LedgerDataset.__table__]
