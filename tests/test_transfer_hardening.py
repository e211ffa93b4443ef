"""Issue 12, network and secrets: the real CLI against loopback servers that lie, flood, refuse and stall.

Each test drives ``llmdata`` (in-process through ``main``, or as a subprocess
where a signal is the point) and checks that the outcome is a clear message
and an exit code, never a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from servers import FakeServer, HubRepo, IndexedCatalog

from llmdata import settings
from llmdata.store import layout
from llmdata.fetchers import http, scratch

DATA = b"".join(b'{"instruction": "q%d", "output": "a%d"}\n' % (i, i) for i in range(20000))
SMALL = b'{"instruction": "hi", "output": "hello"}\n'
SECRET = "pa55-w0rd-7f3e"
TOKEN = "tok-91c2-signed"
HF_COMMIT = "b" * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(id_: str, *sources: dict, **extra) -> dict:
    return {"id": id_, "name": f"Test {id_}", "summary": {"en": "A test dataset for fetching.", "zh": "测试下载用的数据。"},
            "category": "sft", "languages": ["en"], "license": "mit", "commercial": True, "access": "public",
            "sources": list(sources), **extra}


def url_source(url: str, data: bytes | None = None, **pin) -> dict:
    source = {"kind": "url", "url": url}
    if data is not None:
        source.update(sha256=sha(data), size=len(data))
    return {**source, **pin}


FILES = "https://files.example.org"
CREDENTIALED = f"https://alice:{SECRET}@files.example.org"
PINNED = b"p" * 110_000
WRONG_PIN = sha(DATA[::-1])  # same size as DATA, other bytes: what a changed upstream looks like
ENTRIES = [
    entry("leaky-missing", url_source(f"{CREDENTIALED}/private/none.jsonl?token={TOKEN}&v=1", DATA)),
    entry("leaky", url_source(f"{CREDENTIALED}/private/data.jsonl?token={TOKEN}&v=1", DATA)),
    entry("gated", {"kind": "hf", "repo": "acme/gated"}, access="gated", instructions="Accept the terms."),
    entry("same-host", url_source("https://other.example.org/x.jsonl", SMALL)),
    entry("flooded", url_source(f"{FILES}/big.bin", PINNED)),
    entry("patient", url_source(f"{FILES}/x.jsonl", SMALL)),
    entry("slow-down", url_source(f"{FILES}/x.jsonl", SMALL)),
    entry("quiet", url_source(f"{FILES}/y.jsonl", SMALL)),
    entry("rot", url_source(f"{FILES}/x.jsonl", DATA)),
    entry("two-sources", url_source("https://closed.example.org/x.jsonl", DATA), url_source(f"{FILES}/x.jsonl", DATA)),
    entry("stale-pin", url_source(f"{FILES}/x.jsonl", sha256=WRONG_PIN, size=len(DATA))),
    entry("cut", url_source(f"{FILES}/x.jsonl", DATA)),
    entry("interrupted", url_source(f"{FILES}/big.jsonl", DATA * 4)),
    entry("sweeper", url_source(f"{FILES}/x.jsonl", SMALL)),
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return IndexedCatalog(tmp_path_factory.mktemp("transfer-hardening"), ENTRIES)


@pytest.fixture
def server():
    s = FakeServer("127.0.0.1")
    yield s
    s.close()


@pytest.fixture
def files(server, indexed, monkeypatch):
    """The catalog's hosts served by the loopback server; few retries, no real sleeping.

    ``files.mirror(prefix, target)`` adds a rewrite (a second server, a closed port).
    """
    indexed.install(monkeypatch)
    mirrors = {FILES: f"{server.url}/files"}

    def mirror(prefix: str, target: str) -> None:
        mirrors[prefix] = target
        monkeypatch.setenv("LLMDATA_MIRRORS", ";".join(f"{k}={v}" for k, v in mirrors.items()))

    mirror(FILES, f"{server.url}/files")
    monkeypatch.setenv("LLMDATA_RETRIES", "2")
    waits: list[float] = []
    monkeypatch.setattr(http, "_wait", waits.append)
    server.waits, server.mirror = waits, mirror
    return server


def no_traceback(result) -> bool:
    return "Traceback" not in result.err + result.out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def store_bytes() -> bytes:
    """Every byte the fetchers wrote: the ledger's rows, parts, their metadata, raw files.

    The rest of index.sqlite is the search index, a copy of the catalog as the
    user wrote it (credentials included); redacting it is the index's job.
    """
    import sqlite3

    chunks = [p.read_bytes() for p in settings.home().rglob("*") if p.is_file() and "index.sqlite" not in p.name]
    with sqlite3.connect(layout.index_path()) as con:
        for table in ("ledger_file", "ledger_dataset"):
            chunks += [repr(row).encode() for row in con.execute(f"SELECT * FROM {table}")]  # noqa: S608
    return b"".join(chunks)


# ------------------------------------------------------------------ secrets


def test_credentials_in_a_url_are_used_but_never_shown_or_stored(files, cli):
    files.files["private/data.jsonl"] = DATA
    files.mirror(CREDENTIALED, files.url.replace("http://", f"http://alice:{SECRET}@") + "/files")

    failed = cli("fetch", "leaky-missing")
    assert failed.code == 1 and no_traceback(failed)
    assert "not found" in failed.err and "token=REDACTED" in failed.err

    fetched = cli("fetch", "leaky", "--json")
    assert fetched.code == 0, fetched.err
    [report] = fetched.json()
    assert report["files"][0]["sha256"] == sha(DATA)
    shown_again = cli("fetch", "leaky")  # the human output, from the stored copy
    listing = cli("list", "--json")
    assert listing.code == 0 and listing.json()[0]["dataset_id"] == "leaky"

    card, found = cli("info", "leaky", "--json"), cli("search", "leaky", "--json")  # the card, as users see it
    assert card.code == 0 and found.code == 0 and "files.example.org" in card.out + found.out
    outputs = failed.out + failed.err + fetched.out + fetched.err + shown_again.out + shown_again.err + listing.out
    outputs += card.out + card.err + found.out + found.err
    assert SECRET not in outputs and TOKEN not in outputs
    assert SECRET.encode() not in store_bytes() and TOKEN.encode() not in store_bytes()
    [request] = files.requests_for("/files/private/data.jsonl")  # the credentials did reach their own origin
    assert request["authorization"] == "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()


def test_hf_token_goes_to_its_exact_origin_only(files, cli, monkeypatch):
    other_port = FakeServer("127.0.0.1")  # same host as the Hub, another port
    try:
        files.hub["acme/gated"] = HubRepo(HF_COMMIT, {"d.jsonl": SMALL}, token="hf_secret")
        other_port.files["x.jsonl"] = SMALL
        files.mirror("https://other.example.org", f"{other_port.url}/files")
        monkeypatch.setenv("HF_ENDPOINT", files.url)
        monkeypatch.setenv("HF_TOKEN", "hf_secret")
        results = [cli("fetch", "gated"), cli("fetch", "same-host")]
        assert [r.code for r in results] == [0, 0], [r.err for r in results]
        assert files.requests_for(f"/datasets/acme/gated/resolve/{HF_COMMIT}/d.jsonl")[0]["authorization"] \
            == "Bearer hf_secret"
        [request] = other_port.requests_for("/files/x.jsonl")
        assert "authorization" not in request
        assert all("hf_secret" not in r.out + r.err for r in results)
    finally:
        other_port.close()


def test_github_token_only_to_github_over_https(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    assert http.auth_headers("https://raw.githubusercontent.com/a/b/c") == {"authorization": "Bearer ghp_x"}
    for url in ("http://raw.githubusercontent.com/a/b/c", "https://raw.githubusercontent.com:8443/a",
                "https://raw.githubusercontent.com.evil.example/a"):
        assert http.auth_headers(url) == {}


# ------------------------------------------------------------------ downloads


@pytest.mark.parametrize("declare_length", [False, True], ids=["streamed", "content-length"])
def test_a_body_longer_than_the_pin_is_cut_at_pin_plus_one(files, cli, declare_length):
    flood = 200 * 1024 * 1024
    files.files["big.bin"] = PINNED
    files.fault("/files/big.bin", ("flood", flood, declare_length))
    start = time.monotonic()
    result = cli("fetch", "flooded")
    assert time.monotonic() - start < 5
    assert result.code == 1 and no_traceback(result)
    assert f"expected {len(PINNED)} bytes" in result.err
    if declare_length:
        assert f"announces {flood}" in result.err
    else:
        assert f"reading stopped at {len(PINNED) + 1}" in result.err
    assert "re-pin the entry" in result.err and "llmdata pin flooded" in result.err
    assert files.sent.get("/files/big.bin", 0) < flood // 8  # the rest was never read
    assert not list(layout.parts_dir().glob("*.part"))


def test_unparsable_retry_after_falls_back_to_the_backoff(files, cli):
    files.files["x.jsonl"] = SMALL
    files.fault("/files/x.jsonl", ("status", 503, {"Retry-After": "soon"}),
                ("status", 429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))  # a date in the past
    result = cli("fetch", "patient")
    assert result.code == 0 and no_traceback(result), result.err
    assert files.waits == [http.backoff(0, None), 0.0]


def test_long_waits_are_announced_by_the_cli_only(files, cli, capsys, monkeypatch):
    files.files["x.jsonl"] = SMALL
    files.fault("/files/x.jsonl", ("status", 429, {"Retry-After": "30"}))
    result = cli("fetch", "slow-down")
    assert result.code == 0 and files.waits == [30.0]
    assert "rate-limited (429); waiting 30 s" in result.err and "files/x.jsonl" in result.err

    import llmdata

    files.files["y.jsonl"] = SMALL
    files.fault("/files/y.jsonl", ("status", 429, {"Retry-After": "30"}))
    monkeypatch.setattr(logging.getLogger("llmdata"), "handlers", [])  # a program that did not ask to hear
    capsys.readouterr()
    llmdata.fetch("quiet")
    assert capsys.readouterr().err == "" and files.waits == [30.0, 30.0]


def test_a_damaged_stored_copy_is_downloaded_again(files, cli):
    files.files["x.jsonl"] = DATA
    assert cli("fetch", "rot").code == 0
    [stored] = list(layout.raw_root().rglob("x.jsonl"))
    stored.write_bytes(b"#" + DATA[1:])  # same size, wrong bytes
    result = cli("fetch", "rot")
    assert result.code == 0 and no_traceback(result), result.err
    assert "damaged" in result.err and "downloading it again" in result.err
    assert stored.read_bytes() == DATA and cli("verify", "rot").code == 0
    assert len(files.requests_for("/files/x.jsonl")) == 2


def test_a_refused_connection_moves_to_the_next_source_at_once(files, cli, monkeypatch):
    monkeypatch.delenv("LLMDATA_RETRIES", raising=False)  # the default retries and backoff
    monkeypatch.setattr(http, "_wait", time.sleep)  # and real waiting, were there any
    files.files["x.jsonl"] = DATA
    files.mirror("https://closed.example.org", f"http://127.0.0.1:{closed_port()}")
    start = time.monotonic()
    result = cli("fetch", "two-sources", "--json")
    elapsed = time.monotonic() - start
    assert result.code == 0, result.err
    assert elapsed < 2
    [report] = result.json()
    assert "connection refused" in report["skipped_sources"][0] and report["source"].startswith(FILES)


def test_a_wrong_pin_says_re_pin_and_a_cut_transfer_says_run_again(files, cli, monkeypatch):
    files.files["x.jsonl"] = DATA
    result = cli("fetch", "stale-pin")
    assert result.code == 1 and no_traceback(result)
    assert f"expected {WRONG_PIN}, got {sha(DATA)}" in result.err
    assert "re-pin the entry" in result.err and "llmdata pin stale-pin" in result.err
    assert "run the same command again" not in result.err

    monkeypatch.setenv("LLMDATA_RETRIES", "0")
    files.fault("/files/x.jsonl", ("drop", len(DATA) // 3))
    result = cli("fetch", "cut")
    assert result.code == 1 and no_traceback(result)
    assert "run the same command again" in result.err and "re-pin" not in result.err


# ------------------------------------------------------------------ interrupts and leftovers


def test_ctrl_c_says_how_to_resume_and_leaves_no_lock_files(files, cli):
    big = DATA * 4
    files.files["big.jsonl"] = big
    files.fault("/files/big.jsonl", ("slow", 64 * 1024, 0.05))
    proc = subprocess.Popen([sys.executable, "-m", "llmdata", "fetch", "interrupted", "-q"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = layout.parts_dir()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if parts.exists() and any(p.stat().st_size > 128 * 1024 for p in parts.glob("*.part")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; run the same command to resume" in err and "Traceback" not in err
    assert not list(parts.glob("*.lock"))
    assert list(parts.glob("*.part"))  # kept: the next run resumes it
    assert cli("fetch", "interrupted").code == 0
    assert files.requests_for("/files/big.jsonl")[-1]["range"].startswith("bytes=")


def test_leftovers_of_dead_processes_in_tmp_parts_are_swept(files, cli):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    parts = layout.parts_dir()  # created by the call
    old = time.time() - 2 * scratch.MIN_AGE
    stale_lock = parts / ("1" * 32 + ".lock")
    orphan_meta = parts / ("2" * 32 + ".json")
    private = parts / f"{'3' * 32}.{dead.pid}-0badf00d.part"
    resumable = [parts / ("4" * 32 + ".part"), parts / ("4" * 32 + ".json")]
    live_private = parts / f"{'5' * 32}.{os.getpid()}-0badf00d.part"
    for path in (stale_lock, orphan_meta, private, *resumable, live_private):
        path.write_bytes(b"")
        os.utime(path, (old, old))
    files.files["x.jsonl"] = SMALL
    assert cli("fetch", "sweeper").code == 0
    assert not stale_lock.exists() and not orphan_meta.exists() and not private.exists()
    assert all(p.exists() for p in resumable) and live_private.exists()
    assert not list(parts.glob("*.lock"))
