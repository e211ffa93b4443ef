"""Editing one catalog file re-reads that file only; ids stay unique across files in catalog order.

The parse function the rebuild calls (``filework.read_catalog_file``) is
wrapped to record which files were read; the index's own bookkeeping
(``catalog_file``) and search results show the effect.
"""

from __future__ import annotations

import os
import sqlite3

import pytest
from conftest import entry_yaml

import llmdata
from llmdata.errors import CatalogError, CatalogSkippedWarning
from llmdata.index import build, filework
from llmdata.store import layout


@pytest.fixture
def reads(monkeypatch):
    """The catalog files each rebuild parses, in order."""
    seen: list[str] = []
    real = filework.read_catalog_file

    def spy(path):
        seen.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(filework, "read_catalog_file", spy)
    return seen


@pytest.fixture
def three(tmp_path, monkeypatch):
    """Three user catalogs of two entries each, in LLMDATA_CATALOG order a, b, c."""
    paths = []
    for name in "abc":
        path = tmp_path / f"{name}.yaml"
        path.write_text(entry_yaml(id=f"{name}-one", zh=f"目录{name}的第一条。")
                        + entry_yaml(id=f"{name}-two", zh=f"目录{name}的第二条。"), encoding="utf-8")
        paths.append(path)
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join(map(str, paths)))
    return paths


def ids(**kwargs) -> list[str]:
    return sorted(h["id"] for h in llmdata.search(limit=None, **kwargs) if h["id"][:2] in ("a-", "b-", "c-"))


def bookkeeping() -> dict[str, tuple]:
    conn = sqlite3.connect(layout.index_path())
    try:
        return {os.path.basename(path): (status, sha) for path, status, sha in
                conn.execute("SELECT path, status, sha256 FROM catalog_file")}
    finally:
        conn.close()


def edit(path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_editing_one_of_three_catalogs_reads_that_one_only(three, reads):
    assert ids() == ["a-one", "a-two", "b-one", "b-two", "c-one", "c-two"]
    assert reads == ["catalog.yaml", "a.yaml", "b.yaml", "c.yaml"]
    before = bookkeeping()
    reads.clear()

    edit(three[1], entry_yaml(id="b-new", zh="目录b改过了。"))
    assert ids() == ["a-one", "a-two", "b-new", "c-one", "c-two"]
    assert reads == ["b.yaml"]
    after = bookkeeping()
    assert after["a.yaml"] == before["a.yaml"] and after["c.yaml"] == before["c.yaml"]
    assert after["b.yaml"][1] != before["b.yaml"][1]
    assert [h["id"] for h in llmdata.search("改过")] == ["b-new"]  # the full-text rows follow the edit
    assert "b-one" not in [h["id"] for h in llmdata.search("目录b的第一条", limit=None)]

    reads.clear()
    os.utime(three[2])  # a new stat, the same bytes: hashed, not parsed
    assert ids() == ["a-one", "a-two", "b-new", "c-one", "c-two"]
    assert reads == []


def test_a_catalog_removed_from_the_list_or_deleted_takes_its_entries_along(three, reads, monkeypatch):
    ids()
    reads.clear()
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join(map(str, [three[0], three[2]])))
    assert ids() == ["a-one", "a-two", "c-one", "c-two"]
    assert reads == [] and "b.yaml" not in bookkeeping()
    assert not [h["id"] for h in llmdata.search("目录b", limit=None) if h["id"].startswith("b-")]

    three[2].unlink()  # still listed, gone from disk: left out with a warning
    with pytest.warns(CatalogSkippedWarning, match="catalog file not found"):
        assert ids() == ["a-one", "a-two"]


def test_a_duplicate_id_in_the_edited_later_file_leaves_that_file_out(three, reads):
    ids()
    reads.clear()
    edit(three[2], entry_yaml(id="a-two", zh="与目录a重复。") + entry_yaml(id="c-three"))
    with pytest.warns(CatalogSkippedWarning) as caught:
        assert ids() == ["a-one", "a-two", "b-one", "b-two"]
    message = str(caught[0].message)
    assert f"skipped catalog {three[2]}:1" in message and "duplicate id 'a-two', first defined at " in message
    assert f"{three[0]}:" in message
    assert reads == ["c.yaml"]
    with pytest.raises(CatalogError, match="duplicate id 'a-two'"):
        llmdata.search("x", strict_catalogs=True)

    reads.clear()
    edit(three[2], entry_yaml(id="c-three"))  # fixed: back in
    assert ids() == ["a-one", "a-two", "b-one", "b-two", "c-three"]
    assert reads == ["c.yaml"]


def test_strict_keeps_the_last_good_index_when_an_edit_duplicates_an_id(three):
    ids()
    edit(three[2], entry_yaml(id="b-one"))
    with pytest.raises(CatalogError, match="duplicate id 'b-one'"):
        llmdata.search("x", strict_catalogs=True)
    conn = sqlite3.connect(layout.index_path())
    assert sorted(r[0] for r in conn.execute("SELECT id FROM dataset WHERE catalog_file = ?", (str(three[2]),))) \
        == ["c-one", "c-two"]
    conn.close()


def test_an_earlier_file_taking_an_id_leaves_the_unchanged_later_file_out_until_freed(three, reads):
    ids()
    reads.clear()
    edit(three[0], entry_yaml(id="a-one") + entry_yaml(id="c-one", zh="目录a抢了c的编号。"))
    with pytest.warns(CatalogSkippedWarning) as caught:
        assert ids() == ["a-one", "b-one", "b-two", "c-one"]
        assert [h["id"] for h in llmdata.search("抢了")] == ["c-one"]  # a's entry, not c's
    message = str(caught[0].message)
    assert f"skipped catalog {three[2]}:1" in message and f"duplicate id 'c-one', first defined at {three[0]}:" \
        in message
    assert reads == ["a.yaml"]  # c.yaml is left out by what the index knows of it, unread
    assert bookkeeping()["c.yaml"][0] == "skipped"

    reads.clear()
    os.utime(three[1])  # another rebuild: c's names are still taken, c stays out unread
    with pytest.warns(CatalogSkippedWarning):
        ids()
    assert reads == []

    edit(three[0], entry_yaml(id="a-one"))  # a gives the id back: c is read again and comes back
    reads.clear()
    assert ids() == ["a-one", "b-one", "b-two", "c-one", "c-two"]
    assert reads == ["a.yaml", "c.yaml"]


def test_a_broken_catalog_stays_out_unread_while_another_changes(three, reads):
    ids()
    edit(three[1], entry_yaml(id="b-one", license="not-a-licence"))
    with pytest.warns(CatalogSkippedWarning, match="unknown licence id"):
        assert ids() == ["a-one", "a-two", "c-one", "c-two"]
    reads.clear()
    edit(three[2], entry_yaml(id="c-only"))
    with pytest.warns(CatalogSkippedWarning, match="unknown licence id"):
        assert ids() == ["a-one", "a-two", "c-only"]
    assert reads == ["c.yaml"]


def test_reordering_catalogs_reorders_entries_without_reading(three, reads, monkeypatch):
    ids()
    reads.clear()
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join(map(str, reversed(three))))
    listed = [h["id"] for h in llmdata.search(limit=None) if h["id"][:2] in ("a-", "b-", "c-")]
    assert listed == ["c-one", "c-two", "b-one", "b-two", "a-one", "a-two"]
    assert reads == []


def test_same_size_rewrite_with_the_old_mtime_is_still_seen(tmp_path, monkeypatch):
    path = tmp_path / "user.yaml"
    path.write_text(entry_yaml(id="same-aaa"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    assert "same-aaa" in [h["id"] for h in llmdata.search("same")]
    stat = os.stat(path)
    path.write_text(entry_yaml(id="same-bbb"), encoding="utf-8")  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "same-bbb" in [h["id"] for h in llmdata.search("same")]


def test_a_file_written_just_before_the_index_read_it_is_checked_again(tmp_path, monkeypatch, reads):
    from llmdata.index import fingerprint

    path = tmp_path / "user.yaml"
    path.write_text(entry_yaml(id="racy-one"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))

    def stored() -> tuple[str, str]:
        conn = sqlite3.connect(layout.index_path())
        try:
            fp = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()[0]
            return fp, conn.execute("SELECT stat FROM catalog_file WHERE path = ?", (str(path),)).fetchone()[0]
        finally:
            conn.close()

    monkeypatch.setattr(fingerprint, "RACY_SECONDS", 3600.0)  # every file counts as just written
    llmdata.search("racy")
    fp, stat = stored()
    assert fp.startswith("racy:") and stat == ""  # not trusted: the next call checks again
    reads.clear()
    llmdata.search("racy")
    assert reads == [] and stored()[0].startswith("racy:")  # checked by its hash, not parsed
    monkeypatch.setattr(fingerprint, "RACY_SECONDS", 0.0)  # settled
    llmdata.search("racy")
    fp, stat = stored()
    assert not fp.startswith("racy:") and stat == fingerprint.file_stat(path)


def test_large_changes_are_read_in_worker_processes_with_the_same_result(tmp_path, monkeypatch, reads):
    paths = []
    for name in "xyz":
        path = tmp_path / f"{name}.yaml"
        path.write_text("".join(entry_yaml(id=f"{name}-{i}", zh=f"并行{name}第{i}条。") for i in range(30)),
                        encoding="utf-8")
        paths.append(path)
    dup = tmp_path / "dup.yaml"  # its names come back from a worker and are checked here: x-3 is taken
    dup.write_text(entry_yaml(id="dup-0", zh="并行重复。") + entry_yaml(id="x-3", zh="并行重复。"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", os.pathsep.join(map(str, [*paths, dup])))
    monkeypatch.setattr(filework, "PARALLEL_BYTES", 0)
    import multiprocessing

    contexts = []
    real = multiprocessing.get_context("fork")
    monkeypatch.setattr(filework, "_context", lambda: contexts.append(real) or real)  # the test runs threads
    with pytest.warns(CatalogSkippedWarning, match=r"dup\.yaml.*duplicate id 'x-3', first defined at .*x\.yaml"):
        hits = llmdata.search("并行", limit=None)
    assert contexts == [real]
    assert sorted(h["id"] for h in hits) == sorted(f"{n}-{i}" for n in "xyz" for i in range(30))
    with pytest.warns(CatalogSkippedWarning, match="dup"):  # on every call until dup.yaml is fixed
        assert build._count(layout.index_path()) == len(llmdata.search(limit=None))
    assert "x.yaml" not in reads  # read in the workers, not here (the spy is in this process only)


def test_store_path_with_uri_characters(tmp_path, monkeypatch):
    home = tmp_path / "a%20b?c#d"
    monkeypatch.setenv("LLMDATA_HOME", str(home))
    assert llmdata.info("gsm8k")["id"] == "gsm8k"
    assert (home / "index.sqlite").exists()


def test_a_read_only_store_index_of_the_same_bytes_is_used_though_its_stat_differs(tmp_path, monkeypatch):
    """A team's index built on another machine: same catalog bytes, other inodes and times."""
    from llmdata.index import reader

    path = tmp_path / "team.yaml"
    path.write_text(entry_yaml(id="team-set"), encoding="utf-8")
    monkeypatch.setenv("LLMDATA_CATALOG", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    assert reader.current_index() == layout.index_path()
    monkeypatch.setattr(reader, "_index_writable", lambda: False)
    path.write_text(entry_yaml(id="team-set"), encoding="utf-8")  # same bytes, new stat
    assert reader.current_index() == layout.index_path()
    path.write_text(entry_yaml(id="team-set-2"), encoding="utf-8")  # other bytes: a private index
    private = reader.current_index()
    assert private != layout.index_path() and private.exists()


def test_no_worker_processes_while_other_threads_run():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert filework._context() is None  # forking now could copy a lock another thread holds
    finally:
        stop.set()
        thread.join()
