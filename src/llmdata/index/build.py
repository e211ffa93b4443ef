"""Bring the catalog tables of the index in step with the catalog files, re-reading only the files that changed.

What a rebuild reads: the index keeps, per catalog file, its stat, its
SHA-256 and whether its entries are in (``catalog_file``). A file whose stat
is unchanged, or whose bytes hash the same, is not read again: its entries
stay, and its ids and aliases come from the index for the cross-file rules.
A changed file is parsed and validated, its old rows deleted and its entries
inserted. A user catalog left out for its own errors stays out, unread,
until it changes; one left out because an earlier file has one of its ids is
read again on every rebuild (the earlier file may have changed).

Why it is safe:
- a file's entries reach the index only once the file validated, with no id
  or alias that an earlier file in use has: a user catalog with errors is
  left out whole (and named in a warning on every call until it is fixed),
  and with ``strict`` -- or when the built-in catalog itself is broken --
  nothing is written at all;
- the whole rebuild is one SQLite transaction: a crash or kill mid-way rolls
  back to the previous index, which readers keep using (WAL mode);
- a file lock serialises rebuilders, and each re-checks the fingerprint once it
  holds the lock, so N concurrent CLI calls rebuild once, not N times.
Other tables in the same file (the fetch ledger) are never dropped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .. import resources
from ..catalog.validate import Name, TakenNames, cross_check, names_of, read_catalog_file
from ..errors import CatalogError, Problem
from ..store import layout
from . import rows
from .fingerprint import file_stat, is_racy
from .tables import CATALOG_DDL, CATALOG_TABLES, INDEX_SCHEMA_VERSION

_LOW = 0xFFFFFFFF  # position = file place << 32 | entry index


@dataclass
class _Stored:
    """What the index holds of one catalog file."""

    place: int
    stat: str
    sha256: str
    status: str  # "indexed" or "skipped"
    own_problems: bool
    problems: list[Problem]


@dataclass
class _Outcome:
    """What this rebuild decided for one catalog file."""

    path: str
    place: int
    stat: str
    sha256: str
    status: str
    own_problems: bool = False
    problems: tuple = ()


def rebuild(paths: list[Path], fingerprint: str, *, force: bool = False, strict: bool = False,
            db: Path | None = None, lock: Path | None = None) -> int:
    """Bring the catalog tables of ``db`` (default: the store's index) in step with ``paths``.

    Returns the number of entries in the index. Raises :class:`CatalogError`
    (index untouched) when the built-in catalog has errors, or any file with
    ``strict``. ``force`` drops the catalog tables and reads every file.
    """
    from filelock import FileLock

    from .fingerprint import read_fingerprint

    db = db or layout.index_path()
    if lock is None:
        lock = layout.index_lock()
    else:
        lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=300):
        if not force and read_fingerprint(db) == fingerprint:
            return _count(db)  # another process rebuilt while we waited
        conn = _connect(db)
        try:
            _ensure_tables(conn, force)
            return _Rebuild(conn, paths, fingerprint, strict).run()
        finally:
            conn.close()


def _connect(db: Path) -> sqlite3.Connection:
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB for the bulk inserts
    return conn


def _count(db: Path) -> int:
    from ..store.db import connect_ro

    conn = connect_ro(db)
    try:
        return conn.execute("SELECT count(*) FROM dataset").fetchone()[0]
    finally:
        conn.close()


def _ensure_tables(conn: sqlite3.Connection, force: bool) -> None:
    """Create the catalog tables; drop them first when their layout version changed (or with ``force``)."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is not None
    stored = conn.execute("SELECT value FROM meta WHERE key='index_schema'").fetchone() if has_meta else None
    conn.execute("BEGIN IMMEDIATE")
    try:
        if force or (has_meta and (stored is None or stored[0] != str(INDEX_SCHEMA_VERSION))):
            for table in CATALOG_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed table names
        for statement in CATALOG_DDL:
            conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('index_schema', ?)", (str(INDEX_SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


class _Rebuild:
    """One rebuild: which files changed, then each file in catalog order, in one transaction."""

    def __init__(self, conn: sqlite3.Connection, paths: list[Path], fingerprint: str, strict: bool) -> None:
        self.conn, self.paths, self.fingerprint, self.strict = conn, paths, fingerprint, strict
        self.builtin = str(resources.builtin_catalog().resolve())
        self.stored = self._stored()
        self.taken = TakenNames()
        self.outcomes: list[_Outcome] = []
        self.deleted: set[str] = set()

    def _stored(self) -> dict[str, _Stored]:
        rows_ = self.conn.execute("SELECT path, place, stat, sha256, status, own_problems, problems FROM catalog_file")
        return {path: _Stored(place, stat, sha, status, bool(own), [Problem.from_dict(p) for p in json.loads(problems)])
                for path, place, stat, sha, status, own, problems in rows_}

    def run(self) -> int:
        read_at = time.time_ns()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.next_rowid = self.conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM dataset").fetchone()[0]
            plan = [self._plan(place, path, read_at) for place, path in enumerate(self.paths)]
            for path, old in self.stored.items():
                if path not in {str(p) for p in self.paths} and old.status == "indexed":
                    self._delete(path)  # a catalog file no longer in use
            for change in plan:
                if change["changed"] and change["old"] is not None and change["old"].status == "indexed":
                    self._delete(change["path"])
            self.unchanged_names = self._indexed_names([c["path"] for c in plan if not c["changed"]])
            for change in plan:
                self.outcomes.append(self._apply(change))
            self._check_outcomes()
            self._write_bookkeeping(any(c["racy"] for c in plan))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return self.conn.execute("SELECT count(*) FROM dataset").fetchone()[0]

    def _plan(self, place: int, path: Path, read_at: int) -> dict:
        """Has the file changed since the index read it? (stat first; the bytes' hash when the stat moved)"""
        name, stat = str(path), file_stat(path)
        old = self.stored.get(name)
        if old is not None and stat is not None and old.stat == stat:
            sha, changed = old.sha256, False
        else:
            sha = _sha256(path) if stat is not None else ""
            changed = old is None or not sha or sha != old.sha256
        racy = stat is not None and is_racy(stat, read_at)
        return {"place": place, "path": name, "file": path, "stat": "" if racy or stat is None else stat,
                "sha256": sha, "old": old, "changed": changed, "racy": racy}

    def _indexed_names(self, paths: list[str]) -> dict[str, list[Name]]:
        """Ids and aliases of the entries the index holds of unchanged files, per file, in entry order."""
        wanted = set(paths)
        names: dict[str, list[Name]] = {p: [] for p in wanted}
        aliases: dict[str, list[str]] = {}
        for alias, eid in self.conn.execute("SELECT value, dataset_id FROM facet WHERE kind = 'alias'"):
            aliases.setdefault(eid, []).append(alias)
        for eid, file, line in self.conn.execute("SELECT id, catalog_file, catalog_line FROM dataset ORDER BY position"):
            if file in wanted:
                names[file].append(Name(eid, eid, file, line, False))
                names[file] += [Name(a, eid, file, line, True) for a in aliases.get(eid, ()) if a != eid]
        return names

    def _apply(self, change: dict) -> _Outcome:
        outcome = _Outcome(change["path"], change["place"], change["stat"], change["sha256"], "indexed")
        old: _Stored | None = change["old"]
        if not change["changed"] and old.status == "indexed":
            conflicts = self.taken.claim(self.unchanged_names[outcome.path], partial=False)
            if conflicts:  # an earlier file now has one of its ids
                self._delete(outcome.path)
                return self._skip(outcome, conflicts, own=False)
            if old.place != outcome.place:
                self.conn.execute("UPDATE dataset SET position = (? << 32) | (position & ?) WHERE catalog_file = ?",
                                  (outcome.place, _LOW, outcome.path))
            return outcome
        if not change["changed"] and old.status == "skipped" and old.own_problems:
            return self._skip(outcome, old.problems, own=True)
        return self._read(change["file"], outcome)

    def _read(self, path: Path, outcome: _Outcome) -> _Outcome:
        """Parse and validate a changed file (or one left out for another file's sake); insert its entries."""
        entries, problems = cross_check([read_catalog_file(path)])
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            return self._skip(outcome, errors, own=True)
        names = names_of(entries)
        conflicts = self.taken.claim(names, partial=False)
        if conflicts:
            return self._skip(outcome, conflicts, own=False)
        self._evict_later_holders({n.name for n in names if not n.alias}, outcome.place)
        self._insert(entries, outcome.place)
        return outcome

    def _evict_later_holders(self, ids: set[str], place: int) -> None:
        """Delete now the rows of a later, unchanged file that has one of these ids: it will be left out when
        its turn comes, and its rows would stand in the way of the inserts."""
        for later in self.paths[place + 1:]:
            later = str(later)
            if any(n.name in ids for n in self.unchanged_names.get(later, ())):
                self._delete(later)

    def _insert(self, entries: list[dict], place: int) -> None:
        dataset, facets, fts = [], [], []
        for index, entry in enumerate(entries):
            origin = entry.pop("_origin")
            rowid = self.next_rowid
            self.next_rowid += 1
            dataset.append(rows.dataset_row(rowid, entry, place << 32 | index, origin["file"], origin["line"]))
            facets += [(entry["id"], kind, value) for kind, value in rows.facets(entry)]
            fts.append(rows.fts_row(rowid, entry))
        self.conn.executemany(rows.DATASET_INSERT, dataset)
        self.conn.executemany(rows.FACET_INSERT, facets)
        self.conn.executemany(rows.FTS_INSERT, fts)

    def _delete(self, path: str) -> None:
        if path in self.deleted:
            return
        self.deleted.add(path)
        self.conn.execute("DELETE FROM dataset_fts WHERE rowid IN (SELECT rowid FROM dataset WHERE catalog_file = ?)",
                          (path,))
        self.conn.execute("DELETE FROM facet WHERE dataset_id IN (SELECT id FROM dataset WHERE catalog_file = ?)",
                          (path,))
        self.conn.execute("DELETE FROM dataset WHERE catalog_file = ?", (path,))

    def _skip(self, outcome: _Outcome, problems: list[Problem], *, own: bool) -> _Outcome:
        outcome.status, outcome.own_problems, outcome.problems = "skipped", own, tuple(problems)
        return outcome

    def _check_outcomes(self) -> None:
        """Nothing is written when the built-in catalog is left out, or any file with ``strict``."""
        skipped = [o for o in self.outcomes if o.status == "skipped"]
        if skipped and (self.strict or any(o.path == self.builtin for o in skipped)):
            raise CatalogError([p for o in skipped for p in o.problems])

    def _write_bookkeeping(self, racy: bool) -> None:
        in_use = {o.path for o in self.outcomes}
        self.conn.executemany("DELETE FROM catalog_file WHERE path = ?",
                              [(path,) for path in self.stored if path not in in_use])
        self.conn.executemany(
            "INSERT OR REPLACE INTO catalog_file (path, place, stat, sha256, status, own_problems, problems)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(o.path, o.place, o.stat, o.sha256, o.status, o.own_problems,
              json.dumps([p.as_dict() for p in o.problems], ensure_ascii=False)) for o in self.outcomes])
        skipped = [{"file": o.path, "problems": [p.as_dict() for p in o.problems]}
                   for o in self.outcomes if o.status == "skipped"]
        meta = {"fingerprint": ("racy:" if racy else "") + self.fingerprint,
                "catalog_files": json.dumps([o.path for o in self.outcomes]),
                "skipped_catalogs": json.dumps(skipped, ensure_ascii=False)}
        self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
