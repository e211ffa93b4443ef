"""Large bodies read from the connection (``fetchers.body``): byte-exact, resumable, and every fault still caught.

In-process tests run each case over plain TCP and over real TLS, and lower
the size from which a body is read this way, and the hasher's buffers, so a
megabyte exercises what a gigabyte does (buffers filled, hashed on the other
thread and reused many times); the kill -9 test runs the real CLI on a body
above the default threshold.
"""

from __future__ import annotations


import httpx
import pytest
from conftest import fill_disk_after, kill_9_mid_download, COMMIT, DATA, sha
from test_fetch import github_entry, no_partial_files, serve_github, stored

import llmdata
from llmdata.errors import DiskFullError, FetchError, IntegrityError
from llmdata.fetchers import body, http, transfer
from llmdata.fetchers.transfer import Pin, RemoteFile
from llmdata.fetchers.verify import BackgroundHash
from llmdata.store import layout

BIG = DATA * 3  # ~2.4 MB


@pytest.fixture(params=["plain", "tls"])
def origin(request):
    """The loopback server over plain TCP, where a large body is read from the socket with ``recv_into``, or over
    real TLS (a throwaway CA the client trusts through ``SSL_CERT_FILE``), where the socket carries ciphertext and
    the body is read with the TLS stream's own ``read``."""
    if request.param == "tls":
        http._tls_context.cache_clear()  # a context built before SSL_CERT_FILE named the test CA
        request.addfinalizer(http._tls_context.cache_clear)
    return request.getfixturevalue("hosts" if request.param == "plain" else "tls_hosts")


@pytest.fixture
def direct(origin, monkeypatch):
    """Every body with a length is read from the connection; counts the reads that went that way and records,
    per read, whether it read the bare socket (``plain_tcp``)."""
    monkeypatch.setattr(body, "DIRECT_MIN", 1)
    monkeypatch.setattr(BackgroundHash, "BLOCK", 256 * 1024)  # a thread, not inline hashing, from 256 KiB
    monkeypatch.setattr(BackgroundHash, "BUFFER", 64 * 1024)
    monkeypatch.setattr(BackgroundHash, "BUFFERS", 2)
    used = {"n": 0, "plain_tcp": []}
    real, real_plain = body._from_connection, body._plain_tcp

    def counted(*args):
        used["n"] += 1
        return real(*args)

    def plain_tcp(stream, sock):
        used["plain_tcp"].append(real_plain(stream, sock))
        return used["plain_tcp"][-1]

    monkeypatch.setattr(body, "_from_connection", counted)
    monkeypatch.setattr(body, "_plain_tcp", plain_tcp)
    return used


def test_a_body_read_from_the_connection_is_byte_exact(origin, catalog, direct):
    serve_github(origin, BIG)
    catalog(github_entry(data=BIG))
    report = llmdata.fetch("gh-data", raw_only=True)
    assert direct["n"] == 1
    assert direct["plain_tcp"] == [origin.url.startswith("http://")]  # the socket itself only without TLS
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG
    assert report.files[0]["sha256"] == sha(BIG)


def test_a_dropped_connection_resumes_from_the_bytes_written(origin, catalog, monkeypatch, direct):
    path = serve_github(origin, BIG)
    monkeypatch.setenv("LLMDATA_RETRIES", "0")
    origin.fault(path, ("drop", 700_000))
    catalog(github_entry(data=BIG))
    with pytest.raises(FetchError, match="resumes"):
        llmdata.fetch("gh-data", raw_only=True)
    [part] = list(layout.parts_dir().glob("*.part"))
    assert part.stat().st_size == 700_000  # every byte received was written before the cut was noticed
    llmdata.fetch("gh-data", raw_only=True)
    assert origin.requests_for(path)[-1]["range"] == "bytes=700000-"
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG


def test_a_server_ignoring_the_range_restarts_cleanly(origin, catalog, direct):
    path = serve_github(origin, BIG)
    origin.fault(path, ("drop", 300_000), ("ignore_range",))
    catalog(github_entry(data=BIG))
    llmdata.fetch("gh-data", raw_only=True)  # retried within the run: the 200 answer restarts the file
    assert origin.requests_for(path)[1]["range"] == "bytes=300000-"
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG


def test_corrupted_bytes_are_caught_and_not_kept(origin, catalog, direct):
    path = serve_github(origin, BIG)
    origin.fault(path, ("corrupt",), ("corrupt",), ("corrupt",))
    catalog(github_entry(data=BIG))
    with pytest.raises(IntegrityError, match=f"expected {sha(BIG)}"):
        llmdata.fetch("gh-data", raw_only=True)
    assert no_partial_files("gh-data") and not list(layout.parts_dir().glob("*.part"))


@pytest.mark.parametrize(("fault", "message"), [(("html",), "HTML page"), (("lfs_pointer",), "Git LFS pointer")])
def test_a_wrong_body_with_status_200_is_refused(origin, catalog, direct, fault, message):
    path = serve_github(origin, BIG)
    origin.fault(path, fault)
    catalog(github_entry(data=BIG))
    with pytest.raises(IntegrityError, match=message):
        llmdata.fetch("gh-data", raw_only=True)
    assert no_partial_files("gh-data")


def test_disk_full_while_reading_from_the_connection(origin, catalog, monkeypatch, direct):
    serve_github(origin, BIG)
    catalog(github_entry(data=BIG))
    real = fill_disk_after(monkeypatch, 3)
    with pytest.raises(DiskFullError, match="disk full"):
        llmdata.fetch("gh-data", raw_only=True)
    assert no_partial_files("gh-data") and not list(layout.parts_dir().glob("*.part"))
    monkeypatch.setattr(transfer, "_write_chunk", real)
    llmdata.fetch("gh-data", raw_only=True)
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG


def test_a_stalled_body_times_out_and_resumes(origin, direct, tmp_path, monkeypatch):
    path = serve_github(origin, BIG)
    origin.fault(path, ("slow", 256 * 1024, 4.0))  # a pause of 4 s after the first 256 KiB
    monkeypatch.setenv("LLMDATA_RETRIES", "5")
    url = f"https://raw.githubusercontent.com/acme/data/{COMMIT}/data/train.jsonl"
    dest = tmp_path / "out.jsonl"
    with httpx.Client(timeout=httpx.Timeout(1.0), headers={"accept-encoding": "identity"}) as client:
        done = transfer.download(client, RemoteFile("data/train.jsonl", url, Pin(sha256=sha(BIG), size=len(BIG))),
                                 dest)
    assert done.sha256 == sha(BIG) and dest.read_bytes() == BIG
    second = origin.requests_for(path)[1]
    assert second["range"].startswith("bytes=") and second["range"] != "bytes=0-"


def test_kill_9_while_reading_from_the_connection_then_resume(hosts, catalog):
    big = DATA * 25  # ~20 MB: above the default size read from the connection
    assert len(big) >= body.DIRECT_MIN
    path = serve_github(hosts, big)
    hosts.fault(path, ("slow", 64 * 1024, 0.05))
    catalog(github_entry(data=big))
    sizes = kill_9_mid_download("gh-data", "-q", "--raw-only")
    assert sizes and sizes[0] > 256 * 1024  # the part grows as bytes arrive, not per buffer
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists()
    llmdata.fetch("gh-data", raw_only=True)
    assert hosts.requests_for(path)[-1].get("range", "").startswith("bytes=")
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == big
