"""``llmdata pin``: resolve unpinned sources to exact bytes and write the pins back into the catalog file.

For each source that is not pinned yet (``Source.pinned``):

- ``hf``: the revision resolved to a commit through the Hub API (the same call
  the fetcher makes), and every listed file (else every file matching the
  source's patterns) with its size and its LFS SHA-256, or its git blob id;
- ``github``: the ref resolved to a commit, and each file's git blob id and size
  from the repository tree at that commit (for ``lfs: true`` files, the SHA-256
  and size read from the LFS pointer);
- ``modelscope``: the revision resolved to a commit and each file's SHA-256 and
  size from the repository tree;
- ``url``: the file streamed once through the shared downloader, which gives its
  SHA-256 and size.

With ``write`` the values go into the catalog file the entry comes from,
editing only the pinned keys' lines (:mod:`llmdata.catalog.edit`), so comments,
order and formatting of everything else stay byte-identical. Without it the
pins are returned (the CLI prints them as YAML).
"""

from __future__ import annotations

import fnmatch
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..catalog.model import FileSpec, Source
from ..errors import UnknownDatasetError

FILE_KEYS = ("path", "sha256", "size", "git_blob", "lfs", "extract")


@dataclass
class PinnedSource:
    dataset_id: str
    index: int  # position in the entry's sources
    kind: str
    location: str
    file: str  # the catalog file the entry comes from
    values: dict = field(default_factory=dict)  # the keys written into the source
    skipped: str | None = None  # why nothing was resolved (already pinned)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _file_dict(declared: FileSpec | None, path: str, **found) -> dict:
    out = {"path": path}
    if declared is not None:
        out.update({k: v for k, v in (("sha256", declared.sha256), ("size", declared.size),
                                      ("git_blob", declared.git_blob), ("lfs", declared.lfs or None),
                                      ("extract", declared.extract or None)) if v is not None})
    out.update({k: v for k, v in found.items() if v is not None})
    return {k: out[k] for k in FILE_KEYS if k in out}


def _wanted(source: Source, available: list[str]) -> list[tuple[FileSpec | None, str]]:
    if source.files:
        return [(f, f.path) for f in source.files]
    patterns = source.patterns or ("*",)
    return [(None, p) for p in sorted(available)
            if any(fnmatch.fnmatch(p, pat) for pat in patterns) and not p.startswith(".git")]


def _missing(path: str, where: str) -> Exception:
    from ..errors import RemoteNotFoundError

    return RemoteNotFoundError(f"{path} is not in {where}", hint="the file was renamed or removed upstream; fix the "
                                                                 "entry's files: list, then run pin again")


def pin_hf(source: Source, client: httpx.Client) -> dict:
    from .sources.hf import _dataset_info

    info = _dataset_info(source.repo or "", source.revision or "main")
    siblings = {s.rfilename: s for s in info.siblings or []}
    files = []
    for declared, path in _wanted(source, list(siblings)):
        sib = siblings.get(path)
        if sib is None:
            raise _missing(path, f"{source.repo} at {info.sha}")
        lfs = sib.lfs
        files.append(_file_dict(declared, path, sha256=lfs.sha256 if lfs else None,
                                size=lfs.size if lfs else sib.size, git_blob=None if lfs else sib.blob_id))
    return {"revision": info.sha, "files": files}


def _lfs_pointer(client: httpx.Client, url: str) -> tuple[str | None, int | None]:
    from .http import auth_headers, rewrite

    url = rewrite(url)
    response = client.get(url, headers=auth_headers(url))
    if response.status_code != 200:
        return None, None
    fields = dict(line.split(" ", 1) for line in response.text.splitlines() if " " in line)
    oid = fields.get("oid", "")
    return (oid.split(":", 1)[1] if oid.startswith("sha256:") else None,
            int(fields["size"]) if fields.get("size", "").isdigit() else None)


def pin_github(source: Source, client: httpx.Client) -> dict:
    from ..catalog.model import is_commit
    from .http import get_json
    from .sources.github import API, RAW

    repo = source.repo or ""
    hint = f"check that https://github.com/{repo} exists and is public, or set GITHUB_TOKEN"
    ref = source.revision or "HEAD"
    commit = ref if is_commit(ref) else get_json(
        client, f"{API}/repos/{repo}/commits/{urllib.parse.quote(ref, safe='')}", hint)["sha"]
    tree = get_json(client, f"{API}/repos/{repo}/git/trees/{commit}?recursive=1", hint)
    blobs = {t["path"]: t for t in tree.get("tree", []) if t.get("type") == "blob"}
    files = []
    for declared, path in _wanted(source, list(blobs)):
        blob = blobs.get(path)
        if blob is None:
            raise _missing(path, f"{repo} at {commit}")
        if declared is not None and declared.lfs:
            sha256, size = _lfs_pointer(client, f"{RAW}/{repo}/{commit}/{urllib.parse.quote(path)}")
            files.append(_file_dict(declared, path, sha256=sha256, size=size))
        else:
            files.append(_file_dict(declared, path, git_blob=blob["sha"], size=blob.get("size")))
    return {"ref": commit, "files": files}


def pin_modelscope(source: Source, client: httpx.Client) -> dict:
    from .sources import modelscope

    repo = source.repo or ""
    commit = modelscope.resolve_commit(client, repo, source.revision or "master")
    tree = {f["Path"]: f for f in modelscope.list_files(client, repo, commit)}
    files = []
    for declared, path in _wanted(source, list(tree)):
        meta = tree.get(path)
        if meta is None:
            raise _missing(path, f"ModelScope dataset {repo} at {commit}")
        files.append(_file_dict(declared, path, sha256=meta.get("Sha256") or None, size=meta.get("Size")))
    return {"revision": commit, "files": files}


def pin_url(source: Source, client: httpx.Client) -> dict:
    from .transfer import RemoteFile, download
    from .verify import Pin

    with tempfile.TemporaryDirectory(prefix="llmdata-pin-") as tmp:
        verified = download(client, RemoteFile(path="download", url=source.url or "", pin=Pin(size=source.size)),
                            Path(tmp) / "download")
    return {"sha256": verified.sha256, "size": verified.size}


PINNERS = {"hf": pin_hf, "github": pin_github, "url": pin_url, "modelscope": pin_modelscope}


def _entries_by_id(catalogs: list[Path] | None) -> dict[str, dict]:
    from ..catalog import catalog_paths
    from ..catalog.validate import check_files
    from ..errors import CatalogError

    entries, problems = check_files(catalog_paths(catalogs))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CatalogError(errors)
    found: dict[str, dict] = {}
    for e in entries:
        found[e["id"]] = e
        for alias in e.get("aliases") or []:
            found.setdefault(alias, e)
    return found


def pin(ids: list[str], *, catalogs: list[Path] | None = None, write: bool = False,
        client: httpx.Client | None = None) -> list[PinnedSource]:
    """Resolve every unpinned source of the entries ``ids``; with ``write``, edit their catalog files in place."""
    import difflib

    from .http import new_client

    entries = _entries_by_id(catalogs)
    own = client is None
    client = client or new_client()
    results: list[PinnedSource] = []
    try:
        for dataset_id in ids:
            card = entries.get(dataset_id)
            if card is None:
                raise UnknownDatasetError(dataset_id, difflib.get_close_matches(dataset_id, list(entries), n=3))
            for index, raw in enumerate(card["sources"]):
                source = Source.from_dict(raw)
                result = PinnedSource(card["id"], index, source.kind, source.location, card["_origin"]["file"])
                if source.pinned:
                    result.skipped = "already pinned"
                else:
                    result.values = PINNERS[source.kind](source, client)
                results.append(result)
    finally:
        if own:
            client.close()
    if write:
        write_pins(results)
    return results


def write_pins(results: list[PinnedSource]) -> list[Path]:
    """Put the resolved values into each catalog file, touching only the pinned keys' lines."""
    from ..catalog.edit import CatalogEditor
    from ..store.atomic import write_bytes

    written = []
    for file in sorted({r.file for r in results if r.values}):
        path = Path(file)
        editor = CatalogEditor(path.read_text("utf-8"))
        for r in results:
            if r.file == file and r.values:
                editor.set_source(r.dataset_id, r.index, r.values)
        write_bytes(path, editor.render().encode("utf-8"))
        written.append(path)
    return written


def as_yaml(results: list[PinnedSource]) -> str:
    """The pins as YAML to paste into a catalog: one mapping per entry with its resolved sources."""
    import yaml

    out: dict[str, list] = {}
    for r in results:
        if r.values:
            out.setdefault(r.dataset_id, []).append({"source": r.index, "kind": r.kind, "location": r.location,
                                                     **r.values})
    return yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=1 << 30) if out else ""
