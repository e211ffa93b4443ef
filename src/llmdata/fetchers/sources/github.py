"""GitHub sources: a ref resolved to a commit, then raw files per path, verified per file.

Archives GitHub generates on the fly (codeload tarballs) are never used: their
bytes are not stable, so there is nothing to pin. Each file comes from the raw
host at the exact commit, or from the LFS media host for LFS-tracked files.
"""

from __future__ import annotations

import re
import urllib.parse

import httpx

from ..http import get_json
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved

API = "https://api.github.com"
RAW = "https://raw.githubusercontent.com"
MEDIA = "https://media.githubusercontent.com/media"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def file_url(repo: str, commit: str, path: str, lfs: bool = False) -> str:
    return f"{MEDIA if lfs else RAW}/{repo}/{commit}/{urllib.parse.quote(path)}"


def resolve(source: dict, client: httpx.Client) -> Resolved:
    repo = source["repo"]
    ref = source.get("ref") or "HEAD"
    hint = f"check that https://github.com/{repo} exists and is public, or set GITHUB_TOKEN"
    if _COMMIT.match(ref):
        commit = ref
    else:
        data = get_json(client, f"{API}/repos/{repo}/commits/{urllib.parse.quote(ref, safe='')}", hint)
        commit = data["sha"]
    if source.get("files"):
        listed = source["files"]
    else:
        tree = get_json(client, f"{API}/repos/{repo}/git/trees/{commit}?recursive=1", hint)
        listed = [{"path": t["path"], "git_blob": t["sha"], "size": t.get("size")}
                  for t in tree.get("tree", []) if t.get("type") == "blob"]
    files = [
        RemoteFile(
            path=f["path"],
            url=file_url(repo, commit, f["path"], bool(f.get("lfs"))),
            pin=Pin(sha256=f.get("sha256"), size=f.get("size"), git_blob=None if f.get("lfs") else f.get("git_blob")),
            extract=bool(f.get("extract")),
            access_hint=hint,
        )
        for f in listed
    ]
    pinned = bool(_COMMIT.match(ref)) and all(f.pin.pinned for f in files)
    return Resolved("github", repo, commit, files, pinned=pinned)
