"""One module per source kind, each with the same small interface, chosen by the entry's ``kind``.

``resolve(source, client) -> Resolved`` turns a catalog source into a concrete
revision (a commit where the host has one) and the list of files with their
pins and download URLs. Downloading itself is shared (``transfer.download``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from ...catalog.model import Source
from ..transfer import RemoteFile


@dataclass
class Resolved:
    kind: str
    location: str  # repo id or URL, for messages and the ledger
    revision: str  # commit, or a content-derived name for plain URLs
    files: list[RemoteFile] = field(default_factory=list)
    pinned: bool = False  # the catalog names the exact bytes (``Source.pinned``)


class Resolver(Protocol):
    def __call__(self, source: Source, client: httpx.Client) -> Resolved: ...


def resolver_for(kind: str) -> Resolver:
    from . import github, hf, modelscope, url

    table: dict[str, Callable] = {"hf": hf.resolve, "github": github.resolve, "url": url.resolve,
                                  "modelscope": modelscope.resolve}
    return table[kind]
