"""The catalog tables of the index, as SQL: created by the rebuild, read by the search path with ``sqlite3``.

They are a cache of the catalog files, rebuilt from them and never migrated:
when a table's shape or the tokenization changes, ``INDEX_SCHEMA_VERSION``
goes up and the next call drops and rebuilds them. (The fetch ledger, which
is not a cache, keeps its sqlmodel tables in ``store/ledger_tables.py``.)

- ``dataset``: one row per entry, its card as JSON; ``rowid`` is shared with
  ``dataset_fts`` (a number per file read in the high 32 bits, the entry's
  index in the low); ``position`` orders entries as the catalog files do
  (the file's place in the list in the high 32 bits, the entry's in the low).
- ``facet``: the values the filters match (category, domain, language, host,
  alias).
- ``dataset_fts``: the FTS5 table of pre-tokenized text (``index/tokens.py``).
- ``catalog_file``: per catalog file, what the index holds of it: its stat
  and SHA-256 when it was read, and whether its entries are in (``indexed``)
  or it was left out with its problems (``skipped``), the generation of
  its rows' rowids (so its rows are one rowid range), and the ids and
  aliases of a file left out because an earlier file has one of them. This
  is what lets a rebuild re-read only the files that changed.
- ``meta``: the fingerprint of the catalog files in use and the layout version.
"""

from __future__ import annotations

# Bump when a table's shape or the tokenization changes: the index is then rebuilt.
INDEX_SCHEMA_VERSION = 4

CATALOG_TABLES = ("dataset_fts", "facet", "dataset", "catalog_file", "meta")

# The secondary indexes, by name: a first build drops them and creates them once its rows are in (one sort
# each instead of a B-tree insert per row), in the same transaction.
BULK_INDEXES = {
    "ix_dataset_position": "CREATE INDEX IF NOT EXISTS ix_dataset_position ON dataset (position)",
    "ix_dataset_id_key": "CREATE INDEX IF NOT EXISTS ix_dataset_id_key ON dataset (id_key)",
    "ix_dataset_name_key": "CREATE INDEX IF NOT EXISTS ix_dataset_name_key ON dataset (name_key)",
    "ix_facet_alias": "CREATE INDEX IF NOT EXISTS ix_facet_alias ON facet (value) WHERE kind = 'alias'",
}

CATALOG_DDL = (
    "CREATE TABLE IF NOT EXISTS dataset ("
    " id TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,"
    " license TEXT NOT NULL, commercial BOOLEAN, access TEXT NOT NULL, records INTEGER, bytes INTEGER,"
    " catalog_file TEXT NOT NULL, catalog_line INTEGER, id_key TEXT NOT NULL, name_key TEXT NOT NULL,"
    " card TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS facet (dataset_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (dataset_id, kind, value)) WITHOUT ROWID",
    *BULK_INDEXES.values(),
    "CREATE VIRTUAL TABLE IF NOT EXISTS dataset_fts USING fts5("
    "name, tags, summary, notes, tokenize='unicode61')",
    "CREATE TABLE IF NOT EXISTS catalog_file (path TEXT PRIMARY KEY NOT NULL, place INTEGER NOT NULL,"
    " stat TEXT NOT NULL, sha256 TEXT NOT NULL, status TEXT NOT NULL, own_problems BOOLEAN NOT NULL,"
    " problems TEXT NOT NULL, names TEXT NOT NULL, generation INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
)

# FTS5 keeps this many bytes of new postings in memory before it writes a segment (default 1 MiB): fewer,
# larger segments for a bulk build, so fewer merges. (Stored in the table's config, so set on every rebuild.)
FTS_SETUP = "INSERT INTO dataset_fts (dataset_fts, rank) VALUES ('hashsize', 8388608)"

# bm25 weights per FTS column (name, tags, summary, notes): a hit in the
# name or tags says more than one in free text.
FTS_WEIGHTS = (10.0, 4.0, 2.0, 1.0)
