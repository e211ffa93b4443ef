"""Settings declared once, read from the environment each time they are asked for.

Nothing is frozen at import: tests and long-lived processes that change
``LLMDATA_HOME`` or ``LLMDATA_CATALOG`` see the new value on the next call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable the tool honours, with the sentence the docs show for it."""

    env: str
    help: str


HOME = Setting("LLMDATA_HOME", "where the store (index, raw files, normalized Parquet) lives")
CATALOG = Setting("LLMDATA_CATALOG", f"extra catalog files, separated by {os.pathsep!r}")
MIRRORS = Setting("LLMDATA_MIRRORS", "URL prefix rewrites, PREFIX=REPLACEMENT pairs separated by ';'")
OFFLINE = Setting("LLMDATA_OFFLINE", "use only what is already in the store")

ALL_SETTINGS = (HOME, CATALOG, MIRRORS, OFFLINE)


def home() -> Path:
    """The store root: ``LLMDATA_HOME`` or the platform's user cache dir."""
    value = os.environ.get(HOME.env)
    if value:
        return Path(value).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("llmdata", appauthor=False))


def index_path() -> Path:
    return home() / "index.sqlite"


def tmp_dir() -> Path:
    return home() / "tmp"


def extra_catalogs() -> list[Path]:
    """User catalog files named by ``LLMDATA_CATALOG`` (empty entries ignored)."""
    value = os.environ.get(CATALOG.env, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def offline() -> bool:
    flags = (os.environ.get(OFFLINE.env, ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)
