"""Issue 12, items 1, 2, 6 and 7: the catalog and the store treated as adversaries, driven through the real CLI.

Every command here must end with a message and an exit code, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import entry_yaml
from conftest import COMMIT, entry

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


# ------------------------------------------------------------------ 6. shared read-only stores


@pytest.fixture
def make_readonly():
    """Make a folder really read-only: a read-only bind mount of itself (root ignores permission bits).

    Without permission to mount, a non-root run falls back to taking the write
    bits away; a root run without it is skipped rather than faked.
    """
    mounted: list[Path] = []
    chmodded: list[Path] = []

    def make(path: Path) -> None:
        bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
        if bind.returncode == 0:
            mounted.append(path)
            if subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True).returncode == 0:
                assert not os.access(path, os.W_OK)
                return
        if os.geteuid() == 0:
            pytest.skip("root ignores permission bits and mounting a read-only bind is not permitted here")
        for p in [path, *path.rglob("*")]:
            if not p.is_symlink():
                chmodded.append(p)
                p.chmod(p.stat().st_mode & ~0o222)

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
    for p in chmodded:
        p.chmod(p.stat().st_mode | 0o200)


@pytest.fixture
def fetched_store(served, cli, monkeypatch, tmp_path):  # noqa: F811
    """alpaca-mini fetched and normalized into the store; the user cache in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    result = cli("fetch", "alpaca-mini", "-q")
    assert result.code == 0, result.err
    return served


def test_read_only_store_serves_search_info_list_verify_and_offline_load(fetched_store, cli, make_readonly,
                                                                          monkeypatch, write_catalog, clean_env,
                                                                          tmp_path, capsys):
    home = clean_env
    make_readonly(home)

    for args in (("search", "alpaca", "--json"), ("info", "alpaca-mini"), ("list", "--json"),
                 ("verify", "alpaca-mini")):
        result = cli(*args)
        no_traceback(result)
        assert result.code == 0, (args, result.err)
    assert cli("list", "--json").json()[0]["dataset_id"] == "alpaca-mini"

    # the catalogs in use changed: a private index in the user's cache, the store untouched
    mine = write_catalog(entry_yaml(id="my-private-set", zh="只读仓库测试数据。"), "mine.yaml")
    result = cli("search", "只读仓库", "--catalog", str(mine), "--json")
    assert result.code == 0, result.err
    assert [h["id"] for h in result.json()] == ["my-private-set"]
    assert list((tmp_path / "user-cache" / "llmdata").glob("readonly-*/index.sqlite"))

    monkeypatch.setenv("LLMDATA_OFFLINE", "1")
    import llmdata

    ds = llmdata.load("alpaca-mini", split="train")
    assert len(ds) == 50 and ds[0]["messages"][1]["content"] == "a0"
    assert list((tmp_path / "user-cache" / "llmdata").glob("readonly-*/datasets/alpaca-mini"))
    capsys.readouterr()  # datasets' own "Generating ... split" lines

    monkeypatch.delenv("LLMDATA_OFFLINE")
    for args, action in ((("fetch", "alpaca-mini", "-q"), "fetching alpaca-mini"),
                         (("rm", "alpaca-mini"), "removing alpaca-mini")):
        result = cli(*args)
        no_traceback(result)
        assert result.code == 1
        assert result.err.strip() == (f"error: the store at {home} is read-only: {action} needs to write there; set "
                                      "LLMDATA_HOME to a writable folder (search, info, list, verify and offline "
                                      "load work on a read-only store)")


def test_a_write_that_slips_past_the_check_still_ends_in_one_line(fetched_store, cli, make_readonly, monkeypatch,
                                                                   clean_env):
    make_readonly(clean_env)
    monkeypatch.setattr(layout, "writable", lambda path=None: True)  # as if access() had said yes
    result = cli("rm", "alpaca-mini")
    no_traceback(result)
    assert result.code == 1 and "is read-only: this command needs to write there" in result.err
    assert len(result.err.strip().splitlines()) == 1


# ------------------------------------------------------------------ 7. user-facing


def test_validate_checks_ids_against_every_catalog_in_use(cli, write_catalog):
    path = write_catalog(entry_yaml(id="gsm8k"), "mine.yaml")
    result = cli("validate", str(path))
    no_traceback(result)
    assert result.code == 2
    assert f"{path}:1: error: entry 'gsm8k': key 'id': duplicate id 'gsm8k', first defined at " in result.err
    assert "catalog.yaml:" in result.err


def test_a_broken_user_catalog_is_skipped_with_a_warning_unless_strict(cli, write_catalog, monkeypatch):
    laughs = write_catalog(BILLION_LAUGHS, "laughs.yaml")
    dup = write_catalog(entry_yaml(id="gsm8k"), "dup.yaml")
    good = write_catalog(entry_yaml(id="still-fine", zh="仍然可用的数据。"), "good.yaml")
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join(map(str, (laughs, dup, good))))
    result = cli("search", "gsm8k", "--json")
    no_traceback(result)
    assert result.code == 0 and result.json()[0]["id"] == "gsm8k"
    assert f"warning: skipped catalog {laughs}:1:" in result.err and "aliases expand" in result.err
    assert f"warning: skipped catalog {dup}:1: entry 'gsm8k': duplicate id 'gsm8k'" in result.err
    assert cli("info", "still-fine").code == 0
    result = cli("search", "gsm8k", "--strict-catalogs")
    no_traceback(result)
    assert result.code == 2 and str(laughs) in result.err and str(dup) in result.err


def test_verify_and_rm_tell_a_typo_from_a_dataset_that_is_not_fetched(cli):
    for command in ("verify", "rm"):
        result = cli(command, "gsm8kk")
        no_traceback(result)
        assert result.code == 2 and "no dataset with id 'gsm8kk'" in result.err and "did you mean: gsm8k" in result.err
        result = cli(command, "gsm8k")
        assert result.code == 1 and "gsm8k is not in the store" in result.err and "llmdata fetch gsm8k" in result.err


def test_search_says_when_it_fell_back_to_any_word(cli):
    result = cli("search", "gsm8k", "--json")
    assert result.json()[0]["match"] == "all-words" and "any of them" not in result.err
    result = cli("search", "gsm8k", "qqqzzzxyz", "--json")
    assert result.code == 0 and result.json()[0]["id"] == "gsm8k"
    assert all(h["match"] == "any-word" for h in result.json())
    assert "no dataset matches every word of 'gsm8k qqqzzzxyz'; showing datasets that match any of them" in result.err
    import llmdata

    assert llmdata.search("gsm8k qqqzzzxyz").any_word and not llmdata.search("gsm8k").any_word


def test_no_progress_bars_when_stderr_is_not_a_terminal(served, cli, monkeypatch):  # noqa: F811
    result = cli("fetch", "alpaca-mini", "--raw-only")
    assert result.code == 0 and result.err == ""
    import llmdata

    llmdata.remove("alpaca-mini")
    from llmdata.cli import store_cmds

    monkeypatch.setattr(store_cmds, "stderr_is_terminal", lambda: True)
    result = cli("fetch", "alpaca-mini")
    assert result.code == 0 and "alpaca-mini: 2/2 files" in result.err  # the bar, when someone is watching
    assert "alpaca-mini: normalizing" in result.err and "52 records" in result.err  # train 51 + test 1


def test_load_cache_is_counted_by_list_and_removed_by_rm(fetched_store, cli):
    import llmdata

    started = time.perf_counter()
    assert len(llmdata.load("alpaca-mini", split="train")) == 50
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert len(llmdata.load("alpaca-mini", split="train")) == 50
    again = time.perf_counter() - started
    assert again < max(first, 1.0)  # the second load reuses the cache
    cache = layout.datasets_cache("alpaca-mini", COMMIT, "chat")
    assert cache == layout.normalized_dir("alpaca-mini", COMMIT, "chat") / ".arrow" and cache.is_dir()
    assert not layout.legacy_datasets_cache().exists()
    [row] = cli("list", "--json").json()
    assert 0 < row["cache_bytes"] < row["normalized_bytes"]
    result = cli("list")
    assert "load cache" in result.out
    assert cli("rm", "alpaca-mini").code == 0
    assert not (layout.normalized_root() / "alpaca-mini").exists() and cli("list", "--json").json() == []
