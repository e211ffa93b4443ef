"""``llmdata.lock``: everything that decided a build's bytes, and the bytes' hashes.

Inputs (revision, raw files' SHA-256s, converter name, version and options),
the recipe's hash, the seed and every output file's SHA-256. No timestamps:
rebuilding with ``--locked`` writes the same lock. :func:`diff_inputs` says,
line by line, what differs between a lock and the store today.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

LOCK = "llmdata.lock"
LOCK_VERSION = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def render(lock: dict) -> bytes:
    return (json.dumps(lock, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read(directory: Path) -> dict | None:
    path = directory / LOCK
    if not path.is_file():
        return None
    return json.loads(path.read_text("utf-8"))


def output_hashes(directory: Path, names: list[str]) -> list[dict]:
    return [{"path": n, "sha256": sha256_file(directory / n), "size": (directory / n).stat().st_size}
            for n in sorted(names)]


def diff_inputs(locked: list[dict], now: list[dict]) -> list[str]:
    """Human-readable differences between the lock's inputs and the store's (empty: the same)."""
    lines: list[str] = []
    old = {i["id"]: i for i in locked}
    new = {i["id"]: i for i in now}
    for name in sorted(old.keys() - new.keys()):
        lines.append(f"{name}: in the lock, not in the recipe")
    for name in sorted(new.keys() - old.keys()):
        lines.append(f"{name}: in the recipe, not in the lock")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if a["revision"] != b["revision"]:
            lines.append(f"{name}: revision {a['revision']} -> {b['revision']}")
        fa = {f["path"]: f["sha256"] for f in a["files"]}
        fb = {f["path"]: f["sha256"] for f in b["files"]}
        for path in sorted(fa.keys() | fb.keys()):
            if fa.get(path) != fb.get(path):
                lines.append(f"{name}: {path} sha256 {fa.get(path) or '(absent)'} -> {fb.get(path) or '(absent)'}")
        for key in ("name", "version", "reader", "options", "encoding"):
            if a["converter"].get(key) != b["converter"].get(key):
                lines.append(f"{name}: converter {key} {a['converter'].get(key)!r} -> {b['converter'].get(key)!r}")
    return lines


def diff_outputs(locked: list[dict], now: list[dict]) -> list[str]:
    old = {o["path"]: o["sha256"] for o in locked}
    new = {o["path"]: o["sha256"] for o in now}
    return [f"{p}: sha256 {old.get(p) or '(absent)'} -> {new.get(p) or '(absent)'}"
            for p in sorted(old.keys() | new.keys()) if old.get(p) != new.get(p)]
