"""Large corpora: fetch a subset (--include / --shards / --max-bytes) and stream it; per-subject selection."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pytest
from servers import HubRepo
from conftest import COMMIT, HF_COMMIT, entry, sha

import llmdata
from llmdata.store import layout
from llmdata.errors import UsageError


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


SHARDS = {f"train/chunk1/example_train_{i}.jsonl.zst":
          zstd(b"".join(json.dumps({"text": f"doc {i}-{j}", "meta": {"set": "c4"}}).encode() + b"\n" for j in range(100)))
          for i in range(5)}


@pytest.fixture
def corpus(hosts, catalog):  # noqa: F811
    hosts.hub["acme/pile"] = HubRepo(HF_COMMIT, {**SHARDS, "README.md": b"# card\n"}, lfs=set(SHARDS))
    catalog(entry("mini-pile", [{"kind": "hf", "repo": "acme/pile", "patterns": ["train/*/*.jsonl.zst"]}],
                  category="pretrain", splits={"train": ["train/*/*.jsonl.zst"]},
                  format={"produces": "text", "reader": "jsonl", "converter": "text"}))
    return hosts


def test_shards_fetch_only_the_first_files_and_stream(corpus, cli):
    result = cli("fetch", "mini-pile", "--shards", "2", "-q")
    assert result.code == 0, result.err
    assert "(subset)" in result.out and "text train: read 200, written 200" in result.out
    asked = {p.rsplit("/", 1)[-1] for p, _ in corpus.requests if "/resolve/" in p}
    assert asked == {"example_train_0.jsonl.zst", "example_train_1.jsonl.zst"}
    stream = llmdata.load("mini-pile", split="train", streaming=True)
    assert isinstance(stream, datasets.IterableDataset)
    texts = [row["text"] for row in stream]
    assert len(texts) == 200 and texts[0] == "doc 0-0" and json.loads(next(iter(stream))["meta"]) == {
        "meta": {"set": "c4"}}


def test_include_and_max_bytes(corpus, cli):
    sizes = [len(v) for _, v in sorted(SHARDS.items())]  # in file order
    assert cli("fetch", "mini-pile", "--include", "*_3.jsonl.zst", "-q", "--raw-only").code == 0
    files = sorted(p.name for p in (layout.raw_root() / "mini-pile" / HF_COMMIT).rglob("*.zst"))
    assert files == ["example_train_3.jsonl.zst"]
    report = llmdata.fetch("mini-pile", max_bytes=sizes[0] + sizes[1] + 1, raw_only=True)
    assert len(report.files) == 2 and report.partial
    with pytest.raises(UsageError, match="larger than --max-bytes"):
        llmdata.fetch("mini-pile", max_bytes=10)
    bad = cli("fetch", "mini-pile", "--max-bytes", "lots")
    assert bad.code == 2 and "not a size" in bad.err


CMMLU = {
    "data/test/anatomy.csv": ",Question,A,B,C,D,Answer\n0,女性生殖腺是,卵巢,前庭大腺,前庭球,乳腺,A\n".encode(),
    "data/test/virology.csv": ",Question,A,B,C,D,Answer\n0,病毒是,细胞,非细胞,细菌,真菌,B\n1,流感病毒属于,DNA,RNA,朊病毒,类病毒,B\n".encode(),
}


def test_one_file_per_subject_becomes_one_dataset(hosts, catalog):  # noqa: F811
    files = []
    for path, data in CMMLU.items():
        hosts.files[f"acme/cmmlu/{COMMIT}/{path}"] = data
        files.append({"path": path, "sha256": sha(data), "size": len(data)})
    catalog(entry("mini-cmmlu", [{"kind": "github", "repo": "acme/cmmlu", "ref": COMMIT, "files": files}],
                  category="eval", splits={"test": ["data/test/*.csv"]},
                  format={"produces": "mcq", "reader": "csv", "converter": "mcq",
                          "options": {"subject_from": "filename", "question": "Question", "answer": "Answer"}}))
    test = llmdata.load("mini-cmmlu", split="test")
    assert sorted(test["subject"]) == ["anatomy", "virology", "virology"]
    virology = llmdata.load("mini-cmmlu", split="test", subjects=["virology"])
    assert len(virology) == 2 and all(len(c) == 4 for c in virology["choices"]) and set(virology["answer"]) == {"B"}
