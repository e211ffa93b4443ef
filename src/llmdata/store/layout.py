"""Where everything lives in the store (DESIGN.md, "The local store").

```
index.sqlite                          the search index and the fetch ledger
raw/<id>/<revision>/<path>            verified upstream files, never edited
normalized/<id>/<revision>/<format>/  Parquet shards + manifest.json (+ rejects)
    .arrow/                           the Arrow cache of ``llmdata.load`` for these shards
tmp/parts/                            partial downloads and their locks
tmp/index.lock                        serialises index rebuilds and ledger DDL
```

Paths are computed from ``LLMDATA_HOME`` on every call, never frozen at import.

A store may be shared read-only (a team's copy on a read-only mount). Reading
it needs no write anywhere in it: the ledger is read from ``index.sqlite``
as it is, and when the search index there does not match the catalogs in use
(a user catalog, a newer llmdata) a private index is built in the user's own
cache (:func:`private_dir`), as is ``llmdata.load``'s Arrow cache.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .. import settings

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".gz")


def home() -> Path:
    return settings.home()


def index_path() -> Path:
    return home() / "index.sqlite"


def tmp_dir() -> Path:
    return home() / "tmp"


def parts_dir() -> Path:
    """Partial downloads (``<key>.part``), their resume metadata and per-file locks."""
    directory = tmp_dir() / "parts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def index_lock() -> Path:
    """The lock that serialises index rebuilds and the ledger's table creation."""
    directory = tmp_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "index.lock"


def raw_root() -> Path:
    return home() / "raw"


def raw_dir(dataset_id: str, revision: str) -> Path:
    """``raw/<id>/<revision>``: the verified upstream files of one revision.

    The revision may come from a server (a commit id from an API answer), so it
    is confined like any other remote path.
    """
    return confined(raw_root(), f"{dataset_id}/{revision}", entry=dataset_id, origin="the resolved revision")


def normalized_root() -> Path:
    return home() / "normalized"


def normalized_dir(dataset_id: str, revision: str, fmt: str) -> Path:
    """``normalized/<id>/<revision>/<format>``: Parquet shards, rejects and manifest.json."""
    return confined(normalized_root(), f"{dataset_id}/{revision}/{fmt}", entry=dataset_id,
                    origin="the resolved revision")


ARROW_CACHE = ".arrow"


def datasets_cache(dataset_id: str, revision: str, fmt: str) -> Path:
    """The Arrow cache ``datasets`` keeps for ``llmdata.load`` of one normalized folder.

    It lives inside that folder, so ``list`` counts it with the dataset, ``rm``
    removes it with the dataset, and a re-normalization (which swaps the whole
    folder) drops the stale cache with the old shards. On a read-only store it
    goes to the user's private cache instead.
    """
    folder = normalized_dir(dataset_id, revision, fmt)
    if writable(folder if folder.exists() else home()):
        return folder / ARROW_CACHE
    return private_dir() / "datasets" / dataset_id / revision / fmt


def legacy_datasets_cache() -> Path:
    """Where ``llmdata.load`` kept its Arrow cache before it moved beside the shards (shown by ``list``)."""
    return home() / "cache" / "datasets"


def writable(path: Path | None = None) -> bool:
    """Can this process create files in ``path`` (default: the store)?

    A path that does not exist yet is judged by its nearest existing parent,
    since it would be created there. ``os.access`` answers for read-only
    mounts even to root, which ignores permission bits.
    """
    target = home() if path is None else path
    while not target.exists() and target.parent != target:
        target = target.parent
    return os.access(target, os.W_OK)


def private_dir() -> Path:
    """A folder of this user's own for what a read-only store cannot hold, one per store.

    ``<user cache>/llmdata/readonly-<hash of the store path>``: the private
    search index and the Arrow cache of ``llmdata.load``.
    """
    import hashlib

    from platformdirs import user_cache_dir

    key = hashlib.sha256(str(home().expanduser().resolve()).encode()).hexdigest()[:16]
    base = Path(user_cache_dir("llmdata", appauthor=False))
    if not writable(base):
        import tempfile

        base = Path(tempfile.gettempdir()) / f"llmdata-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    return base / f"readonly-{key}"


def require_writable(action: str) -> None:
    """Fail early, in one line, when ``action`` would have to write into a read-only store."""
    if not writable():
        from ..errors import StoreReadOnlyError

        raise StoreReadOnlyError(home(), action)


def extracted_dir(archive: Path) -> Path:
    """Where an archive's members go: ``foo.tar.gz`` -> ``foo/`` beside it."""
    name = archive.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return archive.with_name(name[: -len(suffix)] or "extracted")
    return archive.with_name(name + ".d")


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_reason(relative: object) -> str | None:
    """Why ``relative`` is not a plain path inside a folder, or None when it is (lexical check only)."""
    if not isinstance(relative, str) or not relative.strip("/"):
        return "it is empty"
    if "\0" in relative:
        return "it contains a NUL character"
    if relative.startswith(("/", "\\")):
        return "it is absolute"
    if _DRIVE.match(relative):
        return "it starts with a drive letter"
    if "\\" in relative:
        return "it contains a backslash"
    if ".." in relative.split("/"):
        return "it has a '..' segment"
    return None


def confined(root: Path, relative: str, *, entry: str | None = None, origin: str | None = None) -> Path:
    """``root / relative``, after checking that it stays inside ``root``; else :class:`UnsafePathError`.

    Two checks, because either alone can be fooled: the lexical one refuses
    absolute paths, ``..`` segments, backslashes and drive letters whatever the
    platform; the resolved one follows symbolic links already on disk (a link
    inside an extracted archive, a link planted in the store) and refuses a
    target that lands outside ``root`` or on ``root`` itself. Every path that
    comes from a catalog, a remote listing or a split glob goes through here
    before anything is written (or read) at it.
    """
    reason = unsafe_reason(relative)
    target = root / relative if reason is None else root
    if reason is None:
        real_root = root.resolve()
        real = target.resolve()
        if real == real_root or not real.is_relative_to(real_root):
            reason = "it resolves outside the folder (through a symbolic link)"
    if reason is not None:
        from ..errors import UnsafePathError

        raise UnsafePathError(str(relative), str(root), reason, entry=entry, origin=origin)
    return target
