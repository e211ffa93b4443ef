"""``llmdata export ID[:SPLIT] --to KIND --out DIR``: hand a dataset (or a built mixture) to a trainer.

One writer per target, chosen from a dict: ``jsonl`` and ``parquet``
(``export_plain``), ``llamafactory`` and ``lm-eval``. File names are stable —
``<name>.<split>.<ext>``, no revision hash — and DIR receives only what the
target reads. Each writer returns the files it wrote (relative to DIR), rows
per split, and rows it had to leave out with the reason (never silently).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError

Writer = Callable[..., dict]  # (name, fmt, splits, out, **options) -> report


def _writers() -> dict[str, Writer]:
    from . import export_lmeval, export_llamafactory, export_plain

    return {"jsonl": export_plain.write_jsonl, "parquet": export_plain.write_parquet,
            "llamafactory": export_llamafactory.write, "lm-eval": export_lmeval.write}


KINDS = ("llamafactory", "lm-eval", "jsonl", "parquet")


def export_files(kind: str, name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **options) -> dict:
    """Write ``splits`` (split -> Parquet shards in the common format ``fmt``) for ``kind`` into ``out``.

    ``options`` go to the writer (lm-eval: ``test_split``)."""
    writers = _writers()
    if kind not in writers:
        raise UsageError(f"unknown export target {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    out.mkdir(parents=True, exist_ok=True)
    report = writers[kind](name, fmt, splits, out, **options)
    return {"name": name, "to": kind, "format": fmt, "out": str(out), **report}


def export_dataset(target: str, kind: str, out: str | Path, *, catalogs=None) -> dict:
    """``ID`` or ``ID:SPLIT`` from the store (fetched first when missing) -> ``export_files``."""
    from .inputs import entry_for, materialize

    dataset_id, _, split = target.partition(":")
    stored = materialize(entry_for(dataset_id, catalogs))
    if stored.format == "retrieval":
        raise UsageError(f"{dataset_id} is retrieval data (corpus, queries, qrels); it has no trainer export")
    if split:
        stored.shards(split)  # a clear error for an unknown split
    if kind == "lm-eval":  # the test split plus the others (few-shot source)
        splits = {s: stored.shards(s) for s in stored.splits}
        return export_files(kind, stored.entry.id, stored.format, splits, Path(out).expanduser(),
                            test_split=split or None)
    chosen = [split] if split else stored.splits
    return export_files(kind, stored.entry.id, stored.format, {s: stored.shards(s) for s in chosen},
                        Path(out).expanduser())
