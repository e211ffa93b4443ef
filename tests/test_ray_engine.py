"""``--engine ray`` on a local Ray with 2 CPUs: the same rows, ids, rejects and counts as the local engine."""

from __future__ import annotations

import hashlib
import json

import pytest

ray = pytest.importorskip("ray")

import pyarrow.parquet as pq  # noqa: E402
from conftest import COMMIT, entry  # noqa: E402

import llmdata  # noqa: E402
from llmdata.errors import RemoteNotFoundError  # noqa: E402
from llmdata.ray_engine import normalize as ray_normalize  # noqa: E402
from llmdata.store import layout, ledger  # noqa: E402


def _lines(records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n"
                    for r in records)


CHAT = _lines([{"instruction": f"问题 {i}", "input": "" if i % 3 else f"context {i}", "output": f"answer {i}",
                **({"extra": i} if i % 7 == 0 else {})} if i % 97 else b'{"instruction": "broken"'
               for i in range(1, 1500)])
CHAT_TEST = json.dumps([{"instruction": "t", "input": "x", "output": "y"}, {"output": "no instruction"}]).encode()
PREFERENCE = _lines([{"chosen": f"\n\nHuman: q{i}\n\nAssistant: good {i}",
                      "rejected": f"\n\nHuman: q{i}\n\nAssistant: bad {i}"} if i % 50 else {"chosen": "only"}
                     for i in range(1, 800)])
TEXT = _lines([{"id": f"doc-{i}", "text": f"document {i} " * (i % 13 + 1)} if i % 41 else {"id": f"doc-{i}"}
               for i in range(1, 2000)])


def _github(name: str, files: dict[str, bytes], splits: dict, fmt: dict) -> dict:
    return entry(name, [{"kind": "github", "repo": f"acme/{name}", "ref": COMMIT, "files": [
        {"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files.items()]}],
        splits=splits, format=fmt)


DATASETS = {
    "chat-big": ({"train.jsonl": CHAT, "test.json": CHAT_TEST}, {"train": ["train.jsonl"], "test": ["test.json"]},
                 {"produces": "chat", "reader": "json", "converter": "alpaca"}),
    "pref-big": ({"data/train.jsonl": PREFERENCE}, {"train": ["data/*.jsonl"]},
                 {"produces": "preference", "reader": "jsonl", "converter": "hh-rlhf"}),
    "text-big": ({"part-0.jsonl": TEXT[: len(TEXT) // 2 + 7], "part-1.jsonl": TEXT}, {"train": ["part-*.jsonl"]},
                 {"produces": "text", "reader": "jsonl", "converter": "text"}),
}


@pytest.fixture
def three(hosts, catalog, monkeypatch):
    for name, (files, _, _) in DATASETS.items():
        for path, data in files.items():
            hosts.files[f"acme/{name}/{COMMIT}/{path}"] = data
    catalog(*(_github(name, files, splits, fmt) for name, (files, splits, fmt) in DATASETS.items()))
    monkeypatch.setattr(ray_normalize, "RANGE_BYTES", 16 << 10)  # several byte ranges per file
    return hosts


def _output(dataset_id: str) -> dict:
    """Per split: the rows, the rejects and the counts, as the store holds them."""
    current = ledger.current(dataset_id)
    root = layout.normalized_root() / dataset_id / current["revision"]
    [folder] = [p for p in root.iterdir() if p.is_dir()]
    manifest = json.loads((folder / "manifest.json").read_text())
    out = {}
    for split, counts in manifest["splits"].items():
        rows = [r for shard in counts["shards"] for r in pq.read_table(folder / shard).to_pylist()]
        rejects = (folder / counts["rejects_file"]).read_text().splitlines() if counts["rejects_file"] else []
        numbers = {k: counts[k] for k in ("read", "written", "rejected", "rows", "reject_reasons", "flagged")}
        numbers["engine"] = manifest.get("engine", "local")  # compared apart
        assert counts["read"] == counts["written"] + counts["rejected"]
        out[split] = (rows, rejects, numbers)
    return out


def _engines(out: dict) -> set:
    return {numbers.pop("engine") for _, _, numbers in out.values()}


@pytest.mark.parametrize("dataset_id", sorted(DATASETS))
def test_ray_engine_gives_the_local_engines_rows_ids_and_rejects(ray_local, three, monkeypatch, tmp_path,
                                                                 dataset_id):
    results = {}
    for engine in ("local", "ray"):
        monkeypatch.setenv("LLMDATA_HOME", str(tmp_path / engine))
        report = llmdata.fetch(dataset_id, engine=engine)
        out = _output(dataset_id)
        assert _engines(out) == {engine}
        results[engine] = (out, [(f["path"], f["sha256"]) for f in report.files])
    assert results["ray"] == results["local"]
    out, _ = results["ray"]
    assert all(numbers["rows"] > 0 and numbers["rejected"] > 0 for _, _, numbers in out.values() if numbers["read"] > 5)


def test_load_with_ray_reads_exactly_one_split(ray_local, three):
    llmdata.fetch("chat-big")  # the local engine's output: load(engine="ray") reads it as it is
    llmdata.fetch("pref-big")  # another dataset in the same store must not leak in
    expected = [row["id"] for row in _output("chat-big")["train"][0]]
    train = llmdata.load("chat-big", split="train", engine="ray")
    assert isinstance(train, ray.data.Dataset)
    assert [row["id"] for row in train.take_all()] == expected
    both = llmdata.load("chat-big", engine="ray")
    assert set(both) == {"train", "test"} and [r["id"] for r in both["test"].take_all()] == ["test.json:0"]


def test_a_failing_file_fails_the_ray_fetch_with_its_url(ray_local, three):
    three.fault(f"/raw/acme/text-big/{COMMIT}/part-1.jsonl", ("status", 404))
    with pytest.raises(RemoteNotFoundError) as caught:
        llmdata.fetch("text-big", engine="ray")
    assert "part-1.jsonl" in caught.value.url
    assert ledger.current("text-big") is None


def test_a_strict_failure_on_ray_is_the_local_engines_error_and_publishes_nothing(ray_local, three):
    """The first unit that fails cancels the others; its error is the converter's own, and no normalized folder
    (nor a staged one) is left behind."""
    from llmdata.normalize.run import StrictConversionError

    with pytest.raises(StrictConversionError) as caught:
        llmdata.fetch("chat-big", engine="ray", strict=True)
    name, unit, line = str(caught.value).split(": ")[0].split(" ")
    assert (name, unit) == ("train.jsonl", "line") and int(line) % 97 == 0  # one of the broken lines
    root = layout.normalized_root() / "chat-big"
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
