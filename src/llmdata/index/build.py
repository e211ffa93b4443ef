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
    from sqlalchemy import text
    from sqlmodel import Session, SQLModel

    from ..store.db import write_engine
    from .fingerprint import read_fingerprint
    from .models import CATALOG_TABLES, Dataset, Facet, Meta

    db = db or layout.index_path()
    if lock is None:
        lock = layout.index_lock()
    else:
        lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=120), write_engine(db) as engine:
        if not force and read_fingerprint(db) == fingerprint:
            return len(entries)  # another process rebuilt while we waited
        with engine.begin() as conn:
            stored = conn.execute(text(
                "SELECT value FROM meta WHERE key='index_schema'"
            )).scalar() if _has_table(conn, "meta") else None
            if stored is not None and stored != str(INDEX_SCHEMA_VERSION):
                conn.execute(text("DROP TABLE IF EXISTS dataset_fts"))
                SQLModel.metadata.drop_all(conn, tables=CATALOG_TABLES)
        SQLModel.metadata.create_all(engine, tables=CATALOG_TABLES)
        with engine.begin() as conn:
            conn.execute(text(FTS_DDL))
        with Session(engine) as session:
            session.exec(text("DELETE FROM dataset_fts"))  # type: ignore[call-overload]
            session.exec(text("DELETE FROM facet"))  # type: ignore[call-overload]
            session.exec(text("DELETE FROM dataset"))  # type: ignore[call-overload]
            for position, entry in enumerate(entries):
                _add_entry(session, Dataset, Facet, entry, position, text)
            session.merge(Meta(key="fingerprint", value=fingerprint))
            session.merge(Meta(key="index_schema", value=str(INDEX_SCHEMA_VERSION)))
            session.merge(Meta(key="catalog_files", value=json.dumps([str(p) for p in paths])))
            session.merge(Meta(key="skipped_catalogs", value=json.dumps(
                [{"file": name, "problems": [p.as_dict() for p in found]} for name, found in skipped.items()],
                ensure_ascii=False)))
            session.commit()
    return len(entries)


def _has_table(conn, name: str) -> bool:  # noqa: ANN001
    from sqlalchemy import text

    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name=:n"), {"n": name}).first() is not None


def _add_entry(session, Dataset, Facet, entry: dict, position: int, text) -> None:  # noqa: ANN001, N803
    origin = entry.get("_origin", {})
    card = {k: v for k, v in entry.items() if k != "_origin"}
    size = entry.get("size") or {}
    session.add(Dataset(
        id=entry["id"], position=position, name=entry["name"], category=entry["category"],
        license=entry["license"], commercial=entry.get("commercial"), access=entry["access"],
        records=size.get("records"), bytes=size.get("bytes"),
        catalog_file=origin.get("file", ""), catalog_line=origin.get("line"),
        card=json.dumps(card, ensure_ascii=False, default=str),
    ))
    for kind, value in _facets(entry):
        session.add(Facet(dataset_id=entry["id"], kind=kind, value=value))
    session.flush()
    session.exec(  # type: ignore[call-overload]
        text("INSERT INTO dataset_fts (id, name, tags, summary, notes) VALUES (:id, :name, :tags, :summary, :notes)"),
        params=_fts_row(entry),
    )
