"""Normalized output found current once, remembered per process until something it came from changes.

Deciding that stored output is still current means listing the split inputs
(paths confined, archives' extracted members walked), hashing them into the
inputs fingerprint and reading ``manifest.json``: about as long again as
``datasets`` takes to open a cached split, on every ``llmdata.load``. The answer
only changes when one of its inputs does, and each is cheap to compare:

- the catalog entry (``Entry`` is a frozen value: format, options, splits)
  and the converter's declared record (its version, by identity);
- the fetched files' paths and SHA-256s (what the inputs fingerprint hashes;
  a fetch that brings other bytes changes them);
- ``manifest.json`` itself, by ``stat``: device, inode, size and modification
  time. Output is always published by renaming a new folder over the old one
  (``store.atomic``), so a re-normalized manifest is a new file with a new
  inode, and a removed dataset has none at all.

Anything else (``strict``, ``force``) takes the full path, which also keeps
``split_inputs``' layout errors where they were.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..catalog.model import Entry
from ..store import layout

Stamp = tuple[int, int, int, int]


def stat_stamp(path: Path) -> Stamp | None:
    """Device, inode, size and modification time (ns) of ``path``; None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _signature(files: list[dict]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((f["path"], f["sha256"]) for f in files))


@dataclass(frozen=True)
class _Known:
    entry: Entry
    converter: object
    files: tuple[tuple[str, str], ...]
    partial: bool | None
    manifest_path: Path
    stamp: Stamp
    manifest: bytes  # handed out as a new dict on every hit: callers may change theirs


class KnownOutputs:
    """Per store, dataset and revision: the manifest last found current, with what it was checked against."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._known: dict[tuple[str, str, str], _Known] = {}
        self._lock = threading.Lock()

    def current(self, entry: Entry, converter: object, revision: str, files: list[dict],
                partial: bool | None) -> tuple[dict, Path] | None:
        """The remembered manifest and its folder, when nothing it was checked against has changed since."""
        with self._lock:
            known = self._known.get((str(layout.home()), entry.id, revision))
        if (known is None or known.converter is not converter or known.partial != partial or known.entry != entry
                or known.files != _signature(files)):
            return None
        if stat_stamp(known.manifest_path) != known.stamp:
            return None
        return orjson.loads(known.manifest), known.manifest_path.parent

    def remember(self, entry: Entry, converter: object, revision: str, files: list[dict], partial: bool | None,
                 manifest_path: Path, stamp: Stamp, manifest: dict) -> None:
        """Keep a manifest found current (``stamp`` taken before it was read)."""
        known = _Known(entry, converter, _signature(files), partial, manifest_path, stamp,
                       orjson.dumps(manifest))
        with self._lock:
            self._known.pop((str(layout.home()), entry.id, revision), None)
            if len(self._known) >= self._size:
                self._known.pop(next(iter(self._known)))
            self._known[(str(layout.home()), entry.id, revision)] = known
