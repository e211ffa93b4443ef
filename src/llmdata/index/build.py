"""Bring the catalog tables of the index in step with the catalog files, re-reading only the files that changed.

What a rebuild reads: the index keeps, per catalog file, its stat, its
SHA-256 and whether its entries are in (``catalog_file``). A file whose stat
is unchanged, or whose bytes hash the same, is not read again: its entries
stay. A changed file is parsed and validated (``filework``; in worker
processes when there is much to read), its old rows deleted and its entries
inserted. Ids and aliases are unique in catalog order: a changed file's names
are looked up in the index, where an earlier file that has one leaves the
changed file out, and a later one is left out itself (its rows deleted). A
user catalog left out for its own errors stays out, unread, until it
changes; one left out because an earlier file has one of its ids keeps its
names in ``catalog_file`` and is read again once they are free.

Why it is safe:
- a file's entries reach the index only once the file validated, with no id
  or alias that an earlier file in use has: a user catalog with errors is
  left out whole (and named in a warning on every call until it is fixed),
  and with ``strict`` -- or when the built-in catalog itself is broken --
  nothing is written at all;
- the whole rebuild is one SQLite transaction: a crash or kill mid-way rolls
  back to the previous index, which readers keep using (WAL mode); a first
  build is written beside the index's place and linked there once complete
  (``first_build``);
- a file lock serialises rebuilders, and each re-checks the fingerprint once it
  holds the lock, so N concurrent CLI calls rebuild once, not N times.
Other tables in the same file (the fetch ledger) are never dropped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import resources
from ..catalog.validate import Name, conflict_problem
from ..errors import CatalogError, Problem
from ..store import layout
from . import rows
from .filework import FileRows, Job, gc_paused, read_file, read_files
from .fingerprint import file_stat, is_racy
from .tables import BULK_INDEXES, CATALOG_DDL, CATALOG_TABLES, FTS_SETUP, INDEX_SCHEMA_VERSION

_LOW = 0xFFFFFFFF  # position = file place << 32 | entry index


@dataclass
class _Stored:
    """What the index holds of one catalog file."""

    place: int
    stat: str
    sha256: str
    status: str  # "indexed" or "skipped"
    own_problems: bool  # skipped for its own errors (not for an earlier file's names)
    problems: list[Problem]
    names: list[Name]  # of a file skipped for an earlier file's names
    generation: int  # its rows' rowids are generation << 32 | index


@dataclass
class _Change:
    """One catalog file in use, and whether it changed since the index read it."""

    path: str
    place: int
    stat: str  # "" when it cannot be trusted (missing, or racy)
    sha256: str
    old: _Stored | None
    changed: bool
    racy: bool
    generation: int = 0  # of the read, when it changed


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
    names: tuple = ()
    generation: int = 0


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
        def build(conn: sqlite3.Connection) -> int:
            _ensure_tables(conn, force)
            with gc_paused():
                return _Rebuild(conn, paths, fingerprint, strict).run()

        if not db.exists():
            from .first_build import build_staged

            count = build_staged(db, build)
            if count is not None:
                return count
        conn = _connect(db)
        try:
            return build(conn)
        finally:
            conn.close()


def _connect(db: Path) -> sqlite3.Connection:
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA cache_size=-16384")  # 16 MiB for the bulk inserts
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last rebuild, never corrupt
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
        conn.execute(FTS_SETUP)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('index_schema', ?)", (str(INDEX_SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _rowids(generation: int) -> tuple[int, int]:
    """The first and last rowid a file read as ``generation`` can have."""
    return generation << 32, (generation << 32) | _LOW


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
        self.place_of = {str(p): place for place, p in enumerate(paths)}
        self.stored = self._stored()
        self.outcomes: dict[str, _Outcome] = {}
        self.evicted: dict[str, list[Problem]] = {}  # unchanged files an earlier changed file took an id from
        self.evicted_names: dict[str, list[Name]] = {}
        self.deleted: set[str] = set()
        self.held = self._held()

    def _held(self) -> set[str]:
        """Every id and alias the index holds (and, once inserted, the ones this rebuild adds; deleted ones may
        stay): a name not among them needs no look-up, so a first build looks none up."""
        return {name for (name,) in self.conn.execute(
            "SELECT id FROM dataset UNION ALL SELECT value FROM facet WHERE kind = 'alias'")}

    def _stored(self) -> dict[str, _Stored]:
        found = self.conn.execute(
            "SELECT path, place, stat, sha256, status, own_problems, problems, names, generation FROM catalog_file")
        return {path: _Stored(place, stat, sha, status, bool(own), [Problem.from_dict(p) for p in json.loads(problems)],
                              [Name(*n) for n in json.loads(names)], generation)
                for path, place, stat, sha, status, own, problems, names, generation in found}

    def run(self) -> int:
        read_at = time.time_ns()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            plan = [self._plan(place, path, read_at) for place, path in enumerate(self.paths)]
            for path, old in self.stored.items():
                if path not in self.place_of and old.status == "indexed":
                    self._delete(path)  # a catalog file no longer in use
            generation = int(self._meta("next_generation") or 1)
            jobs = []
            for change in plan:
                if change.changed:
                    if change.old is not None and change.old.status == "indexed":
                        self._delete(change.path)
                    jobs.append(Job(change.path, change.place, generation))
                    change.generation = generation
                    generation += 1
            self.next_generation = generation
            bulk = not self.held  # an empty index: its secondary indexes are built after the rows
            for name in BULK_INDEXES if bulk else ():
                self.conn.execute(f"DROP INDEX IF EXISTS {name}")  # noqa: S608 - fixed index names
            read = read_files(jobs)
            try:
                for change in plan:
                    self.outcomes[change.path] = self._apply(change, read)
            finally:
                read.close()  # stops the worker processes now, also on an error
            for statement in BULK_INDEXES.values() if bulk else ():
                self.conn.execute(statement)
            self._check_outcomes()
            self._write_bookkeeping(any(change.racy for change in plan))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return self.conn.execute("SELECT count(*) FROM dataset").fetchone()[0]

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _plan(self, place: int, path: Path, read_at: int) -> _Change:
        """Has the file changed since the index read it? (stat first; the bytes' hash when the stat moved)"""
        name, stat = str(path), file_stat(path)
        old = self.stored.get(name)
        if old is not None and stat is not None and old.stat == stat:
            sha, changed = old.sha256, False
        else:
            sha = _sha256(path) if stat is not None else ""
            changed = old is None or not sha or sha != old.sha256
        racy = stat is not None and is_racy(stat, read_at)
        return _Change(name, place, "" if racy or stat is None else stat, sha, old, changed, racy)

    def _apply(self, change: _Change, read: Iterator[FileRows]) -> _Outcome:
        outcome = _Outcome(change.path, change.place, change.stat, change.sha256, "indexed")
        old = change.old
        if change.changed:
            outcome.generation = change.generation
            return self._insert(next(read), outcome)
        if old.status == "indexed":
            if change.path in self.evicted:
                return self._skip(outcome, self.evicted[change.path], own=False, names=self.evicted_names[change.path])
            outcome.generation = old.generation
            if old.place != change.place:
                self.conn.execute("UPDATE dataset SET position = (? << 32) | (position & ?) WHERE rowid BETWEEN ? AND ?",
                                  (change.place, _LOW, *_rowids(old.generation)))
            return outcome
        if old.own_problems:
            return self._skip(outcome, old.problems, own=True)
        conflicts = self._conflicts(old.names, change.place)  # left out for an earlier file: still?
        if conflicts:
            return self._skip(outcome, conflicts, own=False, names=old.names)
        job = Job(change.path, change.place, self.next_generation)
        outcome.generation = job.generation
        self.next_generation += 1
        return self._insert(read_file(job), outcome)

    def _insert(self, found: FileRows, outcome: _Outcome) -> _Outcome:
        """A file read now: left out for its own errors or an earlier file's names, else its rows go in."""
        if found.errors:
            return self._skip(outcome, found.errors, own=True)
        conflicts = self._conflicts(found.names, outcome.place)
        if conflicts:
            return self._skip(outcome, conflicts, own=False, names=found.names)
        self.conn.executemany(rows.DATASET_INSERT, found.dataset)
        self.conn.executemany(rows.FACET_INSERT, found.facets)
        self.conn.executemany(rows.FTS_INSERT, found.fts)
        self.held.update(name.name for name in found.names)
        return outcome

    def _conflicts(self, names: list[Name], place: int) -> list[Problem]:
        """Problems of ``names`` that files before ``place`` already have; later holders are evicted."""
        problems: list[Problem] = []
        later: dict[str, list[Problem]] = {}
        for held in self._holders(names):
            name, holder = held
            holder_place = self.place_of.get(holder.file, -1)
            if holder_place < place:
                problems.append(conflict_problem(name, holder))
            elif not problems:
                later.setdefault(holder.file, []).append(conflict_problem(holder, name))
        if not problems:
            for file, found in later.items():  # this file comes first: the later ones are left out
                if file not in self.evicted:
                    self.evicted_names[file] = self._file_names(file)
                    self._delete(file)
                self.evicted.setdefault(file, []).extend(found)
        return problems

    def _file_names(self, path: str) -> list[Name]:
        """Ids and aliases of the entries the index holds of ``path``."""
        first, last = _rowids(self.stored[path].generation)
        found = self.conn.execute(
            "SELECT d.id, d.id, d.catalog_file, d.catalog_line, 0 FROM dataset d WHERE d.rowid BETWEEN ? AND ? "
            "UNION ALL SELECT f.value, d.id, d.catalog_file, d.catalog_line, 1 FROM dataset d JOIN facet f "
            "ON f.dataset_id = d.id AND f.kind = 'alias' WHERE d.rowid BETWEEN ? AND ?", (first, last, first, last))
        return [Name(value, eid, file, line, bool(alias)) for value, eid, file, line, alias in found]

    def _holders(self, names: list[Name]) -> Iterator[tuple[Name, Name]]:
        """(name, the entry in the index that has it) for each of ``names`` some indexed entry has."""
        by_name: dict[str, list[Name]] = {}
        held = self.held
        for name in names:
            if name.name in held:
                by_name.setdefault(name.name, []).append(name)
        keys = list(by_name)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found = self.conn.execute(
                f"SELECT id, id, catalog_file, catalog_line, 0 FROM dataset WHERE id IN ({marks}) UNION ALL "  # noqa: S608
                f"SELECT f.value, d.id, d.catalog_file, d.catalog_line, 1 FROM facet f JOIN dataset d ON d.id = "
                f"f.dataset_id WHERE f.kind = 'alias' AND f.value IN ({marks})", chunk + chunk)
            for value, eid, file, line, alias in found:
                holder = Name(value, eid, file, line, bool(alias))
                for name in by_name[value]:
                    yield name, holder

    def _delete(self, path: str) -> None:
        """Delete the rows the index holds of ``path`` (a stored, indexed file): one rowid range per table."""
        if path in self.deleted:
            return
        self.deleted.add(path)
        first, last = _rowids(self.stored[path].generation)
        self.conn.execute("DELETE FROM dataset_fts WHERE rowid BETWEEN ? AND ?", (first, last))
        self.conn.execute("DELETE FROM facet WHERE dataset_id IN (SELECT id FROM dataset WHERE rowid BETWEEN ? AND ?)",
                          (first, last))
        self.conn.execute("DELETE FROM dataset WHERE rowid BETWEEN ? AND ?", (first, last))

    def _skip(self, outcome: _Outcome, problems: list[Problem], *, own: bool, names: list[Name] = ()) -> _Outcome:
        outcome.status, outcome.own_problems, outcome.problems = "skipped", own, tuple(problems)
        outcome.names = tuple(names)
        return outcome

    def _check_outcomes(self) -> None:
        """Nothing is written when the built-in catalog is left out, or any file with ``strict``."""
        skipped = [o for o in self.outcomes.values() if o.status == "skipped"]
        if skipped and (self.strict or any(o.path == self.builtin for o in skipped)):
            raise CatalogError([p for o in skipped for p in o.problems])

    def _write_bookkeeping(self, racy: bool) -> None:
        self.conn.executemany("DELETE FROM catalog_file WHERE path = ?",
                              [(path,) for path in self.stored if path not in self.outcomes])
        self.conn.executemany(
            "INSERT OR REPLACE INTO catalog_file (path, place, stat, sha256, status, own_problems, problems, names,"
            " generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(o.path, o.place, o.stat, o.sha256, o.status, o.own_problems,
              json.dumps([p.as_dict() for p in o.problems], ensure_ascii=False),
              json.dumps([[n.name, n.entry_id, n.file, n.line, n.alias] for n in o.names], ensure_ascii=False),
              o.generation) for o in self.outcomes.values()])
        skipped = [{"file": o.path, "problems": [p.as_dict() for p in o.problems]}
                   for o in self.outcomes.values() if o.status == "skipped"]
        meta = {"fingerprint": ("racy:" if racy else "") + self.fingerprint,
                "next_generation": str(self.next_generation),
                "catalog_files": json.dumps(list(self.outcomes)),
                "skipped_catalogs": json.dumps(skipped, ensure_ascii=False)}
        self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
