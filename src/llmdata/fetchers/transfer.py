"""Download one file to its final path: exactly the pinned bytes, or nothing.

The steps (decide, download to a private file, verify, move) are short
functions. What they guarantee:

- the final path only ever holds verified bytes: data is written to a part
  file under ``tmp/``, hashed while it streams (SHA-256 for every file), checked
  against the pin (size, SHA-256 and/or git blob SHA-1) and then renamed;
- a killed or failed run leaves its part file, and the next run resumes it with
  ``Range`` + ``If-Range``; a server that ignores the range restarts cleanly;
- 429 and 5xx answers, timeouts and dropped connections are retried with
  exponential backoff, honouring ``Retry-After``;
- redirects are followed by hand so that a token is sent only to the host it
  belongs to, never to the host a redirect points at;
- a per-file lock lets concurrent processes share the work; correctness does not
  depend on it (verification and the atomic rename do that).
"""

from __future__ import annotations

import email.utils
import errno
import hashlib
import json
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .. import settings
from ..store import layout
from ..errors import (
    AccessDeniedError,
    DiskFullError,
    FetchError,
    IntegrityError,
    OfflineError,
    RateLimitedError,
    RemoteNotFoundError,
)

CHUNK = 1 << 20
MAX_REDIRECTS = 8
MAX_BACKOFF = 60.0
GITHUB_HOSTS = {"api.github.com", "raw.githubusercontent.com", "media.githubusercontent.com", "github.com"}
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


@dataclass(frozen=True)
class Pin:
    sha256: str | None = None
    size: int | None = None
    git_blob: str | None = None

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.git_blob)


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
    url: str


ProgressFn = Callable[[str, int | None, int], Callable[[int], None]]


# ------------------------------------------------------------------ URLs and tokens


def rewrite(url: str) -> str:
    """Apply ``LLMDATA_MIRRORS`` prefix rewrites (longest prefix wins)."""
    for prefix, replacement in settings.mirrors():
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def auth_headers(url: str) -> dict[str, str]:
    """The token that belongs to this URL's host, if any; nothing for any other host."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    hf_host = (urllib.parse.urlsplit(settings.hf_endpoint()).hostname or "").lower()
    if host == hf_host:
        token = settings.hf_token()
        return {"authorization": f"Bearer {token}"} if token else {}
    if host in GITHUB_HOSTS:
        token = settings.github_token()
        return {"authorization": f"Bearer {token}"} if token else {}
    return {}


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def new_client() -> httpx.Client:
    timeout = httpx.Timeout(connect=15.0, read=60.0, write=60.0, pool=15.0)
    return httpx.Client(timeout=timeout, follow_redirects=False,
                        headers={"user-agent": "llmdata", "accept-encoding": "identity"})


def open_stream(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET with redirects followed by hand: each hop gets only its own host's token."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        request = client.build_request("GET", current, headers={**headers, **auth_headers(current)})
        response = client.send(request, stream=True)
        if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
            response.close()
            current = urllib.parse.urljoin(current, response.headers["location"])
            continue
        return response
    raise FetchError("too many redirects", url=redact(url))


def get_json(client: httpx.Client, url: str, access_hint: str | None = None) -> object:
    """A small JSON API call (mirrors applied) with the same retry and error rules as downloads."""
    url = rewrite(url)
    attempt = 0
    while True:
        try:
            response = open_stream(client, url, {"accept": "application/json"})
            try:
                response.read()
            finally:
                response.close()
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            attempt = _retry_or_raise(attempt, None, url, exc)
            continue
        if response.status_code == 200:
            return response.json()
        if response.status_code in (429,) or response.status_code >= 500:
            attempt = _retry_or_raise(attempt, response, url, None)
            continue
        _raise_for_status(response, url, access_hint)


# ------------------------------------------------------------------ errors and retries


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _retry_or_raise(attempt: int, response: httpx.Response | None, url: str, exc: Exception | None) -> int:
    """Sleep before the next attempt, or raise the error class that fits when retries are used up."""
    if attempt >= settings.retries():
        shown = redact(url)
        if response is not None and response.status_code == 429:
            raise RateLimitedError(f"rate-limited: still 429 after {attempt + 1} attempts", url=shown,
                                   hint="wait and run the same command again (it resumes), or set a token")
        if response is not None:
            raise FetchError(f"server error {response.status_code} after {attempt + 1} attempts", url=shown,
                             hint="run the same command again later (it resumes), or use a mirror via LLMDATA_MIRRORS")
        if isinstance(exc, httpx.ConnectError):
            raise OfflineError(f"cannot connect: {exc}", url=shown,
                               hint="check the network, or point HF_ENDPOINT / LLMDATA_MIRRORS at a reachable mirror")
        raise FetchError(f"transfer failed after {attempt + 1} attempts: {exc}", url=shown,
                         hint="run the same command again: the download resumes from the bytes it has")
    delay = _retry_after(response)
    if delay is None:
        delay = 0.5 * (2 ** attempt)
    time.sleep(min(delay, MAX_BACKOFF))
    return attempt + 1


def _raise_for_status(response: httpx.Response, url: str, access_hint: str | None) -> None:
    status, shown = response.status_code, redact(url)
    if status in (401, 403):
        raise AccessDeniedError(
            f"access denied ({status}): the dataset is gated or private, or the token is missing or wrong", url=shown,
            hint=access_hint or "request access on the dataset's page, then set HF_TOKEN / GITHUB_TOKEN")
    if status in (404, 410):
        raise RemoteNotFoundError(f"not found ({status})", url=shown,
                                  hint="the file, revision or repository may have moved; check `llmdata info`")
    raise FetchError(f"unexpected HTTP status {status}", url=shown)


# ------------------------------------------------------------------ hashing


def _hash_prefix(path: Path, length: int) -> hashlib._Hash:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        remaining = length
        while remaining > 0:
            block = fh.read(min(CHUNK * 8, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    return digest


def git_blob_sha1(path: Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha1(f"blob {size}\0".encode())  # noqa: S324 - git's object id, not security
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK * 8), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return _hash_prefix(path, path.stat().st_size).hexdigest()


def verify(path: Path, pin: Pin, url: str, sha256: str | None = None) -> str:
    """Check size and hashes against the pin; returns the SHA-256. Raises IntegrityError."""
    size = path.stat().st_size
    shown = redact(url)
    if pin.size is not None and size != pin.size:
        raise IntegrityError(f"size mismatch: expected {pin.size} bytes, got {size}", url=shown,
                             hint="the source changed or the download was cut; run again or report the entry")
    sha256 = sha256 or sha256_file(path)
    if pin.sha256 and sha256 != pin.sha256:
        raise IntegrityError(f"sha256 mismatch: expected {pin.sha256}, got {sha256}", url=shown,
                             hint="the bytes are not the pinned ones (corrupted, or changed upstream); nothing was stored")
    if pin.git_blob and not pin.sha256:
        blob = git_blob_sha1(path)
        if blob != pin.git_blob:
            raise IntegrityError(f"git blob mismatch: expected {pin.git_blob}, got {blob}", url=shown,
                                 hint="the bytes are not the pinned ones; nothing was stored")
    return sha256


# ------------------------------------------------------------------ download


def _write_chunk(fh, data: bytes) -> None:
    """The single place bytes hit the disk (kept separate so ENOSPC is handled in one spot)."""
    fh.write(data)


def _parts_dir() -> Path:
    return layout.parts_dir()


def _part_key(url: str, pin: Pin) -> str:
    return hashlib.sha256(f"{url}\n{pin.sha256}\n{pin.git_blob}\n{pin.size}".encode()).hexdigest()[:32]


def _check_body_start(first: bytes, response: httpx.Response, remote: RemoteFile, url: str) -> None:
    """Catch the classic 200-with-the-wrong-body answers before writing gigabytes of them."""
    shown = redact(url)
    if first.startswith(LFS_POINTER_PREFIX) and (remote.pin.size is None or remote.pin.size > len(first)):
        raise IntegrityError("got a Git LFS pointer file instead of the data", url=shown,
                             hint="the bytes live on the LFS media host; the catalog entry should mark the file `lfs: true`")
    ctype = response.headers.get("content-type", "").lower()
    looks_html = first.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if ("text/html" in ctype or looks_html) and not remote.path.lower().endswith((".html", ".htm")):
        raise IntegrityError("got an HTML page instead of the data (a login, consent or error page?)", url=shown,
                             hint="open the URL in a browser; gated data needs a token or `llmdata fetch ID --from PATH`")


def download(client: httpx.Client, remote: RemoteFile, dest: Path, *, progress: ProgressFn | None = None) -> Verified:
    """Get ``remote`` into ``dest`` (verified), reusing a verified copy or a partial download."""
    from filelock import FileLock, Timeout

    url = rewrite(remote.url)
    stored = _stored_copy(dest, remote, url)
    if stored is not None:
        return stored
    key = _part_key(url, remote.pin)
    lock = FileLock(str(_parts_dir() / f"{key}.lock"))
    try:
        lock.acquire(timeout=600)
        part = _parts_dir() / f"{key}.part"
    except Timeout:  # someone holds it for very long: work alone, no resume
        lock = None
        part = _parts_dir() / f"{key}.{uuid.uuid4().hex[:8]}.part"
    try:
        stored = _stored_copy(dest, remote, url)  # another process may have finished while we waited
        if stored is not None:
            return stored
        try:
            sha256 = _download_part(client, remote, url, part, progress)
            sha256 = verify(part, remote.pin, url, sha256)
        except IntegrityError:
            part.unlink(missing_ok=True)  # never resume from bytes known to be wrong
            _meta_path(part).unlink(missing_ok=True)
            raise
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(part, staged)
        os.replace(staged, dest)
        _meta_path(part).unlink(missing_ok=True)
        return Verified(dest, sha256, dest.stat().st_size, url)
    finally:
        if lock is not None:
            lock.release()


def _stored_copy(dest: Path, remote: RemoteFile, url: str) -> Verified | None:
    """The copy already in the store, re-verified, or None when there is none of the pinned size."""
    if dest.is_file() and (remote.pin.size is None or dest.stat().st_size == remote.pin.size):
        return Verified(dest, verify(dest, remote.pin, url), dest.stat().st_size, url)
    return None


def _meta_path(part: Path) -> Path:
    return part.with_suffix(".json")


def _download_part(client: httpx.Client, remote: RemoteFile, url: str, part: Path,
                   progress: ProgressFn | None) -> str:
    """Stream into ``part``, resuming and retrying; returns the SHA-256 of the whole part."""
    attempt = 0
    meta_path = _meta_path(part)
    while True:
        offset = part.stat().st_size if part.exists() else 0
        validator = None
        if offset and meta_path.exists():
            try:
                validator = json.loads(meta_path.read_text())["validator"]
            except (ValueError, KeyError, OSError):
                validator = None
        if offset and not validator:
            offset = 0  # nothing to prove the server still has the same file
        if remote.pin.size is not None and offset == remote.pin.size:
            return _hash_prefix(part, offset).hexdigest()
        headers = {}
        if offset:
            headers["range"] = f"bytes={offset}-"
            headers["if-range"] = validator
        try:
            response = open_stream(client, url, headers)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            attempt = _retry_or_raise(attempt, None, url, exc)
            continue
        try:
            status = response.status_code
            if status == 429 or status >= 500:
                attempt = _retry_or_raise(attempt, response, url, None)
                continue
            if status == 416:
                part.unlink(missing_ok=True)  # our part is longer than the file: start over
                attempt = _retry_or_raise(attempt, None, url, FetchError("range not satisfiable"))
                continue
            if status not in (200, 206):
                _raise_for_status(response, url, remote.access_hint)
            if status == 206:
                start = _content_range_start(response.headers.get("content-range", ""))
                if start != offset:
                    offset = 0  # an answer we cannot splice: start over
                    part.unlink(missing_ok=True)
                    continue
            else:
                offset = 0  # 200: the server ignored the range or the file changed
            new_validator = response.headers.get("etag") or response.headers.get("last-modified")
            if offset == 0:
                meta_path.write_text(json.dumps({"url": redact(url), "validator": new_validator}))
            digest = _hash_prefix(part, offset) if offset else hashlib.sha256()
            total = remote.pin.size
            if total is None and response.headers.get("content-length"):
                total = offset + int(response.headers["content-length"])
            advance = progress(remote.path, total, offset) if progress else None
            try:
                _stream_into(response, part, offset, digest, remote, url, advance)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                attempt = _retry_or_raise(attempt, None, url, exc)
                continue
            return digest.hexdigest()
        finally:
            response.close()


def _content_range_start(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


class _BackgroundHash:
    """SHA-256 on a second thread: hashlib releases the GIL, so hashing overlaps network and disk."""

    BLOCK = 4 << 20  # hand over in large blocks: fewer thread switches per byte

    def __init__(self, digest) -> None:
        import queue
        import threading

        self.digest = digest
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            for chunk in block:
                self.digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self.pending.append(chunk)
        self.pending_size += len(chunk)
        if self.pending_size >= self.BLOCK:
            self.queue.put(self.pending)
            self.pending, self.pending_size = [], 0

    def finish(self) -> None:
        if self.pending:
            self.queue.put(self.pending)
        self.queue.put(None)
        self.thread.join()


def _stream_into(response: httpx.Response, part: Path, offset: int, digest, remote: RemoteFile, url: str,
                 advance) -> None:
    mode = "r+b" if offset else "wb"
    hasher = _BackgroundHash(digest)
    try:
        with open(part, mode) as fh:
            fh.seek(offset)
            fh.truncate()
            first = offset == 0
            for chunk in response.iter_raw():  # as received: a dropped connection loses no buffered bytes
                if first:
                    _check_body_start(chunk[:1024], response, remote, url)
                    first = False
                try:
                    _write_chunk(fh, chunk)
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        fh.close()
                        part.unlink(missing_ok=True)
                        raise DiskFullError(
                            f"disk full while writing {remote.path}", url=redact(url),
                            hint=f"free space under {settings.home()} (or set LLMDATA_HOME elsewhere) and run again",
                        ) from None
                    raise
                hasher.update(chunk)
                if advance:
                    advance(len(chunk))
    finally:
        hasher.finish()
