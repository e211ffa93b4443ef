"""Open the index for reading, rebuilding it first when the catalog changed.

Only a stale index pays for the rebuild (YAML, validation, SQLite writes);
a current one costs one ``stat`` per catalog file and one row read.

Where the index is read from:
- the store's ``index.sqlite`` when it matches the catalogs in use (also on a
  read-only store: a team's shared index is used as it is, when it was built
  from the same catalog bytes);
- else, when the store is writable, that same file, rebuilt;
- else a private index in the user's cache (``layout.private_dir()``), built
  there, so a read-only store never stops ``search`` or ``info``. The fetch
  ledger is always read from the store itself.

User catalogs that were left out because of errors are named in a
:class:`~llmdata.errors.CatalogSkippedWarning` on every call (not only when
the index is rebuilt), or raised as a ``CatalogError`` with ``strict``.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

from ..catalog import catalog_paths
from ..errors import CatalogError, CatalogSkippedWarning, Problem
from ..store import layout
from ..store.db import connect_ro
from .fingerprint import fingerprint, read_fingerprint, same_contents


def _index_writable() -> bool:
    db = layout.index_path()
    return layout.writable(layout.home()) and (not db.exists() or layout.writable(db))


def current_index(extra_catalogs: list[Path] | None = None, *, strict: bool = False) -> Path:
    """The path of an index that reflects the current catalog files (rebuilt first if needed)."""
    paths = catalog_paths(extra_catalogs)
    db = layout.index_path()
    wanted = fingerprint(paths)
    if read_fingerprint(db) == wanted:
        return db
    writable = _index_writable()
    if not writable and db.exists() and same_contents(db, paths):
        return db  # a shared store's index of the same catalog bytes, built elsewhere
    from .build import rebuild

    if writable:
        rebuild(paths, wanted, strict=strict)
        return db
    private = layout.private_dir() / "index.sqlite"
    if read_fingerprint(private) != wanted:
        rebuild(paths, wanted, strict=strict, db=private, lock=private.parent / "index.lock")
    return private


def skipped_catalogs(conn: sqlite3.Connection) -> list[tuple[str, list[Problem]]]:
    """The user catalogs the index was built without, with their errors."""
    row = conn.execute("SELECT value FROM meta WHERE key='skipped_catalogs'").fetchone()
    if not row or not row[0]:
        return []
    return [(item["file"], [Problem.from_dict(p) for p in item["problems"]]) for item in json.loads(row[0])]


def skipped_message(name: str, problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    where = f"entry {first.entry_id!r}: " if first.entry_id else ""
    location = first.location() if first.file == name else f"{name} ({first.location()})"
    return (f"skipped catalog {location}: {where}{first.message}{more}; its entries are left out "
            f"until it is fixed (`llmdata validate {name}`; --strict-catalogs fails instead)")


def open_index(extra_catalogs: list[Path] | None = None, *, strict: bool = False,
               report: bool = True) -> sqlite3.Connection:
    """A read connection to an index that reflects the current catalog files.

    Skipped user catalogs are reported (warning, or ``CatalogError`` with ``strict``)
    unless ``report`` is False: then the caller reports ``skipped_catalogs(conn)`` itself.
    """
    db = current_index(extra_catalogs, strict=strict)
    conn = connect_ro(db)
    conn.row_factory = sqlite3.Row
    if report:
        try:
            report_skipped(skipped_catalogs(conn), strict=strict, stacklevel=4)
        except CatalogError:
            conn.close()
            raise
    return conn


def report_skipped(skipped: list[tuple[str, list[Problem]]], *, strict: bool, stacklevel: int = 3) -> None:
    """A ``CatalogSkippedWarning`` per skipped user catalog; with ``strict`` a ``CatalogError`` instead."""
    if skipped and strict:
        raise CatalogError([p for _, problems in skipped for p in problems])
    for name, problems in skipped:
        warnings.warn(CatalogSkippedWarning(skipped_message(name, problems)), stacklevel=stacklevel)
