"""The inputs of a build or an export: catalog entries, fetched and normalized, and the facts that pin them.

Everything goes through the existing layers: the index for the entry, the
fetch service for missing bytes (verified against the catalog's pins), the
normalizer for the Parquet shards (reused while current). A :class:`Stored`
dataset carries what ``llmdata.lock`` records: revision, raw files' SHA-256s
and the converter with its version and options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..catalog.model import Entry, thaw
from ..errors import UsageError
from ..store import layout, ledger

EVAL_FORMATS = ("mcq", "qa", "code")


def entry_for(dataset_id: str, catalogs: list[Path] | None = None) -> Entry:
    from ..index.lookup import entry

    return entry(dataset_id, catalogs)


@dataclass
class Stored:
    """One dataset in the store, normalized: where its shards are and what made them."""

    entry: Entry
    revision: str
    files: list[dict]
    manifest: dict

    @property
    def directory(self) -> Path:
        return layout.normalized_dir(self.entry.id, self.revision, self.manifest["format"])

    @property
    def format(self) -> str:
        return self.manifest["format"]

    @property
    def splits(self) -> list[str]:
        return list(self.manifest["splits"])

    def shards(self, split: str) -> list[Path]:
        if split not in self.manifest["splits"]:
            raise UsageError(f"{self.entry.id} has no split {split!r}", hint=f"splits: {', '.join(self.splits)}")
        return [self.directory / s for s in self.manifest["splits"][split]["shards"]]

    def read(self, split: str):
        """The split as one pyarrow Table (shards in order)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(p) for p in self.shards(split)]
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def facts(self) -> dict:
        """What the lock records for this input (no timestamps: the lock must rebuild byte-identical)."""
        m = self.manifest
        return {
            "id": self.entry.id,
            "revision": self.revision,
            "license": self.entry.license,
            "files": [{"path": f["path"], "sha256": f["sha256"], "size": f["size"]} for f in self.files],
            "converter": {"name": m["converter"], "version": m["converter_version"], "reader": m.get("reader"),
                          "options": thaw(m.get("options") or {}), "encoding": m.get("encoding", "utf-8")},
            "format": m["format"],
        }


def materialize(entry: Entry, *, fetch_missing: bool = True, fetch_runner=None, normalize_runner=None) -> Stored:
    """The entry's current revision in the store, fetched first when missing, normalized when stale.

    ``fetch_runner`` and ``normalize_runner`` are the engine's (``fetch_entry``'s and ``normalize_fetched``'s
    ``runner``; None: this machine's)."""
    from ..fetchers import service
    from ..normalize.store import normalize_fetched

    current = ledger.current(entry.id)
    if current is None:
        if not fetch_missing:
            raise UsageError(f"{entry.id} is not in the store", hint=f"run `llmdata fetch {entry.id}`")
        report = service.fetch_entry(entry, runner=fetch_runner)
        revision = report.revision
    else:
        revision = current["revision"]
    files = ledger.files(entry.id, revision)
    manifest = normalize_fetched(entry, revision, files, runner=normalize_runner)
    return Stored(entry, revision, files, manifest)


def stored_eval_entries(catalogs: list[Path] | None = None) -> list[Entry]:
    """Every eval entry of the catalog that is in the store with a question format (the default benchmarks)."""
    from ..errors import UnknownDatasetError

    found = []
    for row in ledger.datasets():
        try:
            entry = entry_for(row["dataset_id"], catalogs)
        except UnknownDatasetError:
            continue
        if entry.category == "eval" and entry.format.supported and entry.format.produces in EVAL_FORMATS:
            found.append(entry)
    return found
