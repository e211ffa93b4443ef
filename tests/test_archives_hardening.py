"""Issue 12, archives: ratio caps against archive bombs, and leftovers of killed extractions cleaned up.

The bomb goes through the real CLI (download, verify, extract) against the
loopback file server; the cap arithmetic is checked on ``extract`` directly,
with ``ratio_floor`` lowered so that small archives exercise it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time
import zipfile

import pytest
from servers import FakeServer, IndexedCatalog

from llmdata.store import layout
from llmdata.errors import UnsafeArchiveError
from llmdata.fetchers import archives, scratch

BOMB_MIB = 256  # of zeros: past RATIO_FLOOR, and deflate makes it ~200x smaller
SMALL = b'{"instruction": "hi", "output": "hello"}\n'
MIB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zeros_zip(path, mib: int) -> bytes:
    """A zip of ``mib`` MiB of zeros, written by streaming (never the whole expanded file in memory)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("zeros.bin", "w", force_zip64=True) as member:
            block = bytes(MIB)
            for _ in range(mib):
                member.write(block)
    return path.read_bytes()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def entry(id_: str, name: str, data: bytes) -> dict:
    return {"id": id_, "name": f"Test {id_}", "summary": {"en": "A test archive for fetching.", "zh": "测试用的压缩包。"},
            "category": "sft", "languages": ["en"], "license": "mit", "commercial": True, "access": "public",
            "sources": [{"kind": "url", "url": f"https://files.example.org/{name}", "sha256": sha(data),
                         "size": len(data), "extract": True}]}


CORPUS = tar_gz({"corpus/a.jsonl": SMALL})


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    return zeros_zip(tmp_path_factory.mktemp("bomb") / "bomb.zip", BOMB_MIB)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, bomb):
    return IndexedCatalog(tmp_path_factory.mktemp("archives-hardening"),
                          [entry("bomb", "bomb.zip", bomb), entry("corpus", "corpus.tar.gz", CORPUS)])


@pytest.fixture
def files(indexed, monkeypatch):
    indexed.install(monkeypatch)
    server = FakeServer("127.0.0.1")
    monkeypatch.setenv("LLMDATA_MIRRORS", f"https://files.example.org={server.url}/files")
    yield server
    server.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------ through the CLI


def test_a_zip_of_zeros_is_refused_naming_the_archive(files, bomb, cli):
    files.files["bomb.zip"] = bomb
    result = cli("fetch", "bomb")
    assert result.code == UnsafeArchiveError.exit_code and "Traceback" not in result.err
    assert "bomb.zip" in result.err and "possible archive bomb" in result.err
    assert f"{BOMB_MIB * MIB} bytes" in result.err and "max_ratio" in result.err
    [stored] = list(layout.raw_root().rglob("bomb.zip"))  # the verified archive stays; nothing came out of it
    assert [p.name for p in stored.parent.iterdir()] == ["bomb.zip"]


def test_stale_extraction_folders_of_dead_processes_are_removed(files, cli):
    files.files["corpus.tar.gz"] = CORPUS
    assert cli("fetch", "corpus").code == 0
    [archive] = list(layout.raw_root().rglob("corpus.tar.gz"))
    folder = archive.parent
    old = time.time() - 2 * scratch.MIN_AGE
    dead = dead_pid()
    stale = folder / f".corpus.tmp-{dead}-0badf00d"          # kill -9 during extraction
    staged = folder / f".corpus.tar.gz.tmp-{dead}-0badf00d"  # kill -9 between a download's two renames
    live = folder / f".corpus.tmp-{os.getpid()}-0badf00d"     # someone extracting right now
    young = folder / f".corpus.tmp-{dead}-0000cafe"          # too fresh to judge
    for path in (stale, live, young):
        (path / "corpus").mkdir(parents=True)
        (path / "corpus" / "a.jsonl").write_bytes(SMALL)
    staged.write_bytes(CORPUS)
    for path in (stale, staged, live):
        os.utime(path, (old, old))

    result = cli("fetch", "corpus")
    assert result.code == 0, result.err
    assert not stale.exists() and not staged.exists()
    assert live.exists() and young.exists()
    assert (folder / "corpus" / "corpus" / "a.jsonl").read_bytes() == SMALL


# ------------------------------------------------------------------ the caps


def test_a_member_ratio_past_the_cap_is_refused_even_when_the_total_is_fine(tmp_path):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(2 * MIB))
        zf.writestr("noise.bin", os.urandom(2 * MIB))
    with pytest.raises(UnsafeArchiveError, match=r"mixed\.zip: member 'zeros\.bin' expands") as exc:
        archives.extract(archive, ratio_floor=MIB)
    assert exc.value.hint and "max_ratio" in exc.value.hint
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    target = archives.extract(archive, ratio_floor=MIB, max_ratio=100_000)  # the caller raises the cap
    assert (target / "zeros.bin").stat().st_size == 2 * MIB


@pytest.mark.parametrize("kind", ["tar.gz", "gz"])
def test_stream_compressed_archives_are_capped_by_their_ratio(tmp_path, kind):
    zeros = bytes(8 * MIB)
    archive = tmp_path / f"zeros.{kind}"
    archive.write_bytes(tar_gz({"zeros.bin": zeros}) if kind == "tar.gz" else gzip.compress(zeros))
    with pytest.raises(UnsafeArchiveError, match=rf"zeros\.{kind}: would extract") as exc:
        archives.extract(archive, ratio_floor=MIB)
    assert "possible archive bomb" in str(exc.value)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert archives.extract(archive).is_dir()  # under the default floor: small files of any ratio extract
