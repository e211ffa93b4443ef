"""Tables of the index, as sqlmodel models.

The fetch ledger's tables live with the store (``llmdata.store.ledger_tables``).
Only the rebuild imports this module (sqlmodel costs ~0.4 s to import); the
search path reads the same tables with the standard library's ``sqlite3``.
The full-text table is an FTS5 virtual table, which SQLAlchemy cannot model;
its DDL lives in :mod:`llmdata.index.fts`, light enough for the search path.
"""

from __future__ import annotations

from typing import Optional

from sqlmodel import Field, SQLModel

class Dataset(SQLModel, table=True):
    __tablename__ = "dataset"

    id: str = Field(primary_key=True)
    position: int = Field(index=True, description="order of appearance across the catalog files")
    name: str
    category: str
    license: str
    commercial: Optional[bool] = None
    access: str
    records: Optional[int] = None
    bytes: Optional[int] = None
    catalog_file: str
    catalog_line: Optional[int] = None
    id_key: str = Field(default="", description="the id as search segments: an exact query match ranks first")
    name_key: str = Field(default="", description="the name as search segments")
    card: str = Field(description="the whole catalog entry as JSON")


class Facet(SQLModel, table=True):
    """One filterable value of an entry: kind is category, domain, language, host or tag."""

    __tablename__ = "facet"

    dataset_id: str = Field(primary_key=True, foreign_key="dataset.id")
    kind: str = Field(primary_key=True)
    value: str = Field(primary_key=True, index=True)


class Meta(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


CATALOG_TABLES = [Dataset.__table__, Facet.__table__, Meta.__table__]
