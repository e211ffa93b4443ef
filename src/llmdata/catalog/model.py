"""Typed catalog entries, built once from a validated card and handed to every layer.

The YAML (and the index's JSON card) is the reviewed source of truth; these
frozen dataclasses are how the rest of the package reads it, so a field name
is spelled once, and "pinned" and "a commit" are defined once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

SourceKind = Literal["hf", "github", "url", "modelscope"]
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_commit(ref: str | None) -> bool:
    """A full 40-hex commit id: the only revision that names exact bytes."""
    return bool(ref) and bool(COMMIT.match(ref or ""))


def evidence_url(source: str) -> str:
    """A browsable link for a license_source: URLs as they are, owner/name@commit:path#Lline on GitHub."""
    if source.startswith(("http://", "https://")):
        return source
    repo, _, rest = source.partition("@")
    commit, _, path = rest.partition(":")
    return f"https://github.com/{repo}/blob/{commit}/{path}"


def _frozen(value: Any) -> Any:
    """Read-only views of nested options, so an Entry can be shared safely."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for JSON, hashing and converter options)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class FileSpec:
    """One file a source lists, with whatever pins the catalog gives for it."""

    path: str
    sha256: str | None = None
    size: int | None = None
    git_blob: str | None = None
    lfs: bool = False
    extract: bool = False
    url: str | None = None  # url sources made of several files: where this part comes from

    @property
    def hashed(self) -> bool:
        return bool(self.sha256 or self.git_blob)

    @classmethod
    def from_dict(cls, data: Mapping) -> FileSpec:
        url = data.get("url")
        path = data.get("path") or url_basename(url or "")
        return cls(path, data.get("sha256"), data.get("size"), data.get("git_blob"),
                   bool(data.get("lfs")), bool(data.get("extract")), url)


def url_basename(url: str) -> str:
    """A URL's last path segment, unquoted: the default name of a downloaded file."""
    import urllib.parse

    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]) or "download"


@dataclass(frozen=True)
class Source:
    """Where the bytes come from: a Hub repo, a GitHub repo, a ModelScope dataset repo or a plain URL."""

    kind: SourceKind
    repo: str | None = None  # hf / github / modelscope: owner/name
    revision: str | None = None  # hf, modelscope: revision; github: ref
    files: tuple[FileSpec, ...] = ()  # url: the parts of one dataset, each with its own url
    patterns: tuple[str, ...] = ()  # hf, modelscope: globs over the repo's files
    config: str | None = None  # hf: a config named in the dataset card
    url: str | None = None  # url
    path: str | None = None  # url: name in the store (default: the URL's last segment)
    sha256: str | None = None  # url
    size: int | None = None  # url
    extract: bool = False  # url

    @property
    def location(self) -> str:
        """Repo id or URL: what messages and the ledger call this source."""
        return self.repo or self.url or next((f.url for f in self.files if f.url), "")

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.location}"

    @property
    def pinned(self) -> bool:
        """The catalog names exact bytes: a SHA-256 for a URL; a commit and a hash for every listed file otherwise."""
        if self.kind == "url":
            return all(f.sha256 for f in self.files) if self.files else bool(self.sha256)
        return is_commit(self.revision) and bool(self.files) and all(f.hashed for f in self.files)

    @classmethod
    def from_dict(cls, data: Mapping) -> Source:
        return cls(
            kind=data["kind"],
            repo=data.get("repo"),
            revision=data.get("revision") or data.get("ref"),
            files=tuple(FileSpec.from_dict(f) for f in data.get("files") or ()),
            patterns=tuple(data.get("patterns") or ()),
            config=data.get("config"),
            url=data.get("url"),
            path=data.get("path"),
            sha256=data.get("sha256"),
            size=data.get("size"),
            extract=bool(data.get("extract")),
        )


@dataclass(frozen=True)
class Format:
    """How to read the raw files and which converter makes which normalized format of them."""

    produces: str
    reader: str | None = None
    converter: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    encoding: str = "utf-8"
    reason: str | None = None  # why an entry is raw-only

    @property
    def supported(self) -> bool:
        return self.produces != "unsupported" and bool(self.converter)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> Format:
        if not data:
            return cls("unsupported", reason="the catalog entry declares no format")
        return cls(data["produces"], data.get("reader"), data.get("converter"), _frozen(data.get("options") or {}),
                   data.get("encoding", "utf-8"), data.get("reason"))


@dataclass(frozen=True)
class Entry:
    """One dataset of the catalog. ``card`` keeps the whole validated mapping for display and JSON."""

    id: str
    name: str
    category: str
    license: str
    commercial: bool | None
    access: str
    sources: tuple[Source, ...]
    splits: Mapping[str, tuple[str, ...]]
    format: Format
    instructions: str = ""
    card: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    @property
    def pinned(self) -> bool:
        """The preferred source names exact bytes."""
        return bool(self.sources) and self.sources[0].pinned

    @classmethod
    def from_card(cls, card: Mapping) -> Entry:
        return cls(
            id=card["id"],
            name=card["name"],
            category=card["category"],
            license=card["license"],
            commercial=card.get("commercial"),
            access=card["access"],
            sources=tuple(Source.from_dict(s) for s in card.get("sources") or ()),
            splits=MappingProxyType({k: tuple(v) for k, v in (card.get("splits") or {}).items()}),
            format=Format.from_dict(card.get("format")),
            instructions=(card.get("instructions") or "").strip(),
            card=_frozen({k: v for k, v in card.items() if k not in ("_origin", "score")}),
        )


def loads(card: Mapping) -> bool:
    """Whether ``llmdata.load`` gives normalized rows for this entry: it declares a converter.

    "Declares a converter" and "loads" coincide by construction: the conformance suite
    (``tests/test_conformance.py``, run in CI) fetches and loads every entry that declares one from a
    replica of its real upstream tree, and fails for any that does not load or has no replica.
    """
    return Format.from_dict(card.get("format")).supported
