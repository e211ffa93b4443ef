"""A split that converts to nothing is an error of fetch and load (unless allowed); --strict re-checks stored output."""

from __future__ import annotations

import json

import pytest
from conftest import COMMIT, entry, sha

import llmdata
from llmdata.errors import EmptySplitError

# sixteen records in another layout than the entry's converter expects: every one is rejected
WRONG = b"".join(json.dumps({"question": f"q{i}", "response": f"a{i}"}).encode() + b"\n" for i in range(16))
GOOD = b'{"instruction": "q", "output": "a"}\n'
MIXED = GOOD + b'{"instruction": "broken"}\n'


def serve(hosts, catalog, files: dict[str, bytes], splits: dict, dataset_id="mini"):  # noqa: F811
    for path, data in files.items():
        hosts.files[f"acme/data/{COMMIT}/{path}"] = data
    catalog(entry(dataset_id, [{"kind": "github", "repo": "acme/data", "ref": COMMIT, "files": [
        {"path": p, "sha256": sha(d), "size": len(d)} for p, d in files.items()]}],
        splits=splits, format={"produces": "chat", "reader": "jsonl", "converter": "alpaca"}))


def test_fetch_exits_1_naming_split_count_reasons_and_rejects_file(hosts, catalog, cli):  # noqa: F811
    serve(hosts, catalog, {"train.jsonl": GOOD, "test.jsonl": WRONG}, {"train": ["train.jsonl"], "test": ["test.jsonl"]})
    result = cli("fetch", "mini", "-q")
    assert result.code == 1, result.out + result.err
    assert "mini: split 'test' has no rows: read 16, written 0, rejected 16" in result.err
    assert "missing field 'output' (16)" in result.err
    assert "test.rejects.jsonl" in result.err and "--allow-empty" in result.err
    allowed = cli("fetch", "mini", "-q", "--allow-empty")
    assert allowed.code == 0 and "chat test: read 16, written 0, rejected 16" in allowed.out


def test_load_raises_the_same_error_and_allow_empty_gives_an_empty_split(hosts, catalog):  # noqa: F811
    serve(hosts, catalog, {"train.jsonl": GOOD, "test.jsonl": WRONG}, {"train": ["train.jsonl"], "test": ["test.jsonl"]})
    with pytest.raises(EmptySplitError, match="split 'test' has no rows") as info:
        llmdata.load("mini", split="train")
    assert info.value.rejects.endswith("test.rejects.jsonl") and info.value.reasons == {"missing field 'output'": 16}
    assert isinstance(info.value, ValueError)
    with pytest.raises(EmptySplitError):  # the stored output is reused, and checked again
        llmdata.load("mini", split="test")
    assert len(llmdata.load("mini", split="train", allow_empty=True)) == 1
    empty = llmdata.load("mini", split="test", allow_empty=True)
    assert len(empty) == 0 and empty.column_names == ["id", "source", "messages", "meta"]
    both = llmdata.load("mini", allow_empty=True)
    assert {name: len(ds) for name, ds in both.items()} == {"train": 1, "test": 0}


def test_strict_rechecks_output_stored_without_strict(hosts, catalog, cli):  # noqa: F811
    serve(hosts, catalog, {"train.jsonl": MIXED}, {"train": ["train.jsonl"]})
    assert cli("fetch", "mini", "-q").code == 0
    strict = cli("fetch", "mini", "-q", "--strict")
    assert strict.code == 2 and "train.jsonl line 2: missing field 'output'" in strict.err
