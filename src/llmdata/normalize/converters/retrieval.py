"""Retrieval benchmarks: three tables (corpus, queries, qrels) from BEIR or TREC-style files.

A retrieval entry's splits name the tables: ``corpus``, ``queries`` and one
``qrels.<split>`` per judged split (``qrels.test``, ``qrels.dev`` ...). Each
table has its own small converter, registered as ``<layout>:<table>``; the
pipeline picks it from the split name.
"""

from __future__ import annotations

from .base import Reject, Row, converter, need_str

TABLES = ("corpus", "queries", "qrels")


def table_of(split: str) -> str:
    for table in TABLES:
        if split == table or split.startswith(table + "."):
            return table
    raise Reject(f"split {split!r} is not corpus, queries or qrels.<name>")


def _layout(name: str, doc: str):
    """Register a layout name for catalog entries; the per-table converters do the work."""

    def whole(record: dict, o: dict):
        raise Reject("retrieval data is converted per table (corpus, queries, qrels.<split>)")

    whole.__doc__ = doc
    return converter(name, "retrieval")(whole)


_layout("beir", "BEIR: corpus.jsonl {_id, title, text}, queries.jsonl {_id, text}, qrels/<split>.tsv with a header.")
_layout("trec-retrieval", "TREC / MS MARCO / T2Ranking: id<TAB>text collections and queries, 'qid 0 pid rel' qrels.")


@converter("beir:corpus", "corpus")
def beir_corpus(record: dict, o: dict):
    """BEIR corpus line {_id, title, text}."""
    doc_id = record.get("_id")
    if doc_id is None or str(doc_id) == "":
        raise Reject("missing field '_id'")
    yield Row({"title": str(record.get("title") or ""), "text": need_str(record, "text")}, {"_id", "title", "text"},
              native_id=str(doc_id))


@converter("beir:queries", "queries")
def beir_queries(record: dict, o: dict):
    """BEIR query line {_id, text}."""
    qid = record.get("_id")
    if qid is None or str(qid) == "":
        raise Reject("missing field '_id'")
    yield Row({"text": need_str(record, "text")}, {"_id", "text"}, native_id=str(qid))


def _score(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Reject(f"relevance {value!r} is not a number") from None


@converter("beir:qrels", "qrels")
def beir_qrels(record: dict, o: dict):
    """BEIR qrels row: query-id, corpus-id, score (tsv with header)."""
    qid, did = need_str(record, "query-id"), need_str(record, "corpus-id")
    yield Row({"query_id": qid, "doc_id": did, "score": _score(record.get("score", 1))},
              {"query-id", "corpus-id", "score"}, native_id=f"{qid}/{did}")


def _two_columns(record: dict) -> tuple[str, str]:
    if "col0" not in record or "col1" not in record:
        raise Reject("expected id<TAB>text")
    return need_str(record, "col0"), need_str(record, "col1")


@converter("trec-retrieval:corpus", "corpus")
def trec_corpus(record: dict, o: dict):
    """pid<TAB>passage (MS MARCO collection.tsv, T2Ranking collection.tsv)."""
    pid, text = _two_columns(record)
    yield Row({"title": "", "text": text}, {"col0", "col1"}, native_id=pid)


@converter("trec-retrieval:queries", "queries")
def trec_queries(record: dict, o: dict):
    """qid<TAB>query."""
    qid, text = _two_columns(record)
    yield Row({"text": text}, {"col0", "col1"}, native_id=qid)


@converter("trec-retrieval:qrels", "qrels")
def trec_qrels(record: dict, o: dict):
    """TREC qrels 'qid 0 pid rel', or 'qid pid rel', or 'qid pid' (relevance 1), whitespace separated."""
    parts = need_str(record, "text").split()
    if len(parts) == 4:
        qid, _, did, rel = parts
    elif len(parts) == 3:
        qid, did, rel = parts
    elif len(parts) == 2:
        (qid, did), rel = parts, "1"
    else:
        raise Reject(f"expected 'qid 0 pid rel', got {len(parts)} fields")
    if qid.lower() in ("qid", "query-id", "query_id"):
        raise Reject("header line")
    yield Row({"query_id": qid, "doc_id": did, "score": _score(rel)}, {"text"}, native_id=f"{qid}/{did}")


# reader per (layout, table); the catalog's reader applies to anything not listed
READERS = {
    ("beir", "corpus"): ("jsonl", {}), ("beir", "queries"): ("jsonl", {}), ("beir", "qrels"): ("tsv", {"header": True}),
    ("trec-retrieval", "corpus"): ("tsv", {"header": False}), ("trec-retrieval", "queries"): ("tsv", {"header": False}),
    ("trec-retrieval", "qrels"): ("text", {}),
}
