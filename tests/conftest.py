"""Hermetic test environment: every test gets its own store and no stray settings."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from servers import FakeServer

from llmdata.cli.app import main

REPO = Path(__file__).resolve().parent.parent
SHARED = next((p / "shared" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()), REPO.parent / "shared")

_ENV_VARS = ("LLMDATA_HOME", "LLMDATA_CATALOG", "LLMDATA_MIRRORS", "LLMDATA_OFFLINE", "HF_ENDPOINT",
             "HF_TOKEN", "HF_HUB_OFFLINE", "GITHUB_TOKEN")


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("LLMDATA_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NETRC", str(tmp_path / "no.netrc"))  # never the developer's own ~/.netrc
    return home


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the real console entry point in-process; returns exit code and captured output."""

    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_cli_subprocess(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "llmdata", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


MINIMAL_ENTRY = """\
- id: {id}
  name: {name}
  summary:
    en: {en}
    zh: {zh}
  category: {category}
  domains: [{domains}]
  languages: [{languages}]
  license: {license}
  commercial: {commercial}
  access: public
  sources:
    - kind: url
      url: https://example.org/{id}.jsonl
"""


def entry_yaml(**overrides) -> str:
    values = dict(id="my-data", name="My private data", en="A private instruction set for tests.",
                  zh="测试用的私有指令数据。", category="sft", domains="general", languages="en",
                  license="mit", commercial="true")
    values.update(overrides)
    return MINIMAL_ENTRY.format(**values)


@pytest.fixture
def write_catalog(tmp_path):
    def write(text: str, name: str = "user.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


# ------------------------------------------------------------------ loopback hosts shared by the fetch tests

COMMIT = "a" * 40
HF_COMMIT = "b" * 40
DATA = b"".join(b'{"instruction": "q%d", "output": "a%d"}\n' % (i, i) for i in range(20000))  # ~0.8 MB
SMALL = b'{"instruction": "hi", "output": "hello"}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def _server_127_0_0_1():
    s = FakeServer("127.0.0.1")
    yield s
    s.close()


@pytest.fixture(scope="session")
def _server_127_0_0_2():
    s = FakeServer("127.0.0.2")
    yield s
    s.close()


@pytest.fixture(scope="session")
def _tls_server(tmp_path_factory):
    """The loopback server over HTTPS, its certificate signed by a throwaway CA (trustme); yields it and the CA file."""
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    s = FakeServer("127.0.0.1", tls=context)
    yield s, ca_file
    s.close()


@pytest.fixture
def tls_hosts(_tls_server, monkeypatch):
    """``hosts`` over HTTPS: the client trusts the server's CA through ``SSL_CERT_FILE``, as a user's would."""
    tls, ca_file = _tls_server
    tls.reset()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    point_at_loopback(monkeypatch, tls.url)
    return tls


@pytest.fixture
def server(_server_127_0_0_1):
    """The loopback server, emptied for this test (one thread per session, not per test)."""
    _server_127_0_0_1.reset()
    return _server_127_0_0_1


@pytest.fixture
def other_host(_server_127_0_0_2):
    """A second loopback host (127.0.0.2), for redirects that must not carry tokens."""
    _server_127_0_0_2.reset()
    return _server_127_0_0_2


def fill_disk_after(monkeypatch, writes: int):
    """Downloads write ``writes`` chunks, then the disk is full (ENOSPC), as a real full disk reports it.
    Returns the real chunk writer, for a test that frees the disk again."""
    import errno

    from llmdata.fetchers import transfer

    calls = {"n": 0}
    real = transfer._write_chunk

    def full_disk(fh, data):
        calls["n"] += 1
        if calls["n"] > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, data)

    monkeypatch.setattr(transfer, "_write_chunk", full_disk)
    return real


def kill_9_mid_download(*fetch_args: str, past: int = 256 * 1024) -> list[int]:
    """Run ``llmdata fetch ARGS`` in a process and SIGKILL it once its part file holds more than ``past`` bytes
    (or after 60 s); returns the part sizes seen last, for the test to check the kill came mid-download."""
    import signal
    import time

    from llmdata.store import layout

    proc = subprocess.Popen([sys.executable, "-m", "llmdata", "fetch", *fetch_args], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = layout.parts_dir()
    deadline = time.time() + 60
    sizes: list[int] = []
    while time.time() < deadline:
        sizes = [p.stat().st_size for p in parts.glob("*.part")] if parts.exists() else []
        if sizes and sizes[0] > past:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return sizes


def point_at_loopback(monkeypatch, url: str, *, retries: int = 2, backoff: float = 0.05,
                      files_prefix: str = "https://files.example.org") -> None:
    """Send every Hub, ModelScope, GitHub (API, raw, LFS media) and plain-file request to the server at ``url``."""
    from llmdata.fetchers import http

    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", url)
    monkeypatch.setenv("LLMDATA_MIRRORS", ";".join([
        f"https://api.github.com={url}/api",
        f"https://raw.githubusercontent.com={url}/raw",
        f"https://media.githubusercontent.com/media={url}/media",
        f"{files_prefix}={url}/files" + ("/" if files_prefix.endswith("/") else ""),
    ]))
    monkeypatch.setenv("LLMDATA_RETRIES", str(retries))
    monkeypatch.setattr(http, "MAX_BACKOFF", backoff)


@pytest.fixture
def hosts(server, monkeypatch):
    """Point the Hub, GitHub and example.org at the loopback server; retries fast and few."""
    point_at_loopback(monkeypatch, server.url)
    return server


def entry(id_: str, sources: list[dict], access: str = "public", **extra) -> dict:
    """A minimal valid catalog entry as a dict (for the ``catalog`` fixture)."""
    e = {"id": id_, "name": f"Test {id_}", "summary": {"en": "A test dataset for fetching.", "zh": "测试下载用的数据。"},
         "category": "sft", "languages": ["en"], "license": "mit", "commercial": True, "access": access,
         "sources": sources}
    e.update(extra)
    return e


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """Write entries to a user catalog named by LLMDATA_CATALOG."""
    path = tmp_path / "fetch-catalog.yaml"

    def write(*entries: dict):
        path.write_text(yaml.safe_dump(list(entries), allow_unicode=True, sort_keys=False), encoding="utf-8")
        monkeypatch.setenv("LLMDATA_CATALOG", str(path))
        return path

    return write


# ------------------------------------------------------------------ a small alpaca dataset served from loopback GitHub

TRAIN = b"".join(json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}"}).encode() + b"\n"
                 for i in range(50)) + b'{"instruction": "broken"}\n'
TEST = json.dumps([{"instruction": "t", "input": "x", "output": "y"}]).encode()


def alpaca_entry():
    """A two-split alpaca entry (51 train records, one of them broken; 1 test record)."""
    return entry("alpaca-mini", [{"kind": "github", "repo": "acme/data", "ref": COMMIT, "files": [
        {"path": "train.jsonl", "sha256": sha(TRAIN), "size": len(TRAIN)},
        {"path": "test.json", "sha256": sha(TEST), "size": len(TEST)},
    ]}], splits={"train": ["train.jsonl"], "test": ["test.json"]},
        format={"produces": "chat", "reader": "json", "converter": "alpaca"})


@pytest.fixture
def served(hosts, catalog):
    """``alpaca-mini`` on the loopback GitHub, in a user catalog."""
    hosts.files[f"acme/data/{COMMIT}/train.jsonl"] = TRAIN
    hosts.files[f"acme/data/{COMMIT}/test.json"] = TEST
    catalog(alpaca_entry())
    return hosts


# ------------------------------------------------------------------ one local Ray for every Ray test


@pytest.fixture(scope="session")
def ray_local():
    """A local Ray with 2 CPUs, started once for the session (its start-up is the Ray tests' largest cost)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
