"""Extract zip / tar / gz archives safely, into a fresh directory published by rename.

Only regular files and directories are extracted. Absolute names, ``..``
segments, symlinks, hard links, devices and FIFOs are refused, as are archives
over the member-count or total-size caps (zip bombs). Nothing reaches the
final directory unless the whole archive extracted cleanly.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import UnsafeArchiveError
from ..store.layout import extracted_dir

MAX_MEMBERS = 200_000
MAX_TOTAL_BYTES = 200 * 1024**3


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} has an absolute path")
    if any(part == ".." for part in path.parts):
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} would escape the target folder")
    return path


def _check_totals(count: int, total: int, archive: Path, max_members: int, max_bytes: int) -> None:
    if count > max_members:
        raise UnsafeArchiveError(f"{archive.name}: more than {max_members} members")
    if total > max_bytes:
        raise UnsafeArchiveError(f"{archive.name}: would extract more than {max_bytes} bytes")


def extract(archive: Path, target: Path | None = None, *, max_members: int = MAX_MEMBERS,
            max_bytes: int = MAX_TOTAL_BYTES) -> Path:
    """Extract ``archive`` into ``target`` (default: :func:`extracted_dir`); returns the target."""
    target = target or extracted_dir(archive)
    work = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, work, max_members, max_bytes)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, work, max_members, max_bytes)
        elif archive.name.endswith(".gz"):
            _extract_gzip(archive, work, max_bytes)
        else:
            raise UnsafeArchiveError(f"{archive.name}: not a zip, tar or gzip archive")
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _place(work: Path, name: PurePosixPath, is_dir: bool) -> Path | None:
    """Create the member's folder (or its parent); the file path to write, None for a folder."""
    dest = work.joinpath(*name.parts)
    if is_dir:
        dest.mkdir(parents=True, exist_ok=True)
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _extract_zip(archive: Path, work: Path, max_members: int, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _check_totals(len(infos), sum(i.file_size for i in infos), archive, max_members, max_bytes)
        for info in infos:
            name = _safe_name(info.filename, archive)
            mode = (info.external_attr >> 16) & 0o170000
            if mode and mode not in (0o100000, 0o040000):
                raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is not a regular file or folder")
            dest = _place(work, name, info.is_dir())
            if dest is None:
                continue
            written = 0
            with zf.open(info) as src, open(dest, "wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    written += len(block)
                    if written > info.file_size or written > max_bytes:
                        raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is larger than declared")
                    out.write(block)


def _extract_tar(archive: Path, work: Path, max_members: int, max_bytes: int) -> None:
    with tarfile.open(archive) as tf:
        count = total = 0
        for member in tf:
            count += 1
            total += member.size
            _check_totals(count, total, archive, max_members, max_bytes)
            name = _safe_name(member.name, archive)
            if not (member.isreg() or member.isdir()):
                kind = "link" if (member.issym() or member.islnk()) else "special file"
                raise UnsafeArchiveError(f"{archive.name}: member {member.name!r} is a {kind}")
            dest = _place(work, name, member.isdir())
            if dest is None:
                continue
            src = tf.extractfile(member)
            if src is None:
                raise UnsafeArchiveError(f"{archive.name}: cannot read member {member.name!r}")
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _extract_gzip(archive: Path, work: Path, max_bytes: int) -> None:
    dest = work / archive.name[: -len(".gz")]
    written = 0
    with gzip.open(archive, "rb") as src, open(dest, "wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            written += len(block)
            if written > max_bytes:
                raise UnsafeArchiveError(f"{archive.name}: would extract more than {max_bytes} bytes")
            out.write(block)
