"""Extract zip / tar / gz archives safely, into a fresh directory published by rename.

Only regular files and directories are extracted. Absolute names, ``..``
segments, symlinks, hard links, devices and FIFOs are refused, as are archives
over the caps (zip bombs): member count, total size, and the compression ratio
-- expanded size over the archive's size, in total and per zip member. Real
data compresses 3-20x; 1 GiB of zeros in a 1 MB zip is ~1000x. Ratios count
only past ``RATIO_FLOOR`` expanded bytes, so small, very repetitive files still
extract. A caller that knows better passes ``max_ratio``.

Nothing reaches the final directory unless the whole archive extracted
cleanly: members go to ``.<target>.tmp-<pid>-<hex>`` beside it, renamed at the
end. Such folders left by a killed process are removed by the next extraction
into the same folder (see :mod:`.scratch`).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import UnsafeArchiveError
from ..store.atomic import staging_path
from ..store.layout import extracted_dir
from . import scratch

MAX_MEMBERS = 200_000
MAX_TOTAL_BYTES = 200 * 1024**3
MAX_RATIO = 100.0
RATIO_FLOOR = 64 * 1024**2


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} has an absolute path")
    if any(part == ".." for part in path.parts):
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} would escape the target folder")
    return path


_RAISE_CAP = "if the archive is genuine, extract it with a higher cap (archives.extract(..., {name}=...))"


def _check_totals(count: int, total: int, archive: Path, max_members: int, max_bytes: int) -> None:
    if count > max_members:
        raise UnsafeArchiveError(f"{archive.name}: more than {max_members} members (possible archive bomb)",
                                 hint=_RAISE_CAP.format(name="max_members"))
    if total > max_bytes:
        ratio = total / max(archive.stat().st_size, 1)
        raise UnsafeArchiveError(f"{archive.name}: would extract {total} bytes, {ratio:.0f}x its size, over the "
                                 f"cap of {max_bytes} bytes (possible archive bomb)",
                                 hint=_RAISE_CAP.format(name="max_ratio / max_bytes"))


def _byte_cap(archive: Path, max_bytes: int, max_ratio: float, ratio_floor: int) -> int:
    """The most this archive may expand to: ``max_bytes``, and ``max_ratio`` times its size past the floor."""
    return min(max_bytes, max(ratio_floor, int(archive.stat().st_size * max_ratio)))


def extract(archive: Path, target: Path | None = None, *, max_members: int = MAX_MEMBERS,
            max_bytes: int = MAX_TOTAL_BYTES, max_ratio: float = MAX_RATIO, ratio_floor: int = RATIO_FLOOR) -> Path:
    """Extract ``archive`` into ``target`` (default: :func:`extracted_dir`); returns the target.

    Raises ``UnsafeArchiveError`` (naming the archive) for unsafe members and
    for archives past the caps, before anything reaches ``target``.
    """
    target = target or extracted_dir(archive)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch.sweep_folder(target.parent)
    max_bytes = _byte_cap(archive, max_bytes, max_ratio, ratio_floor)
    work = staging_path(target)
    work.mkdir()
    try:
        single_gzip = archive.name.endswith(".gz") and not archive.name.endswith(".tar.gz")
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, work, max_members, max_bytes, max_ratio, ratio_floor)
        elif not single_gzip and tarfile.is_tarfile(archive):  # (a .gz of zeros would pass as an empty tar)
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


def _check_member_ratio(info: zipfile.ZipInfo, archive: Path, max_ratio: float, ratio_floor: int) -> None:
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > ratio_floor and ratio > max_ratio:
        raise UnsafeArchiveError(
            f"{archive.name}: member {info.filename!r} expands {ratio:.0f}x ({info.compress_size} -> "
            f"{info.file_size} bytes), over the {max_ratio:.0f}x cap (possible archive bomb)",
            hint=_RAISE_CAP.format(name="max_ratio"))


def _extract_zip(archive: Path, work: Path, max_members: int, max_bytes: int, max_ratio: float,
                 ratio_floor: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _check_totals(len(infos), sum(i.file_size for i in infos), archive, max_members, max_bytes)
        for info in infos:
            _check_member_ratio(info, archive, max_ratio, ratio_floor)
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
                        raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is larger than declared",
                                                 hint="the archive is damaged or forged; do not extract it")
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
                raise UnsafeArchiveError(f"{archive.name}: would extract more than {max_bytes} bytes "
                                         f"(possible archive bomb)", hint=_RAISE_CAP.format(name="max_ratio / max_bytes"))
            out.write(block)
