"""Run a converter over raw files: read, convert, write rows and rejects, count, publish.

Every record read is accounted for: it either produced rows (written) or went
to the rejects file with its position and reason (rejected), so
``written + rejected == read`` always holds and is stored in the manifest.
Output is assembled in a private directory and renamed into place only when
every split is complete; a failure leaves the previous output untouched.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from ..errors import LlmdataError
from .converters import Reject, get
from .readers import BadRecord, read_records
from .writer import SplitWriter

MANIFEST = "manifest.json"


class StrictConversionError(LlmdataError, ValueError):
    """--strict: the first record that cannot be converted stops the run."""

    exit_code = 2


@dataclass
class SplitCounts:
    read: int = 0
    written: int = 0
    rejected: int = 0
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    reject_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FormatSpec:
    """What the catalog's ``format`` says: how to read and which converter to run."""

    reader: str
    converter: str
    options: dict = field(default_factory=dict)
    encoding: str = "utf-8"

    @classmethod
    def from_entry(cls, fmt: dict) -> FormatSpec:
        return cls(fmt["reader"], fmt["converter"], dict(fmt.get("options") or {}), fmt.get("encoding", "utf-8"))


def _reason_key(reason: str) -> str:
    return reason.split(":")[0][:80]


def convert_split(inputs: list[tuple[Path, str]], spec: FormatSpec, *, source: str, split: str,
                  directory: Path, strict: bool = False, progress=None) -> SplitCounts:
    """Convert the files of one split into ``directory``; ``inputs`` are (path, name shown in positions)."""
    conv = get(spec.converter)
    writer = SplitWriter(directory, conv.produces, split)
    counts = SplitCounts()
    dumps = orjson.dumps
    try:
        for path, name in inputs:
            for position, record in read_records(path, spec.reader, name=name, encoding=spec.encoding,
                                                 options=spec.options):
                counts.read += 1
                if progress is not None and counts.read % 10_000 == 0:
                    progress(counts.read)
                reason = None
                rows = []
                if isinstance(record, BadRecord):
                    reason, raw = record.reason, record.raw
                elif not isinstance(record, dict):
                    reason, raw = f"record is a {type(record).__name__}, not an object", record
                else:
                    raw = record
                    try:
                        rows = list(conv.fn(record, spec.options))
                        if not rows:
                            reason = "the converter produced no rows"
                    except Reject as exc:
                        reason = str(exc)
                if reason is not None:
                    if strict:
                        raise StrictConversionError(f"{position}: {reason}",
                                                    hint="drop --strict to send such records to the rejects file")
                    writer.reject(str(position), reason, raw)
                    counts.rejected += 1
                    key = _reason_key(reason)
                    counts.reject_reasons[key] = counts.reject_reasons.get(key, 0) + 1
                    continue
                counts.written += 1
                base = rows[0].native_id or f"{name}:{position.number}"
                for k, row in enumerate(rows):
                    meta = {key: value for key, value in record.items() if key not in row.consumed}
                    row.fields["id"] = base if len(rows) == 1 else f"{base}#{k}"
                    row.fields["source"] = source
                    row.fields["meta"] = dumps(meta, default=str).decode()
                    writer.add(row.fields)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    counts.rows = writer.rows
    counts.shards = writer.shards
    counts.rejects_file = f"{split}.rejects.jsonl" if writer.rejects else None
    return counts


def normalize(splits: dict[str, list[tuple[Path, str]]], spec: FormatSpec, *, source: str, out_dir: Path,
              strict: bool = False, inputs_fingerprint: str = "", progress=None) -> dict:
    """Convert every split and publish ``out_dir`` atomically; returns the manifest."""
    conv = get(spec.converter)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        manifest = {
            "source": source,
            "format": conv.produces,
            "converter": conv.name,
            "converter_version": conv.version,
            "reader": spec.reader,
            "options": spec.options,
            "encoding": spec.encoding,
            "inputs": inputs_fingerprint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "splits": {},
        }
        for split, inputs in splits.items():
            counts = convert_split(inputs, spec, source=source, split=split, directory=work, strict=strict,
                                   progress=progress)
            manifest["splits"][split] = asdict(counts)
        (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        publish(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def publish(work: Path, final: Path) -> None:
    """Swap ``work`` into place as ``final``; the old version is removed only after the swap."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    try:
        os.replace(work, final)
    except OSError:
        if old is not None and not final.exists():
            os.replace(old, final)  # put the previous version back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return orjson.loads((out_dir / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
