"""Layout replicas: a small, cited description of an upstream tree, materialized for the loopback servers.

A replica (``tests/replicas/<id>.yaml``) names the catalog source it stands
for, every path of the upstream tree at a revision (size, LFS flag, git blob
as the evidence gives them), and for each data file the *shape* of its records:
the writer (JSON array, JSON Lines, concatenated objects, CSV/TSV, Parquet,
text), the encoding, compression and archive members, and 2-5 synthetic records
written in exactly the upstream field names and nesting. Non-data files
(README, scripts, images) get small placeholder bytes, so a test can prove they
are never read. Where ``../shared/realdata`` holds the real file, its real
bytes are served instead.

Every synthetic string ``{FILE}`` becomes a token naming the file it was
written to, so a test can check that the rows of a split come only from that
split's files.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import lzma
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPLICAS = HERE / "replicas"
TOKEN = re.compile(r"\u27e6(\d+)\u27e7")  # ⟦n⟧: written into file n of the tree


def token(index: int) -> str:
    return f"\u27e6{index}\u27e7"


def realdata_dir() -> Path | None:
    """``../shared/realdata`` next to the checkout (or its parent, for a worktree), when present."""
    import os

    candidates = [os.environ.get("LLMDATA_REALDATA", ""), HERE.parent.parent / "shared" / "realdata",
                  HERE.parent.parent.parent / "shared" / "realdata"]
    for c in candidates:
        if c and (Path(c) / "MANIFEST.yaml").is_file():
            return Path(c)
    return None


@lru_cache(maxsize=1)
def _realdata_index() -> dict[tuple[str, str, str], Path]:
    root = realdata_dir()
    if root is None:
        return {}
    manifest = yaml.safe_load((root / "MANIFEST.yaml").read_text("utf-8"))
    out = {}
    for f in manifest.get("files") or []:
        path = root / f["saved_as"]
        if path.is_file():
            out[(f["repo"], f["commit"], f["path"])] = path
    return out


def real_bytes(repo: str, commit: str, path: str) -> bytes | None:
    found = _realdata_index().get((repo, commit, path))
    return found.read_bytes() if found else None


@dataclass
class Materialized:
    """What a replica became: bytes per path, which paths are data, the token of each path."""

    replica: dict
    files: dict[str, bytes] = field(default_factory=dict)
    data: set[str] = field(default_factory=set)
    real: set[str] = field(default_factory=set)
    tokens: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.replica["id"]


@lru_cache(maxsize=None)
def _load_text(entry_id: str) -> str:
    return (REPLICAS / f"{entry_id}.yaml").read_text("utf-8")


def load(entry_id: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(_load_text(entry_id), Loader=loader)  # noqa: S506 - a safe loader


def available() -> set[str]:
    return {p.stem for p in REPLICAS.glob("*.yaml")}


# ---------------------------------------------------------------------- writers


def _fill(value, tok: str):
    if isinstance(value, str):
        return value.replace("{FILE}", tok)
    if isinstance(value, list):
        return [_fill(v, tok) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, tok) for k, v in value.items()}
    return value


def _encode(text: str, shape: dict) -> bytes:
    encoding = shape.get("encoding", "utf-8")
    data = text.replace("\n", "\r\n").encode(encoding) if shape.get("newline") == "crlf" else text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if shape.get("bom") else data


def render(shape: dict, tok: str) -> bytes:
    """The records of a shape written the way the upstream writes them."""
    records = _fill(shape.get("records") or [], tok)
    writer = shape["writer"]
    ascii_ = shape.get("ensure_ascii", False)
    if writer == "json":  # one JSON array (or a document with the records under a key)
        doc = records if not shape.get("wrap") else {**_fill(shape.get("wrap_extra") or {}, tok), shape["wrap"]: records}
        return _encode(json.dumps(doc, ensure_ascii=ascii_, indent=shape.get("indent")), shape)
    if writer == "jsonl":
        return _encode("".join(json.dumps(r, ensure_ascii=ascii_) + "\n" for r in records), shape)
    if writer == "json-concat":  # pretty objects written one after another
        return _encode("".join(json.dumps(r, ensure_ascii=ascii_, indent=shape.get("indent", 4)) + "\n"
                               for r in records), shape)
    if writer in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if writer == "csv" else "\t", lineterminator="\n")
        if shape.get("header"):
            w.writerow(shape["header"])
        for r in records:
            w.writerow([r.get(h, "") for h in shape["header"]] if isinstance(r, dict) else r)
        return _encode(buf.getvalue(), shape)
    if writer == "text":
        return _encode("".join(f"{r}\n" for r in records), shape)
    if writer == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(records), out)
        return out.getvalue()
    raise ValueError(f"unknown writer {writer!r}")


def _compress(path: str, data: bytes) -> bytes:
    name = path.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar", ".zip")):
        return data  # archives are built from members
    if name.endswith(".gz"):
        return gzip.compress(data, mtime=0)
    if name.endswith(".xz"):
        return lzma.compress(data)
    if name.endswith(".bz2"):
        return bz2.compress(data)
    if name.endswith((".zst", ".zstd")):
        import pyarrow as pa

        out = pa.BufferOutputStream()
        with pa.CompressedOutputStream(out, "zstd") as fh:
            fh.write(data)
        return out.getvalue().to_pybytes()
    return data


def _archive(path: str, members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    if path.lower().endswith(".zip"):
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
        return out.getvalue()
    mode = {".gz": "w:gz", "tgz": "w:gz", ".xz": "w:xz", "bz2": "w:bz2"}.get(path.lower()[-3:], "w")
    with tarfile.open(fileobj=out, mode=mode) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def placeholder(path: str) -> bytes:
    """Bytes no reader accepts as records: a card, a script, an image, a notebook."""
    name = path.lower()
    if name.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp")):
        return b"\x89PNG\r\n\x1a\n" + hashlib.sha256(path.encode()).digest()
    if name.endswith(".py"):
        return f"# placeholder for {path}: a loading script\nraise SystemExit('never run')\n".encode()
    return f"placeholder for {path}: not data, never read\n".encode()


def materialize(replica: dict) -> Materialized:
    out = Materialized(replica)
    shapes = replica.get("shapes") or {}
    repo, commit = replica.get("repo") or "", replica.get("commit") or ""
    for index, item in enumerate(replica["tree"]):
        path = item["path"]
        out.tokens[path] = index
        real = real_bytes(repo, commit, path) if item.get("realdata") else None
        if real is not None:
            out.files[path], _ = real, out.real.add(path)
            out.data.add(path)
            continue
        if path == "README.md" and replica.get("card") is not None:
            out.files[path] = replica["card"].encode("utf-8")
            continue
        shape_name = item.get("shape")
        if not shape_name:
            out.files[path] = placeholder(path)
            continue
        out.data.add(path)
        shape = shapes[shape_name]
        tok = token(index)
        if shape.get("members"):
            members = [(m["name"], _compress(m["name"], render(shapes[m["shape"]], tok))) for m in shape["members"]]
            out.files[path] = _archive(path, members)
        else:
            out.files[path] = _compress(path, render(shape, tok))
    return out


def serve(server, mat: Materialized) -> None:
    """Put a materialized replica on a loopback server (Hub, GitHub or plain files)."""
    from servers import HubRepo

    replica = mat.replica
    kind = replica["kind"]
    if kind == "hf":
        lfs = {i["path"] for i in replica["tree"] if i.get("lfs")}
        server.hub[replica["repo"]] = HubRepo(replica["commit"], dict(mat.files), lfs=lfs)
    elif kind == "github":
        for path, data in mat.files.items():
            server.files[f"{replica['repo']}/{replica['commit']}/{path}"] = data
        for ref in ("HEAD", "main", "master", replica.get("ref") or "HEAD"):
            server.commits[(replica["repo"], ref)] = replica["commit"]
    elif kind == "url":
        for item in replica["tree"]:
            server.files[url_key(item["url"])] = mat.files[item["path"]]
    else:
        raise ValueError(kind)


def url_key(url: str) -> str:
    """Where the file server keeps a plain URL: host and path (the mirror rule maps https:// onto /files/)."""
    return url.split("://", 1)[1]
