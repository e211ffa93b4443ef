"""Concurrent downloads of one dataset's files (``--jobs``, ``LLMDATA_JOBS``): same store, first failure wins."""

from __future__ import annotations

import hashlib
import os

import pytest
from conftest import HF_COMMIT, entry
from servers import HubRepo

import llmdata
from llmdata import settings
from llmdata.errors import RemoteNotFoundError
from llmdata.fetchers.parallel import Totals
from llmdata.store import layout, ledger

FILES = {f"data/part-{i:03d}.jsonl": b"".join(b'{"text": "file %d line %d"}\n' % (i, j) for j in range(40 + i))
         for i in range(40)}


def _serve_many(hosts, catalog, files=FILES, **extra):
    hosts.hub["acme/many"] = HubRepo(HF_COMMIT, dict(files), lfs=set(files))
    catalog(entry("many-files", [{"kind": "hf", "repo": "acme/many"}], **extra))


def _store_snapshot(home) -> dict[str, bytes]:
    raw = home / "raw"
    return {str(p.relative_to(raw)): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


def _ledger_rows() -> list[tuple]:
    return [(f["path"], f["sha256"], f["size"], f["url"]) for f in ledger.files("many-files")]


def test_jobs_8_gives_the_same_store_and_ledger_as_jobs_1(hosts, catalog, monkeypatch, tmp_path):
    _serve_many(hosts, catalog)
    seen = {}
    for jobs in (1, 8):
        home = tmp_path / f"home-{jobs}"
        monkeypatch.setenv("LLMDATA_HOME", str(home))
        report = llmdata.fetch("many-files", jobs=jobs)
        seen[jobs] = (_store_snapshot(home), _ledger_rows(), report.files)
    assert seen[1] == seen[8]
    snapshot, rows, files = seen[8]
    assert len(files) == len(FILES) and [f["path"] for f in files] == sorted(FILES)  # the list's order
    assert {name.split("/", 2)[2]: data for name, data in snapshot.items()} == FILES
    assert all(f["sha256"] == hashlib.sha256(FILES[f["path"]]).hexdigest() for f in files)


def test_downloads_overlap_with_jobs_and_not_without(hosts, catalog, monkeypatch, tmp_path):
    files = dict(list(FILES.items())[:16])
    _serve_many(hosts, catalog, files)
    for name in files:  # every answer takes ~0.1 s: requests in flight together are visible to the server
        hosts.fault(f"/datasets/acme/many/resolve/{HF_COMMIT}/{name}", ("slow", 256, 0.03))
    llmdata.fetch("many-files", jobs=8)
    assert hosts.peak >= 4
    monkeypatch.setenv("LLMDATA_HOME", str(tmp_path / "serial"))
    hosts.peak = 0
    llmdata.fetch("many-files", jobs=1)
    assert hosts.peak == 1


def test_one_failing_file_fails_the_fetch_with_its_url_and_writes_nothing_half(hosts, catalog):
    _serve_many(hosts, catalog)
    names = sorted(FILES)
    bad = names[5]
    for name in names:
        hosts.fault(f"/datasets/acme/many/resolve/{HF_COMMIT}/{name}", ("slow", 128, 0.02))
    hosts.faults[f"/datasets/acme/many/resolve/{HF_COMMIT}/{bad}"] = [("status", 404)]
    with pytest.raises(RemoteNotFoundError) as caught:
        llmdata.fetch("many-files", jobs=8)
    assert bad in caught.value.url and "not found (404)" in caught.value.message
    requested = {p.rsplit("/", 2)[-1] for p, _ in hosts.requests if "/resolve/" in p}
    assert len(requested) < len(names)  # scheduling stopped at the failure
    raw = layout.raw_root() / "many-files" / HF_COMMIT
    for path in (p for p in raw.rglob("*") if p.is_file()) if raw.exists() else ():
        name = str(path.relative_to(raw))
        assert not path.name.startswith("."), f"scratch file left in raw/: {name}"
        assert path.read_bytes() == FILES[name], f"{name} is not the verified file"
    assert ledger.current("many-files") is None  # the ledger is written only when every file verified
    hosts.faults.clear()
    report = llmdata.fetch("many-files", jobs=8)  # the next run completes (resuming what was cut)
    assert len(report.files) == len(FILES) and _store_snapshot(layout.home()).keys() >= {
        f"many-files/{HF_COMMIT}/{n}" for n in FILES}


def test_overall_progress_counts_every_byte_and_file_once(hosts, catalog):
    _serve_many(hosts, catalog)
    name = sorted(FILES)[3]
    hosts.fault(f"/datasets/acme/many/resolve/{HF_COMMIT}/{name}", ("drop", 100))  # one restart from an offset
    seen: list[Totals] = []
    llmdata.fetch("many-files", jobs=8, overall=seen.append)
    total = sum(len(v) for v in FILES.values())
    assert seen[0] == Totals(len(FILES), 0, total, 0)
    assert seen[-1] == Totals(len(FILES), len(FILES), total, total)
    assert all(t.bytes_done <= total for t in seen)
    seen.clear()
    llmdata.fetch("many-files", jobs=8, overall=seen.append)  # all present: done without a byte on the wire
    assert seen[-1] == Totals(len(FILES), len(FILES), total, total)


def test_jobs_from_the_environment_and_the_cli(hosts, catalog, cli, monkeypatch):
    monkeypatch.setenv("LLMDATA_JOBS", "3")
    assert settings.jobs() == 3
    monkeypatch.setenv("LLMDATA_JOBS", "zero")
    assert settings.jobs() == settings.DEFAULT_JOBS
    monkeypatch.setenv("LLMDATA_JOBS", "0")
    assert settings.jobs() == 1
    monkeypatch.delenv("LLMDATA_JOBS")
    _serve_many(hosts, catalog)
    result = cli("fetch", "many-files", "--jobs", "4", "--json")
    assert result.code == 0, result.err
    assert len(result.json()[0]["files"]) == len(FILES)
    assert cli("fetch", "many-files", "--jobs", "0").code == 2


def test_cli_shows_one_aggregate_bar(hosts, catalog, cli, monkeypatch):
    from llmdata.cli import store_cmds

    _serve_many(hosts, catalog)
    monkeypatch.setattr(store_cmds, "stderr_is_terminal", lambda: True)
    result = cli("fetch", "many-files")
    assert result.code == 0
    assert f"many-files: {len(FILES)}/{len(FILES)} files" in result.err
    assert "part-001.jsonl" not in result.err  # no bar per file


def test_archives_are_extracted_by_the_workers(hosts, catalog):
    import io
    import tarfile

    def tarball(member: str, data: bytes) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    blobs = {f"a{i}.tar.gz": tarball(f"inner{i}.txt", b"x" * i) for i in range(6)}
    hosts.files.update({f"acme/arch/{'c' * 40}/{k}": v for k, v in blobs.items()})
    catalog(entry("arch", [{"kind": "github", "repo": "acme/arch", "ref": "c" * 40, "files": [
        {"path": k, "sha256": hashlib.sha256(v).hexdigest(), "size": len(v), "extract": True}
        for k, v in blobs.items()]}]))
    report = llmdata.fetch("arch", jobs=4)
    for i in range(6):
        assert (report.directory / f"a{i}" / f"inner{i}.txt").read_bytes() == b"x" * i
    assert not any(n.startswith(".") for n in os.listdir(report.directory))
