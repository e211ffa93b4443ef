"""One catalog entry by id, without opening the index again while the catalog files are unchanged.

``llmdata.load`` in a loop (a trainer reloading its split, a notebook cell run
again) asks for the same entry many times. An entry is a function of the
catalog files alone, and the index fingerprint already says whether those
changed (one ``stat`` per file, the bytes hashed again only when a stat
differs). So an entry found once is kept per process under that fingerprint:
an edited, added or removed catalog file changes the fingerprint and the next
lookup goes through the index (rebuilt first) as before. ``Entry`` is frozen,
so the same object can be handed out again.

The user catalogs the index was built without are remembered with the entry
and reported on every lookup, as :func:`~llmdata.index.reader.open_index` does.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..catalog import catalog_paths
from ..catalog.model import Entry
from ..errors import Problem
from ..store import layout
from .fingerprint import fingerprint

_MAX_ENTRIES = 256
_found: dict[tuple, tuple[Entry, list[tuple[str, list[Problem]]]]] = {}
_lock = threading.Lock()


def entry(dataset_id: str, extra_catalogs: list[Path] | None = None, *, strict: bool = False) -> Entry:
    """The typed entry of ``dataset_id`` (an alias or another case resolves to it); ``UnknownDatasetError`` else."""
    from . import query
    from .reader import open_index, report_skipped, skipped_catalogs

    key = (str(layout.home()), fingerprint(catalog_paths(extra_catalogs)), dataset_id)
    with _lock:
        found = _found.get(key)
    if found is None:
        conn = open_index(extra_catalogs, strict=strict, report=False)
        try:
            found = Entry.from_card(query.get(conn, dataset_id)), skipped_catalogs(conn)
        finally:
            conn.close()
        with _lock:
            if len(_found) >= _MAX_ENTRIES:
                _found.pop(next(iter(_found)))
            _found[key] = found
    report_skipped(found[1], strict=strict, stacklevel=3)
    return found[0]
