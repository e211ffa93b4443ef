"""The curated catalog: which files make it up, how they are checked."""

from __future__ import annotations

from pathlib import Path

from .. import resources, settings


def catalog_paths(extra: list[Path] | None = None) -> list[Path]:
    """Built-in catalog first, then ``LLMDATA_CATALOG``, then ``--catalog`` files, without repeats."""
    paths = [resources.builtin_catalog(), *settings.extra_catalogs(), *(extra or [])]
    unique: dict[Path, None] = {}
    for p in paths:
        unique.setdefault(Path(p).expanduser().resolve(), None)
    return list(unique)


def source_pinned(source: dict) -> bool:
    """A source is pinned when it names exact bytes: a sha256 for a URL, a commit plus a hash for every file."""
    if source["kind"] == "url":
        return "sha256" in source
    revision = source.get("revision") or source.get("ref") or ""
    files = source.get("files") or []
    return len(revision) == 40 and bool(files) and all("sha256" in f or "git_blob" in f for f in files)
