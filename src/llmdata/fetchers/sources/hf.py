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
from ...catalog.model import FileSpec, Source
from ...errors import AccessDeniedError, FetchError, OfflineError, RemoteNotFoundError
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
        for f in source.files:
            if f.path not in siblings:
                raise RemoteNotFoundError(f"{f.path} is not in {repo} at {commit[:12]}", url=page,
                                          hint="the file was renamed or removed upstream; check the entry")
        wanted = list(source.files)
    else:
        patterns = source.patterns or ("*",)
        wanted = [FileSpec(name) for name in sorted(siblings) if any(fnmatch.fnmatch(name, p) for p in patterns)
                  and not name.startswith(".git")]
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
