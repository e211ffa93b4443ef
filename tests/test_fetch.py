"""Fetchers against loopback Hub / GitHub / file servers, with injected faults."""

from __future__ import annotations

import hashlib
import io
import tarfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from conftest import fill_disk_after, kill_9_mid_download, COMMIT, DATA, HF_COMMIT, SHARED, SMALL, entry, run_cli_subprocess, sha
from servers import HubRepo

import llmdata
from llmdata.store import layout
from llmdata.errors import (AccessDeniedError, DiskFullError, FetchError, IntegrityError, OfflineError,
                            RateLimitedError, UnsafeArchiveError)
from llmdata.fetchers import transfer

def github_entry(id_="gh-data", data=DATA, path="data/train.jsonl", **file_pin):
    pin = {"sha256": sha(data), "size": len(data)} if not file_pin else file_pin
    return entry(id_, [{"kind": "github", "repo": "acme/data", "ref": COMMIT, "files": [{"path": path, **pin}]}])


def serve_github(server, data=DATA, path="data/train.jsonl"):
    server.files[f"acme/data/{COMMIT}/{path}"] = data
    return f"/raw/acme/data/{COMMIT}/{path}"


def stored(dataset_id: str, revision: str, path: str):
    return layout.raw_root() / dataset_id / revision / path


def no_partial_files(dataset_id: str) -> bool:
    root = layout.raw_root() / dataset_id
    return not root.exists() or not [p for p in root.rglob("*") if ".tmp-" in p.name]


# ------------------------------------------------------------------ GitHub, ledger, list/verify/rm


def test_github_fetch_verifies_and_records(hosts, catalog, cli):
    serve_github(hosts)
    catalog(github_entry())
    report = llmdata.fetch("gh-data")
    dest = stored("gh-data", COMMIT, "data/train.jsonl")
    assert dest.read_bytes() == DATA and report.pinned
    assert report.files[0]["sha256"] == sha(DATA)

    listing = cli("list", "--json").json()
    assert listing[0]["dataset_id"] == "gh-data" and listing[0]["bytes"] == len(DATA)
    assert cli("verify", "gh-data").code == 0
    dest.write_bytes(DATA[:-1] + b"x")  # bit rot
    result = cli("verify", "gh-data")
    assert result.code == 1 and "FAILED" in result.out
    assert cli("rm", "gh-data").code == 0
    assert not (layout.raw_root() / "gh-data").exists() and cli("list", "--json").json() == []


def test_github_ref_resolved_and_tree_listed_with_git_blob_pins(hosts, catalog):
    hosts.files[f"acme/data/{COMMIT}/a.txt"] = b"alpha\n"
    hosts.files[f"acme/data/{COMMIT}/dir/b.txt"] = b"beta\n"
    hosts.commits[("acme/data", "main")] = COMMIT
    catalog(entry("gh-tree", [{"kind": "github", "repo": "acme/data", "ref": "main"}]))
    report = llmdata.fetch("gh-tree")
    assert report.revision == COMMIT and not report.pinned
    assert stored("gh-tree", COMMIT, "dir/b.txt").read_bytes() == b"beta\n"


def test_corrupted_bytes_of_the_right_size_are_caught(hosts, catalog):
    path = serve_github(hosts)
    hosts.fault(path, ("corrupt",), ("corrupt",), ("corrupt",))
    catalog(github_entry())
    with pytest.raises(IntegrityError) as exc:
        llmdata.fetch("gh-data")
    assert f"expected {sha(DATA)}" in str(exc.value) and "/raw/acme/data" in str(exc.value)
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists() and no_partial_files("gh-data")
    assert not list(layout.parts_dir().glob("*.part"))  # bad bytes are not kept for resuming


def test_git_blob_pin_alone_catches_corruption(hosts, catalog):
    path = serve_github(hosts, SMALL, "x.jsonl")
    hosts.fault(path, ("corrupt",))
    from servers import git_blob

    catalog(github_entry(data=SMALL, path="x.jsonl", git_blob=git_blob(SMALL)))
    with pytest.raises(IntegrityError, match="git blob mismatch"):
        llmdata.fetch("gh-data")
    assert llmdata.fetch("gh-data").files[0]["sha256"] == sha(SMALL)  # clean bytes on the next try


# ------------------------------------------------------------------ resume, retries, bad bodies


def test_dropped_connection_resumes_in_a_second_run(hosts, catalog, monkeypatch):
    path = serve_github(hosts)
    monkeypatch.setenv("LLMDATA_RETRIES", "0")
    hosts.fault(path, ("drop", 300_000))
    catalog(github_entry())
    with pytest.raises(FetchError, match="resumes"):
        llmdata.fetch("gh-data")
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists()
    [part] = list(layout.parts_dir().glob("*.part"))
    assert part.stat().st_size == 300_000

    llmdata.fetch("gh-data")
    second = hosts.requests_for(path)[-1]
    assert second["range"] == "bytes=300000-" and second["if-range"].startswith('"')
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == DATA


def test_server_ignoring_range_restarts_cleanly(hosts, catalog, monkeypatch):
    path = serve_github(hosts)
    hosts.fault(path, ("drop", 100_000), ("ignore_range",))
    catalog(github_entry())
    llmdata.fetch("gh-data")  # retried within the run: a 200 answer to the Range request restarts the file
    assert hosts.requests_for(path)[1]["range"] == "bytes=100000-"
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == DATA


def test_429_and_500_are_retried_honouring_retry_after(hosts, catalog, monkeypatch):
    monkeypatch.setenv("LLMDATA_RETRIES", "3")
    path = serve_github(hosts)
    hosts.fault(path, ("status", 429, {"Retry-After": "0"}), ("status", 500), ("status", 503))
    catalog(github_entry())
    llmdata.fetch("gh-data")
    assert len(hosts.requests_for(path)) == 4


def test_rate_limit_that_never_ends(hosts, catalog):
    path = serve_github(hosts)
    hosts.fault(path, *[("status", 429, {"Retry-After": "0"})] * 5)
    catalog(github_entry())
    with pytest.raises(RateLimitedError, match="429"):
        llmdata.fetch("gh-data")


@pytest.mark.parametrize(("fault", "message"), [(("html",), "HTML page"), (("lfs_pointer",), "Git LFS pointer")])
def test_wrong_body_with_status_200(hosts, catalog, fault, message):
    path = serve_github(hosts)
    hosts.fault(path, fault)
    catalog(github_entry())
    with pytest.raises(IntegrityError, match=message):
        llmdata.fetch("gh-data")
    assert no_partial_files("gh-data")


def test_lfs_files_come_from_the_media_host(hosts, catalog):
    hosts.files[f"acme/data/{COMMIT}/big.jsonl.gz"] = DATA
    catalog(entry("gh-lfs", [{"kind": "github", "repo": "acme/data", "ref": COMMIT,
                              "files": [{"path": "big.jsonl.gz", "sha256": sha(DATA), "size": len(DATA), "lfs": True}]}]))
    llmdata.fetch("gh-lfs")
    assert hosts.requests_for(f"/media/acme/data/{COMMIT}/big.jsonl.gz")


# ------------------------------------------------------------------ Hugging Face Hub


def test_hub_fetch_resolves_commit_and_uses_hub_sha256(hosts, catalog):
    hosts.hub["acme/hfdata"] = HubRepo(HF_COMMIT, {"train.jsonl": DATA, "README.md": b"# card\n"}, lfs={"train.jsonl"})
    catalog(entry("hf-data", [{"kind": "hf", "repo": "acme/hfdata", "files": [{"path": "train.jsonl"}]}]))
    report = llmdata.fetch("hf-data")
    assert report.revision == HF_COMMIT and report.files[0]["sha256"] == sha(DATA)
    assert hosts.requests_for(f"/datasets/acme/hfdata/resolve/{HF_COMMIT}/train.jsonl")

    # the verified copy is reused: a corrupting server is not even asked for the bytes again
    hosts.fault(f"/datasets/acme/hfdata/resolve/{HF_COMMIT}/train.jsonl", ("corrupt",), ("corrupt",), ("corrupt",))
    assert llmdata.fetch("hf-data").files[0]["sha256"] == sha(DATA)
    assert len(hosts.requests_for(f"/datasets/acme/hfdata/resolve/{HF_COMMIT}/train.jsonl")) == 1


def test_hub_corruption_is_caught_even_without_a_catalog_pin(hosts, catalog):
    hosts.hub["acme/hfdata"] = HubRepo(HF_COMMIT, {"train.jsonl": DATA}, lfs={"train.jsonl"})
    hosts.fault(f"/datasets/acme/hfdata/resolve/{HF_COMMIT}/train.jsonl", ("corrupt",), ("corrupt",), ("corrupt",))
    catalog(entry("hf-data", [{"kind": "hf", "repo": "acme/hfdata"}]))
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        llmdata.fetch("hf-data")
    assert no_partial_files("hf-data")


def test_gated_repo_says_where_to_ask_and_token_unlocks(hosts, catalog, monkeypatch):
    hosts.hub["acme/gated"] = HubRepo(HF_COMMIT, {"d.jsonl": SMALL}, token="hf_secret")
    catalog(entry("gated-data", [{"kind": "hf", "repo": "acme/gated"}], access="gated",
                  instructions="Accept the conditions on the dataset page."))
    with pytest.raises(AccessDeniedError) as exc:
        llmdata.fetch("gated-data")
    assert f"{hosts.url}/datasets/acme/gated" in str(exc.value)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert llmdata.fetch("gated-data").files[0]["size"] == len(SMALL)


def test_token_never_follows_a_redirect_to_another_host(hosts, other_host, catalog, monkeypatch):
    hosts.hub["acme/hfdata"] = HubRepo(HF_COMMIT, {"train.jsonl": DATA}, lfs={"train.jsonl"}, token="hf_secret")
    other_host.files["cdn/train.jsonl"] = DATA
    resolve = f"/datasets/acme/hfdata/resolve/{HF_COMMIT}/train.jsonl"
    hosts.fault(resolve, ("redirect", f"{other_host.url}/files/cdn/train.jsonl"))
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    catalog(entry("hf-data", [{"kind": "hf", "repo": "acme/hfdata"}]))
    result = run_cli_subprocess("fetch", "hf-data", "--json")
    assert result.returncode == 0, result.stderr
    assert hosts.requests_for(resolve)[0]["authorization"] == "Bearer hf_secret"
    [cdn] = other_host.requests_for("/files/cdn/train.jsonl")
    assert "authorization" not in cdn
    assert "hf_secret" not in result.stdout + result.stderr


# ------------------------------------------------------------------ sources, mirrors, offline, manual


def test_fallback_to_the_next_source_checks_the_same_pin(hosts, catalog):
    hosts.files["mirror/train.jsonl"] = DATA
    catalog(entry("fallback", [
        {"kind": "hf", "repo": "acme/missing"},
        {"kind": "url", "url": "https://files.example.org/mirror/train.jsonl", "sha256": sha(DATA), "size": len(DATA)},
    ]))
    report = llmdata.fetch("fallback")
    assert report.kind == "url" and "hf:acme/missing" in report.skipped_sources[0]


def test_all_sources_failing_lists_every_attempt(hosts, catalog):
    catalog(entry("nowhere", [
        {"kind": "hf", "repo": "acme/missing"},
        {"kind": "url", "url": "https://files.example.org/none.jsonl"},
    ]))
    with pytest.raises(FetchError) as exc:
        llmdata.fetch("nowhere")
    assert "tried every source" in str(exc.value) and "files.example.org" not in exc.value.message


def test_offline_without_a_server(catalog, monkeypatch):
    monkeypatch.setenv("LLMDATA_MIRRORS", "https://files.example.org=http://127.0.0.1:9")  # closed port
    monkeypatch.setenv("LLMDATA_RETRIES", "0")
    catalog(entry("offline", [{"kind": "url", "url": "https://files.example.org/x.jsonl"}]))
    with pytest.raises(OfflineError, match="cannot connect"):
        llmdata.fetch("offline")
    monkeypatch.setenv("LLMDATA_OFFLINE", "1")
    with pytest.raises(OfflineError, match="not in the store"):
        llmdata.fetch("offline")


def test_offline_mode_serves_the_store(hosts, catalog, monkeypatch):
    serve_github(hosts)
    catalog(github_entry())
    llmdata.fetch("gh-data")
    unreachable = "http://127.0.0.1:9"  # the discard port: nothing answers there
    monkeypatch.setenv("HF_ENDPOINT", unreachable)
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://raw.githubusercontent.com={unreachable}/raw")
    monkeypatch.setenv("LLMDATA_OFFLINE", "1")
    assert llmdata.fetch("gh-data").revision == COMMIT


def test_manual_dataset_instructions_and_from_path(catalog, cli, tmp_path):
    catalog(entry("manual-data", [{"kind": "url", "url": "https://files.example.org/corpus.zip", "sha256": sha(DATA),
                                   "size": len(DATA)}], access="manual",
                  instructions="Register at https://files.example.org and download corpus.zip."))
    result = cli("fetch", "manual-data")
    assert result.code == 2 and "Register at" in result.err and "--from PATH" in result.err
    wrong = tmp_path / "wrong.zip"
    wrong.write_bytes(b"nope")
    result = cli("fetch", "manual-data", "--from", str(wrong))
    assert result.code == 1 and "does not match the pin" in result.err
    right = tmp_path / "corpus.zip"
    right.write_bytes(DATA)
    assert cli("fetch", "manual-data", "--from", str(right)).code == 0
    assert stored("manual-data", f"sha256-{sha(DATA)[:16]}", "corpus.zip").read_bytes() == DATA


def test_unpinned_fetch_prints_the_values_to_pin(hosts, catalog, cli):
    hosts.files["free.jsonl"] = SMALL
    catalog(entry("unpinned", [{"kind": "url", "url": "https://files.example.org/free.jsonl"}]))
    result = cli("fetch", "unpinned")
    assert result.code == 0 and f"sha256: {sha(SMALL)}" in result.out, result.err


# ------------------------------------------------------------------ dry run, disk full


def test_dry_run_lists_files_and_checks_space(hosts, catalog, cli):
    serve_github(hosts)
    catalog(github_entry())
    result = cli("fetch", "gh-data", "--dry-run", "--json")
    [report] = result.json()
    assert report["dry_run"] and report["files"][0]["size"] == len(DATA)
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists()
    catalog(github_entry(sha256=sha(DATA), size=10**16))
    result = cli("fetch", "gh-data", "--dry-run")
    assert result.code == 1 and "not enough disk space" in result.err


def test_disk_full_mid_download(hosts, catalog, monkeypatch):
    serve_github(hosts)
    catalog(github_entry())
    real = fill_disk_after(monkeypatch, 1)
    with pytest.raises(DiskFullError, match="disk full"):
        llmdata.fetch("gh-data")
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists() and no_partial_files("gh-data")
    monkeypatch.setattr(transfer, "_write_chunk", real)
    llmdata.fetch("gh-data")


# ------------------------------------------------------------------ processes


def test_kill_9_mid_download_then_resume(hosts, catalog):
    big = DATA * 4
    path = serve_github(hosts, big)
    hosts.fault(path, ("slow", 64 * 1024, 0.05))
    catalog(github_entry(data=big))
    kill_9_mid_download("gh-data", "-q")
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists()
    llmdata.fetch("gh-data")
    assert hosts.requests_for(path)[-1].get("range", "").startswith("bytes=")
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == big


def test_four_processes_fetch_the_same_dataset(hosts, catalog):
    path = serve_github(hosts, DATA * 3)
    catalog(github_entry(data=DATA * 3))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: run_cli_subprocess("fetch", "gh-data", "-q"), range(4)))
    for r in results:
        assert r.returncode == 0, r.stderr
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == DATA * 3
    assert no_partial_files("gh-data")
    assert 1 <= len(hosts.requests_for(path)) <= 4


# ------------------------------------------------------------------ archives


def _tar(members: list[tuple[str, bytes | None, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tf.addfile(info)
            else:
                info.size = len(data or b"")
                tf.addfile(info, io.BytesIO(data or b""))
    return buf.getvalue()


def test_archive_is_extracted_after_verification(hosts, catalog):
    archive = _tar([("corpus/a.jsonl", SMALL, "file")])
    hosts.files["corpus.tar.gz"] = archive
    catalog(entry("arch", [{"kind": "url", "url": "https://files.example.org/corpus.tar.gz", "sha256": sha(archive),
                            "size": len(archive), "extract": True}]))
    report = llmdata.fetch("arch")
    assert (report.directory / "corpus" / "corpus" / "a.jsonl").read_bytes() == SMALL


@pytest.mark.parametrize("member", [("../escape.txt", b"x", "file"), ("/abs.txt", b"x", "file"),
                                    ("link", None, "symlink")])
def test_unsafe_archive_members_are_refused(hosts, catalog, member, tmp_path):
    archive = _tar([("ok.txt", b"fine", "file"), member])
    hosts.files["bad.tar.gz"] = archive
    catalog(entry("bad-arch", [{"kind": "url", "url": "https://files.example.org/bad.tar.gz", "sha256": sha(archive),
                                "size": len(archive), "extract": True}]))
    with pytest.raises(UnsafeArchiveError):
        llmdata.fetch("bad-arch")
    root = layout.raw_root() / "bad-arch"
    assert not [p for p in root.rglob("*") if p.is_dir() and p.name in ("bad",)]
    assert not (tmp_path / "escape.txt").exists() and not [p for p in root.rglob("ok.txt")]


# ------------------------------------------------------------------ real files


def _realdata_entries():
    manifest = SHARED / "realdata" / "MANIFEST.yaml"
    if not manifest.is_file():
        return []
    files = {(f["repo"], f["path"]): f for f in yaml.safe_load(manifest.read_text("utf-8"))["files"]}
    from llmdata import resources
    from llmdata.catalog.validate import read_catalog_file

    chosen = []
    for e in read_catalog_file(resources.builtin_catalog()).entries:
        source = e["sources"][0]
        if source["kind"] == "github" and source.get("files") and all(
                (source["repo"], f["path"]) in files for f in source["files"]):
            chosen.append((e["id"], source, [files[(source["repo"], f["path"])] for f in source["files"]]))
    return chosen


REAL = _realdata_entries()


@pytest.mark.skipif(not REAL, reason="../shared/realdata is absent")
@pytest.mark.parametrize(("dataset_id", "source", "items"), REAL, ids=[r[0] for r in REAL])
def test_real_files_fetch_with_catalog_pins(hosts, dataset_id, source, items):
    for item in items:
        hosts.files[f"{item['repo']}/{item['commit']}/{item['path']}"] = (SHARED / "realdata" / item["saved_as"]).read_bytes()
    report = llmdata.fetch(dataset_id)
    assert report.revision == source["ref"] and report.pinned
    for item in items:
        got = stored(dataset_id, source["ref"], item["path"])
        assert hashlib.sha256(got.read_bytes()).hexdigest() == item["sha256"]
        assert got.stat().st_size == item["size"]
