"""Settings declared once, read from the environment each time they are asked for.

Nothing is frozen at import: tests and long-lived processes that change
``LLMDATA_HOME`` or ``LLMDATA_CATALOG`` see the new value on the next call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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
RETRIES = Setting("LLMDATA_RETRIES", "retries per request on 429, 5xx, timeouts and dropped connections (default 5)")
JOBS = Setting("LLMDATA_JOBS", "files of one dataset downloaded at once (default 8; --jobs overrides)")

MODELSCOPE_ENDPOINT = Setting("MODELSCOPE_ENDPOINT",
                              "ModelScope endpoint URL, e.g. a mirror (default https://www.modelscope.cn; "
                              "MODELSCOPE_DOMAIN is read as the official client does)")

ALL_SETTINGS = (HOME, CATALOG, MIRRORS, OFFLINE, RETRIES, JOBS, MODELSCOPE_ENDPOINT)
MODELSCOPE_DEFAULT_ENDPOINT = "https://www.modelscope.cn"

HF_DEFAULT_ENDPOINT = "https://huggingface.co"


def home() -> Path:
    """The store root: ``LLMDATA_HOME`` or the platform's user cache dir."""
    value = os.environ.get(HOME.env)
    if value:
        return Path(value).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("llmdata", appauthor=False))




def extra_catalogs() -> list[Path]:
    """User catalog files named by ``LLMDATA_CATALOG`` (empty entries ignored)."""
    value = os.environ.get(CATALOG.env, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def offline() -> bool:
    flags = (os.environ.get(OFFLINE.env, ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)




def mirrors() -> list[tuple[str, str]]:
    """``LLMDATA_MIRRORS`` as (prefix, replacement) pairs, longest prefix first."""
    pairs = []
    for item in os.environ.get(MIRRORS.env, "").split(";"):
        if "=" in item:
            prefix, replacement = item.split("=", 1)
            if prefix.strip():
                pairs.append((prefix.strip(), replacement.strip()))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def retries() -> int:
    try:
        return max(0, int(os.environ.get(RETRIES.env, "5")))
    except ValueError:
        return 5


DEFAULT_JOBS = 8


def jobs() -> int:
    """``LLMDATA_JOBS``: concurrent downloads per dataset (at least 1; default 8, as huggingface_hub's workers)."""
    try:
        return max(1, int(os.environ.get(JOBS.env, str(DEFAULT_JOBS))))
    except ValueError:
        return DEFAULT_JOBS


def hf_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")


def modelscope_endpoint() -> str:
    """``MODELSCOPE_ENDPOINT``, else ``https://`` + ``MODELSCOPE_DOMAIN`` (the official client's variable)."""
    value = os.environ.get(MODELSCOPE_ENDPOINT.env, "").strip()
    if value:
        return value.rstrip("/")
    domain = os.environ.get("MODELSCOPE_DOMAIN", "").strip()
    if domain:
        return (domain if domain.startswith(("http://", "https://")) else "https://" + domain).rstrip("/")
    return MODELSCOPE_DEFAULT_ENDPOINT


def hf_token() -> str | None:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token
    try:  # the token `huggingface-cli login` stored
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # noqa: BLE001 - no token is a normal state
        return None


def github_token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or None


def netrc_path() -> str:
    """``NETRC``, else ``~/.netrc``: where logins for private hosts are read, as curl and requests read them."""
    return os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These variables set for the duration, each restored (or removed) afterwards.

    For code that runs where the caller's settings are not the process's own:
    a Ray task carrying the driver's, an index built for another store.
    """
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
