"""The Python API: what ``import llmdata`` offers, each call a thin layer over one module."""

from __future__ import annotations

from pathlib import Path

from .index.query import Filters


def search(
    query: str = "",
    *,
    category: str | None = None,
    domain: str | None = None,
    lang: str | None = None,
    license: str | None = None,
    commercial: bool | None = None,
    access: str | None = None,
    host_kind: str | None = None,
    limit: int | None = 20,
    catalogs: list[str | Path] | None = None,
) -> list[dict]:
    """Catalog entries matching ``query`` (Chinese or English) and the filters, best first.

    >>> [hit["id"] for hit in llmdata.search("医疗", lang="zh")][:3]  # doctest: +SKIP
    """
    from .index import query as q
    from .index.store import open_index

    conn = open_index([Path(c) for c in catalogs or []])
    try:
        filters = Filters(category, domain, lang, license, commercial, access, host_kind)
        return q.search(conn, query, filters, limit)
    finally:
        conn.close()


def info(dataset_id: str, *, catalogs: list[str | Path] | None = None) -> dict:
    """The full catalog card of one dataset; raises ``UnknownDatasetError`` (a ``KeyError``)."""
    from .index import query as q
    from .index.store import open_index

    conn = open_index([Path(c) for c in catalogs or []])
    try:
        return q.get(conn, dataset_id)
    finally:
        conn.close()


def validate(paths: list[str | Path] | None = None):
    """Problems found in catalog files (default: every file in use). Returns ``(entries, problems)``."""
    from .catalog import catalog_paths
    from .catalog.validate import check_files

    files = [Path(p).expanduser().resolve() for p in paths] if paths else catalog_paths()
    return check_files(files)


def fetch(dataset_id: str, *, dry_run: bool = False, from_path: str | Path | None = None,
          catalogs: list[str | Path] | None = None, progress=None):
    """Get a dataset's pinned files into the store (verified); returns a ``FetchReport``.

    ``from_path`` registers a file downloaded by hand (manual-access datasets).
    """
    from .fetchers import service

    entry = info(dataset_id, catalogs=catalogs)
    if from_path is not None:
        return service.register_manual(entry, Path(from_path).expanduser())
    return service.fetch_entry(entry, dry_run=dry_run, progress=progress)
