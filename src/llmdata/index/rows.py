"""One catalog entry as the rows of the index: its ``dataset`` row, its facets and its full-text row."""

from __future__ import annotations

from functools import lru_cache

import orjson

from ..vocabulary import labels_for
from .tokens import exact_key, fts_text

DATASET_INSERT = (
    "INSERT INTO dataset (rowid, id, position, name, category, license, commercial, access, records, bytes,"
    " catalog_file, catalog_line, id_key, name_key, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
FACET_INSERT = "INSERT INTO facet (dataset_id, kind, value) VALUES (?, ?, ?)"
FTS_INSERT = "INSERT INTO dataset_fts (rowid, name, tags, summary, notes) VALUES (?, ?, ?, ?, ?)"


def facets(entry: dict) -> list[tuple[str, str]]:
    """The values the search filters match, and the aliases ``info`` finds an entry by."""
    out = [("category", entry["category"])]
    out += [("category", c) for c in entry.get("also", []) if c != entry["category"]]
    out += [("domain", d) for d in entry.get("domains", [])]
    out += [("language", lang) for lang in entry.get("languages", [])]
    out += [("host", kind) for kind in sorted({s["kind"] for s in entry.get("sources", [])})]
    out += [("alias", a) for a in entry.get("aliases", [])]
    return list(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def _label_tokens(category: str, also: tuple, domains: tuple, languages: tuple) -> str:
    """The zh/en labels of an entry's controlled values, as indexed: the same few combinations recur."""
    return fts_text(" ".join(labels_for(category, list(also), list(domains), list(languages))))


def fts_row(rowid: int, entry: dict) -> tuple:
    name = " ".join([entry["name"], entry["id"].replace("-", " ").replace("_", " "),
                     *(a.replace("-", " ") for a in entry.get("aliases", []))])
    labels = _label_tokens(entry["category"], tuple(entry.get("also", [])), tuple(entry.get("domains", [])),
                           tuple(entry.get("languages", [])))
    free = fts_text(" ".join([*entry.get("tags", []), *(s.get("repo", "") for s in entry.get("sources", []))]))
    # each half on its own: NFKC of the (mostly ASCII) English half would cost more than the rest of the row
    summary = fts_text(entry["summary"]["en"]) + "\n" + fts_text(entry["summary"]["zh"])
    notes = " ".join(filter(None, [entry.get("notes"), entry.get("license_note"), entry.get("size", {}).get("note")]))
    return rowid, fts_text(name), f"{labels} {free}", summary, fts_text(notes)


def dataset_row(rowid: int, entry: dict, position: int, file: str, line: int | None) -> tuple:
    size = entry.get("size") or {}
    return (rowid, entry["id"], position, entry["name"], entry["category"], entry["license"], entry.get("commercial"),
            entry["access"], size.get("records"), size.get("bytes"), file, line, exact_key(entry["id"]),
            exact_key(entry["name"]), card_json(entry))


def card_json(entry: dict) -> str:
    """The entry as JSON (dates as ISO text, as ``json.dumps(default=str)`` writes them), with orjson."""
    try:
        return orjson.dumps(entry, default=str,
                            option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME).decode("utf-8")
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        import json

        return json.dumps(entry, ensure_ascii=False, default=str)
