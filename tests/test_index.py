"""The index follows the catalog files, survives crashes and bad edits, and serves concurrent calls."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import entry_yaml, run_cli_subprocess

import llmdata
from llmdata.store import layout
from llmdata.errors import CatalogError


def index_rows(table: str = "dataset") -> int:
    conn = sqlite3.connect(layout.index_path())
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_index_is_built_on_first_use(clean_env):
    assert not layout.index_path().exists()
    llmdata.search("gsm8k")
    assert layout.index_path().exists()
    assert index_rows() >= 30


def test_user_catalog_via_env_is_indexed_and_rebuilt_on_change(write_catalog, monkeypatch):
    path = write_catalog(entry_yaml(id="clinic-notes", name="Clinic notes", zh="内部门诊病历对话数据。",
                                    domains="medical", languages="zh"))
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    assert "clinic-notes" in [h["id"] for h in llmdata.search("门诊")]

    path.write_text(entry_yaml(id="clinic-notes-v2", name="Clinic notes v2", zh="内部门诊病历对话数据第二版。",
                               domains="medical", languages="zh"), encoding="utf-8")
    found = [h["id"] for h in llmdata.search("门诊")]
    assert found == ["clinic-notes-v2"]
    with pytest.raises(KeyError):
        llmdata.info("clinic-notes")


def test_catalog_argument_and_cli_flag(write_catalog, cli):
    path = write_catalog(entry_yaml(id="law-qa", name="Law QA", zh="内部法律问答数据。", domains="law"))
    assert llmdata.info("law-qa", catalogs=[path])["name"] == "Law QA"
    result = cli("search", "法律", "--catalog", str(path), "--json")
    assert "law-qa" in [h["id"] for h in result.json()]
    # without the flag the entry is gone again
    assert "law-qa" not in [h["id"] for h in cli("search", "法律", "--json").json()]


def test_invalid_user_catalog_is_skipped_and_strict_mode_keeps_the_old_index(write_catalog, monkeypatch, cli):
    path = write_catalog(entry_yaml(id="good-one"))
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    assert llmdata.info("good-one")["id"] == "good-one"
    before = index_rows()

    path.write_text(entry_yaml(id="good-one", license="WTFPL-ish"), encoding="utf-8")
    # strict: the error, and the index keeps the last good catalog (the invariant of build.py)
    with pytest.raises(CatalogError) as exc:
        llmdata.search("anything", strict_catalogs=True)
    assert f"{path}:9" in str(exc.value)
    result = cli("search", "x", "--strict-catalogs")
    assert result.code == 2 and "unknown licence id" in result.err
    assert index_rows() == before
    conn = sqlite3.connect(layout.index_path())
    assert conn.execute("SELECT id FROM dataset WHERE id='good-one'").fetchone() == ("good-one",)
    conn.close()

    # default: the broken file is left out whole, named in a warning; the built-in catalog keeps working
    result = cli("search", "gsm8k", "--json")
    assert result.code == 0 and result.json()[0]["id"] == "gsm8k"
    assert f"warning: skipped catalog {path}:9:12: entry 'good-one': unknown licence id 'WTFPL-ish'" in result.err
    assert index_rows() == before - 1
    result = cli("info", "good-one")
    assert result.code == 2 and "skipped catalog" in result.err
    with pytest.warns(llmdata.errors.CatalogSkippedWarning, match="skipped catalog"):
        llmdata.search("gsm8k")


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from llmdata.index import build
    from llmdata.catalog import catalog_paths
    from llmdata.index.fingerprint import fingerprint

    real_row = build.rows.fts_row  # called per entry inside the rebuild's transaction
    count = {"n": 0}
    def crashing_row(*args, **kwargs):
        count["n"] += 1
        if count["n"] == 2:
            os._exit(9)   # like kill -9: no cleanup, no rollback by Python
        return real_row(*args, **kwargs)
    build.rows.fts_row = crashing_row
    paths = catalog_paths([Path(p) for p in sys.argv[1:]])
    build.rebuild(paths, fingerprint(paths))
""")


def test_crash_mid_rebuild_leaves_the_old_index_usable(write_catalog, tmp_path):
    first = write_catalog(entry_yaml(id="first-one"), name="first.yaml")
    assert llmdata.info("first-one", catalogs=[first])["id"] == "first-one"  # a good index
    before = index_rows()
    # the rebuild deletes first.yaml's old rows, inserts its new entry, then dies on second.yaml's
    first.write_text(entry_yaml(id="first-two"), encoding="utf-8")
    second = write_catalog(entry_yaml(id="second-one"), name="second.yaml")
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(first), str(second)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert index_rows() == before
    assert index_rows("dataset_fts") == before
    conn = sqlite3.connect(layout.index_path())
    assert conn.execute("SELECT id FROM dataset WHERE id LIKE 'first-%'").fetchall() == [("first-one",)]
    conn.close()
    assert [h["id"] for h in llmdata.search("gsm8k")][0] == "gsm8k"
    # and the next call with both catalogs completes the rebuild
    assert llmdata.info("second-one", catalogs=[first, second])["id"] == "second-one"
    assert llmdata.info("first-two", catalogs=[first, second])["id"] == "first-two"


def test_concurrent_cli_calls_all_succeed(write_catalog):
    extra = write_catalog(entry_yaml(id="shared-entry", zh="并发测试数据。"))
    env = {"LLMDATA_CATALOG": str(extra)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: run_cli_subprocess("search", "并发", "--json", env=env), range(6)))
    for r in results:
        assert r.returncode == 0, r.stderr
        assert '"shared-entry"' in r.stdout
    assert index_rows() >= 31
