"""Normalize fetched raw files into ``normalized/<id>/<revision>/<format>/`` and find them again.

The split -> files mapping comes from the catalog entry (globs over the
fetched paths). Output is reused while the converter version, its options and
the raw files' SHA-256s are unchanged; otherwise it is rebuilt. Output found
current is remembered for the process (``reuse``), so a repeated
``llmdata.load`` does not list and hash its inputs again.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path

from ..catalog import datafiles
from ..catalog.model import Entry, thaw
from ..errors import EmptySplitError, LayoutError, NotNormalizableError
from ..store import layout
from .pipeline import MANIFEST, FormatSpec, normalize, read_manifest
from .reuse import KnownOutputs, stat_stamp

_known = KnownOutputs()


def split_inputs(entry: Entry, raw_dir: Path, files: list[dict], *,
                 partial: bool | None = None) -> dict[str, list[tuple[Path, str]]]:
    """Which fetched files make which split; archives count by their extracted members.

    Only data files are candidates (never a card, script or image). The mapping is the entry's
    ``splits`` globs, else the stored card's ``configs:``, else the split names ``datasets`` infers.
    A split that matches no file is an error naming the entry, the split and the files seen,
    unless the fetch was a subset (``partial``; ``None`` when unknown: then only all-empty fails).
    """
    present = sorted(f["path"] for f in files)
    extracted, unpacked = [], set()
    for f in present:
        target = layout.extracted_dir(raw_dir / f)
        if target.is_dir():
            unpacked.add(f)
            extracted += [str(p.relative_to(raw_dir)) for p in sorted(target.rglob("*")) if p.is_file()]
    candidates = [c for c in present if c not in unpacked] + extracted
    data = [c for c in candidates if datafiles.is_data_file(c)]
    if entry.splits:
        mapping = {split: [c for c in data if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
                   for split, patterns in entry.splits.items()}
        origin = "the entry's splits"
    else:
        card = raw_dir / datafiles.CARD
        card_text = card.read_text("utf-8", "replace") if datafiles.CARD in present and card.is_file() else None
        config = next((s.config for s in entry.sources if s.kind == "hf" and s.config), None)
        mapping, origin = datafiles.upstream_splits(data, card_text, config)
    result = {split: [(layout.confined(raw_dir, c, entry=entry.id, origin=f"split {split!r}"), c) for c in chosen]
              for split, chosen in mapping.items() if chosen}
    empty = [split for split, chosen in mapping.items() if not chosen]
    if not result or (empty and partial is False):
        split = empty[0] if empty else "train"
        patterns = ", ".join(entry.splits.get(split, ())) or "-"
        raise LayoutError(f"{entry.id}: split {split!r} ({patterns}) matches no data file (splits from {origin}); "
                          f"files seen: {', '.join(candidates[:12]) or '(none)'}"
                          + (f" ... ({len(candidates)} in all)" if len(candidates) > 12 else ""),
                          hint="fix the entry's `splits:` (or its file list) to match the upstream tree")
    return result


def _fingerprint(spec: FormatSpec, version: int, files: list[dict], splits: dict) -> str:
    payload = json.dumps({"reader": spec.reader, "converter": spec.converter, "version": version,
                          "options": spec.options, "encoding": spec.encoding,
                          "files": sorted((f["path"], f["sha256"]) for f in files),
                          "splits": {k: [n for _, n in v] for k, v in splits.items()}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def normalize_fetched(entry: Entry, revision: str, files: list[dict], *, strict: bool = False,
                      force: bool = False, allow_empty: bool = False, progress=None,
                      partial: bool | None = None, runner=None) -> dict:
    """Normalize one fetched revision; returns the manifest (reused when still current).

    A split with zero rows raises :class:`EmptySplitError` (after publishing, so the
    rejects file can be read) unless ``allow_empty``. Under ``strict``, stored output
    that has rejects is converted again, which stops at the first bad record.
    ``partial`` says the fetch took a subset (splits without files are then allowed).
    ``runner`` converts and publishes when the stored output cannot be reused; it takes
    ``pipeline.normalize``'s arguments (default: ``pipeline.normalize``; the Ray engine passes its own).
    """
    from .converters import get

    fmt = entry.format
    if not fmt.supported:
        raise NotNormalizableError(f"{entry.id} cannot be normalized: {fmt.reason or 'no converter declared'}",
                                   hint=f"the raw files are in {layout.raw_dir(entry.id, revision)}")
    converter = get(fmt.converter or "")
    known = None if strict or force else _known.current(entry, converter, revision, files, partial)
    manifest, out = known or _stored_or_new(entry, converter, revision, files, strict=strict, force=force,
                                            progress=progress, partial=partial, runner=runner)
    if not allow_empty:
        check_not_empty(manifest, out)
    return manifest


def _stored_or_new(entry: Entry, converter, revision: str, files: list[dict], *, strict: bool, force: bool,
                   progress, partial: bool | None, runner) -> tuple[dict, Path]:
    """The stored manifest when its inputs fingerprint is current (remembered for next time), else a new one."""
    fmt = entry.format
    spec = FormatSpec(fmt.reader or "", fmt.converter or "", thaw(fmt.options), fmt.encoding)
    splits = split_inputs(entry, layout.raw_dir(entry.id, revision), files, partial=partial)
    fingerprint = _fingerprint(spec, converter.version, files, splits)
    out = layout.normalized_dir(entry.id, revision, converter.produces)
    stamp = stat_stamp(out / MANIFEST)  # taken before the read: a manifest replaced meanwhile is seen next time
    current = read_manifest(out)
    reusable = current and current.get("inputs") == fingerprint and not force
    if reusable and strict and any(c.get("rejected") for c in current["splits"].values()):
        reusable = False  # the stored output was made without --strict and has rejects: check again
    if reusable:
        if stamp is not None:
            _known.remember(entry, converter, revision, files, partial, out / MANIFEST, stamp, current)
        return current, out
    layout.require_writable(f"normalizing {entry.id}")
    return (runner or normalize)(splits, spec, source=entry.id, out_dir=out, strict=strict,
                                 inputs_fingerprint=fingerprint, progress=progress, converter=converter), out


def check_not_empty(manifest: dict, out: Path) -> None:
    """Raise :class:`EmptySplitError` for the first split that has no rows."""
    for split, counts in manifest["splits"].items():
        if not counts.get("rows"):
            rejects = str(out / counts["rejects_file"]) if counts.get("rejects_file") else None
            raise EmptySplitError(manifest["source"], split, counts.get("read", 0), counts.get("reject_reasons") or {},
                                  rejects)
