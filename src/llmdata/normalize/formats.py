"""Arrow schemas of the normalized formats (the JSON Schemas in registry/formats/ say the same)."""

from __future__ import annotations

from functools import lru_cache

FORMAT_COLUMNS = {
    "chat": ("id", "source", "messages", "meta"),
    "preference": ("id", "source", "prompt", "chosen", "rejected", "score_chosen", "score_rejected", "meta"),
    "text": ("id", "source", "text", "meta"),
    "mcq": ("id", "source", "subject", "question", "choices", "answer", "answers", "meta"),
    "qa": ("id", "source", "question", "answer", "rationale", "meta"),
    "code": ("id", "source", "prompt", "tests", "entry_point", "reference", "meta"),
    "prompt": ("id", "source", "messages", "references", "category", "meta"),
    # retrieval: three tables; id is the document / query id, or "qid/docid" for a judgement
    "corpus": ("id", "source", "title", "text", "meta"),
    "queries": ("id", "source", "text", "meta"),
    "qrels": ("id", "source", "query_id", "doc_id", "score", "meta"),
}


@lru_cache(maxsize=None)
def arrow_schema(fmt: str):
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    messages = pa.list_(message)
    fields = {
        "id": pa.string(), "source": pa.string(), "meta": pa.string(), "text": pa.string(),
        "messages": messages, "prompt": messages, "chosen": messages, "rejected": messages,
        "score_chosen": pa.float64(), "score_rejected": pa.float64(),
        "subject": pa.string(), "question": pa.string(), "choices": pa.list_(pa.string()), "answer": pa.string(),
        "answers": pa.list_(pa.string()), "references": pa.list_(pa.string()), "category": pa.string(),
        "rationale": pa.string(), "tests": pa.string(), "entry_point": pa.string(),
        "reference": pa.string(), "title": pa.string(), "query_id": pa.string(), "doc_id": pa.string(),
        "score": pa.float64(),
    }
    if fmt == "code":
        fields["prompt"] = pa.string()
    try:
        columns = FORMAT_COLUMNS[fmt]
    except KeyError:
        raise ValueError(f"format {fmt!r} has no Arrow schema yet") from None
    return pa.schema([(name, fields[name]) for name in columns])
