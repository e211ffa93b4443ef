"""What a file must hash to, and the check that it does.

A :class:`Pin` is a file's size, SHA-256 and/or git blob SHA-1. ``verify``
compares a file with its pin and raises the error whose hint fits how the bytes
arrived: a whole uncut download that differs means the upstream changed or the
pin is wrong (running again gets the same bytes); a cut or resumed one means
"run again". Hashing runs on a second thread while bytes stream
(:class:`BackgroundHash`), so verification costs no extra pass over the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError, UpstreamChangedError, redact_url

CHUNK = 1 << 20


@dataclass(frozen=True)
class Pin:
    sha256: str | None = None
    size: int | None = None
    git_blob: str | None = None

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.git_blob)


# ------------------------------------------------------------------ hashing


def hash_prefix(path: Path, length: int) -> hashlib._Hash:
    """SHA-256 state after the first ``length`` bytes of ``path`` (to continue hashing a resumed part)."""
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
    return hash_prefix(path, path.stat().st_size).hexdigest()


class BackgroundHash:
    """SHA-256 on a second thread: hashlib releases the GIL, so hashing overlaps network and disk.

    Bytes arrive two ways, kept in order on one queue. ``update(chunk)`` takes a
    bytes object (collected into large blocks: fewer thread switches per byte).
    ``region(n)`` / ``commit(n)`` let the reader receive straight into one of a
    few preallocated buffers (``socket.recv_into``); a full buffer goes to the
    hashing thread as it is and comes back once hashed, so those bytes are
    never copied in Python and memory stays at ``BUFFERS * BUFFER``. Buffers of
    1 MiB (the bytes are still in cache when they are hashed) used less CPU than
    2 or 4 MiB on the 1 GiB benchmark; 16 of them absorb a hashing thread that
    is briefly not scheduled.
    """

    BLOCK = 4 << 20
    BUFFER = 1 << 20
    BUFFERS = 16

    def __init__(self, digest) -> None:
        import queue
        import threading

        self.digest = digest
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.free: queue.Queue = queue.Queue()
        self.made = 0
        self.filling: bytearray | None = None
        self.filled = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            chunks, buffer = item
            for chunk in chunks:
                self.digest.update(chunk)
            if buffer is not None:
                self.free.put(buffer)

    def _send(self, chunks: list, buffer: bytearray | None = None) -> None:
        if self.pending and buffer is not None:
            self._send(self.pending)
            self.pending, self.pending_size = [], 0
        self.queue.put((chunks, buffer))

    def _send_filling(self) -> None:
        if self.filling is not None:
            buffer, self.filling = self.filling, None
            if self.filled:
                self._send([memoryview(buffer)[: self.filled]], buffer)
            else:
                self.free.put(buffer)

    def update(self, chunk: bytes) -> None:
        self._send_filling()
        self.pending.append(chunk)
        self.pending_size += len(chunk)
        if self.pending_size >= self.BLOCK:
            self._send(self.pending)
            self.pending, self.pending_size = [], 0

    def region(self, limit: int) -> memoryview:
        """Where the next received bytes go: at most ``limit`` bytes of the buffer being filled."""
        if self.filling is None:
            if self.made < self.BUFFERS and self.free.empty():
                self.made += 1
                self.filling = bytearray(self.BUFFER)
            else:
                self.filling = self.free.get()  # wait until the hashing thread gives one back
            self.filled = 0
        return memoryview(self.filling)[self.filled: self.filled + limit]

    def commit(self, length: int) -> None:
        """``length`` bytes were received into the last region; a full buffer goes to be hashed."""
        self.filled += length
        if self.filled == len(self.filling):
            self._send_filling()

    def finish(self) -> None:
        self._send_filling()
        if self.pending:
            self._send(self.pending)
        self.queue.put(None)
        self.thread.join()


class InlineHash:
    """SHA-256 on the streaming thread: for small files, where starting a thread costs more than hashing."""

    def __init__(self, digest) -> None:
        self.digest = digest
        self.update = digest.update
        self.view: memoryview | None = None  # made on first use: most small bodies never need it

    def region(self, limit: int) -> memoryview:
        if self.view is None:
            self.view = memoryview(bytearray(CHUNK))
        return self.view[:limit]

    def commit(self, length: int) -> None:
        self.digest.update(self.view[:length])

    def finish(self) -> None:
        return None


def streaming_hash(digest, remaining: int | None):
    """The hasher for a body of ``remaining`` bytes (None: unknown): a thread only when it can pay for itself."""
    if remaining is not None and remaining <= BackgroundHash.BLOCK:
        return InlineHash(digest)
    return BackgroundHash(digest)


# ------------------------------------------------------------------ checking


@dataclass(frozen=True)
class Mismatch:
    """How a file differs from its pin."""

    what: str  # "size", "sha256" or "git blob"
    expected: str | int
    got: str | int

    def describe(self) -> str:
        if self.what != "size":
            return f"{self.what} mismatch: expected {self.expected}, got {self.got}"
        if int(self.got) > int(self.expected):
            return f"size mismatch: expected {self.expected} bytes, the server sent more (reading stopped at {self.got})"
        return f"size mismatch: expected {self.expected} bytes, got {self.got}"


def compare(path: Path, pin: Pin, sha256: str | None = None) -> tuple[str | None, Mismatch | None]:
    """(SHA-256 of the file, the first difference from the pin or None). Hashes only when the size fits."""
    size = path.stat().st_size
    if pin.size is not None and size != pin.size:
        return sha256, Mismatch("size", pin.size, size)
    sha256 = sha256 or sha256_file(path)
    if pin.sha256 and sha256 != pin.sha256:
        return sha256, Mismatch("sha256", pin.sha256, sha256)
    if pin.git_blob and not pin.sha256:
        blob = git_blob_sha1(path)
        if blob != pin.git_blob:
            return sha256, Mismatch("git blob", pin.git_blob, blob)
    return sha256, None


def verify(path: Path, pin: Pin, url: str, sha256: str | None = None, *, whole: bool = True) -> str:
    """Check size and hashes against the pin; returns the SHA-256.

    ``whole``: the bytes came in one uncut response from the first byte, so a
    difference is the upstream's (``UpstreamChangedError``, re-pin); otherwise
    they were spliced from several responses and a difference says "run again"
    (``IntegrityError``). A file shorter than its pin was cut either way.
    """
    sha256, mismatch = compare(path, pin, sha256)
    if mismatch is None:
        assert sha256 is not None
        return sha256
    shown = redact_url(url)
    if mismatch.what == "size" and int(mismatch.got) < int(mismatch.expected):
        raise IntegrityError(mismatch.describe(), url=shown,
                             hint="the transfer was cut short; nothing was stored: run the same command again")
    if whole:
        raise UpstreamChangedError(mismatch.describe(), url=shown)
    raise IntegrityError(mismatch.describe(), url=shown,
                         hint="the resumed download does not match; nothing was stored and the partial file was "
                              "discarded: run the same command again to download it whole")
