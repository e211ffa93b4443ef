"""Download the files of one dataset concurrently: a thread pool over :func:`transfer.download`.

Each file goes through the same steps as a lone download (decide, stream to a
part under its per-file lock, verify, publish by rename), so resume,
verification and atomic publishing do not change with ``jobs``. What this
module adds:

- **scheduling**: at most ``jobs`` files in flight on one shared
  ``httpx.Client`` (thread-safe; its pool is sized for ``jobs``);
- **the first failure wins**: no new file starts once one has failed; files in
  flight stop at their next chunk (their parts stay under ``tmp/parts`` and
  resume on the next run) or finish; the first error is raised as it was.
  ``raw/`` only ever receives verified files, so nothing there is half-written;
- **one aggregate progress** (:class:`Totals`): bytes and files done for the
  whole dataset, updated from the worker threads under one lock.

Results come back in the order of the file list, whatever order the files
finished in, so the report and the ledger are the same for every ``jobs``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..store import layout
from . import scratch
from .transfer import ProgressFn, RemoteFile, Verified, download


@dataclass(frozen=True)
class Totals:
    """Where the downloads of one dataset stand (what the aggregate progress bar shows)."""

    files: int
    files_done: int
    bytes_total: int | None  # None when some file's size is not pinned
    bytes_done: int


TotalsFn = Callable[[Totals], None]
FileDone = Callable[[RemoteFile, Verified], None]  # after verify + publish, on the worker thread


class Cancelled(Exception):
    """Raised inside a worker whose download should stop because another file failed."""


class _Tracker:
    """Bytes and files done, counted once per file even when a transfer restarts from an offset."""

    def __init__(self, files: list[RemoteFile], overall: TotalsFn | None, per_file: ProgressFn | None,
                 stop: threading.Event) -> None:
        sizes = [f.pin.size for f in files]
        self.total = sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None
        self.files, self.done, self.bytes = len(files), 0, 0
        self.counted: dict[str, int] = {}
        self.overall, self.per_file, self.stop = overall, per_file, stop
        self.lock = threading.Lock()

    def _emit(self) -> None:
        if self.overall is not None:
            self.overall(Totals(self.files, self.done, self.total, self.bytes))

    def started(self) -> None:
        with self.lock:
            self._emit()

    def progress(self, path: str, total: int | None, already: int) -> Callable[[int], None]:
        """A :data:`ProgressFn` for :func:`download`: also the point where a cancelled transfer stops."""
        with self.lock:
            self.bytes += already - self.counted.get(path, 0)  # a restart counts its bytes once
            self.counted[path] = already
            self._emit()
        inner = self.per_file(path, total, already) if self.per_file is not None else None

        def advance(n: int) -> None:
            if self.stop.is_set():
                raise Cancelled(path)
            with self.lock:
                self.bytes += n
                self.counted[path] = self.counted.get(path, 0) + n
                self._emit()
            if inner is not None:
                inner(n)

        return advance

    def finished(self, path: str, size: int) -> None:
        with self.lock:
            self.bytes += size - self.counted.get(path, 0)
            self.counted[path] = size
            self.done += 1
            self._emit()


def download_all(client, files: list[RemoteFile], dests: dict[str, Path], *, jobs: int,
                 progress: ProgressFn | None = None, overall: TotalsFn | None = None,
                 after: FileDone | None = None) -> list[Verified]:
    """Download (or reuse) every file into ``dests[path]`` with up to ``jobs`` at once; results in list order.

    ``after(remote, verified)`` runs on the worker right after each file is
    published (extraction of archives); an exception there counts as that
    file's failure. ``progress`` is the per-file callback of :func:`download`
    (called from worker threads); ``overall`` receives :class:`Totals`.
    """
    stop = threading.Event()
    tracker = _Tracker(files, overall, progress, stop)
    scratch.sweep_parts_once(layout.parts_dir())  # once, before any worker holds a part lock

    def one(remote: RemoteFile) -> Verified:
        if stop.is_set():
            raise Cancelled(remote.path)
        verified = download(client, remote, dests[remote.path], progress=tracker.progress)
        if after is not None:
            after(remote, verified)
        tracker.finished(remote.path, verified.size)
        return verified

    tracker.started()
    if jobs <= 1 or len(files) <= 1:
        return [one(remote) for remote in files]
    results: dict[int, Verified] = {}
    first: BaseException | None = None
    with ThreadPoolExecutor(max_workers=min(jobs, len(files)), thread_name_prefix="llmdata-fetch") as pool:
        pending: dict[Future, int] = {}
        queue = iter(enumerate(files))
        try:
            for _ in range(min(jobs, len(files))):  # keep exactly `jobs` in flight: nothing queued to cancel
                _submit(pool, pending, queue, one)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        results[index] = future.result()
                    elif first is None and not isinstance(error, Cancelled):
                        first = error
                        stop.set()
                if not stop.is_set():
                    for _ in done:
                        _submit(pool, pending, queue, one)
        except BaseException:  # Ctrl-C in the waiting thread: stop the workers at their next chunk
            stop.set()
            raise
    if first is not None:
        raise first
    return [results[i] for i in range(len(files))]


def _submit(pool: ThreadPoolExecutor, pending: dict, queue, one) -> None:
    item = next(queue, None)
    if item is not None:
        index, remote = item
        pending[pool.submit(one, remote)] = index
