"""Plain URL sources: one file, or the several files (parts) of one dataset, each pinned by SHA-256 and size."""

from __future__ import annotations

import hashlib

import httpx

from ...catalog.model import Source, url_basename
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved


def store_name(source: Source) -> str:
    """The file's name in the store: the catalog's ``path``, else the URL's last segment."""
    return source.path or url_basename(source.url or "")


def resolve(source: Source, client: httpx.Client) -> Resolved:
    if source.files:  # the parts of one dataset
        remotes = [RemoteFile(path=f.path, url=f.url or "", pin=Pin(sha256=f.sha256, size=f.size), extract=f.extract)
                   for f in source.files]
        if source.pinned:
            joined = "\n".join(f"{f.path} {f.sha256}" for f in source.files)
            revision = "sha256-" + hashlib.sha256(joined.encode()).hexdigest()[:16]
        else:
            revision = "unpinned"
        return Resolved("url", source.location, revision, remotes, pinned=source.pinned)
    url = source.url or ""
    pin = Pin(sha256=source.sha256, size=source.size)
    revision = f"sha256-{pin.sha256[:16]}" if pin.sha256 else "unpinned"
    remote = RemoteFile(path=store_name(source), url=url, pin=pin, extract=source.extract)
    return Resolved("url", url, revision, [remote], pinned=source.pinned)
