"""Rebuild the catalog tables of the index from validated catalog files.

Why it is safe:
- the catalog is validated *before* the index is touched, so a bad edit never
  replaces a good index;
- the whole rebuild is one SQLite transaction: a crash or kill mid-way rolls
  back to the previous index, which readers keep using (WAL mode);
- a file lock serialises rebuilders, and each re-checks the fingerprint once it
  holds the lock, so N concurrent CLI calls rebuild once, not N times.
Other tables in the same file (the fetch ledger) are never dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..catalog.validate import check_files
from ..errors import CatalogError
from ..vocabulary import labels_for
from ..store import layout
from .fts import FTS_DDL, INDEX_SCHEMA_VERSION
from .tokens import index_tokens


def _facets(entry: dict) -> list[tuple[str, str]]:
    out = [("category", entry["category"])]
    out += [("category", c) for c in entry.get("also", []) if c != entry["category"]]
    out += [("domain", d) for d in entry.get("domains", [])]
    out += [("language", lang) for lang in entry.get("languages", [])]
    out += [("host", kind) for kind in sorted({s["kind"] for s in entry.get("sources", [])})]
    out += [("tag", t.casefold()) for t in entry.get("tags", [])]
    out += [("alias", a) for a in entry.get("aliases", [])]
    return list(dict.fromkeys(out))


def _fts_row(entry: dict) -> dict:
    name = " ".join([entry["name"], entry["id"].replace("-", " ").replace("_", " "),
                     *(a.replace("-", " ") for a in entry.get("aliases", []))])
    tags = labels_for(entry["category"], entry.get("also", []), entry.get("domains", []), entry.get("languages", []))
    tags += entry.get("tags", [])
    tags += [s.get("repo", "") for s in entry.get("sources", [])]
    summary = entry["summary"]["en"] + "\n" + entry["summary"]["zh"]
    notes = " ".join(filter(None, [entry.get("notes"), entry.get("license_note"), entry.get("size", {}).get("note")]))
    return {
        "id": entry["id"],
        "name": index_tokens(name),
        "tags": index_tokens(" ".join(tags)),
        "summary": index_tokens(summary),
        "notes": index_tokens(notes),
    }


def rebuild(paths: list[Path], fingerprint: str, *, force: bool = False) -> int:
    """Validate ``paths`` and replace the catalog tables; returns the number of entries.

    Raises :class:`CatalogError` (index untouched) when any file has errors.
    """
    entries, problems = check_files(paths)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CatalogError(errors)

    from filelock import FileLock

    from .fingerprint import read_fingerprint

    with FileLock(str(layout.index_lock()), timeout=120):
        if not force and read_fingerprint(layout.index_path()) == fingerprint:
            return len(entries)  # another process rebuilt while we waited
        _ensure_tables()
        _write_rows(entries, paths, fingerprint)
    return len(entries)


def _ensure_tables() -> None:
    """Create the catalog tables from their sqlmodel definitions (dropped first when the layout version changed)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from ..store.db import write_engine
    from .models import CATALOG_TABLES

    with write_engine() as engine:
        with engine.begin() as conn:
            has_meta = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='meta'")).first() is not None
            stored = conn.execute(text("SELECT value FROM meta WHERE key='index_schema'")).scalar() if has_meta else None
            if stored is not None and stored != str(INDEX_SCHEMA_VERSION):
                conn.execute(text("DROP TABLE IF EXISTS dataset_fts"))
                SQLModel.metadata.drop_all(conn, tables=CATALOG_TABLES)
        SQLModel.metadata.create_all(engine, tables=CATALOG_TABLES)
        with engine.begin() as conn:
            conn.execute(text(FTS_DDL))


def _write_rows(entries: list[dict], paths: list[Path], fingerprint: str) -> None:
    """Replace every catalog row in one transaction with bulk inserts: readers see the old index or the new one."""
    import sqlite3

    conn = sqlite3.connect(layout.index_path(), timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("dataset_fts", "facet", "dataset"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            conn.executemany(
                "INSERT INTO dataset (id, position, name, category, license, commercial, access, records, bytes,"
                " catalog_file, catalog_line, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_dataset_row(entry, position) for position, entry in enumerate(entries)))
            conn.executemany("INSERT INTO facet (dataset_id, kind, value) VALUES (?, ?, ?)",
                             ((entry["id"], kind, value) for entry in entries for kind, value in _facets(entry)))
            conn.executemany("INSERT INTO dataset_fts (id, name, tags, summary, notes) "
                             "VALUES (:id, :name, :tags, :summary, :notes)", (_fts_row(entry) for entry in entries))
            meta = {"fingerprint": fingerprint, "index_schema": str(INDEX_SCHEMA_VERSION),
                    "catalog_files": json.dumps([str(p) for p in paths])}
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _dataset_row(entry: dict, position: int) -> tuple:
    origin = entry.get("_origin", {})
    card = {k: v for k, v in entry.items() if k != "_origin"}
    size = entry.get("size") or {}
    return (entry["id"], position, entry["name"], entry["category"], entry["license"], entry.get("commercial"),
            entry["access"], size.get("records"), size.get("bytes"), origin.get("file", ""), origin.get("line"),
            json.dumps(card, ensure_ascii=False, default=str))
