"""Credentials for private hosts: ``~/.netrc`` for exactly its host, and a warning for secrets written into a catalog URL."""

from __future__ import annotations

from conftest import DATA, entry, run_cli_subprocess, sha

import llmdata

URL = "https://files.example.org/private/train.jsonl"


def _netrc(tmp_path, monkeypatch, text: str):
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    return path


def test_a_netrc_login_goes_to_its_host_and_to_no_other(hosts, other_host, catalog, tmp_path, monkeypatch):
    # the private host is 127.0.0.2; it redirects to 127.0.0.1, which has no netrc entry
    _netrc(tmp_path, monkeypatch, "machine 127.0.0.2 login reader password s3cret-pw\n")
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://private.example.net={other_host.url}/files")
    other_host.files["private/train.jsonl"] = DATA
    hosts.files["cdn/train.jsonl"] = DATA
    other_host.fault("/files/private/train.jsonl", ("redirect", f"{hosts.url}/files/cdn/train.jsonl"))
    catalog(entry("private", [{"kind": "url", "url": "https://private.example.net/private/train.jsonl",
                               "sha256": sha(DATA), "size": len(DATA)}]))
    result = run_cli_subprocess("fetch", "private", "--raw-only", "--json")
    assert result.returncode == 0, result.stderr
    [first] = other_host.requests_for("/files/private/train.jsonl")
    assert first["authorization"] == "Basic cmVhZGVyOnMzY3JldC1wdw=="  # reader:s3cret-pw
    [cdn] = hosts.requests_for("/files/cdn/train.jsonl")
    assert "authorization" not in cdn
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_a_host_without_a_netrc_entry_gets_no_credentials(other_host, hosts, catalog, tmp_path, monkeypatch):
    _netrc(tmp_path, monkeypatch, "machine mirror.example.net login reader password s3cret-pw\n")
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://files.example.org={other_host.url}/files")
    other_host.files["private/train.jsonl"] = DATA
    catalog(entry("private", [{"kind": "url", "url": URL, "sha256": sha(DATA), "size": len(DATA)}]))
    llmdata.fetch("private", raw_only=True)
    [request] = other_host.requests_for("/files/private/train.jsonl")
    assert "authorization" not in request


def test_a_netrc_that_does_not_parse_is_named_and_skipped(other_host, hosts, catalog, tmp_path, monkeypatch,
                                                          caplog):
    path = _netrc(tmp_path, monkeypatch, "machine 127.0.0.2 login reader password pw\nbogus x\n")
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://files.example.org={other_host.url}/files")
    other_host.files["private/train.jsonl"] = DATA
    catalog(entry("private", [{"kind": "url", "url": URL, "sha256": sha(DATA), "size": len(DATA)}]))
    llmdata.fetch("private", raw_only=True)
    assert "authorization" not in other_host.requests_for("/files/private/train.jsonl")[0]
    assert any(str(path) in r.getMessage() and "not used" in r.getMessage() and "line 2" in r.getMessage()
               for r in caplog.records)


def test_validate_warns_about_credentials_written_into_a_catalog_url(write_catalog, cli):
    path = write_catalog(
        "- id: private-a\n"
        "  name: Private A\n"
        "  summary: {en: A private mirror of a corpus., zh: 私有镜像。}\n"
        "  category: sft\n"
        "  languages: [en]\n"
        "  license: mit\n"
        "  commercial: true\n"
        "  access: public\n"
        "  sources:\n"
        "    - kind: url\n"
        "      url: https://reader:hunter2@mirror.example.net/a.jsonl\n"
        "    - kind: url\n"
        "      url: https://mirror.example.net/a.jsonl?token=abc123\n")
    result = cli("validate", str(path))
    assert result.code == 0  # a warning: the entry still works
    text = result.out + result.err
    assert text.count("carries credentials") == 2
    assert f"{path}:11" in text and f"{path}:13" in text
    assert "~/.netrc" in text
    assert "hunter2" not in text and "abc123" not in text
