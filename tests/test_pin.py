"""`llmdata pin` and ModelScope sources, against the loopback Hub, GitHub, ModelScope and file servers."""

from __future__ import annotations

import hashlib

import pytest
from conftest import point_at_loopback
from servers import FakeServer, HubRepo, git_blob

import llmdata
from llmdata.errors import IntegrityError
from llmdata.api import pin
from llmdata.store import layout

COMMIT = "c" * 40
HF_COMMIT = "d" * 40
MS_COMMIT = "e" * 40
DATA = b"".join(b'{"instruction": "q%d", "output": "a%d"}\n' % (i, i) for i in range(500))
OTHER = b'{"instruction": "x", "output": "y"}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server(monkeypatch):
    s = FakeServer("127.0.0.1")
    point_at_loopback(monkeypatch, s.url, retries=1)
    yield s
    s.close()


# A user catalog in the README's own mixed indentation, with comments, flow and block styles.
CATALOG = """\
# my catalog: comments and order must survive `llmdata pin --write`
- id: my-hub
  name: My Hub data
  summary: {en: Hub data to pin in place., zh: 待固定的 Hub 数据。}
  category: sft
  languages: [en]
  license: mit
  access: public
  sources:
    - kind: hf   # the Hub copy
      repo: acme/hub-data
      files:
        - {path: data/train.jsonl}   # the only file we want
  splits: {train: [data/train.jsonl]}

- id: my-gh
  name: My GitHub data
  summary: {en: GitHub data to pin in place., zh: 待固定的 GitHub 数据。}
  category: sft
  languages: [en]
  license: mit
  access: public
  sources:
    - kind: github
      repo: acme/gh-data
      ref: main
      files:
        - path: data/train.jsonl
        - {path: extra.jsonl}
    - kind: url   # a plain mirror
      url: https://files.example.org/train.jsonl

- id: my-ms
  name: My ModelScope data
  summary: {en: ModelScope data to pin in place., zh: 待固定的魔搭数据。}
  category: sft
  languages: [zh]
  license: apache-2.0
  access: public
  sources:
    - {kind: modelscope, repo: acme/ms-data}
"""


def serve_all(server: FakeServer) -> None:
    server.hub["acme/hub-data"] = HubRepo(HF_COMMIT, {"data/train.jsonl": DATA, "README.md": b"# card\n"},
                                          lfs={"data/train.jsonl"})
    server.commits[("acme/gh-data", "main")] = COMMIT
    server.files[f"acme/gh-data/{COMMIT}/data/train.jsonl"] = DATA
    server.files[f"acme/gh-data/{COMMIT}/extra.jsonl"] = OTHER
    server.files["train.jsonl"] = DATA
    server.modelscope["acme/ms-data"] = HubRepo(MS_COMMIT, {"data/train.jsonl": DATA, "README.md": b"# ms\n"})


def test_pin_write_changes_only_the_pinned_keys(server, tmp_path, cli):
    serve_all(server)
    path = tmp_path / "mine.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    result = cli("pin", "my-hub", "my-gh", "my-ms", "--catalog", str(path), "--write")
    assert result.code == 0, result.err
    after = path.read_text("utf-8")

    expected = CATALOG.replace(
        "      repo: acme/hub-data\n      files:\n        - {path: data/train.jsonl}   # the only file we want\n",
        f"      repo: acme/hub-data\n      revision: {HF_COMMIT}\n      files:\n"
        f"        - {{path: data/train.jsonl, sha256: {sha(DATA)}, size: {len(DATA)}}}\n",
    ).replace(
        "      ref: main\n      files:\n        - path: data/train.jsonl\n        - {path: extra.jsonl}\n",
        f"      ref: {COMMIT}\n      files:\n"
        f"        - {{path: data/train.jsonl, size: {len(DATA)}, git_blob: {git_blob(DATA)}}}\n"
        f"        - {{path: extra.jsonl, size: {len(OTHER)}, git_blob: {git_blob(OTHER)}}}\n",
    ).replace(
        "      url: https://files.example.org/train.jsonl\n",
        f"      url: https://files.example.org/train.jsonl\n      sha256: {sha(DATA)}\n      size: {len(DATA)}\n",
    ).replace(
        "    - {kind: modelscope, repo: acme/ms-data}\n",
        f"    - kind: modelscope\n      repo: acme/ms-data\n      revision: {MS_COMMIT}\n      files:\n"
        f"        - {{path: README.md, sha256: {sha(b'# ms' + bytes([10]))}, size: 5}}\n"
        f"        - {{path: data/train.jsonl, sha256: {sha(DATA)}, size: {len(DATA)}}}\n",
    )
    assert after == expected  # everything else byte-identical: comments, order, indentation, quoting
    # the comment on the rewritten flow item is the one thing a line rewrite drops
    assert "# the Hub copy" in after and "# a plain mirror" in after

    # now every source is pinned: a second run writes nothing and the catalog validates
    again = llmdata.validate([path])
    assert [p for p in again[1] if p.severity == "error"] == []
    results = pin(["my-hub", "my-gh", "my-ms"], catalogs=[path], write=True)
    assert all(r.skipped == "already pinned" for r in results)
    assert path.read_text("utf-8") == after


def test_pin_without_write_prints_yaml_and_leaves_the_file(server, tmp_path, cli):
    serve_all(server)
    path = tmp_path / "mine.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    result = cli("pin", "my-gh", "--catalog", str(path))
    assert result.code == 0, result.err
    assert f"ref: {COMMIT}" in result.out and git_blob(OTHER) in result.out and sha(DATA) in result.out
    assert path.read_text("utf-8") == CATALOG
    data = cli("pin", "my-gh", "--catalog", str(path), "--json").json()
    assert [d["kind"] for d in data] == ["github", "url"] and data[1]["values"]["size"] == len(DATA)


def test_pin_unknown_id_and_missing_file_say_what_to_do(server, tmp_path, cli):
    serve_all(server)
    del server.files[f"acme/gh-data/{COMMIT}/extra.jsonl"]
    path = tmp_path / "mine.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    result = cli("pin", "my-gj", "--catalog", str(path))
    assert result.code == 2 and "my-gh" in result.err
    result = cli("pin", "my-gh", "--catalog", str(path), "--write")
    assert result.code == 1 and "extra.jsonl is not in acme/gh-data" in result.err
    assert path.read_text("utf-8") == CATALOG  # nothing half-written


def test_modelscope_fetch_resolves_lists_and_verifies(server, tmp_path, monkeypatch):
    serve_all(server)
    path = tmp_path / "ms.yaml"
    path.write_text(CATALOG.split("- id: my-hub")[0] + "- id: my-ms" + CATALOG.split("- id: my-ms")[1]
                    .replace("{kind: modelscope, repo: acme/ms-data}",
                             "{kind: modelscope, repo: acme/ms-data, files: [{path: data/train.jsonl}]}"),
                    encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    report = llmdata.fetch("my-ms", raw_only=True)
    assert report.kind == "modelscope" and report.revision == MS_COMMIT
    stored = layout.raw_root() / "my-ms" / MS_COMMIT / "data/train.jsonl"
    assert stored.read_bytes() == DATA and report.files[0]["sha256"] == sha(DATA)
    assert server.requests_for("/api/v1/datasets/acme/ms-data/commits")  # the revision was resolved

    llmdata.remove("my-ms")
    server.fault("/api/v1/datasets/acme/ms-data/repo", ("corrupt",))
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        llmdata.fetch("my-ms", raw_only=True)
    assert not stored.exists()


def test_modelscope_endpoint_comes_from_mirrors_when_not_set(server, tmp_path, monkeypatch):
    serve_all(server)
    monkeypatch.delenv("MODELSCOPE_ENDPOINT")
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://www.modelscope.cn={server.url}")
    path = tmp_path / "mine.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    [result] = pin(["my-ms"], catalogs=[path])
    assert result.values["revision"] == MS_COMMIT and len(result.values["files"]) == 2
