"""fetch -> normalize -> llmdata.load, end to end against a loopback GitHub."""

from __future__ import annotations

import dataclasses
import json

import datasets
import pytest
from conftest import COMMIT

import llmdata
from llmdata.store import layout
from llmdata.errors import OfflineError
from llmdata.normalize.converters import REGISTRY

def test_fetch_normalizes_and_load_returns_a_dataset(served, cli):
    result = cli("fetch", "alpaca-mini", "-q")
    assert result.code == 0, result.err
    assert "chat train: read 51, written 50, rejected 1" in result.out
    ds = llmdata.load("alpaca-mini", split="train")
    assert isinstance(ds, datasets.Dataset) and len(ds) == 50
    assert ds[0]["messages"] == [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "a0"}]
    assert ds[0]["source"] == "alpaca-mini" and ds[0]["id"] == "train.jsonl:1"
    both = llmdata.load("alpaca-mini")
    assert isinstance(both, datasets.DatasetDict) and set(both) == {"train", "test"}
    stream = llmdata.load("alpaca-mini", split="test", streaming=True)
    assert isinstance(stream, datasets.IterableDataset)
    assert next(iter(stream))["messages"][0]["content"] == "t\n\nx"


def test_load_fetches_first_when_missing(served):
    ds = llmdata.load("alpaca-mini", split="test")
    assert len(ds) == 1
    out = layout.normalized_root() / "alpaca-mini" / COMMIT / "chat"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits"]["train"]["written"] + manifest["splits"]["train"]["rejected"] == 51


def test_renormalizes_when_the_converter_version_changes(served, monkeypatch):
    llmdata.load("alpaca-mini", split="train")
    out = layout.normalized_root() / "alpaca-mini" / COMMIT / "chat" / "manifest.json"
    first = json.loads(out.read_text())["created"], out.stat().st_mtime_ns
    llmdata.load("alpaca-mini", split="train")
    assert out.stat().st_mtime_ns == first[1]  # unchanged inputs: reused
    monkeypatch.setitem(REGISTRY, "alpaca", dataclasses.replace(REGISTRY["alpaca"], version=99))
    llmdata.load("alpaca-mini", split="train")
    assert json.loads(out.read_text())["converter_version"] == 99


def test_raw_only_and_unknown_split_and_offline(served, cli, monkeypatch):
    assert cli("fetch", "alpaca-mini", "--raw-only", "-q").code == 0
    assert not (layout.normalized_root() / "alpaca-mini").exists()
    with pytest.raises(ValueError, match="no split 'validation'"):
        llmdata.load("alpaca-mini", split="validation")
    monkeypatch.setenv("LLMDATA_OFFLINE", "1")
    assert len(llmdata.load("alpaca-mini", split="train")) == 50  # normalizes from the store, offline


def test_offline_and_not_in_store(served, monkeypatch):
    monkeypatch.setenv("LLMDATA_OFFLINE", "1")
    with pytest.raises(OfflineError):
        llmdata.load("alpaca-mini")


def test_strict_fetch_fails_on_the_broken_record(served, cli):
    result = cli("fetch", "alpaca-mini", "--strict", "-q")
    assert result.code == 2 and "train.jsonl line 51: missing field 'output'" in result.err


def test_loaded_rows_validate_against_the_published_json_schemas(served):
    import jsonschema
    from referencing import Registry, Resource

    from llmdata import resources

    schemas = {name: json.loads(resources.schema_path(f"formats/{name}.schema.json").read_text())
               for name in ("chat", "preference")}
    registry = Registry().with_resources(
        [("chat.schema.json", Resource.from_contents(schemas["chat"]))])
    ds = llmdata.load("alpaca-mini", split="train")
    validator = jsonschema.Draft202012Validator(schemas["chat"], registry=registry)
    for row in ds.select(range(5)):
        validator.validate(row)
        assert isinstance(json.loads(row["meta"]), dict)
