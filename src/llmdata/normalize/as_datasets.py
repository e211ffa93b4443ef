"""A normalized folder as ``datasets`` objects: memory-mapped Parquet shards, one call per split layout.

The manifest says which shards make which split; ``datasets`` reads them with
its Arrow cache beside the shards (``store.layout.datasets_cache``). Splits
that converted to no rows (kept by ``allow_empty``) come back empty with their
format's columns, and retrieval tables, whose columns differ, are loaded one
by one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..store import layout


def open_splits(dataset_id: str, revision: str, manifest: dict, split: str | None, *, streaming: bool = False,
                subjects: list[str] | None = None):
    """``Dataset`` / ``DatasetDict`` (``Iterable*`` when streaming) of a normalized revision's manifest."""
    import datasets

    out = layout.normalized_dir(dataset_id, revision, manifest["format"])
    splits = manifest["splits"]
    if split is not None and split not in splits:
        raise UsageError(f"{dataset_id} has no split {split!r}", hint=f"splits: {', '.join(splits)}")
    empty = {name for name, counts in splits.items() if not counts.get("rows")}  # kept by allow_empty
    data_files = {name: [str(out / shard) for shard in counts["shards"]] for name, counts in splits.items()
                  if name not in empty}
    if split in empty or (split is None and empty and not data_files):
        return _empty_split(out / splits[split or next(iter(empty))]["shards"][0], streaming)
    cache = str(layout.datasets_cache(dataset_id, revision, manifest["format"]))
    if manifest["format"] == "retrieval":  # corpus, queries and qrels have different columns: one load each
        tables = {name: datasets.load_dataset("parquet", data_files={name: files}, split=name, streaming=streaming,
                                              cache_dir=cache)
                  for name, files in data_files.items() if split is None or name == split}
        if split is not None:
            return tables[split]
        return (datasets.IterableDatasetDict if streaming else datasets.DatasetDict)(tables)
    loaded = datasets.load_dataset("parquet", data_files=data_files, split=split, streaming=streaming,
                                   cache_dir=cache)
    for name in sorted(empty) if split is None else ():
        loaded[name] = _empty_split(out / splits[name]["shards"][0], streaming)
    if subjects:
        if manifest["format"] != "mcq":
            raise UsageError(f"{dataset_id} has no subjects (format {manifest['format']})")
        wanted = set(subjects)
        loaded = loaded.filter(lambda s: s in wanted, input_columns="subject")
    return loaded


def _empty_split(shard: Path, streaming: bool):
    """A split with no rows, with its format's columns (``datasets`` reads no rows from a file without any)."""
    import datasets
    import pyarrow.parquet as pq

    schema = pq.read_schema(shard)
    empty = datasets.Dataset.from_dict({name: [] for name in schema.names},
                                       features=datasets.Features.from_arrow_schema(schema))
    return empty.to_iterable_dataset() if streaming else empty
