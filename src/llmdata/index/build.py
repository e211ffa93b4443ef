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
    from sqlalchemy import text
    from sqlmodel import Session, SQLModel

    from ..store.db import write_engine
    from .fingerprint import read_fingerprint
    from .models import CATALOG_TABLES, Dataset, Facet, Meta

    with FileLock(str(layout.index_lock()), timeout=120), write_engine() as engine:
        if not force and read_fingerprint(layout.index_path()) == fingerprint:
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
