"""Hugging Face Hub dataset repos, through huggingface_hub.

The revision is resolved to a commit and the file list comes with sizes, LFS
SHA-256s and git blob ids from the Hub's metadata (``files_metadata=True``).
The bytes are then streamed by our own downloader, which hashes every file:
``hf_hub_download`` only compares sizes, so corrupted bytes of the right
length would pass it. ``HF_ENDPOINT`` and ``HF_TOKEN`` are read per call.
"""

from __future__ import annotations

import fnmatch
import urllib.parse

import httpx

from ... import settings
from ...catalog import datafiles
from ...catalog.model import FileSpec, Source
from ...errors import AccessDeniedError, FetchError, MissingFilesError, OfflineError, RemoteNotFoundError
from ..http import auth_headers, rewrite
from ..transfer import RemoteFile
from ..verify import Pin
from . import Resolved


def file_url(endpoint: str, repo: str, commit: str, path: str) -> str:
    return f"{endpoint}/datasets/{repo}/resolve/{commit}/{urllib.parse.quote(path)}"


def _dataset_info(repo: str, revision: str):
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    endpoint = settings.hf_endpoint()
    page = f"{endpoint}/datasets/{repo}"
    try:
        return HfApi(endpoint=endpoint, token=settings.hf_token()).dataset_info(
            repo, revision=revision, files_metadata=True)
    except hf_errors.GatedRepoError:
        raise AccessDeniedError(f"{repo} is gated", url=page,
                                hint=f"accept the conditions at {page}, then set HF_TOKEN (or `hf auth login`)") from None
    except hf_errors.RevisionNotFoundError:
        raise RemoteNotFoundError(f"revision {revision!r} of {repo} not found", url=page,
                                  hint="the pinned commit may have been rewritten; check the entry") from None
    except hf_errors.RepositoryNotFoundError:
        raise RemoteNotFoundError(f"dataset repo {repo} not found (or private)", url=page,
                                  hint="check the id, or set HF_TOKEN if it is private") from None
    except hf_errors.OfflineModeIsEnabled:
        raise OfflineError("offline mode is on (HF_HUB_OFFLINE)", url=page) from None
    except hf_errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise AccessDeniedError(f"access to {repo} denied ({status})", url=page,
                                    hint=f"request access at {page} and set HF_TOKEN") from None
        raise FetchError(f"the Hub answered {status}: {exc}", url=page) from None
    except (httpx.TransportError, OSError) as exc:
        raise OfflineError(f"cannot reach the Hub: {exc}", url=page,
                           hint="check the network or set HF_ENDPOINT to a reachable mirror") from None
    except Exception as exc:  # huggingface_hub wraps transport errors of its own http client
        if "connect" in type(exc).__name__.lower() or "timeout" in type(exc).__name__.lower():
            raise OfflineError(f"cannot reach the Hub: {exc}", url=page,
                               hint="check the network or set HF_ENDPOINT to a reachable mirror") from None
        raise


def resolve(source: Source, client: httpx.Client) -> Resolved:
    repo = source.repo or ""
    revision = source.revision or "main"
    info = _dataset_info(repo, revision)
    commit = info.sha or revision
    endpoint = settings.hf_endpoint()
    siblings = {s.rfilename: s for s in info.siblings or []}
    page = f"{endpoint}/datasets/{repo}"
    if source.files:
        missing = [f.path for f in source.files if f.path not in siblings]
        if missing:
            raise MissingFilesError(f"{', '.join(missing)} not in {repo} at {commit[:12]}", url=page,
                                    hint="the file was renamed or removed upstream; check the entry",
                                    missing=missing, seen=sorted(siblings))
        wanted = list(source.files)
    else:
        wanted = [FileSpec(name) for name in _select(source, client, repo, commit, endpoint, sorted(siblings))]
    files = []
    for declared in wanted:
        sib = siblings[declared.path]
        lfs = sib.lfs
        pin = Pin(
            sha256=declared.sha256 or (lfs.sha256 if lfs else None),
            size=declared.size if declared.size is not None else (lfs.size if lfs else sib.size),
            git_blob=None if lfs else (declared.git_blob or sib.blob_id),
        )
        files.append(RemoteFile(path=declared.path, url=file_url(endpoint, repo, commit, declared.path), pin=pin,
                                extract=declared.extract,
                                access_hint=f"request access at {page}, then set HF_TOKEN"))
    return Resolved("hf", repo, commit, files, pinned=source.pinned)


def _card_text(client: httpx.Client, endpoint: str, repo: str, commit: str) -> str | None:
    """The dataset card (README.md) at ``commit``, for its YAML ``configs:``; None when it cannot be read."""
    url = rewrite(file_url(endpoint, repo, commit, datafiles.CARD))
    try:
        response = client.get(url, headers=auth_headers(url))
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return response.content.decode("utf-8", "replace")


def _select(source: Source, client: httpx.Client, repo: str, commit: str, endpoint: str, names: list[str]) -> list[str]:
    """The files to get when the catalog lists none: its ``patterns``, else the card's ``configs:``, else the
    split conventions of ``datasets`` -- data files only, plus the card itself (normalization reads its configs).
    A repo with no data file at all (a loading script and URL lists) is taken whole, for a raw fetch."""
    if source.patterns:
        chosen = [n for n in names if any(fnmatch.fnmatch(n, p) for p in source.patterns)
                  and datafiles.is_data_file(n)]
        return chosen or [n for n in names if any(fnmatch.fnmatch(n, p) for p in source.patterns)]
    card = _card_text(client, endpoint, repo, commit) if datafiles.CARD in names else None
    try:
        splits, _ = datafiles.upstream_splits(names, card, source.config)
    except KeyError:
        raise RemoteNotFoundError(f"the card of {repo} has no config {source.config!r}",
                                  url=f"{endpoint}/datasets/{repo}",
                                  hint="check the entry's `config` against the card's `configs:`") from None
    chosen = sorted({f for files in splits.values() for f in files})
    if not chosen:
        return [n for n in names if not n.startswith(".git")]
    return chosen + ([datafiles.CARD] if datafiles.CARD in names else [])
