"""``llmdata build --engine ray`` on a local Ray with 2 CPUs: the local engine's rows, reports and bytes.

Four chat datasets (recipe_data's three and chat-d, below) with planted exact
copies, near copies (some close enough, some not, some of other copies) and
benchmark questions; two recipes (dedup + decontamination dropping rows,
shuffled, several shards, an export; filters, weights and flagging). A worker
SIGKILLed while it downloads an input is retried by Ray and the build is still
byte-identical to the local engine's.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

pytest.importorskip("ray")

import pyarrow.parquet as pq  # noqa: E402
import recipe_data  # noqa: E402
from conftest import COMMIT, entry, sha  # noqa: E402

import llmdata  # noqa: E402
from llmdata.normalize import arrowpath, run  # noqa: E402
from llmdata.ray_engine import units  # noqa: E402
from llmdata.store import layout  # noqa: E402

A, C = recipe_data.CHAT_A, recipe_data.CHAT_C


def _changed(text: str, every: int) -> str:
    words = text.split()
    return " ".join(w.upper() + "x" if k % every == 3 else w for k, w in enumerate(words))


def _chat_d() -> list[dict]:
    rows = []
    for i in range(120):
        kind = i % 6
        if kind == 0:
            rows.append(dict(A[i % 30]))  # an exact copy of chat-a's row
        elif kind == 1:
            rows.append({**C[2 + i % 23], "instruction": _changed(C[2 + i % 23]["instruction"], 40)})  # one word off
        elif kind == 2:
            rows.append({**A[i % 30], "instruction": _changed(A[i % 30]["instruction"], 6)})  # too many words off
        elif kind == 3 and rows:
            rows.append({**rows[-2], "output": rows[-2]["output"] + " again"})  # a near copy of a near copy
        elif i % 25 == 4:
            rows.append({"instruction": f"Recall: {recipe_data.GSM_TEST[i % 6]['question']}", "input": "",
                         "output": "ok"})  # a benchmark question
        else:
            rows.append({"instruction": f"topic d{i}: {recipe_data._sentence(i + 900)}", "input": "",
                         "output": f"reply d{i}"})
    return rows


CHAT_D = json.dumps(_chat_d(), ensure_ascii=False, indent=1).encode()  # a JSON array: the record path
D_PATH = f"acme/chat-d/{COMMIT}/train.json"

DEDUP = """\
name: mix
seed: 11
datasets:
  - {id: chat-a, all: true}
  - {id: chat-b, all: true}
  - {id: chat-c, fraction: 0.9}
  - {id: chat-d, all: true}
decontaminate: {against: [gsm-mini, mmlu-mini]}
output: {shard_rows: 40}
exports: [llamafactory]
"""
FILTERED = """\
name: filtered
seed: 3
total: 90
filters: {languages: [en], min_length: 20}
decontaminate: {against: [gsm-mini], action: flag}
dedup: {exact: true, near: {threshold: 0.7, num_perm: 64, shingle: 2}}
output: {shuffle: false, shard_rows: 25}
datasets:
  - {id: chat-a, weight: 1}
  - {id: chat-b, weight: 1}
  - {id: chat-d, weight: 3, filters: {max_length: 2000}}
  - {id: chat-c, n: 10}
"""


@pytest.fixture
def served(hosts, catalog, monkeypatch):
    entries, files = recipe_data.datasets_()
    files[D_PATH] = CHAT_D
    hosts.files.update(files)
    d = entry("chat-d", [{"kind": "github", "repo": "acme/chat-d", "ref": COMMIT, "files": [
        {"path": "train.json", "sha256": sha(CHAT_D), "size": len(CHAT_D)}]}], splits={"train": ["train.json"]},
        format={"produces": "chat", "reader": "json", "converter": "alpaca"}, license="cc-by-4.0")
    catalog(*entries, d)
    monkeypatch.setattr(units, "UNIT_ROWS", 23)  # several tasks per input, cut inside row groups
    monkeypatch.setattr(run, "BATCH", 16)  # rows written record by record come in several row groups
    monkeypatch.setattr(arrowpath, "CHUNK", 2048)  # and so do chat-d's array items, taken a few at a time
    return hosts


def _shards(dataset_id: str) -> list:
    return sorted(layout.normalized_root().glob(f"{dataset_id}/*/chat/train-*.parquet"))


def _tree(directory) -> dict:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _report(report) -> dict:
    data = report.as_dict()
    data.pop("out")
    return data


def _planted_rows_were_found(report: dict) -> None:
    """The planted copies and benchmark questions were caught, so an equality with them covers every stage."""
    exact = {(d["source"], d["duplicate_of"]): d["rows"] for d in report["exact_lost"]}
    near = {(d["source"], d["duplicate_of"]): d["rows"] for d in report["near_lost"]}
    assert exact[("chat-b", "chat-a")] == 1 and exact[("chat-d", "chat-a")] == 20
    assert near[("chat-d", "chat-c")] >= 15 and ("chat-d", "chat-d") in near and ("chat-c", "chat-a") in near
    assert report["contamination"]["benchmarks"]["gsm-mini"]["by_source"] == {"chat-c": 1, "chat-d": 2}
    assert report["rows"] > 2 * 40  # several shards


def test_ray_build_gives_the_local_rows_reports_and_bytes(ray_local, served, tmp_path, cli):
    recipe = tmp_path / "filtered.yaml"
    recipe.write_text(FILTERED)
    results = {}
    for engine in ("local", "ray"):
        report = llmdata.build(recipe, tmp_path / engine, engine=engine)
        results[engine] = (_report(report), _tree(tmp_path / engine))
    [shard] = _shards("chat-d")
    assert pq.ParquetFile(shard).metadata.num_row_groups > 3  # units cut across row groups
    assert results["ray"][0] == results["local"][0]
    assert results["ray"][1] == results["local"][1]  # shards, card and lock, byte for byte
    filtered = results["ray"][0]
    assert filtered["sources"][1]["filtered_out"] == {"languages": 19} and filtered["near_lost"]
    flagged = [r for r in llmdata.load_recipe(tmp_path / "ray") if "llmdata_contamination" in json.loads(r["meta"])]
    assert len(flagged) == filtered["contamination"]["benchmarks"]["gsm-mini"]["rows"] >= 2

    # --locked with the other engine: the lock the local engine wrote is met byte for byte
    recipe.write_text(DEDUP)
    out = tmp_path / "dedup"
    local = _report(llmdata.build(recipe, out, engine="local"))
    _planted_rows_were_found(local)
    before = _tree(out)
    result = cli("build", str(recipe), "--out", str(out), "--locked", "--engine", "ray", "--json")
    assert result.code == 0, result.err
    again = result.json()
    assert again.pop("locked") is True and again.pop("out") == str(out)
    assert again == {k: v for k, v in local.items() if k != "locked"} and _tree(out) == before


def _part_holder(parts) -> int | None:
    """The process, other than this one, that has a download's part file open (read from /proc)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(t.startswith(str(parts)) and t.endswith(".part") for t in targets):
            return int(pid)
    return None


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="finds the worker through /proc")
def test_a_worker_killed_mid_download_is_retried_and_the_build_is_identical(ray_local, served, tmp_path,
                                                                          monkeypatch):
    recipe = tmp_path / "mix.yaml"
    recipe.write_text(DEDUP)
    monkeypatch.setenv("LLMDATA_HOME", str(tmp_path / "local-store"))
    local = llmdata.build(recipe, tmp_path / "local", engine="local")

    monkeypatch.setenv("LLMDATA_HOME", str(tmp_path / "ray-store"))
    parts = layout.parts_dir()
    served.fault(f"/raw/{D_PATH}", ("slow", 1024, 0.15))  # chat-d's first request trickles for ~7 s
    killed: list[int] = []

    def kill_the_downloader():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            pid = _part_holder(parts) if served.requests_for(f"/raw/{D_PATH}") else None
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_downloader, daemon=True)
    killer.start()
    report = llmdata.build(recipe, tmp_path / "ray", engine="ray")
    killer.join(timeout=5)
    assert killed, "no worker was seen downloading chat-d"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    requests = served.requests_for(f"/raw/{D_PATH}")
    assert len(requests) >= 2  # Ray ran the task again in another worker, which fetched the file again
    assert _report(report) == _report(local)
    _planted_rows_were_found(_report(report))
    assert _tree(tmp_path / "ray") == _tree(tmp_path / "local")
