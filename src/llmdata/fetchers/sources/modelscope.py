"""ModelScope dataset repos, through the same few HTTP calls the ``modelscope`` client makes.

Endpoints, as in ``modelscope/hub/api.py`` (``HubApi.list_repo_commits``,
``get_dataset_id_and_type``, ``get_dataset_files``, ``get_dataset_file_url``):

- ``GET {endpoint}/api/v1/datasets/{owner}/{name}/commits?Ref=REV&PageNumber=1&PageSize=1``
  → ``Data.Commit[0].Id``: the revision resolved to a commit;
- ``GET {endpoint}/api/v1/datasets/{owner}/{name}`` → ``Data.Id``: the numeric hub id;
- ``GET {endpoint}/api/v1/datasets/{id}/repo/tree?Revision=REV&Root=/&Recursive=True&PageNumber=N&PageSize=100``
  → ``Data.Files``: ``{Path, Type: blob|tree, Size, Sha256}`` per entry, paged;
- ``GET {endpoint}/api/v1/datasets/{owner}/{name}/repo?Source=SDK&Revision=REV&FilePath=PATH``: the bytes.

The endpoint is ``MODELSCOPE_ENDPOINT`` (a full URL), else ``https://`` plus
``MODELSCOPE_DOMAIN`` as the official client reads it, else
``https://www.modelscope.cn``. ``LLMDATA_MIRRORS`` applies to every URL, and
every file is verified against the tree's SHA-256 and size by the shared
downloader, like the other kinds.
"""

from __future__ import annotations

import fnmatch
import urllib.parse

import httpx

from ... import settings
from ...catalog.model import FileSpec, Source, is_commit
from ...errors import FetchError, RemoteNotFoundError
from ..http import get_json
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved

PAGE_SIZE = 100


def _data(payload: object, url: str) -> object:
    """The ``Data`` of a ModelScope answer; its envelope reports errors with ``Code``/``Message``."""
    if not isinstance(payload, dict):
        raise FetchError("ModelScope answered something that is not a JSON object", url=url)
    code = payload.get("Code")
    if code not in (None, 200, "200") or payload.get("Success") is False:
        raise RemoteNotFoundError(f"ModelScope says: {payload.get('Message') or code}", url=url,
                                  hint="check the dataset id and revision on modelscope.cn")
    return payload.get("Data")


def page_url(repo: str) -> str:
    return f"{settings.modelscope_endpoint()}/datasets/{repo}"


def resolve_commit(client: httpx.Client, repo: str, revision: str) -> str:
    """A branch or tag resolved to its commit id (a commit id is returned as it is)."""
    if is_commit(revision):
        return revision
    query = urllib.parse.urlencode({"Ref": revision, "PageNumber": 1, "PageSize": 1})
    url = f"{settings.modelscope_endpoint()}/api/v1/datasets/{repo}/commits?{query}"
    hint = f"check that {page_url(repo)} exists and has revision {revision!r}"
    commits = (_data(get_json(client, url, hint), url) or {}).get("Commit") or []
    if not commits or not commits[0].get("Id"):
        raise RemoteNotFoundError(f"revision {revision!r} of ModelScope dataset {repo} not found", url=url, hint=hint)
    return commits[0]["Id"]


def list_files(client: httpx.Client, repo: str, revision: str) -> list[dict]:
    """Every file (``Type: blob``) of the repo at ``revision``: dicts with Path, Size, Sha256."""
    endpoint = settings.modelscope_endpoint()
    info_url = f"{endpoint}/api/v1/datasets/{repo}"
    hint = f"check that {page_url(repo)} exists and is public"
    hub_id = (_data(get_json(client, info_url, hint), info_url) or {}).get("Id")
    if hub_id is None:
        raise RemoteNotFoundError(f"ModelScope dataset {repo} not found", url=info_url, hint=hint)
    files: list[dict] = []
    page = 1
    while True:
        query = urllib.parse.urlencode({"Revision": revision, "Root": "/", "Recursive": "True",
                                        "PageNumber": page, "PageSize": PAGE_SIZE})
        url = f"{endpoint}/api/v1/datasets/{hub_id}/repo/tree?{query}"
        batch = (_data(get_json(client, url, hint), url) or {}).get("Files") or []
        files += [f for f in batch if f.get("Type") != "tree"]
        if len(batch) < PAGE_SIZE:
            return files
        page += 1


def file_url(repo: str, revision: str, path: str) -> str:
    # FilePath last, as the official client does
    query = urllib.parse.urlencode({"Source": "SDK", "Revision": revision, "FilePath": path})
    return f"{settings.modelscope_endpoint()}/api/v1/datasets/{repo}/repo?{query}"


def resolve(source: Source, client: httpx.Client) -> Resolved:
    repo = source.repo or ""
    revision = source.revision or "master"
    commit = resolve_commit(client, repo, revision)
    tree = {f["Path"]: f for f in list_files(client, repo, commit)}
    hint = f"the file was renamed or removed upstream; compare the entry with {page_url(repo)}"
    if source.files:
        for f in source.files:
            if f.path not in tree:
                raise RemoteNotFoundError(f"{f.path} is not in ModelScope dataset {repo} at {commit[:12]}",
                                          url=page_url(repo), hint=hint)
        wanted = list(source.files)
    else:
        patterns = source.patterns or ("*",)
        wanted = [FileSpec(p) for p in sorted(tree) if any(fnmatch.fnmatch(p, pat) for pat in patterns)
                  and not p.startswith(".git")]
    files = []
    for declared in wanted:
        meta = tree[declared.path]
        pin = Pin(sha256=declared.sha256 or meta.get("Sha256") or None,
                  size=declared.size if declared.size is not None else meta.get("Size"))
        files.append(RemoteFile(path=declared.path, url=file_url(repo, commit, declared.path), pin=pin,
                                extract=declared.extract, access_hint=f"request access at {page_url(repo)}"))
    return Resolved("modelscope", repo, commit, files, pinned=source.pinned)
