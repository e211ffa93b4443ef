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
    strict_catalogs: bool = False,
) -> list[dict]:
    """Catalog entries matching ``query`` (Chinese or English) and the filters, best first.

    The result is a list with one more attribute, ``any_word``: True when no
    entry matched every word and the hits match some of them (each hit's
    ``match`` says the same). A user catalog with errors is skipped with a
    ``CatalogSkippedWarning``; ``strict_catalogs=True`` raises ``CatalogError``.

    >>> [hit["id"] for hit in llmdata.search("医疗", lang="zh")][:3]  # doctest: +SKIP
    """
    from .index import query as q
    from .index.reader import open_index

    conn = open_index([Path(c) for c in catalogs or []], strict=strict_catalogs)
    try:
        filters = Filters(category, domain, lang, license, commercial, access, host_kind)
        hits = q.search(conn, query, filters, limit)
    finally:
        conn.close()
    for hit in hits:
        _redact_card(hit)
    return hits


def info(dataset_id: str, *, catalogs: list[str | Path] | None = None, strict_catalogs: bool = False) -> dict:
    """The full catalog card of one dataset; raises ``UnknownDatasetError`` (a ``KeyError``).

    URLs in the card are shown without credentials (a private catalog may hold
    ``https://user:token@host/...``); the fetchers read the card unredacted.
    """
    return _redact_card(_card(dataset_id, catalogs=catalogs, strict_catalogs=strict_catalogs))


def _card(dataset_id: str, *, catalogs: list[str | Path] | None = None, strict_catalogs: bool = False) -> dict:
    from .index import query as q
    from .index.reader import open_index

    conn = open_index([Path(c) for c in catalogs or []], strict=strict_catalogs)
    try:
        return q.get(conn, dataset_id)
    finally:
        conn.close()


def _redact_card(card: dict) -> dict:
    """Source URLs (and url parts) without userinfo or secret-looking query values, for display."""
    from .errors import redact_url

    for source in card.get("sources") or []:
        if isinstance(source.get("url"), str):
            source["url"] = redact_url(source["url"])
        for part in source.get("files") or []:
            if isinstance(part, dict) and isinstance(part.get("url"), str):
                part["url"] = redact_url(part["url"])
    return card


def validate(paths: list[str | Path] | None = None):
    """Problems found in catalog files (default: every file in use). Returns ``(entries, problems)``.

    Named files are also checked against every other catalog in use: an id
    that a built-in entry already has is an error, so a catalog that
    validates is one the tool will accept.
    """
    from .catalog import catalog_paths
    from .catalog.validate import check_files

    if not paths:
        return check_files(catalog_paths())
    files = [Path(p).expanduser().resolve() for p in paths]
    return check_files(files, context=catalog_paths())


def entry(dataset_id: str, *, catalogs: list[str | Path] | None = None, strict_catalogs: bool = False) -> Entry:
    """The typed catalog entry of one dataset (what fetchers and normalizers work from).

    Kept per process while the catalog files are unchanged (``index.lookup``).
    """
    from .index.lookup import entry as lookup

    return lookup(dataset_id, [Path(c) for c in catalogs or []], strict=strict_catalogs)


def fetch(dataset_id: str, *, dry_run: bool = False, from_path: str | Path | None = None, raw_only: bool = False,
          strict: bool = False, include: list[str] | None = None, shards: int | None = None,
          max_bytes: int | None = None, catalogs: list[str | Path] | None = None, progress=None,
          allow_empty: bool = False, strict_catalogs: bool = False, normalize_progress=None,
          jobs: int | None = None, overall=None, engine: str = "local"):
    """Get a dataset's pinned files into the store (verified) and normalize them; returns a ``FetchReport``.

    ``from_path`` registers a file downloaded by hand (manual-access datasets);
    ``raw_only`` skips normalization; ``strict`` fails on the first record that
    cannot be converted instead of sending it to the rejects file; a split that
    converts to no rows raises ``EmptySplitError`` unless ``allow_empty``. For large
    corpora, ``include`` (globs), ``shards`` (first N files) and ``max_bytes``
    fetch a subset. Up to ``jobs`` files download at once (default ``LLMDATA_JOBS``, 8).
    ``progress(path, total, already) -> advance(n)`` follows each download (called
    from the download threads); ``overall(totals)`` the whole dataset (a
    ``fetchers.parallel.Totals``: files, files_done, bytes_total, bytes_done);
    ``normalize_progress(records_read)`` the conversion. ``engine="ray"`` downloads
    and normalizes with Ray tasks (``pip install 'llmdata[ray]'``; the cluster of
    ``RAY_ADDRESS``, else a local Ray; the store on a filesystem every node shares).
    """
    from .fetchers import service
    from .store import layout

    runner = _engine_runner(engine)
    target = entry(dataset_id, catalogs=catalogs, strict_catalogs=strict_catalogs)
    if not dry_run:
        layout.require_writable(f"fetching {target.id}")
    if from_path is not None:
        report = service.register_manual(target, Path(from_path).expanduser())
    else:
        subset = service.Subset(tuple(include or ()), shards, max_bytes)
        report = service.fetch_entry(target, dry_run=dry_run, progress=progress, subset=subset, jobs=jobs,
                                     overall=overall, runner=runner)
    if dry_run or raw_only or not target.format.supported:
        return report
    if engine == "ray":
        from .ray_engine.normalize import normalize_fetched as normalize_on_ray

        report.normalized = normalize_on_ray(target, report.revision, report.files, strict=strict,
                                             allow_empty=allow_empty, partial=report.partial)
        return report
    from .normalize.store import normalize_fetched

    report.normalized = normalize_fetched(target, report.revision, report.files, strict=strict,
                                          allow_empty=allow_empty, progress=normalize_progress,
                                          partial=report.partial)
    return report


def _engine_runner(engine: str):
    """None for the local engine; the Ray downloader (after checking Ray and the store) for ``ray``."""
    from .ray_engine import check_engine, check_store, require_ray

    if check_engine(engine) == "local":
        return None
    require_ray()
    check_store()
    from .ray_engine.fetch import download_all

    return download_all


def load(dataset_id: str, split: str | None = None, *, streaming: bool = False, subjects: list[str] | None = None,
         catalogs: list[str | Path] | None = None, allow_empty: bool = False, strict_catalogs: bool = False,
         engine: str = "local"):
    """The normalized dataset as ``datasets.Dataset`` (``DatasetDict`` without a split, ``IterableDataset`` when streaming).

    Fetches and normalizes first when the dataset is not in the store (unless offline).
    ``subjects`` keeps only those subjects of a multiple-choice benchmark (CMMLU, MMLU, C-Eval ...).
    A split with no rows raises ``EmptySplitError`` unless ``allow_empty``.
    ``engine="ray"`` returns a ``ray.data.Dataset`` of exactly that split's shards
    (a dict of them without a split), normalizing on Ray first when needed.

    The Arrow files ``datasets`` memory-maps are cached beside the Parquet
    shards (``normalized/<id>/<revision>/<format>/.arrow``), so ``llmdata
    list`` counts them and ``llmdata rm`` removes them; on a read-only store
    they go to the user's private cache.
    """
    from . import settings
    from .errors import OfflineError
    from .normalize.store import normalize_fetched
    from .store import ledger

    _engine_runner(engine)
    target = entry(dataset_id, catalogs=catalogs, strict_catalogs=strict_catalogs)
    current, files = ledger.current_files(target.id)
    if current is None:
        if settings.offline():
            raise OfflineError(f"{target.id} is not in the store and offline mode is on",
                               hint=f"run `llmdata fetch {target.id}` while online")
        report = fetch(target.id, catalogs=catalogs, allow_empty=allow_empty, strict_catalogs=strict_catalogs,
                       engine=engine)
        revision, files = report.revision, report.files
    else:
        revision = current["revision"]
    if engine == "ray":
        from .ray_engine.normalize import load

        return load(target, revision, files, split, allow_empty=allow_empty)
    from .normalize.as_datasets import open_splits

    manifest = normalize_fetched(target, revision, files, allow_empty=allow_empty)
    return open_splits(target.id, revision, manifest, split, streaming=streaming, subjects=subjects)


def disk_usage(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist); links are not followed."""
    import os

    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass  # removed while we walked
    return total


def list_store() -> list[dict]:
    """What the store holds: per dataset its current revision, file count and sizes.

    ``bytes`` is the verified raw files of the current revision (the ledger's
    sizes); ``normalized_bytes`` everything under ``normalized/<id>``,
    including ``cache_bytes``, the Arrow cache ``load`` keeps beside the shards.
    """
    import os

    from .store import layout, ledger

    rows = []
    for d in ledger.datasets():
        files = ledger.files(d["dataset_id"], d["revision"])
        normalized = layout.normalized_root() / d["dataset_id"]
        cache = sum(disk_usage(Path(root) / layout.ARROW_CACHE) for root, dirs, _ in os.walk(normalized)
                    if layout.ARROW_CACHE in dirs)
        rows.append({**d, "files": len(files), "bytes": sum(f["size"] for f in files),
                     "normalized_bytes": disk_usage(normalized), "cache_bytes": cache})
    return rows


def _stored_id(dataset_id: str) -> str:
    """The id under which the store holds ``dataset_id`` (an alias or another case resolves to it).

    A typo is bad input (``UnknownDatasetError``, exit 2, with suggestions
    from the catalog and the store); a catalog id that was never fetched is a
    failure (``NotInStoreError``, exit 1). An id only the store knows (its
    catalog entry was removed since) still counts.
    """
    import difflib

    from .errors import NotInStoreError, UnknownDatasetError
    from .store import layout, ledger

    def present(i: str) -> bool:
        return (ledger.current(i) is not None or (layout.raw_root() / i).is_dir()
                or (layout.normalized_root() / i).is_dir())

    if layout.unsafe_reason(dataset_id) is None and "/" not in dataset_id and present(dataset_id):
        return dataset_id
    try:
        card = info(dataset_id)
    except UnknownDatasetError as exc:
        stored = [d["dataset_id"] for d in ledger.datasets()]
        close = difflib.get_close_matches(dataset_id, stored, n=3, cutoff=0.6)
        raise UnknownDatasetError(dataset_id, list(dict.fromkeys(close + exc.suggestions))[:5]) from None
    if present(card["id"]):
        return card["id"]
    raise NotInStoreError(card["id"])


def verify(dataset_id: str | None = None) -> list[dict]:
    """Re-hash stored files against the ledger (one dataset, or all); one result per file with ``ok``.

    Raises ``UnknownDatasetError`` for an id no catalog has, ``NotInStoreError``
    for one that was never fetched.
    """
    from .fetchers import service
    from .store import ledger

    ids = [_stored_id(dataset_id)] if dataset_id else [d["dataset_id"] for d in ledger.datasets()]
    return [r for i in ids for r in service.verify_store(i)]


def remove(dataset_id: str) -> str:
    """Delete a dataset's raw and normalized files (with load's Arrow cache) and ledger rows; returns its id.

    Raises ``UnknownDatasetError`` for an id no catalog has, ``NotInStoreError``
    when it is not in the store, ``StoreReadOnlyError`` on a read-only store.
    """
    from .fetchers import service
    from .store import layout

    stored = _stored_id(dataset_id)
    layout.require_writable(f"removing {stored}")
    service.remove(stored)
    return stored


def pages(root: str | Path, *, check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) CATALOG.md and docs/catalog.html under ``root``; the changed paths."""
    from .catalog.pages import write_pages

    return write_pages(Path(root), check=check)


def pin(dataset_ids: list[str], *, catalogs: list[str | Path] | None = None, write: bool = False) -> list:
    """Resolve every unpinned source of these entries to exact bytes (needs network); ``PinnedSource`` per source.

    With ``write`` the pins go back into the catalog file each entry comes from,
    changing only the pinned keys' lines.
    """
    from .fetchers.pin import pin as pin_sources

    return pin_sources(dataset_ids, catalogs=[Path(c) for c in catalogs] if catalogs else None, write=write)


def pins_as_yaml(results: list) -> str:
    """The YAML a maintainer pastes into a catalog for ``pin`` results (what ``llmdata pin`` prints)."""
    from .fetchers.pin import as_yaml

    return as_yaml(results)


def export(target: str, to: str, out: str | Path, *, catalogs: list[str | Path] | None = None) -> dict:
    """Write ``ID`` or ``ID:SPLIT`` for a trainer into ``out``: ``to`` is llamafactory, lm-eval, jsonl or parquet.

    Fetches and normalizes first when the dataset is not in the store. Returns
    the files written (stable names, relative to ``out``), rows per split, and
    rows left out with the reason (e.g. roles LLaMA-Factory would not accept).
    """
    from .recipes.export import export_dataset

    return export_dataset(target, to, out, catalogs=[Path(c) for c in catalogs or []])


def build(recipe: str | Path, out: str | Path, *, locked: bool = False, catalogs: list[str | Path] | None = None,
          engine: str = "local"):
    """Build the training mixture a recipe file describes into ``out``; returns a ``BuildReport``.

    ``out`` receives ``data/train-*.parquet``, ``README.md`` (the card), the
    recipe's exports and ``llmdata.lock``. ``locked`` rebuilds from the lock in
    ``out`` and fails with the differences when an input or the output changed.
    ``engine="ray"`` runs filters, dedup and decontamination as Ray tasks and
    Ray Data groupings (same rows, reports and bytes; ``out`` and the store on a
    filesystem every node shares).
    """
    if _engine_runner(engine) is None:
        from .recipes.build import build as run
    else:
        from .ray_engine.build import build as run

    return run(recipe, out, locked=locked, catalogs=[Path(c) for c in catalogs or []])


def load_recipe(directory: str | Path, *, streaming: bool = False):
    """A built mixture (``llmdata build``'s output directory) as ``datasets.Dataset`` (``IterableDataset`` when streaming)."""
    import datasets

    from .errors import UsageError

    root = Path(directory).expanduser()
    shards = sorted(str(p) for p in (root / "data").glob("train-*.parquet"))
    if not shards:
        raise UsageError(f"no mixture in {directory}", hint="run `llmdata build RECIPE --out DIR` first")
    # the Arrow cache stays with the mixture, so deleting the folder deletes all of it
    return datasets.load_dataset("parquet", data_files={"train": shards}, split="train", streaming=streaming,
                                 cache_dir=str(root / ".arrow"))
