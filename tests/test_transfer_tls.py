"""Downloads over real TLS: the loopback server speaks HTTPS with a certificate from a throwaway CA.

A large body over TLS is read with the TLS stream's own ``read`` (``fetchers.body``),
not from the socket: the socket carries ciphertext. These tests take that branch
for real, with the client trusting the CA the way a user's would (``SSL_CERT_FILE``),
and check that the bytes, resume after a cut, integrity failures and an untrusted
certificate all behave as they do over plain HTTP.
"""

from __future__ import annotations

import pytest
from conftest import COMMIT, DATA, sha
from test_fetch import github_entry, no_partial_files, serve_github, stored

import llmdata
from llmdata.errors import FetchError, IntegrityError
from llmdata.fetchers import body, http
from llmdata.fetchers.verify import BackgroundHash
from llmdata.store import layout

BIG = DATA * 3  # ~2.4 MB


@pytest.fixture
def over_tls(monkeypatch):
    """Every body with a length is read from the connection; records which branch each read took."""
    monkeypatch.setattr(body, "DIRECT_MIN", 1)
    monkeypatch.setattr(BackgroundHash, "BUFFER", 64 * 1024)
    monkeypatch.setattr(BackgroundHash, "BUFFERS", 2)
    http._tls_context.cache_clear()  # a context built before SSL_CERT_FILE pointed at the test CA
    branches: list[bool] = []
    real = body._plain_tcp

    def spied(stream, sock):
        branches.append(real(stream, sock))
        return branches[-1]

    monkeypatch.setattr(body, "_plain_tcp", spied)
    yield branches
    http._tls_context.cache_clear()


def test_a_large_body_over_tls_is_byte_exact(tls_hosts, catalog, over_tls):
    assert tls_hosts.url.startswith("https://")
    serve_github(tls_hosts, BIG)
    catalog(github_entry(data=BIG))
    report = llmdata.fetch("gh-data", raw_only=True)
    assert over_tls == [False]  # the TLS stream's read, not the raw socket
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG
    assert report.files[0]["sha256"] == sha(BIG)


def test_a_cut_tls_connection_resumes_from_the_bytes_written(tls_hosts, catalog, monkeypatch, over_tls):
    path = serve_github(tls_hosts, BIG)
    monkeypatch.setenv("LLMDATA_RETRIES", "0")
    tls_hosts.fault(path, ("drop", 700_000))
    catalog(github_entry(data=BIG))
    with pytest.raises(FetchError, match="resumes"):
        llmdata.fetch("gh-data", raw_only=True)
    [part] = list(layout.parts_dir().glob("*.part"))
    assert part.stat().st_size == 700_000
    llmdata.fetch("gh-data", raw_only=True)
    assert tls_hosts.requests_for(path)[-1]["range"] == "bytes=700000-"
    assert stored("gh-data", COMMIT, "data/train.jsonl").read_bytes() == BIG


def test_corrupted_bytes_over_tls_are_caught_and_not_kept(tls_hosts, catalog, over_tls):
    path = serve_github(tls_hosts, BIG)
    tls_hosts.fault(path, ("corrupt",), ("corrupt",), ("corrupt",))
    catalog(github_entry(data=BIG))
    with pytest.raises(IntegrityError, match=f"expected {sha(BIG)}"):
        llmdata.fetch("gh-data", raw_only=True)
    assert False in over_tls
    assert no_partial_files("gh-data") and not list(layout.parts_dir().glob("*.part"))


def test_an_untrusted_certificate_fails_clearly_and_stores_nothing(tls_hosts, catalog, monkeypatch, cli):
    monkeypatch.delenv("SSL_CERT_FILE")  # back to the default CA bundle, which does not know the test CA
    http._tls_context.cache_clear()
    serve_github(tls_hosts, BIG)
    catalog(github_entry(data=BIG))
    result = cli("fetch", "gh-data", "--raw-only")
    assert result.code != 0
    assert "TLS certificate is not trusted" in result.err and "SSL_CERT_FILE" in result.err
    assert len(tls_hosts.requests) == 0  # refused at the handshake, and not retried: the same certificate fails again
    assert "Traceback" not in result.err
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists() and no_partial_files("gh-data")
    http._tls_context.cache_clear()
