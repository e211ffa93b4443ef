"""Ranked search and lookup over the index, with the standard library only."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..errors import UnknownDatasetError, UsageError
from ..vocabulary import CATEGORY_LABELS, DOMAIN_LABELS, HOST_KINDS, LANGUAGE_LABELS
from .tables import FTS_WEIGHTS
from .tokens import exact_key, query_terms, segments

ACCESS_VALUES = ("public", "gated", "manual")


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    domain: str | None = None
    lang: str | None = None
    license: str | None = None
    commercial: bool | None = None
    access: str | None = None
    host_kind: str | None = None


def _resolve_alias(value: str, labels: dict[str, tuple[str, ...]]) -> str:
    """Accept a controlled value or any of its labels ('中文' -> 'zh', '医疗' -> 'medical')."""
    folded = value.casefold()
    for key, words in labels.items():
        if folded == key.casefold() or folded in (w.casefold() for w in words):
            return key
    return value


def _check_filters(f: Filters) -> Filters:
    category = f.category
    if category is not None:
        category = _resolve_alias(category, CATEGORY_LABELS)
        if category not in CATEGORY_LABELS:
            domain = _resolve_alias(category, DOMAIN_LABELS)
            if domain in DOMAIN_LABELS:
                raise UsageError(f"{f.category!r} is a domain, not a category", hint=f"use --domain {domain}")
            import difflib

            close = difflib.get_close_matches(category, list(CATEGORY_LABELS), n=1)
            raise UsageError(
                f"unknown category {f.category!r}",
                hint=(f"did you mean {close[0]!r}? " if close else "") + f"categories: {', '.join(CATEGORY_LABELS)}",
            )
    if f.access is not None and f.access not in ACCESS_VALUES:
        raise UsageError(f"unknown access {f.access!r}", hint=f"use one of: {', '.join(ACCESS_VALUES)}")
    if f.host_kind is not None and f.host_kind not in HOST_KINDS:
        raise UsageError(f"unknown host kind {f.host_kind!r}", hint=f"use one of: {', '.join(HOST_KINDS)}")
    domain = _resolve_alias(f.domain, DOMAIN_LABELS) if f.domain else None
    lang = _resolve_alias(f.lang, LANGUAGE_LABELS) if f.lang else None
    return Filters(category, domain, lang, f.license.casefold() if f.license else None,
                   f.commercial, f.access, f.host_kind)


def _filter_sql(f: Filters) -> tuple[list[str], list]:
    where: list[str] = []
    params: list = []

    def facet(kind: str, clause: str, *values) -> None:
        where.append(f"EXISTS (SELECT 1 FROM facet f WHERE f.dataset_id = d.id AND f.kind = ? AND ({clause}))")
        params.extend([kind, *values])

    if f.category:
        facet("category", "f.value = ?", f.category)
    if f.domain:
        facet("domain", "f.value = ?", f.domain)
    if f.lang:  # 'zh' also finds 'zh-Hant'; 'multi' entries are not assumed to cover every language
        facet("language", "f.value = ? OR f.value LIKE ?", f.lang, f.lang + "-%")
    if f.host_kind:
        facet("host", "f.value = ?", f.host_kind)
    if f.license:  # exact id, or a glob such as 'cc-by-*'
        where.append("d.license GLOB ?")
        params.append(f.license)
    if f.commercial is not None:
        where.append("d.commercial = ?")  # unknown (NULL) matches neither True nor False
        params.append(1 if f.commercial else 0)
    if f.access:
        where.append("d.access = ?")
        params.append(f.access)
    return where, params


class Hits(list):
    """Search results, best first; ``any_word`` is True when they match only some of the query's words."""

    any_word: bool = False


def _hit(card_json: str, score: float | None) -> dict:
    card = json.loads(card_json)
    card["score"] = None if score is None else round(-score, 4)
    return card


def search(conn: sqlite3.Connection, query: str = "", filters: Filters = Filters(), limit: int | None = 20) -> Hits:
    """Entries matching ``query`` and ``filters``, best first.

    Every query word must match (name, tags, summaries in both languages,
    notes); when that finds nothing, any word may match, ranked by BM25. That
    fallback is said, not silent: ``Hits.any_word`` and each hit's ``match``
    ("all-words" or "any-word") tell a caller which one it got.
    """
    filters = _check_filters(filters)
    where, params = _filter_sql(filters)
    terms = query_terms(query) if query.strip() else []
    if not terms:
        sql = "SELECT d.card FROM dataset d" + (" WHERE " + " AND ".join(where) if where else "")
        rows = conn.execute(sql + " ORDER BY d.position" + ("" if limit is None else f" LIMIT {int(limit)}"), params)
        return Hits(_hit(card, None) for (card,) in rows)
    exact = exact_key(query)
    ranked: list[tuple[str, float]] = []
    any_word = False
    for joiner in (" AND ", " OR "):
        ranked = _ranked(conn, joiner.join(terms), exact, where, params, limit)
        if ranked or len(terms) == 1:
            any_word = joiner == " OR " and bool(ranked)
            break
    hits = Hits(_hit(card, rank) | {"match": "any-word" if any_word else "all-words"} for card, rank in ranked)
    hits.any_word = any_word
    return hits


def _ranked(conn: sqlite3.Connection, match: str, exact: str, where: list[str], params: list,
            limit: int | None) -> list[tuple[str, float]]:
    """(card, BM25 score) of the best matches: an entry whose id or name *is* the query first, then by BM25.

    Only rowids and scores are sorted; the cards of the rows shown are read
    afterwards (sorting every matching card to show 20 was most of a search
    over 100,000 entries).
    """
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    rank = f"bm25(dataset_fts, {weights})"
    source = "dataset_fts JOIN dataset d ON d.rowid = dataset_fts.rowid" if where else "dataset_fts"
    filters = "".join(" AND " + w for w in where)
    first: list[tuple[int, float]] = []
    for (rowid,) in conn.execute("SELECT rowid FROM dataset WHERE id_key = ? OR name_key = ?", (exact, exact)):
        first += conn.execute(f"SELECT dataset_fts.rowid, {rank} FROM {source} "  # noqa: S608 - fixed SQL pieces
                              f"WHERE dataset_fts MATCH ? AND dataset_fts.rowid = ?{filters}",
                              [match, rowid, *params]).fetchall()
    first.sort(key=lambda row: row[1])
    limit_sql = "" if limit is None else f" LIMIT {int(limit) + len(first)}"
    best = conn.execute(f"SELECT dataset_fts.rowid, {rank} AS rank FROM {source} "  # noqa: S608
                        f"WHERE dataset_fts MATCH ?{filters} ORDER BY rank{limit_sql}", [match, *params]).fetchall()
    shown = {rowid for rowid, _ in first}
    order = (first + [row for row in best if row[0] not in shown])[:limit]
    cards: dict[int, str] = {}
    for start in range(0, len(order), 500):
        chunk = [rowid for rowid, _ in order[start:start + 500]]
        cards.update(conn.execute(f"SELECT rowid, card FROM dataset WHERE rowid IN ({','.join('?' * len(chunk))})",
                                  chunk))
    return [(cards[rowid], score) for rowid, score in order]


def get(conn: sqlite3.Connection, dataset_id: str) -> dict:
    row = conn.execute("SELECT card FROM dataset WHERE id = ?", (dataset_id,)).fetchone()
    if row is None:
        row = conn.execute("SELECT card FROM dataset WHERE lower(id) = lower(?)", (dataset_id,)).fetchone()
    if row is None:  # another name of the dataset
        row = conn.execute(
            "SELECT d.card FROM dataset d JOIN facet f ON f.dataset_id = d.id WHERE f.kind = 'alias' AND f.value = ?",
            (dataset_id.lower(),)).fetchone()
    if row is None:
        raise UnknownDatasetError(dataset_id, suggest(conn, dataset_id))
    return json.loads(row["card"])


def suggest(conn: sqlite3.Connection, dataset_id: str, n: int = 5) -> list[str]:
    """Close ids by spelling, then ids whose text matches the words of the unknown id."""
    import difflib

    ids = [r[0] for r in conn.execute("SELECT id FROM dataset ORDER BY position")]
    close = difflib.get_close_matches(dataset_id.casefold(), ids, n=n, cutoff=0.6)
    if len(close) < n:
        words = " ".join(seg for seg, _ in segments(dataset_id.replace("-", " ").replace("_", " ")))
        for hit in search(conn, words, limit=n) if words else []:
            if hit["id"] not in close:
                close.append(hit["id"])
    return close[:n]
