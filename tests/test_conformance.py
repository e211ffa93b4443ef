"""Every catalog entry that declares a converter loads, end to end, from a replica of its real upstream tree.

The parameter list is the catalog itself: a new converter entry without a
replica under ``tests/replicas/`` fails here with a message saying what to add.
Each test serves the replica on the shared loopback Hub / GitHub / file server,
runs the real ``llmdata fetch`` (in-process CLI) and ``llmdata.load`` for every
split, and checks: at least one row per split, every row valid against
``registry/formats/<format>.schema.json``, rows of a split only from that split's
files, no non-data file handed to a reader, and read = written + rejected.

The catalog entry is used as it is, except that the pins of files whose bytes
are synthetic are replaced by the synthetic bytes' SHA-256 and size (real
bytes from ``../shared/realdata`` keep the catalog's own pins).
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
import yaml
from conftest import point_at_loopback
from replica import TOKEN, available, load, materialize, serve

import llmdata
from llmdata import resources
from llmdata.catalog.datafiles import is_data_file
from llmdata.cli.app import main
from llmdata.normalize import store

CATALOG = yaml.safe_load(resources.builtin_catalog().read_text("utf-8"))
CONVERTER_ENTRIES = [e for e in CATALOG if (e.get("format") or {}).get("produces") not in (None, "unsupported")
                     and (e.get("format") or {}).get("converter")]
BY_ID = {e["id"]: e for e in CATALOG}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def loopback(_server_127_0_0_1):
    """The session's shared loopback server (conftest)."""
    return _server_127_0_0_1


@pytest.fixture
def replica_env(loopback, monkeypatch, tmp_path):
    """Point the Hub, GitHub and every plain URL at the shared loopback server, emptied for this test."""
    loopback.reset()
    point_at_loopback(monkeypatch, loopback.url, retries=0, backoff=0.01, files_prefix="https://")

    def install(entries: list[dict]):
        path = tmp_path / "catalog.yaml"
        path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        monkeypatch.setattr(resources, "builtin_catalog", lambda: path)
        return path

    return loopback, install


def replicated_entry(entry: dict, replica: dict, mat) -> dict:
    """The catalog entry with the replicated source's pins set to the served bytes (real bytes keep theirs)."""
    derived = copy.deepcopy(entry)
    source = derived["sources"][replica.get("catalog_source", 0)]
    if source["kind"] == "url" and source.get("url"):
        item = next(i for i in replica["tree"] if i.get("url") == source["url"])
        data = mat.files[item["path"]]
        source.update(sha256=sha(data), size=len(data))
    for f in source.get("files") or []:
        data = mat.files.get(f["path"])
        if data is None or f["path"] in mat.real:
            continue  # missing upstream (the fetch must say so) or real bytes under the catalog's own pins
        f.pop("git_blob", None)
        f.update(sha256=sha(data), size=len(data))
    return derived


def format_validators():
    import jsonschema
    from referencing import Registry, Resource

    schemas = {p.name.split(".")[0]: json.loads(p.read_text("utf-8"))
               for p in (resources.registry_dir() / "formats").glob("*.schema.json")}
    registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
    return {name: jsonschema.Draft202012Validator(s, registry=registry) for name, s in schemas.items()}


VALIDATORS = format_validators()
REAL_SAMPLE = 300  # real upstream files (thousands of rows): every row is counted, these are checked one by one


def run_replica(entry_id: str, replica_env, monkeypatch, *, entry: dict | None = None):
    """Serve the replica, fetch through the CLI, load every split; returns what the checks need."""
    server, install = replica_env
    replica = load(entry_id)
    mat = materialize(replica)
    serve(server, mat)
    derived = replicated_entry(entry or BY_ID[entry_id], replica, mat)
    install([derived])
    seen: dict[str, list[str]] = {}
    original = store.split_inputs

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        for split, inputs in result.items():
            seen[split] = [name for _, name in inputs]
        return result

    monkeypatch.setattr(store, "split_inputs", spy)
    code = main(["fetch", entry_id, "-q"])
    return replica, mat, derived, seen, code


@pytest.mark.parametrize("entry", CONVERTER_ENTRIES, ids=[e["id"] for e in CONVERTER_ENTRIES])
def test_entry_loads_from_its_upstream_replica(entry, replica_env, monkeypatch, capsys):
    eid = entry["id"]
    assert eid in available(), (
        f"{eid} declares a converter but has no layout replica: add tests/replicas/{eid}.yaml describing its real "
        f"upstream tree (every path, size, LFS flag; record shape with 2-5 synthetic records; citations), "
        f"or set `format: {{produces: unsupported, reason: ...}}` in catalog.yaml")
    replica, mat, derived, seen, code = run_replica(eid, replica_env, monkeypatch)
    out = capsys.readouterr()
    assert code == 0, f"{eid}: fetch failed:\n{out.err}\n{out.out}"
    assert seen, f"{eid}: nothing was normalized"

    # only data files reach a reader, each in one split; test/validation files never in train
    fed = [name for names in seen.values() for name in names]
    assert len(fed) == len(set(fed)), f"{eid}: a file feeds two splits: {seen}"
    for split, names in seen.items():
        for name in names:
            assert is_data_file(name), f"{eid}: non-data file {name} reached a reader"
            assert _tree_path(name, mat) in mat.data, f"{eid}: {name} is not a data file of the replica"

    fmt = derived["format"]["produces"]
    loaded = llmdata.load(eid)
    manifest_splits = _manifest(eid)["splits"]
    assert set(loaded) == set(seen) == set(manifest_splits)
    for split, ds in loaded.items():
        assert len(ds) >= 1, f"{eid} {split}: no rows"
        counts = manifest_splits[split]
        assert counts["read"] == counts["written"] + counts["rejected"], f"{eid} {split}: {counts}"
        synthetic = not any(n.split("!", 1)[0] in mat.real for n in seen[split])
        if synthetic:
            assert counts["rejected"] == 0, f"{eid} {split}: synthetic records rejected: {counts['reject_reasons']}"
        allowed = {mat.tokens[_tree_path(n, mat)] for n in seen[split]}
        validator = VALIDATORS[fmt]
        rows = ds if synthetic or len(ds) <= REAL_SAMPLE else ds.select([*range(REAL_SAMPLE - 1), len(ds) - 1])
        for row in rows:
            validator.validate(row)
            found = {int(t) for t in TOKEN.findall(json.dumps(row, ensure_ascii=False))}
            assert found <= allowed, f"{eid} {split}: row {row['id'] if 'id' in row else row} came from another split's file"
            if synthetic and fmt != "retrieval":
                assert found, f"{eid} {split}: row {row.get('id')} carries no file token (check the replica's shape)"


def _tree_path(name: str, mat) -> str | None:
    """The replica path a reader's input came from: the file itself, or the archive it was extracted from."""
    from pathlib import PurePosixPath

    from llmdata.store.layout import extracted_dir

    top = name.split("!", 1)[0]
    if top in mat.tokens:
        return top
    return next((p for p in mat.tokens
                 if top.startswith(extracted_dir(PurePosixPath(p)).as_posix() + "/")), None)


def _manifest(eid: str) -> dict:
    from llmdata.store import layout, ledger

    current = ledger.current(eid)
    root = layout.normalized_root() / eid / current["revision"]
    (manifest,) = list(root.glob("*/manifest.json"))
    return json.loads(manifest.read_text())


def test_every_replica_names_a_converter_entry():
    """A replica whose entry stopped declaring a converter (or was renamed) is stale."""
    ids = {e["id"] for e in CONVERTER_ENTRIES}
    stale = sorted(available() - ids)
    assert not stale, f"replicas without a converter entry: {stale} (remove them or restore the entry's format)"


def test_every_replica_cites_its_evidence():
    for eid in sorted(available()):
        replica = load(eid)
        assert replica.get("cite"), f"{eid}: the replica cites no evidence"
        for name, shape in (replica.get("shapes") or {}).items():
            assert shape.get("cite"), f"{eid}: shape {name} cites no evidence for its fields"
        data = [i for i in replica["tree"] if i.get("shape")]
        assert data and len(replica["tree"]) > len(data) or replica["kind"] == "url", \
            f"{eid}: the tree lists no non-data file (README, scripts): list them so the test proves they are not read"


# ---------------------------------------------------------------------- the README's load examples


def test_readme_load_examples_run_against_their_replicas(replica_env, monkeypatch):
    """README: belle, hh-rlhf, gsm8k, ultrachat streaming and cmmlu jurisprudence, each from its replica."""
    import datasets

    server, install = replica_env
    ids = ["belle-train-0.5m-cn", "hh-rlhf", "gsm8k", "ultrachat", "cmmlu"]
    mats = {}
    for eid in ids:
        mats[eid] = materialize(load(eid))
        serve(server, mats[eid])
    install([replicated_entry(BY_ID[eid], load(eid), mats[eid]) for eid in ids])
    sft = llmdata.load("belle-train-0.5m-cn", split="train")
    assert sft[0]["messages"][0]["role"] == "user"
    prefs = llmdata.load("hh-rlhf", split="train")
    assert {"prompt", "chosen", "rejected"} <= set(prefs.column_names)
    both = llmdata.load("gsm8k")
    assert isinstance(both, datasets.DatasetDict) and {"train", "test"} <= set(both)
    stream = llmdata.load("ultrachat", split="train", streaming=True)
    assert isinstance(stream, datasets.IterableDataset) and next(iter(stream))["messages"][0]["role"] == "user"
    law = llmdata.load("cmmlu", split="test", subjects=["jurisprudence"])
    assert len(law) >= 1 and set(law["subject"]) == {"jurisprudence"}


# ---------------------------------------------------------------------- honest status


def test_loads_coincides_with_the_conformance_suite_and_the_pages_give_the_count():
    """Every entry the pages, `info` and `search` call loadable has a replica this suite loads, and no other."""
    from llmdata.catalog.model import loads
    from llmdata.catalog.pages import render_markdown, summary_counts

    loadable = {e["id"] for e in CATALOG if loads(e)}
    assert loadable == {e["id"] for e in CONVERTER_ENTRIES} == available()
    entries = [{k: v for k, v in e.items()} for e in CATALOG]
    assert summary_counts(entries)["loads (conformance suite)"] == len(loadable)
    assert f"loads (conformance suite): {len(loadable)}" in render_markdown(entries).splitlines()[5]


def test_info_and_search_say_loads_only_for_converter_entries(cli):
    shown = cli("info", "gsm8k")
    assert shown.code == 0 and "yes: qa" in shown.out and "conformance" in shown.out
    raw = cli("info", "wudaocorpora")
    assert raw.code == 0 and "no (raw files only)" in raw.out


# ---------------------------------------------------------------------- bad input


def _nothing_stored(eid: str) -> bool:
    from llmdata.store import layout

    return not (layout.raw_root() / eid).exists() and not (layout.normalized_root() / eid).exists()


def test_declared_file_missing_upstream_names_entry_split_and_files(replica_env, monkeypatch, capsys):
    entry = copy.deepcopy(BY_ID["belle-train-0.5m-cn"])
    entry["sources"][0]["files"][0]["path"] = "Belle_open_source_0.6M.json"
    entry["splits"] = {"train": ["Belle_open_source_0.6M.json"]}
    *_, code = run_replica("belle-train-0.5m-cn", replica_env, monkeypatch, entry=entry)
    err = capsys.readouterr().err
    assert code != 0
    assert "belle-train-0.5m-cn" in err and "split train" in err and "Belle_open_source_0.6M.json" in err
    assert "files seen" in err and "Belle_open_source_0.5M.json" in err
    assert _nothing_stored("belle-train-0.5m-cn")


def test_split_matching_no_file_names_entry_split_and_files(replica_env, monkeypatch, capsys):
    entry = copy.deepcopy(BY_ID["ultrachat"])
    entry["sources"][0].pop("files", None)  # no declared files: only the fetched tree can show the split is empty
    entry["splits"] = {"train": ["train_*.jsonl"], "test": ["test_*.jsonl"]}
    *_, code = run_replica("ultrachat", replica_env, monkeypatch, entry=entry)
    err = capsys.readouterr().err
    assert code == 2
    assert "ultrachat" in err and "split 'test'" in err and "test_*.jsonl" in err and "train_0.jsonl" in err
    assert _nothing_stored("ultrachat")


# ---------------------------------------------------------------------- multi-file url datasets


def test_a_url_source_with_several_files_fetches_every_part(replica_env, capsys):
    server, install = replica_env
    test = ",Question,A,B,C,D,Answer\n0,问题一,甲,乙,丙,丁,A\n".encode()
    dev = ",Question,A,B,C,D,Answer\n0,问题二,甲,乙,丙,丁,B\n".encode()
    server.files["files.example.org/cmmlu/test/law.csv"] = test
    server.files["files.example.org/cmmlu/dev/law.csv"] = dev
    entry = copy.deepcopy(BY_ID["cmmlu"])
    entry["sources"] = [{"kind": "url", "files": [
        {"url": "https://files.example.org/cmmlu/test/law.csv", "path": "data/test/law.csv", "sha256": sha(test),
         "size": len(test)},
        {"url": "https://files.example.org/cmmlu/dev/law.csv", "path": "data/dev/law.csv", "sha256": sha(dev),
         "size": len(dev)}]}]
    install([entry])
    assert main(["fetch", "cmmlu", "-q"]) == 0, capsys.readouterr().err
    loaded = llmdata.load("cmmlu")
    assert set(loaded) == {"test", "dev"} and loaded["dev"][0]["answer"] == "B"
    assert llmdata.entry("cmmlu").sources[0].pinned


def test_validate_warns_on_url_parts_and_refuses_unlisted_github_trees(write_catalog):
    from conftest import entry_yaml

    parts = entry_yaml(id="two-parts") + "    - kind: url\n      url: https://example.org/dev.jsonl\n"
    github = entry_yaml(id="whole-tree").replace(
        "    - kind: url\n      url: https://example.org/whole-tree.jsonl\n",
        "    - kind: github\n      repo: acme/data\n") + \
        "  format: {produces: chat, reader: json, converter: alpaca}\n"
    _, problems = llmdata.validate([write_catalog(parts + github)])
    by_entry = {(p.entry_id, p.severity): p.message for p in problems}
    assert "look like" not in str(by_entry)
    assert "different files" in by_entry[("two-parts", "warning")]
    assert "lists no files" in by_entry[("whole-tree", "error")]
