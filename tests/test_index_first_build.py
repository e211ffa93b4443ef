"""A first build is staged beside the index's place and linked there whole; it yields to a file created meanwhile."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import entry_yaml

import llmdata
from llmdata.errors import CatalogError
from llmdata.index import build
from llmdata.store import layout


@pytest.fixture
def user_catalog(tmp_path, monkeypatch):
    path = tmp_path / "mine.yaml"
    path.write_text(entry_yaml(id="first-one") + entry_yaml(id="first-two", zh="第二条私有数据。"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    return path


def _staged(db) -> list[str]:
    return sorted(p.name for p in db.parent.glob(f"{db.name}.build-*"))


def test_first_build_is_linked_in_wal_mode_and_leaves_no_staged_file(user_catalog):
    db = layout.index_path()
    db.parent.mkdir(parents=True)
    (db.parent / f"{db.name}.build-1").write_bytes(b"left by a build that crashed")
    assert sorted(h["id"] for h in llmdata.search("私有", limit=None) if h["id"].startswith("first-")) == \
        ["first-one", "first-two"]
    assert _staged(db) == []
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"ix_dataset_position", "ix_dataset_id_key", "ix_dataset_name_key", "ix_facet_alias"} <= indexes
    finally:
        conn.close()


def test_first_build_yields_to_an_index_file_created_meanwhile(user_catalog, monkeypatch):
    """A fetch that creates the file (its ledger) during the build keeps it: the build is done again in that file."""
    db = layout.index_path()
    real_run = build._Rebuild.run
    calls = []

    def run(self):
        if not calls:  # during the staged build: another process creates the index file
            conn = sqlite3.connect(db)
            conn.execute("CREATE TABLE other_rows (x TEXT)")
            conn.execute("INSERT INTO other_rows VALUES ('kept')")
            conn.commit()
            conn.close()
        calls.append(self.conn)
        return real_run(self)

    monkeypatch.setattr(build._Rebuild, "run", run)
    found = sorted(h["id"] for h in llmdata.search("私有", limit=None) if h["id"].startswith("first-"))
    assert found == ["first-one", "first-two"]
    assert len(calls) == 2  # staged, then again in the existing file
    assert _staged(db) == []
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT x FROM other_rows").fetchall() == [("kept",)]
        assert conn.execute("SELECT count(*) FROM dataset WHERE id LIKE 'first-%'").fetchone()[0] == 2
    finally:
        conn.close()


def test_failed_first_build_leaves_neither_index_nor_staged_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(entry_yaml(id="bad-one", license="no-such-licence"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(bad))
    with pytest.raises(CatalogError, match="no-such-licence"):
        llmdata.search("私有", strict_catalogs=True)
    db = layout.index_path()
    assert not db.exists()
    assert _staged(db) == []
