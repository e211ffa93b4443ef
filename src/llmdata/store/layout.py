"""Where everything lives in the store (DESIGN.md, "The local store").

```
index.sqlite                          the search index and the fetch ledger
raw/<id>/<revision>/<path>            verified upstream files, never edited
normalized/<id>/<revision>/<format>/  Parquet shards + manifest.json (+ rejects)
cache/datasets/                       the Arrow cache of ``llmdata.load``
tmp/parts/                            partial downloads and their locks
tmp/index.lock                        serialises index rebuilds and ledger DDL
```

Paths are computed from ``LLMDATA_HOME`` on every call, never frozen at import.
"""

from __future__ import annotations

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
    """``raw/<id>/<revision>``: the verified upstream files of one revision."""
    return raw_root() / dataset_id / revision


def normalized_root() -> Path:
    return home() / "normalized"


def normalized_dir(dataset_id: str, revision: str, fmt: str) -> Path:
    """``normalized/<id>/<revision>/<format>``: Parquet shards, rejects and manifest.json."""
    return normalized_root() / dataset_id / revision / fmt


def datasets_cache() -> Path:
    """The Arrow cache ``datasets`` keeps for ``llmdata.load`` (counted by ``list``, removed by ``rm``)."""
    return home() / "cache" / "datasets"


def extracted_dir(archive: Path) -> Path:
    """Where an archive's members go: ``foo.tar.gz`` -> ``foo/`` beside it."""
    name = archive.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return archive.with_name(name[: -len(suffix)] or "extracted")
    return archive.with_name(name + ".d")
