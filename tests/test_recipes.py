"""llmdata build: recipe files, sampling, dedup, decontamination, licences, card, lock and --locked, end to end."""

from __future__ import annotations

import dataclasses
import json

import datasets
import pytest
from recipe_data import serve

import llmdata
from llmdata.normalize.converters import REGISTRY
from llmdata.recipes import sample
from llmdata.recipes.spec import RecipeError, load_recipe_file

RECIPE = """\
name: mix
seed: 7
datasets:
  - id: chat-a
    all: true
  - id: chat-b
    all: true
  - id: chat-c
    fraction: 1.0
exports: [llamafactory]
"""


@pytest.fixture
def served(hosts, catalog):
    serve(hosts, catalog)
    return hosts


@pytest.fixture
def with_benchmarks(served):
    llmdata.fetch("gsm-mini")
    llmdata.fetch("mmlu-mini")
    return served


def _tree(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_recipe_errors_point_at_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: mix\nseed: 1\ndatasets:\n  - id: chat-a\n    n: 5\n    weight: 2\n"
                    "  - id: chat-b\n    colour: red\n    all: true\n")
    with pytest.raises(RecipeError) as info:
        load_recipe_file(path)
    text = str(info.value)
    assert f"{path}:4:" in text and "gives n and weight" in text
    assert f"{path}:8:" in text and "unknown key 'colour'" in text
    path.write_text("name: mix\nseed: 1\ndatasets:\n  - id: chat-a\n    weight: 2\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:5:.*needs a total"):
        load_recipe_file(path)


def test_weights_share_the_total_exactly(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: w\nseed: 3\ntotal: 10\ndatasets:\n  - {id: a, n: 4}\n  - {id: b, weight: 1}\n"
                    "  - {id: c, weight: 2}\n  - {id: d, fraction: 0.5}\n")
    recipe = load_recipe_file(path)
    wanted = sample.allocate(recipe, {0: 100, 1: 100, 2: 100, 3: 9})
    assert wanted == {0: 4, 3: 4, 1: 1, 2: 1}  # 10 - 4 - round(4.5) = 2 rows shared 1:2, largest remainder
    item = recipe.inputs[0]
    assert sample.draw(3, item, list(range(50)), 5) == sample.draw(3, item, list(range(50)), 5)


def test_build_dedups_decontaminates_and_reports(with_benchmarks, tmp_path, cli):
    (tmp_path / "mix.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    result = cli("build", str(tmp_path / "mix.yaml"), "--out", str(out), "--json")
    assert result.code == 0, result.err
    report = result.json()
    by_id = {s["id"]: s for s in report["sources"]}
    # the planted exact duplicate: chat-b's first row is chat-a's row 3
    assert report["exact_lost"] == [{"source": "chat-b", "duplicate_of": "chat-a", "rows": 1}]
    # the planted near duplicate: chat-c's first row is chat-a's row 5 with one word changed
    assert {"source": "chat-c", "duplicate_of": "chat-a", "rows": 1} in report["near_lost"]
    # the planted benchmark item: a gsm-mini test question inside a chat-c row
    assert report["contamination"]["benchmarks"]["gsm-mini"]["rows"] == 1
    assert report["contamination"]["benchmarks"]["gsm-mini"]["by_source"] == {"chat-c": 1}
    assert by_id["chat-c"]["contaminated"] == 1
    assert report["rows"] == 30 + 19 + 23 == sum(s["rows"] for s in report["sources"])
    assert report["licence"]["commercial"] == "false" and report["licence"]["because"] == ["chat-b"]

    ds = llmdata.load_recipe(out)
    assert isinstance(ds, datasets.Dataset) and len(ds) == report["rows"]
    assert set(ds.unique("source")) == {"chat-a", "chat-b", "chat-c"}
    texts = [m["content"] for row in ds for m in row["messages"]]
    assert not any("Natalia sold clips" in t for t in texts)
    assert not any(t.startswith("question A5 -") for t in texts)

    card = (out / "README.md").read_text()
    assert "| chat-b | chat-a | 1 |" in card and "| gsm-mini | 6 | 0 | 1 | chat-c: 1 |" in card
    assert "Commercial use of the mixture: **no** (because of chat-b)" in card
    lock = json.loads((out / "llmdata.lock").read_text())
    assert [i["id"] for i in lock["inputs"]] == ["chat-a", "chat-b", "chat-c"]
    assert lock["inputs"][0]["converter"]["name"] == "alpaca" and len(lock["inputs"][0]["files"][0]["sha256"]) == 64
    assert lock["seed"] == 7 and len(lock["recipe"]["sha256"]) == 64
    assert {o["path"] for o in lock["outputs"]} == {"README.md", "data/train-00000-of-00001.parquet",
                                                    "exports/llamafactory/mix.train.jsonl",
                                                    "exports/llamafactory/dataset_info.json"}
    info = json.loads((out / "exports" / "llamafactory" / "dataset_info.json").read_text())
    assert info["mix"]["file_name"] == "mix.train.jsonl"


def test_locked_rebuild_is_byte_identical_and_reports_changed_inputs(with_benchmarks, tmp_path, cli, monkeypatch):
    (tmp_path / "mix.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    assert cli("build", str(tmp_path / "mix.yaml"), "--out", str(out)).code == 0
    before = _tree(out)
    result = cli("build", str(tmp_path / "mix.yaml"), "--out", str(out), "--locked")
    assert result.code == 0, result.err
    assert "identical to the lock" in result.out
    assert _tree(out) == before

    monkeypatch.setitem(REGISTRY, "alpaca", dataclasses.replace(REGISTRY["alpaca"], version=99))
    result = cli("build", str(tmp_path / "mix.yaml"), "--out", str(out), "--locked")
    assert result.code == 1
    assert "inputs changed since the lock was written" in result.err
    assert "chat-a: converter version 1 -> 99" in result.err.replace("\n", " ") or "converter version" in result.err
    assert _tree(out) == before  # nothing replaced

    (tmp_path / "mix.yaml").write_text(RECIPE.replace("seed: 7", "seed: 8"))
    result = cli("build", str(tmp_path / "mix.yaml"), "--out", str(out), "--locked")
    assert result.code == 1 and "recipe differs" in result.err


def test_filters_sampling_and_flagging(with_benchmarks, tmp_path):
    (tmp_path / "r.yaml").write_text("""\
name: filtered
seed: 1
total: 12
filters: {languages: [en]}
decontaminate: {against: [gsm-mini], action: flag}
dedup: {exact: true, near: false}
output: {shuffle: false, shard_rows: 5}
datasets:
  - {id: chat-a, weight: 1}
  - {id: chat-b, weight: 1}
  - {id: chat-c, n: 3, filters: {min_length: 10}}
""")
    report = llmdata.build(tmp_path / "r.yaml", tmp_path / "out")
    by_id = {s.id: s for s in report.sources}
    assert by_id["chat-b"].filtered_out == {"languages": 19}  # only the planted English duplicate passes
    assert by_id["chat-a"].wanted + by_id["chat-b"].wanted == 12 - 3 and by_id["chat-c"].taken == 3
    assert report.near_lost == []
    shards = sorted(p.name for p in (tmp_path / "out" / "data").iterdir())
    assert len(shards) == -(-report.rows // 5) and shards[0].endswith(f"-of-{len(shards):05d}.parquet")
    flagged = [r for r in llmdata.load_recipe(tmp_path / "out") if "llmdata_contamination" in json.loads(r["meta"])]
    assert len(flagged) == report.contamination["benchmarks"]["gsm-mini"]["rows"]  # kept, and flagged in meta
    llmdata.build(tmp_path / "r.yaml", tmp_path / "out2")
    assert _tree(tmp_path / "out" / "data") == _tree(tmp_path / "out2" / "data")


def test_build_refuses_a_foreign_directory_and_mixed_formats(served, tmp_path, cli):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "mix.yaml").write_text(RECIPE)
    result = cli("build", str(tmp_path / "mix.yaml"), "--out", str(tmp_path / "busy"))
    assert result.code == 2 and "holds no llmdata.lock" in result.err
    (tmp_path / "bad.yaml").write_text("name: m\nseed: 1\ndecontaminate: false\ndatasets:\n"
                                       "  - {id: chat-a, all: true}\n  - {id: pref-mini, all: true}\n")
    result = cli("build", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "o"))
    assert result.code == 2 and "inputs mix formats" in result.err


def test_near_duplicates_are_found_across_batches(monkeypatch):
    from llmdata.recipes import dedup
    from llmdata.recipes.spec import NearDup

    monkeypatch.setattr(dedup, "BATCH", 3)  # the original and its copy land in different batches
    words = [f"word{i}" for i in range(60)]
    original = " ".join(words)
    copy = " ".join(words[:30] + ["changed"] + words[31:])
    texts = [original] + [f"unrelated text number {i} " * 3 for i in range(6)] + [copy]
    sources = ["a"] + ["x"] * 6 + ["b"]
    result = dedup.near(texts, sources, [True] * len(texts), NearDup(), seed=1)
    assert result.keep == [True] * 7 + [False] and result.lost == {("b", "a"): 1} and result.partner == {7: 0}


def _key(row: dict) -> str:
    return f"{row['source']}/{row['id']}"


def test_several_exports_shuffled_shards_and_nothing_left_beside_the_output(with_benchmarks, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from llmdata.recipes import shards

    text = RECIPE.replace("exports: [llamafactory]", "exports: [llamafactory, jsonl, parquet]\noutput: {shard_rows: 9}")
    (tmp_path / "mix.yaml").write_text(text)
    builds = tmp_path / "builds"
    report = llmdata.build(tmp_path / "mix.yaml", builds / "out")
    assert [p.name for p in builds.iterdir()] == ["out"]  # no staging or spill folder left beside it
    out = builds / "out"
    data = sorted((out / "data").iterdir())
    assert len(data) == -(-report.rows // 9) and [len(pq.read_table(p)) for p in data[:-1]] == [9] * (len(data) - 1)
    ids = [_key(r) for p in data for r in pq.read_table(p).to_pylist()]
    exported = [_key(json.loads(line)) for line in (out / "exports" / "jsonl" / "mix.train.jsonl").read_text().splitlines()]
    assert exported == ids and len(set(ids)) == report.rows  # every export reads the data shards, in order
    assert [_key(r) for r in pq.read_table(out / "exports" / "parquet" / "mix.train.parquet").to_pylist()] == ids
    (tmp_path / "plain.yaml").write_text(text.replace("output: {shard_rows: 9}", "output: {shuffle: false}"))
    llmdata.build(tmp_path / "plain.yaml", builds / "plain")
    plain = [_key(r) for p in sorted((builds / "plain").glob("data/*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert sorted(plain) == sorted(ids) and plain != ids  # the same rows, shuffled across shards

    def broken(table, path):
        raise OSError("disk full")

    monkeypatch.setattr(shards, "write_shard", broken)
    with pytest.raises(OSError, match="disk full"):
        llmdata.build(tmp_path / "mix.yaml", builds / "failed")
    assert sorted(p.name for p in builds.iterdir()) == ["out", "plain"]
