"""Retrieval benchmarks: BEIR zip and TREC-style files become corpus / queries / qrels tables."""

from __future__ import annotations

import io
import json
import zipfile

import datasets
import pytest
from conftest import COMMIT, entry, sha

import llmdata


def beir_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("scifact/corpus.jsonl", "\n".join(json.dumps(d) for d in [
            {"_id": "d1", "title": "Cells", "text": "Cells divide."},
            {"_id": "d2", "title": "", "text": "Proteins fold."},
            {"_id": "d3", "title": "Broken", "text": ""}]) + "\n")
        zf.writestr("scifact/queries.jsonl", json.dumps({"_id": "q1", "text": "How do cells divide?"}) + "\n")
        zf.writestr("scifact/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return buf.getvalue()


BEIR_SPLITS = {"corpus": ["*/corpus.jsonl"], "queries": ["*/queries.jsonl"], "qrels.test": ["*/qrels/test.tsv"]}


def serve_scifact(hosts, catalog, dataset_id="mini-scifact", splits=None):  # noqa: F811
    data = beir_zip()
    hosts.files["beir/scifact.zip"] = data
    catalog(entry(dataset_id, [{"kind": "url", "url": "https://files.example.org/beir/scifact.zip",
                                "sha256": sha(data), "size": len(data), "extract": True}],
                  category="retrieval", splits=splits or BEIR_SPLITS,
                  format={"produces": "retrieval", "reader": "jsonl", "converter": "beir"}))


def test_beir_zip_loads_as_three_tables(hosts, catalog):  # noqa: F811
    serve_scifact(hosts, catalog)
    report = llmdata.fetch("mini-scifact")
    counts = report.normalized["splits"]
    assert (counts["corpus"]["written"], counts["corpus"]["rejected"]) == (2, 1)
    tables = llmdata.load("mini-scifact")
    assert isinstance(tables, datasets.DatasetDict) and set(tables) == {"corpus", "queries", "qrels.test"}
    assert tables["corpus"].column_names == ["id", "source", "title", "text", "meta"]
    assert tables["corpus"]["id"] == ["d1", "d2"]
    assert tables["queries"][0]["text"] == "How do cells divide?"
    assert tables["qrels.test"][0] | {"meta": None} == {"id": "q1/d1", "source": "mini-scifact", "query_id": "q1",
                                                          "doc_id": "d1", "score": 1.0, "meta": None}
    assert llmdata.load("mini-scifact", split="queries").num_rows == 1


def test_trec_style_collection_queries_and_qrels(hosts, catalog):  # noqa: F811
    files = {"data/collection.tsv": "0\t第一段文本\n1\t第二段文本\n".encode(),
             "data/queries.dev.tsv": "100\t什么是检索\n".encode(),
             "data/qrels.dev.tsv": b"100 0 1 3\n100 0 0 0\nbroken\n"}
    pins = []
    for path, data in files.items():
        hosts.files[f"acme/t2/{COMMIT}/{path}"] = data
        pins.append({"path": path, "sha256": sha(data), "size": len(data)})
    catalog(entry("mini-t2", [{"kind": "github", "repo": "acme/t2", "ref": COMMIT, "files": pins}],
                  category="retrieval", languages=["zh"],
                  splits={"corpus": ["data/collection.tsv"], "queries": ["data/queries.dev.tsv"],
                          "qrels.dev": ["data/qrels.dev.tsv"]},
                  format={"produces": "retrieval", "reader": "tsv", "converter": "trec-retrieval"}))
    tables = llmdata.load("mini-t2")
    assert tables["corpus"]["text"] == ["第一段文本", "第二段文本"]
    assert [(r["query_id"], r["doc_id"], r["score"]) for r in tables["qrels.dev"]] == [("100", "1", 3.0), ("100", "0", 0.0)]
    manifest = llmdata.fetch("mini-t2").normalized
    assert manifest["splits"]["qrels.dev"]["rejected"] == 1 and manifest["splits"]["qrels.dev"]["table"] == "qrels"


def test_retrieval_split_names_are_checked(hosts, catalog):  # noqa: F811
    serve_scifact(hosts, catalog, "bad-split", {"test": ["*/corpus.jsonl"]})
    with pytest.raises(ValueError, match="corpus, queries or qrels"):
        llmdata.fetch("bad-split")


def test_tables_validate_against_the_published_schema(hosts, catalog):  # noqa: F811
    import jsonschema

    from llmdata import resources

    serve_scifact(hosts, catalog)
    schema = json.loads(resources.schema_path("formats/retrieval.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for name, table in llmdata.load("mini-scifact").items():
        for row in table:
            validator.validate(row)
