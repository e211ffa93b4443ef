"""A server whose TLS certificate the client does not trust: one clear error at once, nothing stored.

Downloads over trusted TLS (bytes, resume after a cut, corruption, stalls,
disk full) run in ``test_transfer_direct.py`` beside the same cases over
plain TCP.
"""

from __future__ import annotations

from conftest import COMMIT, DATA
from test_fetch import github_entry, no_partial_files, serve_github, stored

from llmdata.fetchers import http


def test_an_untrusted_certificate_fails_clearly_and_stores_nothing(tls_hosts, catalog, monkeypatch, cli):
    monkeypatch.delenv("SSL_CERT_FILE")  # back to the default CA bundle, which does not know the test CA
    http._tls_context.cache_clear()
    serve_github(tls_hosts, DATA)
    catalog(github_entry(data=DATA))
    result = cli("fetch", "gh-data", "--raw-only")
    assert result.code != 0
    assert "TLS certificate is not trusted" in result.err and "SSL_CERT_FILE" in result.err
    assert len(tls_hosts.requests) == 0  # refused at the handshake, and not retried: the same certificate fails again
    assert "Traceback" not in result.err
    assert not stored("gh-data", COMMIT, "data/train.jsonl").exists() and no_partial_files("gh-data")
    http._tls_context.cache_clear()
