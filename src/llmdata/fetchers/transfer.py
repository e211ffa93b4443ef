"""Download one file to its final path: exactly the pinned bytes, or nothing.

``download`` runs four named steps:

1. **decide** (``_stored_copy``): a verified copy in the store is the answer;
   a damaged one (right size, wrong hash) is announced and downloaded again;
2. **stream to a part** (``_download_part``): bytes go to a part file under
   ``tmp/parts``, hashed while they stream; a killed or failed run leaves the
   part, and the next run resumes it with ``Range`` + ``If-Range`` (a server
   that ignores the range restarts cleanly); reading stops one byte past the
   pinned size, so a server sending far more costs nothing;
3. **verify** (:func:`verify.verify`): size, SHA-256 and/or git blob against the
   pin; bytes known to be wrong are never kept for resuming;
4. **publish** (``_publish``): rename beside the destination, then over it.

HTTP (mirrors, tokens per origin, redirects, retries) lives in :mod:`.http`,
reading the body in :mod:`.body`, hashing and pins in :mod:`.verify`, locks
and leftovers in :mod:`.scratch`.
A per-file lock lets concurrent processes share the work; correctness does not
depend on it (verification and the atomic rename do that).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .. import settings
from ..errors import DiskFullError, FetchError, IntegrityError, UpstreamChangedError, redact_url
from ..store import layout
from ..store.atomic import staging_path
from . import body, scratch
from .http import is_retryable_status, open_stream, raise_for_status, retry_or_raise, rewrite
from .verify import Pin, compare, hash_prefix, streaming_hash, verify

LOCK_TIMEOUT = 600.0
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteFile:
    """One file to get: where it goes in the store, where it comes from, what it must hash to."""

    path: str
    url: str
    pin: Pin
    extract: bool = False
    access_hint: str | None = None  # where to request access when the answer is 401/403


@dataclass(frozen=True)
class Verified:
    path: Path
    sha256: str
    size: int
    url: str  # redacted: safe to print and to record


ProgressFn = Callable[[str, int | None, int], Callable[[int], None]]


# ------------------------------------------------------------------ the steps


def download(client: httpx.Client, remote: RemoteFile, dest: Path, *, progress: ProgressFn | None = None) -> Verified:
    """Get ``remote`` into ``dest`` (verified), reusing a verified copy or a partial download."""
    url = rewrite(remote.url)
    stored = _stored_copy(dest, remote, url, announce=True)
    if stored is not None:
        return stored
    parts = _parts_dir()
    key = _part_key(url, remote.pin)
    lock = scratch.PartLock(parts / f"{key}.lock")
    if lock.acquire(timeout=LOCK_TIMEOUT):
        part = parts / f"{key}.part"
    else:  # someone holds it for very long: work alone, no resume
        lock = None
        part = scratch.private_part(parts, key)
    try:
        stored = _stored_copy(dest, remote, url, announce=False)  # another process may have finished meanwhile
        if stored is not None:
            return stored
        try:
            sha256, whole = _download_part(client, remote, url, part, progress)
            sha256 = verify(part, remote.pin, url, sha256, whole=whole)
        except IntegrityError:
            _discard(part)  # never resume from bytes known to be wrong
            raise
        _publish(part, dest)
        return Verified(dest, sha256, dest.stat().st_size, redact_url(url))
    finally:
        if lock is not None:
            lock.release()
        else:
            _discard(part)


def _stored_copy(dest: Path, remote: RemoteFile, url: str, *, announce: bool) -> Verified | None:
    """The copy already in the store, re-verified; None when there is none of the pinned size, or it is damaged.

    A damaged copy stays in place until a verified download replaces it (the
    rename in ``_publish`` is atomic), so a failed repair loses nothing.
    """
    if not dest.is_file() or (remote.pin.size is not None and dest.stat().st_size != remote.pin.size):
        return None
    sha256, mismatch = compare(dest, remote.pin)
    if mismatch is None:
        assert sha256 is not None
        return Verified(dest, sha256, dest.stat().st_size, redact_url(url))
    if announce:
        log.warning("the stored copy of %s is damaged (%s); downloading it again", dest, mismatch.describe())
    return None


def _publish(part: Path, dest: Path) -> None:
    """Rename the verified part beside ``dest``, then over it: ``dest`` only ever holds verified bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch.sweep_folder_once(dest.parent)
    staged = staging_path(dest)
    os.replace(part, staged)
    os.replace(staged, dest)
    _meta_path(part).unlink(missing_ok=True)


def _download_part(client: httpx.Client, remote: RemoteFile, url: str, part: Path,
                   progress: ProgressFn | None) -> tuple[str, bool]:
    """Stream into ``part``, resuming and retrying.

    Returns the SHA-256 of the whole part and whether it came in one response
    from its first byte (then a mismatch is the upstream's, not the transfer's).
    """
    attempt = 0
    meta_path = _meta_path(part)
    while True:
        offset = part.stat().st_size if part.exists() else 0
        validator = _validator(meta_path) if offset else None
        if offset and not validator:
            offset = 0  # nothing to prove the server still has the same file
        if remote.pin.size is not None and offset == remote.pin.size:
            return hash_prefix(part, offset).hexdigest(), False  # left complete by an earlier run
        headers = {"range": f"bytes={offset}-", "if-range": validator} if offset else {}
        try:
            response = open_stream(client, url, headers)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            attempt = retry_or_raise(attempt, None, url, exc)
            continue
        try:
            status = response.status_code
            if is_retryable_status(status):
                attempt = retry_or_raise(attempt, response, url, None)
                continue
            if status == 416:
                part.unlink(missing_ok=True)  # our part is longer than the file: start over
                attempt = retry_or_raise(attempt, None, url, FetchError("range not satisfiable"))
                continue
            if status not in (200, 206):
                raise_for_status(response, url, remote.access_hint)
            if status == 206:
                if _content_range_start(response.headers.get("content-range", "")) != offset:
                    part.unlink(missing_ok=True)  # an answer we cannot splice: start over
                    continue
            else:
                offset = 0  # 200: the server ignored the range or the file changed
            _check_length(response, offset, remote, url)
            if offset == 0:
                validator = response.headers.get("etag") or response.headers.get("last-modified")
                meta_path.write_text(json.dumps({"url": redact_url(url), "validator": validator}))
            digest = hash_prefix(part, offset) if offset else hashlib.sha256()
            total = remote.pin.size
            if total is None and response.headers.get("content-length"):
                total = offset + int(response.headers["content-length"])
            advance = progress(remote.path, total, offset) if progress else None
            try:
                _stream_into(response, part, offset, digest, remote, url, advance)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                attempt = retry_or_raise(attempt, None, url, exc)
                continue
            return digest.hexdigest(), offset == 0
        finally:
            response.close()


def _stream_into(response: httpx.Response, part: Path, offset: int, digest, remote: RemoteFile, url: str,
                 advance) -> None:
    """Append the body to ``part`` from ``offset``, hashing on the side; stop one byte past the pinned size."""
    limit = remote.pin.size + 1 - offset if remote.pin.size is not None else None
    hasher = streaming_hash(digest, None if remote.pin.size is None else remote.pin.size - offset)
    try:
        with _open_part(part, offset) as fh:
            first = offset == 0
            for piece in body.pieces(response, hasher, limit):
                if first:
                    _check_body_start(bytes(piece[:1024]), response, remote, url)
                    first = False
                _write(fh, piece, part, remote, url)
                if advance:
                    advance(len(piece))
    finally:
        hasher.finish()


def _open_part(part: Path, offset: int):
    """The part file, positioned at ``offset`` with nothing after it.

    A download from the first byte starts a new file rather than truncating the
    old one: on ext4 a file truncated to zero and written again is flushed to
    disk when it is closed (``auto_da_alloc``), which made closing a 1 GiB part
    cost seconds of synchronous writeback.
    """
    if offset == 0:
        part.unlink(missing_ok=True)
        return open(part, "wb")
    fh = open(part, "r+b")
    fh.seek(offset)
    fh.truncate()
    return fh


# ------------------------------------------------------------------ small helpers


def _write_chunk(fh, data: bytes | memoryview) -> None:
    """The single place bytes hit the disk (kept separate so ENOSPC is handled in one spot)."""
    fh.write(data)


def _write(fh, chunk: bytes | memoryview, part: Path, remote: RemoteFile, url: str) -> None:
    try:
        _write_chunk(fh, chunk)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            fh.close()
            part.unlink(missing_ok=True)
            raise DiskFullError(
                f"disk full while writing {remote.path}", url=redact_url(url),
                hint=f"free space under {settings.home()} (or set LLMDATA_HOME elsewhere) and run again",
            ) from None
        raise


def _check_length(response: httpx.Response, offset: int, remote: RemoteFile, url: str) -> None:
    """Refuse before reading when ``Content-Length`` already says the body is longer than the pin."""
    declared = response.headers.get("content-length")
    if remote.pin.size is None or not declared or not declared.isdigit():
        return
    if offset + int(declared) > remote.pin.size:
        message = (f"size mismatch: expected {remote.pin.size} bytes, the server announces "
                   f"{offset + int(declared)} (nothing was read)")
        if offset == 0:
            raise UpstreamChangedError(message, url=redact_url(url))
        raise IntegrityError(message, url=redact_url(url),
                             hint="the partial file was discarded: run the same command again to download it whole")


def _check_body_start(first: bytes, response: httpx.Response, remote: RemoteFile, url: str) -> None:
    """Catch the classic 200-with-the-wrong-body answers before writing gigabytes of them."""
    shown = redact_url(url)
    if first.startswith(LFS_POINTER_PREFIX) and (remote.pin.size is None or remote.pin.size > len(first)):
        raise IntegrityError("got a Git LFS pointer file instead of the data", url=shown,
                             hint="the bytes live on the LFS media host; the catalog entry should mark the file `lfs: true`")
    ctype = response.headers.get("content-type", "").lower()
    looks_html = first.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if ("text/html" in ctype or looks_html) and not remote.path.lower().endswith((".html", ".htm")):
        raise IntegrityError("got an HTML page instead of the data (a login, consent or error page?)", url=shown,
                             hint="open the URL in a browser; gated data needs a token or `llmdata fetch ID --from PATH`")


def _parts_dir() -> Path:
    directory = layout.parts_dir()
    scratch.sweep_parts_once(directory)
    return directory


def _part_key(url: str, pin: Pin) -> str:
    return hashlib.sha256(f"{url}\n{pin.sha256}\n{pin.git_blob}\n{pin.size}".encode()).hexdigest()[:32]


def _meta_path(part: Path) -> Path:
    return part.with_suffix(".json")


def _validator(meta_path: Path) -> str | None:
    try:
        return json.loads(meta_path.read_text())["validator"]
    except (ValueError, KeyError, OSError, TypeError):
        return None


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


def _content_range_start(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None
