"""Plain URL sources: one file, pinned by its SHA-256 and size."""

from __future__ import annotations

import urllib.parse

import httpx

from ...catalog.model import Source
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved


def store_name(source: Source) -> str:
    """The file's name in the store: the catalog's ``path``, else the URL's last segment."""
    url = source.url or ""
    return source.path or urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]) or "download"


def resolve(source: Source, client: httpx.Client) -> Resolved:
    url = source.url or ""
    pin = Pin(sha256=source.sha256, size=source.size)
    revision = f"sha256-{pin.sha256[:16]}" if pin.sha256 else "unpinned"
    remote = RemoteFile(path=store_name(source), url=url, pin=pin, extract=source.extract)
    return Resolved("url", url, revision, [remote], pinned=source.pinned)
