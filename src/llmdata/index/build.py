"""Rebuild the catalog tables of the index from validated catalog files.

Why it is safe:
- the catalog is validated *before* the index is touched, so a bad edit never
  reaches the index: a user catalog with errors is left out whole (and named
  in a warning on every call until it is fixed), and with ``strict`` -- or
  when the built-in catalog itself is broken -- nothing is written at all;
- the whole rebuild is one SQLite transaction: a crash or kill mid-way rolls
  back to the previous index, which readers keep using (WAL mode);
- a file lock serialises rebuilders, and each re-checks the fingerprint once it
  holds the lock, so N concurrent CLI calls rebuild once, not N times.
Other tables in the same file (the fetch ledger) are never dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import resources
from ..catalog.validate import CatalogFile, cross_check, read_catalog_file
from ..errors import CatalogError, Problem
from ..vocabulary import labels_for
from ..store import layout
from .fts import FTS_DDL, INDEX_SCHEMA_VERSION
from .tokens import exact_key, index_tokens


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


def usable_entries(paths: list[Path], *, strict: bool = False) -> tuple[list[dict], dict[str, list[Problem]]]:
    """The entries to index and the user catalogs left out, with their errors.

    A user catalog with any error (its own, or an id another file already
    has) is skipped whole, and the rest is checked again without it: the
    built-in catalog keeps working when a user's file is broken. With
    ``strict``, or when the built-in catalog is the broken one, raise
    :class:`CatalogError` instead.
    """
    builtin = str(resources.builtin_catalog().resolve())
    kept: list[CatalogFile] = [read_catalog_file(p) for p in paths]
    skipped: dict[str, list[Problem]] = {}
    while True:
        entries, problems = cross_check(kept)
        errors = [p for p in problems if p.severity == "error"]
        if not errors:
            return entries, skipped
        bad = {p.file for p in errors}
        kept_names = {str(cf.path) for cf in kept}
        if strict or builtin in bad or not bad <= kept_names:
            raise CatalogError([p for found in skipped.values() for p in found] + errors)
        for name in bad:
            skipped[name] = [p for p in errors if p.file == name]
        kept = [cf for cf in kept if str(cf.path) not in bad]


def rebuild(paths: list[Path], fingerprint: str, *, force: bool = False, strict: bool = False,
            db: Path | None = None, lock: Path | None = None) -> int:
    """Validate ``paths`` and replace the catalog tables of ``db`` (default: the store's index).

    Returns the number of entries. Raises :class:`CatalogError` (index
    untouched) when the built-in catalog has errors, or any file with ``strict``.
    """
    entries, skipped = usable_entries(paths, strict=strict)

    from filelock import FileLock

    from .fingerprint import read_fingerprint

    db = db or layout.index_path()
    if lock is None:
        lock = layout.index_lock()
    else:
        lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=120):
        if not force and read_fingerprint(db) == fingerprint:
            return len(entries)  # another process rebuilt while we waited
        _ensure_tables(db)
        _write_rows(db, entries, paths, fingerprint, skipped)
    return len(entries)


def _ensure_tables(db: Path) -> None:
    """Create the catalog tables from their sqlmodel definitions (dropped first when the layout version changed)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from ..store.db import write_engine
    from .models import CATALOG_TABLES

    with write_engine(db) as engine:
        with engine.begin() as conn:
            has_meta = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='meta'")).first() is not None
            stored = conn.execute(text("SELECT value FROM meta WHERE key='index_schema'")).scalar() if has_meta else None
            if stored is not None and stored != str(INDEX_SCHEMA_VERSION):
                conn.execute(text("DROP TABLE IF EXISTS dataset_fts"))
                SQLModel.metadata.drop_all(conn, tables=CATALOG_TABLES)
        SQLModel.metadata.create_all(engine, tables=CATALOG_TABLES)
        with engine.begin() as conn:
            conn.execute(text(FTS_DDL))


def _write_rows(db: Path, entries: list[dict], paths: list[Path], fingerprint: str,
                skipped: dict[str, list[Problem]]) -> None:
    """Replace every catalog row in one transaction with bulk inserts: readers see the old index or the new one."""
    import sqlite3

    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("dataset_fts", "facet", "dataset"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            conn.executemany(
                "INSERT INTO dataset (id, position, name, category, license, commercial, access, records, bytes,"
                " catalog_file, catalog_line, id_key, name_key, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_dataset_row(entry, position) for position, entry in enumerate(entries)))
            conn.executemany("INSERT INTO facet (dataset_id, kind, value) VALUES (?, ?, ?)",
                             ((entry["id"], kind, value) for entry in entries for kind, value in _facets(entry)))
            conn.executemany("INSERT INTO dataset_fts (id, name, tags, summary, notes) "
                             "VALUES (:id, :name, :tags, :summary, :notes)", (_fts_row(entry) for entry in entries))
            meta = {"fingerprint": fingerprint, "index_schema": str(INDEX_SCHEMA_VERSION),
                    "catalog_files": json.dumps([str(p) for p in paths]),
                    "skipped_catalogs": json.dumps([{"file": name, "problems": [p.as_dict() for p in found]}
                                                    for name, found in skipped.items()], ensure_ascii=False)}
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
            exact_key(entry["id"]), exact_key(entry["name"]), json.dumps(card, ensure_ascii=False, default=str))
