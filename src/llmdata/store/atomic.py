"""Write aside, then rename: the one way anything reaches its final place in the store.

A reader sees either the old version or the new one, never half of one; a
crash leaves only a dot-named staging path behind, which no reader looks at.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def staging_path(final: Path, tag: str = "tmp") -> Path:
    """A private sibling of ``final``: hidden, unique, and carrying our pid (so stale ones can be told apart)."""
    return final.parent / f".{final.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def replace_file(src: Path, final: Path) -> None:
    """Move a finished file into place; both must be on the same filesystem."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, final)


def write_bytes(final: Path, data: bytes) -> None:
    """Write a small file whole or not at all."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = staging_path(final)
    try:
        staged.write_bytes(data)
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)


def copy_file(src: Path, final: Path) -> None:
    """Copy ``src`` to ``final`` through a staging file."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = staging_path(final)
    try:
        shutil.copyfile(src, staged)
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Build a directory aside; on success it replaces ``final``, on any error it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    work = staging_path(final)
    work.mkdir()
    try:
        yield work
        publish_dir(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def publish_dir(work: Path, final: Path) -> None:
    """Swap ``work`` into place as ``final``; the old version is removed only after the swap."""
    old = None
    if final.exists():
        old = staging_path(final, "old")
        os.replace(final, old)
    try:
        os.replace(work, final)
    except OSError:
        if old is not None and not final.exists():
            os.replace(old, final)  # put the previous version back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_tree(target: Path) -> bool:
    """Make ``target`` disappear at once (rename), then delete it; True when there was something."""
    if not target.exists():
        return False
    trash = staging_path(target, "rm")
    os.replace(target, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return True
