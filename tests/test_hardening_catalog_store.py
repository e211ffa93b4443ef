"""Issue 12, items 1, 2, 6 and 7: the catalog and the store treated as adversaries, driven through the real CLI.

Every command here must end with a message and an exit code, never a traceback.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from conftest import entry_yaml
from test_fetch import COMMIT, catalog, entry, hosts, server, sha  # noqa: F401 - fixtures

from llmdata.errors import UnsafePathError
from llmdata.store import layout


def no_traceback(result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err


def files_named(root, name: str) -> list:
    return [p for p in root.rglob(name)]


# ------------------------------------------------------------------ 1. confinement


def test_validate_rejects_a_catalog_path_that_leaves_the_dataset_folder(cli, write_catalog):
    text = entry_yaml() + "      path: ../../../x\n  splits: {train: ['../*.jsonl']}\n"
    path = write_catalog(text)
    result = cli("validate", str(path))
    no_traceback(result)
    assert result.code == 2
    line = text.splitlines().index("      path: ../../../x") + 1
    assert f"{path}:{line}:13: error: entry 'my-data': key 'sources.0.path': unsafe path '../../../x'" in result.err
    assert "key 'splits.train.0': unsafe path '../*.jsonl'" in result.err
    for bad in ("/etc/passwd", "C:/x", "a\\\\b", "a/../../b"):
        result = cli("validate", str(write_catalog(entry_yaml() + f"      path: \"{bad}\"\n", "b.yaml")))
        assert result.code == 2 and "unsafe path" in result.err, bad


def test_a_github_tree_listing_with_dotdot_is_refused_before_anything_is_written(hosts, catalog, cli, tmp_path):
    hosts.files[f"acme/evil/{COMMIT}/good.jsonl"] = b'{"a": 1}\n'
    hosts.files[f"acme/evil/{COMMIT}/../../../escape.txt"] = b"owned\n"
    catalog(entry("evil-tree", [{"kind": "github", "repo": "acme/evil", "ref": COMMIT}]))
    result = cli("fetch", "evil-tree", "-q")
    no_traceback(result)
    assert result.code == 2
    assert "entry 'evil-tree': unsafe path '../../../escape.txt' (from the file list of github:acme/evil)" in result.err
    assert "it has a '..' segment" in result.err and "hint:" in result.err
    assert files_named(tmp_path, "escape.txt") == [] and files_named(tmp_path, "good.jsonl") == []
    assert not [p for p, _ in hosts.requests if p.startswith("/raw/")]  # refused before the first download


def test_a_url_whose_last_segment_decodes_to_dotdot_is_refused(hosts, catalog, cli, tmp_path):
    hosts.files["..%2F..%2Fescape.txt"] = b"owned\n"
    catalog(entry("evil-url", [{"kind": "url", "url": "https://files.example.org/..%2F..%2Fescape.txt"}]))
    assert cli("validate").code == 0  # nothing in the catalog looks wrong: the store name is derived
    result = cli("fetch", "evil-url", "-q", "--raw-only")
    no_traceback(result)
    assert result.code == 2 and "unsafe path '../../escape.txt'" in result.err
    assert files_named(tmp_path, "escape.txt") == []


def test_a_symbolic_link_out_of_the_dataset_folder_is_refused(tmp_path):
    root = layout.raw_dir("x", "rev")
    root.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (root / "data.jsonl").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="resolves outside the folder"):
        layout.confined(root, "data.jsonl", entry="x")
    for bad in ("../x", "/abs", "a\\b", "C:x", "", "a/../../b"):
        with pytest.raises(UnsafePathError):
            layout.confined(root, bad, entry="x")
    assert layout.confined(root, "sub/ok.jsonl") == root / "sub/ok.jsonl"
    with pytest.raises(UnsafePathError, match="resolved revision"):
        layout.raw_dir("x", "../../elsewhere")


# ------------------------------------------------------------------ 2. bounded parsing

BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{','.join([prev] * 9)}]\n"
    for name, prev in zip("abcdefghi", ['"lol"', *("*" + c for c in "abcdefgh")])
)


def test_billion_laughs_fails_fast_and_small(cli, write_catalog):
    assert len(BILLION_LAUGHS.encode()) < 400
    path = write_catalog(BILLION_LAUGHS, "laughs.yaml")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = cli("validate", str(path))
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    no_traceback(result)
    assert result.code == 2
    assert f"{path}:" in result.err and "aliases expand the YAML" in result.err
    assert elapsed < 2.0 and peak < 64 * 2**20, (elapsed, peak)


@pytest.mark.parametrize("text, message", [
    ("- id: x\n  name: !!python/name:os.system\n", "unsupported YAML tag '!!python/name:os.system'"),
    ("- !!python/object:collections.OrderedDict {id: x}\n", "unsupported YAML tag '!!python/object"),
    ("- id: x\n  name: !custom hello\n", "unsupported YAML tag '!custom'"),
    ("- &a [*a]\n", "an alias refers to the block that contains it"),
    ("[" * 5000 + "]" * 5000 + "\n", "nested more than 50 levels"),
    ("- id: x\n  name: \"a\x07\"\n", "control characters are not allowed"),
    ("- id: x\n  name: 2023-13-45\n", "cannot read the value '2023-13-45'"),
    ("- id: x\n  <<: {name: y}\n", "merge keys ('<<') are not supported"),
    ("- id: x\n  name: [unclosed\n", "YAML syntax error"),
])
def test_every_yaml_error_is_one_line_with_file_and_line(cli, write_catalog, text, message):
    path = write_catalog(text, "hostile.yaml")
    result = cli("validate", "--json", str(path))
    no_traceback(result)
    assert result.code == 2
    [problem] = result.json()["problems"]
    assert message in problem["message"] and "\n" not in problem["message"]
    assert problem["file"] == str(path) and isinstance(problem["line"], int)


def test_an_oversized_catalog_is_refused_before_it_is_read(cli, write_catalog, monkeypatch):
    from llmdata.catalog import yaml_positions

    monkeypatch.setattr(yaml_positions, "MAX_FILE_BYTES", 200)
    path = write_catalog(entry_yaml() * 3, "big.yaml")
    result = cli("validate", str(path))
    no_traceback(result)
    assert result.code == 2 and "a catalog may be at most" in result.err


def test_shared_anchors_of_a_real_catalog_still_load(cli, write_catalog):
    text = entry_yaml().replace("  access: public\n", "  access: public\n  format: &fmt {produces: chat, reader: "
                                "json, converter: alpaca}\n") + entry_yaml(id="other").replace(
        "  access: public\n", "  access: public\n  format: *fmt\n")
    result = cli("validate", str(write_catalog(text)))
    assert result.code == 0, result.err
