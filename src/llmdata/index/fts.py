"""Constants of the index that the light search path needs too (no sqlmodel here)."""

from __future__ import annotations

# Bump when a table's shape or the tokenization changes: the index is then rebuilt.
INDEX_SCHEMA_VERSION = 3

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS dataset_fts USING fts5("
    "id UNINDEXED, name, tags, summary, notes, tokenize='unicode61')"
)
# bm25 weights per FTS column (id, name, tags, summary, notes): a hit in the
# name or tags says more than one in free text.
FTS_WEIGHTS = (0.0, 10.0, 4.0, 2.0, 1.0)
