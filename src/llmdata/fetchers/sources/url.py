"""Plain URL sources: one file, pinned by its SHA-256 and size."""

from __future__ import annotations

import urllib.parse

import httpx

from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved


def resolve(source: dict, client: httpx.Client) -> Resolved:
    url = source["url"]
    name = source.get("path") or urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
    pin = Pin(sha256=source.get("sha256"), size=source.get("size"))
    revision = f"sha256-{pin.sha256[:16]}" if pin.sha256 else "unpinned"
    remote = RemoteFile(path=name, url=url, pin=pin, extract=bool(source.get("extract")))
    return Resolved("url", url, revision, [remote], pinned=bool(pin.sha256))
