"""The Python API: what ``import llmdata`` offers, each call a thin layer over one module."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from .index.query import Filters

if TYPE_CHECKING:
    from .catalog.model import Entry


def search(
    query: str = "",
    *,
    category: str | None = None,
    domain: str | None = None,
    lang: str | None = None,
    license: str | None = None,
    commercial: bool | None = None,
    access: str | None = None,
    host_kind: str | None = None,
    limit: int | None = 20,
    catalogs: list[str | Path] | None = None,
) -> list[dict]:
    """Catalog entries matching ``query`` (Chinese or English) and the filters, best first.

    >>> [hit["id"] for hit in llmdata.search("医疗", lang="zh")][:3]  # doctest: +SKIP
    """
    from .index import query as q
    from .index.reader import open_index

    conn = open_index([Path(c) for c in catalogs or []])
    try:
        filters = Filters(category, domain, lang, license, commercial, access, host_kind)
        return q.search(conn, query, filters, limit)
    finally:
        conn.close()


def info(dataset_id: str, *, catalogs: list[str | Path] | None = None) -> dict:
    """The full catalog card of one dataset; raises ``UnknownDatasetError`` (a ``KeyError``)."""
    from .index import query as q
    from .index.reader import open_index

    conn = open_index([Path(c) for c in catalogs or []])
    try:
        return q.get(conn, dataset_id)
    finally:
        conn.close()


def validate(paths: list[str | Path] | None = None):
    """Problems found in catalog files (default: every file in use). Returns ``(entries, problems)``."""
    from .catalog import catalog_paths
    from .catalog.validate import check_files

    files = [Path(p).expanduser().resolve() for p in paths] if paths else catalog_paths()
    return check_files(files)


def entry(dataset_id: str, *, catalogs: list[str | Path] | None = None) -> Entry:
    """The typed catalog entry of one dataset (what fetchers and normalizers work from)."""
    from .catalog.model import Entry

    return Entry.from_card(info(dataset_id, catalogs=catalogs))


def fetch(dataset_id: str, *, dry_run: bool = False, from_path: str | Path | None = None, raw_only: bool = False,
          strict: bool = False, include: list[str] | None = None, shards: int | None = None,
          max_bytes: int | None = None, catalogs: list[str | Path] | None = None, progress=None):
    """Get a dataset's pinned files into the store (verified) and normalize them; returns a ``FetchReport``.

    ``from_path`` registers a file downloaded by hand (manual-access datasets);
    ``raw_only`` skips normalization; ``strict`` fails on the first record that
    cannot be converted instead of sending it to the rejects file. For large
    corpora, ``include`` (globs), ``shards`` (first N files) and ``max_bytes``
    fetch a subset.
    """
    from .fetchers import service

    target = entry(dataset_id, catalogs=catalogs)
    if from_path is not None:
        report = service.register_manual(target, Path(from_path).expanduser())
    else:
        subset = service.Subset(tuple(include or ()), shards, max_bytes)
        report = service.fetch_entry(target, dry_run=dry_run, progress=progress, subset=subset)
    if dry_run or raw_only or not target.format.supported:
        return report
    from .normalize.store import normalize_fetched

    report.normalized = normalize_fetched(target, report.revision, report.files, strict=strict)
    return report


def load(dataset_id: str, split: str | None = None, *, streaming: bool = False, subjects: list[str] | None = None,
         catalogs: list[str | Path] | None = None):
    """The normalized dataset as ``datasets.Dataset`` (``DatasetDict`` without a split, ``IterableDataset`` when streaming).

    Fetches and normalizes first when the dataset is not in the store (unless offline).
    ``subjects`` keeps only those subjects of a multiple-choice benchmark (CMMLU, MMLU, C-Eval ...).
    """
    from . import settings
    from .errors import OfflineError, UsageError
    from .normalize.store import normalize_fetched
    from .store import layout, ledger

    target = entry(dataset_id, catalogs=catalogs)
    current = ledger.current(target.id)
    if current is None:
        if settings.offline():
            raise OfflineError(f"{target.id} is not in the store and offline mode is on",
                               hint=f"run `llmdata fetch {target.id}` while online")
        report = fetch(target.id, catalogs=catalogs)
        revision, files = report.revision, report.files
    else:
        revision = current["revision"]
        files = ledger.files(target.id, revision)
    manifest = normalize_fetched(target, revision, files)
    out = layout.normalized_dir(target.id, revision, manifest["format"])
    splits = manifest["splits"]
    if split is not None and split not in splits:
        raise UsageError(f"{target.id} has no split {split!r}", hint=f"splits: {', '.join(splits)}")
    data_files = {name: [str(out / shard) for shard in counts["shards"]] for name, counts in splits.items()}
    import datasets

    cache = str(layout.datasets_cache())
    if manifest["format"] == "retrieval":  # corpus, queries and qrels have different columns: one load each
        tables = {name: datasets.load_dataset("parquet", data_files={name: files}, split=name, streaming=streaming,
                                              cache_dir=cache)
                  for name, files in data_files.items() if split is None or name == split}
        if split is not None:
            return tables[split]
        return (datasets.IterableDatasetDict if streaming else datasets.DatasetDict)(tables)
    loaded = datasets.load_dataset("parquet", data_files=data_files, split=split, streaming=streaming,
                                   cache_dir=cache)
    if subjects:
        if manifest["format"] != "mcq":
            raise UsageError(f"{target.id} has no subjects (format {manifest['format']})")
        wanted = set(subjects)
        loaded = loaded.filter(lambda s: s in wanted, input_columns="subject")
    return loaded


def list_store() -> list[dict]:
    """What the store holds: one row per dataset with its current revision, file count and bytes."""
    from .store import ledger

    rows = []
    for d in ledger.datasets():
        files = ledger.files(d["dataset_id"], d["revision"])
        rows.append({**d, "files": len(files), "bytes": sum(f["size"] for f in files)})
    return rows


def verify(dataset_id: str | None = None) -> list[dict]:
    """Re-hash stored files against the ledger (one dataset, or all); one result per file with ``ok``."""
    from .fetchers import service
    from .store import ledger

    ids = [dataset_id] if dataset_id else [d["dataset_id"] for d in ledger.datasets()]
    return [r for i in ids for r in service.verify_store(i)]


def remove(dataset_id: str) -> bool:
    """Delete a dataset's raw and normalized files and ledger rows; False when it was not in the store."""
    from .fetchers import service

    return service.remove(dataset_id)


def pages(root: str | Path, *, check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) CATALOG.md and docs/catalog.html under ``root``; the changed paths."""
    from .catalog.pages import write_pages

    return write_pages(Path(root), check=check)


def export(target: str, to: str, out: str | Path, *, catalogs: list[str | Path] | None = None) -> dict:
    """Write ``ID`` or ``ID:SPLIT`` for a trainer into ``out``: ``to`` is llamafactory, lm-eval, jsonl or parquet.

    Fetches and normalizes first when the dataset is not in the store. Returns
    the files written (stable names, relative to ``out``), rows per split, and
    rows left out with the reason (e.g. roles LLaMA-Factory would not accept).
    """
    from .recipes.export import export_dataset

    return export_dataset(target, to, out, catalogs=[Path(c) for c in catalogs or []])


def build(recipe: str | Path, out: str | Path, *, locked: bool = False, catalogs: list[str | Path] | None = None):
    """Build the training mixture a recipe file describes into ``out``; returns a ``BuildReport``.

    ``out`` receives ``data/train-*.parquet``, ``README.md`` (the card), the
    recipe's exports and ``llmdata.lock``. ``locked`` rebuilds from the lock in
    ``out`` and fails with the differences when an input or the output changed.
    """
    from .recipes.build import build as run

    return run(recipe, out, locked=locked, catalogs=[Path(c) for c in catalogs or []])


def load_recipe(directory: str | Path, *, streaming: bool = False):
    """A built mixture (``llmdata build``'s output directory) as ``datasets.Dataset`` (``IterableDataset`` when streaming)."""
    import datasets

    from .errors import UsageError
    from .store import layout

    shards = sorted(str(p) for p in (Path(directory).expanduser() / "data").glob("train-*.parquet"))
    if not shards:
        raise UsageError(f"no mixture in {directory}", hint="run `llmdata build RECIPE --out DIR` first")
    return datasets.load_dataset("parquet", data_files={"train": shards}, split="train", streaming=streaming,
                                 cache_dir=str(layout.datasets_cache()))
