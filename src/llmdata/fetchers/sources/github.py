"""GitHub sources: a ref resolved to a commit, then raw files per path, verified per file.

Archives GitHub generates on the fly (codeload tarballs) are never used: their
bytes are not stable, so there is nothing to pin. Each file comes from the raw
host at the exact commit, or from the LFS media host for LFS-tracked files.
"""

from __future__ import annotations

import urllib.parse

import httpx

from ...catalog.model import FileSpec, Source, is_commit
from ..http import get_json
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved

API = "https://api.github.com"
RAW = "https://raw.githubusercontent.com"
MEDIA = "https://media.githubusercontent.com/media"


def file_url(repo: str, commit: str, path: str, lfs: bool = False) -> str:
    return f"{MEDIA if lfs else RAW}/{repo}/{commit}/{urllib.parse.quote(path)}"


def resolve(source: Source, client: httpx.Client) -> Resolved:
    repo = source.repo or ""
    ref = source.revision or "HEAD"
    hint = f"check that https://github.com/{repo} exists and is public, or set GITHUB_TOKEN"
    if is_commit(ref):
        commit = ref
    else:
        data = get_json(client, f"{API}/repos/{repo}/commits/{urllib.parse.quote(ref, safe='')}", hint)
        commit = data["sha"]
    if source.files:
        listed = list(source.files)
    else:
        tree = get_json(client, f"{API}/repos/{repo}/git/trees/{commit}?recursive=1", hint)
        listed = [FileSpec(t["path"], git_blob=t["sha"], size=t.get("size"))
                  for t in tree.get("tree", []) if t.get("type") == "blob"]
    files = [
        RemoteFile(
            path=f.path,
            url=file_url(repo, commit, f.path, f.lfs),
            pin=Pin(sha256=f.sha256, size=f.size, git_blob=None if f.lfs else f.git_blob),
            extract=f.extract,
            access_hint=hint,
        )
        for f in listed
    ]
    return Resolved("github", repo, commit, files, pinned=source.pinned)
