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

