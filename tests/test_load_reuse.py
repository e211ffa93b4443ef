"""A second ``llmdata.load`` skips the index and the inputs check, yet sees every change to the store or catalog."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest
import yaml
from conftest import COMMIT, alpaca_entry

import llmdata
from llmdata.errors import CatalogSkippedWarning
from llmdata.index import reader
from llmdata.normalize import store as normalize_store
from llmdata.normalize.converters import REGISTRY
from llmdata.store import layout, ledger


def manifest_path():
    return layout.normalized_root() / "alpaca-mini" / COMMIT / "chat" / "manifest.json"


def test_second_load_opens_neither_the_index_nor_the_split_inputs(served, monkeypatch):
    first = llmdata.load("alpaca-mini", split="train")

    def forbidden(*_args, **_kwargs):
        raise AssertionError("repeated on an unchanged store")

    monkeypatch.setattr(reader, "open_index", forbidden)
    monkeypatch.setattr(normalize_store, "split_inputs", forbidden)
    again = llmdata.load("alpaca-mini", split="train")
    assert again is not first and again[:] == first[:]
    again.set_format("numpy")  # a fresh object each time: changing one does not change the next
    assert llmdata.load("alpaca-mini", split="train").format["type"] is None


def test_an_edited_catalog_entry_is_seen(served, catalog):
    assert len(llmdata.load("alpaca-mini", split="test")) == 1
    edited = alpaca_entry()
    edited["splits"] = {"train": ["train.jsonl"], "test": ["train.jsonl"]}
    catalog(edited)
    assert len(llmdata.load("alpaca-mini", split="test")) == 50  # re-normalized with the new split


def test_output_renormalized_elsewhere_is_seen(served, monkeypatch):
    llmdata.load("alpaca-mini", split="train")
    entry = llmdata.entry("alpaca-mini")
    files = ledger.files("alpaca-mini", COMMIT)
    original = REGISTRY["alpaca"]
    # what another process with another converter version does: replace the output behind this one's back
    monkeypatch.setitem(REGISTRY, "alpaca", dataclasses.replace(original, version=original.version + 1))
    normalize_store.normalize_fetched(entry, COMMIT, files)
    assert json.loads(manifest_path().read_text())["converter_version"] == original.version + 1
    monkeypatch.setitem(REGISTRY, "alpaca", original)
    # this process's converter is the older one: the stored output is not current for it and is made again
    assert len(llmdata.load("alpaca-mini", split="train")) == 50
    assert json.loads(manifest_path().read_text())["converter_version"] == original.version


def test_a_manifest_that_changed_on_disk_is_read_again(served):
    llmdata.load("alpaca-mini", split="train")
    manifest = json.loads(manifest_path().read_text())
    manifest["splits"]["test"]["rows"] = 0  # as published by another run: the split now counts as empty
    staged = manifest_path().with_name("manifest.json.new")
    staged.write_text(json.dumps(manifest))
    os.replace(staged, manifest_path())
    with pytest.raises(llmdata.errors.EmptySplitError):
        llmdata.load("alpaca-mini", split="train")


def test_removed_by_another_process_then_loaded_again(served):
    llmdata.load("alpaca-mini", split="train")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "llmdata", "rm", "alpaca-mini"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ledger.current("alpaca-mini") is None and not manifest_path().exists()
    served.requests.clear()
    assert len(llmdata.load("alpaca-mini", split="train")) == 50
    assert any(path.endswith("train.jsonl") for path, _ in served.requests)  # fetched again
    assert manifest_path().is_file()


def test_a_store_deleted_whole_is_not_read_from_the_old_database(served, clean_env):
    llmdata.load("alpaca-mini", split="train")
    shutil.rmtree(clean_env)
    assert ledger.current("alpaca-mini") is None
    ledger.record("other", "url", "https://files.example.org/x", "r1", True,  # a new database at the same path
                  [{"path": "x", "url": "https://files.example.org/x", "sha256": "0" * 64, "size": 1}])
    assert ledger.current("alpaca-mini") is None and ledger.current("other")["revision"] == "r1"
    assert len(llmdata.load("alpaca-mini", split="train")) == 50
    assert ledger.current("alpaca-mini")["revision"] == COMMIT


def test_skipped_user_catalogs_are_reported_on_every_load(served, tmp_path, monkeypatch):
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump([{"id": "half-an-entry"}]), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join([os.environ["LLMDATA_CATALOG"], str(broken)]))
    for _ in range(2):
        with pytest.warns(CatalogSkippedWarning, match="broken.yaml"):
            llmdata.load("alpaca-mini", split="test")
    with pytest.raises(llmdata.errors.CatalogError), warnings.catch_warnings():
        warnings.simplefilter("error")
        llmdata.load("alpaca-mini", split="test", strict_catalogs=True)
