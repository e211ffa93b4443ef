"""Normalize fetched raw files into ``normalized/<id>/<revision>/<format>/`` and find them again.

The split -> files mapping comes from the catalog entry (globs over the
fetched paths). Output is reused while the converter version, its options and
the raw files' SHA-256s are unchanged; otherwise it is rebuilt.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path

from ..catalog.model import Entry, thaw
from ..errors import EmptySplitError, LlmdataError, NotNormalizableError
from ..store import layout
from .pipeline import FormatSpec, normalize, read_manifest


def split_inputs(entry: Entry, raw_dir: Path, files: list[dict]) -> dict[str, list[tuple[Path, str]]]:
    """Which fetched files make which split; archives count by their extracted members."""
    present = sorted(f["path"] for f in files)
    extracted = []
    for f in present:
        target = layout.extracted_dir(raw_dir / f)
        if target.is_dir():
            extracted += [str(p.relative_to(raw_dir)) for p in sorted(target.rglob("*")) if p.is_file()]
    candidates = present + extracted
    splits = entry.splits or {"train": ("*",)}
    result: dict[str, list[tuple[Path, str]]] = {}
    for split, patterns in splits.items():
        chosen = [c for c in candidates if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
        if chosen:  # a subset fetch (--include/--shards) may leave some splits without files
            result[split] = [(layout.confined(raw_dir, c, entry=entry.id, origin=f"split {split!r}"), c)
                             for c in chosen]
    if not result:
        raise LlmdataError(f"no split of {entry.id} matches the fetched files",
                           hint=f"splits {dict(splits)}; fetched: {', '.join(candidates[:10])}")
    return result


def _fingerprint(spec: FormatSpec, version: int, files: list[dict], splits: dict) -> str:
    payload = json.dumps({"reader": spec.reader, "converter": spec.converter, "version": version,
                          "options": spec.options, "encoding": spec.encoding,
                          "files": sorted((f["path"], f["sha256"]) for f in files),
                          "splits": {k: [n for _, n in v] for k, v in splits.items()}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def normalize_fetched(entry: Entry, revision: str, files: list[dict], *, strict: bool = False,
                      force: bool = False, allow_empty: bool = False, progress=None) -> dict:
    """Normalize one fetched revision; returns the manifest (reused when still current).

    A split with zero rows raises :class:`EmptySplitError` (after publishing, so the
    rejects file can be read) unless ``allow_empty``. Under ``strict``, stored output
    that has rejects is converted again, which stops at the first bad record.
    """
    from .converters import get

    fmt = entry.format
    raw_dir = layout.raw_dir(entry.id, revision)
    if not fmt.supported:
        raise NotNormalizableError(f"{entry.id} cannot be normalized: {fmt.reason or 'no converter declared'}",
                                   hint=f"the raw files are in {raw_dir}")
    spec = FormatSpec(fmt.reader or "", fmt.converter or "", thaw(fmt.options), fmt.encoding)
    converter = get(spec.converter)
    splits = split_inputs(entry, raw_dir, files)
    fingerprint = _fingerprint(spec, converter.version, files, splits)
    out = layout.normalized_dir(entry.id, revision, converter.produces)
    current = read_manifest(out)
    reusable = current and current.get("inputs") == fingerprint and not force
    if reusable and strict and any(c.get("rejected") for c in current["splits"].values()):
        reusable = False  # the stored output was made without --strict and has rejects: check again
    if not reusable:
        layout.require_writable(f"normalizing {entry.id}")
    manifest = current if reusable else normalize(
        splits, spec, source=entry.id, out_dir=out, strict=strict, inputs_fingerprint=fingerprint,
        progress=progress, converter=converter)
    if not allow_empty:
        check_not_empty(manifest, out)
    return manifest


def check_not_empty(manifest: dict, out: Path) -> None:
    """Raise :class:`EmptySplitError` for the first split that has no rows."""
    for split, counts in manifest["splits"].items():
        if not counts.get("rows"):
            rejects = str(out / counts["rejects_file"]) if counts.get("rejects_file") else None
            raise EmptySplitError(manifest["source"], split, counts.get("read", 0), counts.get("reject_reasons") or {},
                                  rejects)
