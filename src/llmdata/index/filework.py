"""The per-file part of a rebuild: parse, validate and turn one catalog file into index rows.

It needs nothing but the file, so when several large files changed it runs
in worker processes while the rebuilding process writes the rows of the files
before them into SQLite (``read_files``). Whether an entry's id is free and
which rows stay in the index is decided by the rebuild, in catalog order.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.validate import Name, cross_check, names_of, read_catalog_file
from ..errors import Problem
from . import rows

# Below this many bytes to read, worker processes cost more than they save.
PARALLEL_BYTES = 8 * 2**20


@dataclass
class FileRows:
    """One catalog file as the rebuild needs it: its errors, or its names and rows."""

    path: str
    errors: list[Problem] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)
    dataset: list[tuple] = field(default_factory=list)
    facets: list[tuple] = field(default_factory=list)
    fts: list[tuple] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """Read ``path``, the ``place``-th catalog file in use; its rows get rowids ``generation << 32 | index``."""

    path: str
    place: int
    generation: int


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while catalog files become rows (and rows go into SQLite).

    The hundreds of thousands of dicts, lists and tuples made are kept, not
    garbage, and in cycles almost never; each full collection walks all of
    them again (a seventh of the time of a 10,000-entry file read alone).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_file(job: Job) -> FileRows:
    with gc_paused():
        return _read_file(job)


def _read_file(job: Job) -> FileRows:
    entries, problems = cross_check([read_catalog_file(Path(job.path))])
    result = FileRows(job.path, errors=[p for p in problems if p.severity == "error"])
    if result.errors:
        return result
    result.names = names_of(entries)
    for index, entry in enumerate(entries):
        entries[index] = None  # memory: each entry is dropped once it is rows
        origin = entry.pop("_origin")
        rowid = job.generation << 32 | index
        result.dataset.append(rows.dataset_row(rowid, entry, job.place << 32 | index, origin["file"], origin["line"]))
        result.facets += [(entry["id"], kind, value) for kind, value in rows.facets(entry)]
        result.fts.append(rows.fts_row(rowid, entry))
    return result


def read_files(jobs: list[Job]) -> Iterator[FileRows]:
    """``read_file`` of each job, in order; in two worker processes when there is enough to read."""
    context = _context()
    if context is None or len(jobs) < 2 or (os.cpu_count() or 1) < 2 or _bytes(jobs) < PARALLEL_BYTES:
        yield from map(read_file, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        pending: deque = deque()
        queue = iter(jobs)
        for job in queue:  # two files read ahead, one per worker: their rows wait in memory
            pending.append(pool.submit(read_file, job))
            if len(pending) >= 2:
                break
        while pending:
            result = pending.popleft().result()
            job = next(queue, None)
            if job is not None:
                pending.append(pool.submit(read_file, job))
            yield result


def _bytes(jobs: list[Job]) -> int:
    total = 0
    for job in jobs:
        try:
            total += os.stat(job.path).st_size
        except OSError:
            pass
    return total


def _context():
    """Worker processes are forked, and only where that is safe: on Linux, with no other thread running.

    Elsewhere the files are read in this process: "spawn" would run the
    caller's ``__main__`` again in each worker, which a script that calls
    ``llmdata.search`` at its top level does not expect.
    """
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    import multiprocessing

    return multiprocessing.get_context("fork")
