"""Retrieval benchmarks: three tables (corpus, queries, qrels) from BEIR or TREC-style files.

A retrieval entry's splits name the tables: ``corpus``, ``queries`` and one
``qrels.<split>`` per judged split (``qrels.test``, ``qrels.dev`` ...). Each
table has its own small converter, declared inside its layout's record
(``Converter.tables``) with the readers it can read; the pipeline picks it
from the split name.
"""

from __future__ import annotations

from .base import REGISTRY, Converter, Reject, Row, need_str

TABLES = ("corpus", "queries", "qrels")


def table_of(split: str) -> str:
    for table in TABLES:
        if split == table or split.startswith(table + "."):
            return table
    raise Reject(f"split {split!r} is not corpus, queries or qrels.<name>")


def beir_corpus(record: dict, o: dict):
    """BEIR corpus line {_id, title, text}."""
    doc_id = record.get("_id")
    if doc_id is None or str(doc_id) == "":
        raise Reject("missing field '_id'")
    yield Row({"title": str(record.get("title") or ""), "text": need_str(record, "text")}, {"_id", "title", "text"},
              native_id=str(doc_id))


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


def beir_qrels(record: dict, o: dict):
    """BEIR qrels row: query-id, corpus-id, score (tsv with header)."""
    qid, did = need_str(record, "query-id"), need_str(record, "corpus-id")
    yield Row({"query_id": qid, "doc_id": did, "score": _score(record.get("score", 1))},
              {"query-id", "corpus-id", "score"}, native_id=f"{qid}/{did}")


_HEADER_IDS = frozenset({"id", "_id", "pid", "qid", "docid", "doc_id", "query_id", "query-id", "corpus-id"})


def _columns(record: dict) -> list[str]:
    """A TSV row's column names in file order: col0, col1 ... without a header, the header's names with one."""
    if all(k.startswith("col") and k[3:].isdigit() for k in record):
        return sorted(record, key=lambda k: int(k[3:]))
    return list(record)


def _two_columns(record: dict) -> tuple[set[str], str, str]:
    """id and text of a collection or queries row, by position; a header row read as data is rejected, not kept."""
    keys = _columns(record)[:2]
    if len(keys) < 2:
        raise Reject("expected id<TAB>text")
    if str(record[keys[0]]).strip().lower() in _HEADER_IDS:
        raise Reject("header line")
    return set(keys), need_str(record, keys[0]), need_str(record, keys[1])


def trec_corpus(record: dict, o: dict):
    """pid<TAB>passage (MS MARCO collection.tsv, T2Ranking collection.tsv)."""
    used, pid, text = _two_columns(record)
    yield Row({"title": "", "text": text}, used, native_id=pid)


def trec_queries(record: dict, o: dict):
    """qid<TAB>query."""
    used, qid, text = _two_columns(record)
    yield Row({"text": text}, used, native_id=qid)


def trec_qrels(record: dict, o: dict):
    """TREC qrels 'qid 0 pid rel', or 'qid pid rel', or 'qid pid' (relevance 1), tab or space separated, by position."""
    if list(record) == ["text"]:  # the text reader: one line
        parts = need_str(record, "text").split()
    else:
        parts = " ".join(str(record[k]) for k in _columns(record) if record[k] is not None).split()
    if len(parts) == 4:
        qid, _, did, rel = parts
    elif len(parts) == 3:
        qid, did, rel = parts
    elif len(parts) == 2:
        (qid, did), rel = parts, "1"
    else:
        raise Reject(f"expected 'qid 0 pid rel', got {len(parts)} fields")
    if qid.lower() in _HEADER_IDS:
        raise Reject("header line")
    yield Row({"query_id": qid, "doc_id": did, "score": _score(rel)}, set(record), native_id=f"{qid}/{did}")


def _table(name: str, produces: str, fn, readers: tuple[str, ...], **reader_options) -> Converter:
    return Converter(name, produces, 1, fn, (fn.__doc__ or "").strip(), readers=readers, reader_options=reader_options)


def _layout(name: str, doc: str, tables: dict[str, Converter]) -> None:
    """Declare a retrieval layout for catalog entries; its table converters do the work."""

    def whole(record: dict, o: dict):
        raise Reject("retrieval data is converted per table (corpus, queries, qrels.<split>)")

    REGISTRY[name] = Converter(name, "retrieval", 1, whole, doc, tables=tables)


_layout("beir", "BEIR: corpus.jsonl {_id, title, text}, queries.jsonl {_id, text}, qrels/<split>.tsv with a header.", {
    "corpus": _table("beir:corpus", "corpus", beir_corpus, ("jsonl", "json")),
    "queries": _table("beir:queries", "queries", beir_queries, ("jsonl", "json")),
    "qrels": _table("beir:qrels", "qrels", beir_qrels, ("tsv",), header=True),
})
_layout("trec-retrieval", "TREC / MS MARCO / T2Ranking: id<TAB>text collections and queries, 'qid 0 pid rel' qrels.", {
    "corpus": _table("trec-retrieval:corpus", "corpus", trec_corpus, ("tsv",), header=False, quoting="none"),
    "queries": _table("trec-retrieval:queries", "queries", trec_queries, ("tsv",), header=False, quoting="none"),
    "qrels": _table("trec-retrieval:qrels", "qrels", trec_qrels, ("tsv", "text"), header=False, quoting="none"),
})
