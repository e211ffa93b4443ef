"""Scratch files: part-file locks that leave nothing behind, and the cleanup of what dead processes left.

Names that carry their owner:

- ``.<name>.tmp-<pid>-<hex>`` beside a file or folder being published (a
  download's last step, an archive being extracted): when process ``pid`` no
  longer runs on this machine, the entry is stale and is removed the next time
  something is published into the same folder (:func:`sweep_folder`);
- ``tmp/parts/<key>.part`` + ``<key>.json``: a resumable download, kept so the
  next run continues it; removed when untouched for ``PART_MAX_AGE`` (or when
  its metadata is gone, which makes it unresumable);
- ``tmp/parts/<key>.<pid>-<hex>.part``: a private part of a process that could
  not get the lock; stale once ``pid`` is gone;
- ``tmp/parts/<key>.lock``: deleted by its holder on release, so Ctrl-C leaves
  none; one left by ``kill -9`` is deleted by whoever next takes it, or by the
  sweep when nobody holds it.

Pids are checked on this machine only. On a store shared by several machines
(a network filesystem) a live process elsewhere can look dead; the sweep
leaves anything changed in the last ``MIN_AGE`` seconds alone, which covers a
download's staging file but not a long extraction on another machine, so such
stores should be written from one machine at a time. On platforms without
``os.kill(pid, 0)`` semantics (Windows) only age counts.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

MIN_AGE = 60.0  # a leftover younger than this is never touched
PART_MAX_AGE = 14 * 24 * 3600.0  # a resumable part untouched this long is dropped
_TMP_NAME = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")
_PRIVATE_PART = re.compile(r"^[0-9a-f]+\.(\d+)-[0-9a-f]+\.(part|json)$")
_swept: set[str] = set()


def private_part(parts: Path, key: str) -> Path:
    return parts / f"{key}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this machine (True when it cannot be told: never delete on doubt)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_mtime
    except OSError:
        return 0.0


def _stale(pid: int, path: Path) -> bool:
    age = _age(path)
    if os.name != "posix":
        return age > PART_MAX_AGE
    return age > MIN_AGE and not pid_alive(pid)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_folder(folder: Path) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>-*`` entries of dead processes in ``folder`` (not recursive); returns them."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TMP_NAME.match(entry.name)
        if match and _stale(int(match.group(1)), Path(entry.path)):
            _remove(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


def _once(sweep, folder: Path) -> None:
    """``sweep(folder)`` at most once per folder per process (downloads of many files pay one listing)."""
    key = f"{sweep.__name__}:{folder}"
    if key not in _swept:
        _swept.add(key)
        sweep(folder)


def sweep_folder_once(folder: Path) -> None:
    """:func:`sweep_folder`, at most once per folder per process."""
    _once(sweep_folder, folder)


def sweep_parts(parts: Path) -> list[Path]:
    """Remove leftovers in ``tmp/parts`` that no running process owns; returns what went.

    A key is touched only while holding its lock, so a download in progress in
    another process is never disturbed.
    """
    removed: list[Path] = []
    try:
        names = sorted(os.listdir(parts))
    except OSError:
        return removed
    keys = []
    for name in names:
        path = parts / name
        private = _PRIVATE_PART.match(name)
        if private:
            if _stale(int(private.group(1)), path):
                path.unlink(missing_ok=True)
                removed.append(path)
            continue
        key, _, suffix = name.partition(".")
        if suffix in ("lock", "part", "json") and key not in keys:
            keys.append(key)
    for key in keys:
        lock = PartLock(parts / f"{key}.lock")
        if not lock.acquire(timeout=0):
            continue  # someone is working on it
        try:
            part, meta = parts / f"{key}.part", parts / f"{key}.json"
            if part.exists() and (not meta.exists() or _age(part) > PART_MAX_AGE):
                part.unlink(missing_ok=True)
                removed.append(part)
            if meta.exists() and not part.exists():
                meta.unlink(missing_ok=True)
                removed.append(meta)
        finally:
            lock.release()  # deletes the lock file too
    return removed


def sweep_parts_once(parts: Path) -> None:
    """:func:`sweep_parts`, at most once per folder per process."""
    _once(sweep_parts, parts)


class PartLock:
    """An exclusive lock on a path that deletes its file on release.

    filelock keeps lock files for good (deleting a held lock file is unsafe with
    its older versions), so every key ever fetched left an empty ``.lock``. Here
    the holder deletes the file before unlocking, and a process that gets the
    lock checks that the path still names the inode it locked, else it starts
    over: two processes can never both hold the lock of one path. POSIX only;
    elsewhere filelock does the work (its Windows lock deletes its file too).
    """

    POLL = 0.05

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self._fallback = None

    def acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds (0: one try); False when someone else holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            from filelock import FileLock, Timeout

            self._fallback = FileLock(str(self.path))
            try:
                self._fallback.acquire(timeout=timeout)
            except Timeout:
                return False
            return True
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    return False
                time.sleep(self.POLL)
                continue
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)  # the holder before us deleted the file: lock the path anew

    def release(self) -> None:
        if self._fallback is not None:  # pragma: no cover - Windows
            self._fallback.release()
            self._fallback = None
            return
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it: see the class docstring
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = None
