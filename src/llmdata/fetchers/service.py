"""``llmdata fetch``: choose a source, plan, check space, download and verify, record.

Sources are tried in catalog order; when one fails (offline, 404, gated,
corrupted bytes ...) the next one is tried, and every copy is checked against
the same pins. Files land in ``raw/<id>/<revision>/<path>`` and the ledger
records them only once all of the dataset's files are verified. URLs in the
report and the ledger are redacted (:func:`llmdata.errors.redact_url`): both
end up in ``--json`` output and ``llmdata list``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .. import settings
from ..catalog.model import Entry
from ..errors import (DiskFullError, FetchError, IntegrityError, LayoutError, ManualDownloadRequired,
                      MissingFilesError, OfflineError, UnsafePathError, UpstreamChangedError, UsageError, redact_url)
from ..store import atomic, layout, ledger
from .sources import Resolved, resolver_for
from .sources.url import store_name
from .http import new_client
from .parallel import TotalsFn, download_all
from .transfer import ProgressFn
from .verify import sha256_file


@dataclass
class FetchReport:
    dataset_id: str
    kind: str
    source: str
    revision: str
    pinned: bool
    directory: Path
    files: list[dict] = field(default_factory=list)
    dry_run: bool = False
    skipped_sources: list[str] = field(default_factory=list)
    normalized: dict | None = None  # the normalization manifest, when the entry has a converter
    partial: bool = False  # only a subset of the files was asked for (--include / --shards / --max-bytes)

    def as_dict(self) -> dict:
        return {**self.__dict__, "directory": str(self.directory)}


def _check_space(needed: int) -> None:
    root = layout.home()
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed > free:
        raise DiskFullError(
            f"not enough disk space: need {needed / 2**30:.2f} GiB, {free / 2**30:.2f} GiB free under {root}",
            hint="free some space or set LLMDATA_HOME to a larger disk")


def _missing_bytes(resolved: Resolved, dests: dict[str, Path]) -> int:
    return sum(f.pin.size or 0 for f in resolved.files if not dests[f.path].is_file())


def _destinations(entry: Entry, resolved: Resolved, directory: Path) -> dict[str, Path]:
    """Where each file goes, every path confined to the dataset's folder before any byte is written.

    The paths come from the catalog or from the host's own listing (a GitHub
    tree, the Hub's siblings, a URL's last segment), so either may be hostile.
    """
    origin = f"the file list of {resolved.kind}:{resolved.location}"
    return {f.path: layout.confined(directory, f.path, entry=entry.id, origin=origin) for f in resolved.files}


def _from_store(entry: Entry) -> FetchReport | None:
    current = ledger.current(entry.id)
    if current is None:
        return None
    directory = layout.raw_dir(entry.id, current["revision"])
    files = ledger.files(entry.id, current["revision"])
    if files and all((directory / f["path"]).is_file() for f in files):
        return FetchReport(entry.id, current["source_kind"], current["source"], current["revision"],
                           current["pinned"], directory, files)
    return None


@dataclass(frozen=True)
class Subset:
    """Part of a large corpus: files matching ``include``, the first ``shards`` of them, up to ``max_bytes``."""

    include: tuple[str, ...] = ()
    shards: int | None = None
    max_bytes: int | None = None

    def __bool__(self) -> bool:
        return bool(self.include or self.shards or self.max_bytes)

    def apply(self, files: list) -> list:
        import fnmatch

        chosen = [f for f in files if not self.include or any(fnmatch.fnmatch(f.path, p) for p in self.include)]
        if self.include and not chosen:
            raise UsageError(f"no file matches {', '.join(self.include)}",
                             hint="`llmdata fetch ID --dry-run` lists the files")
        if self.shards is not None:
            chosen = chosen[: self.shards]
        if self.max_bytes is not None:
            kept, total = [], 0
            for f in chosen:
                size = f.pin.size or 0
                if total + size > self.max_bytes:
                    break
                kept.append(f)
                total += size
            if not kept and chosen:
                raise UsageError(f"the first file ({chosen[0].path}, {chosen[0].pin.size} bytes) is larger than "
                                 f"--max-bytes {self.max_bytes}", hint="raise --max-bytes or pick files with --include")
            chosen = kept
        return chosen


def fetch_entry(entry: Entry, *, dry_run: bool = False, progress: ProgressFn | None = None,
                client=None, subset: Subset = Subset(), jobs: int | None = None,
                overall: TotalsFn | None = None, runner=None) -> FetchReport:
    """Fetch one catalog entry (see module docstring); returns what is now in the store.

    Up to ``jobs`` files download at once (default ``LLMDATA_JOBS``, 8); ``progress``
    follows each file (from worker threads), ``overall`` the whole dataset.
    ``runner`` replaces :func:`parallel.download_all` (same signature): the Ray
    engine spreads the files over a cluster with it.
    """
    jobs = settings.jobs() if jobs is None else max(1, int(jobs))
    if entry.access == "manual":
        raise ManualDownloadRequired(
            f"{entry.id} cannot be downloaded automatically",
            hint=f"{entry.instructions}\nthen: llmdata fetch {entry.id} --from PATH")
    if settings.offline():
        stored = _from_store(entry)
        if stored is not None:
            return stored
        raise OfflineError(f"offline mode is on and {entry.id} is not in the store",
                           hint="unset LLMDATA_OFFLINE / HF_HUB_OFFLINE to download it")
    own_client = client is None
    client = client or new_client(jobs)
    failures: list[str] = []
    first_error: FetchError | None = None
    try:
        for source in entry.sources:
            label = redact_url(source.label)
            try:
                resolved = resolver_for(source.kind)(source, client)
                check_splits_cover(entry, [f.path for f in resolved.files],
                                   archives=any(f.extract for f in resolved.files))
                if subset:
                    resolved.files = subset.apply(resolved.files)
                report = _fetch_resolved(entry, resolved, dry_run, client, failures,
                                         _Transfer(jobs, progress, overall, runner or download_all))
                report.partial = bool(subset)
                return report
            except (DiskFullError, LayoutError):
                raise
            except MissingFilesError as exc:
                wrapped = _missing_files(entry, source, exc)
                failures.append(f"{source.label}: {wrapped.message}")
                first_error = first_error or wrapped
            except FetchError as exc:
                failures.append(f"{label}: {exc.message}")
                first_error = first_error or exc
        assert first_error is not None
        if len(failures) > 1:
            first_error.hint = (first_error.hint + "\n" if first_error.hint else "") + "tried every source:\n  " + \
                "\n  ".join(failures)
        raise first_error
    finally:
        if own_client:
            client.close()


def _seen(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "") if names else "(none)"


def _missing_files(entry: Entry, source, exc: MissingFilesError) -> MissingFilesError:
    """The resolver's error, told in the entry's terms: which split needs the missing files."""
    import fnmatch

    splits = sorted({split for split, patterns in entry.splits.items() for m in exc.missing
                     if any(fnmatch.fnmatchcase(m, p) for p in patterns)}) or ["(every split)"]
    message = (f"{entry.id}: split {', '.join(splits)} declares {', '.join(exc.missing)}, not in {source.location}; "
               f"files seen: {_seen(exc.seen)}")
    return MissingFilesError(message, url=exc.url, hint=exc.hint, missing=exc.missing, seen=exc.seen)


def check_splits_cover(entry: Entry, names: list[str], *, archives: bool = False) -> None:
    """Every split the entry names must match at least one file; else a LayoutError before anything is written."""
    import fnmatch

    if archives or not entry.format.supported:
        return
    for split, patterns in entry.splits.items():
        if not any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns):
            raise LayoutError(f"{entry.id}: split {split!r} ({', '.join(patterns)}) matches no file; "
                              f"files seen: {_seen(sorted(names))}",
                              hint="the files were renamed or removed upstream, or the split's globs are wrong; "
                                   "fix `splits:` in the entry")


@dataclass(frozen=True)
class _Transfer:
    """How to run the downloads: concurrency and the two progress callbacks."""

    jobs: int
    progress: ProgressFn | None = None
    overall: TotalsFn | None = None
    runner: object = download_all


def _extract_after(remote, verified) -> None:
    """Unpack an archive marked ``extract`` right after it verified (on the thread or node that got it)."""
    if remote.extract:
        from .archives import extract

        extract(verified.path)


def _fetch_resolved(entry: Entry, resolved: Resolved, dry_run: bool, client, failures,
                    transfer: _Transfer) -> FetchReport:
    directory = layout.raw_dir(entry.id, resolved.revision)
    location = redact_url(resolved.location)
    report = FetchReport(entry.id, resolved.kind, location, resolved.revision, resolved.pinned,
                         directory, dry_run=dry_run, skipped_sources=list(failures))
    dests = _destinations(entry, resolved, directory)
    _check_space(_missing_bytes(resolved, dests))
    if dry_run:
        report.files = [{"path": f.path, "size": f.pin.size, "sha256": f.pin.sha256, "url": redact_url(f.url),
                         "present": dests[f.path].is_file()} for f in resolved.files]
        return report
    try:
        done = transfer.runner(client, resolved.files, dests, jobs=transfer.jobs, progress=transfer.progress,
                               overall=transfer.overall, after=_extract_after)
    except UpstreamChangedError as exc:
        exc.hint = UpstreamChangedError.repin_hint(entry.id)
        raise
    report.files = [{"path": remote.path, "size": verified.size, "sha256": verified.sha256,
                     "url": verified.url, "pinned": remote.pin.pinned}
                    for remote, verified in zip(resolved.files, done)]
    ledger.record(entry.id, resolved.kind, location, resolved.revision, resolved.pinned, report.files)
    return report


def register_manual(entry: Entry, path: Path) -> FetchReport:
    """``fetch ID --from PATH``: verify a file the user downloaded and put it in the store."""
    if not path.is_file():
        raise UsageError(f"{path} is not a file", hint="pass the downloaded archive or data file")
    pins = [(s.sha256, s.size, store_name(s)) for s in entry.sources if s.kind == "url" and s.url]
    pins += [(f.sha256, f.size, f.path) for s in entry.sources for f in s.files]
    sha256 = sha256_file(path)
    size = path.stat().st_size
    pinned = [p for p in pins if p[0]]
    match = next((p for p in pinned if p[0] == sha256), None)
    if pinned and match is None:
        expected = ", ".join(f"{name}: {sha}" for sha, _, name in pinned)
        raise IntegrityError(f"{path.name} does not match the pin: got sha256 {sha256}, expected {expected}",
                             hint="download the exact file the catalog names (check the version)")
    name = match[2] if match else path.name
    revision = f"sha256-{sha256[:16]}" if match else "manual"
    directory = layout.raw_dir(entry.id, revision)
    atomic.copy_file(path, layout.confined(directory, name, entry=entry.id, origin="the catalog"))
    files = [{"path": name, "size": size, "sha256": sha256, "url": f"file://{path.resolve()}", "pinned": bool(match)}]
    ledger.record(entry.id, "manual", str(path.resolve()), revision, bool(match), files)
    return FetchReport(entry.id, "manual", str(path.resolve()), revision, bool(match), directory, files)


def verify_store(dataset_id: str) -> list[dict]:
    """Re-hash every recorded file of a dataset; returns one result per file."""
    results = []
    for row in ledger.files(dataset_id):
        try:
            path = layout.confined(layout.raw_dir(dataset_id, row["revision"]), row["path"], entry=dataset_id,
                                   origin="the ledger")
        except UnsafePathError as exc:
            results.append({**row, "ok": False, "problem": f"unsafe path: {exc.reason}"})
            continue
        if not path.is_file():
            results.append({**row, "ok": False, "problem": "missing"})
            continue
        got = sha256_file(path)
        ok = got == row["sha256"] and path.stat().st_size == row["size"]
        results.append({**row, "ok": ok, "problem": None if ok else f"sha256 {got} != {row['sha256']}"})
    return results


def remove(dataset_id: str) -> bool:
    """Delete a dataset's raw and normalized files and its ledger rows (each folder vanishes at once)."""
    removed = False
    for root in (layout.raw_root(), layout.normalized_root()):
        removed = atomic.remove_tree(root / dataset_id) or removed
    return bool(ledger.forget(dataset_id)) or removed
