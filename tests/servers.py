"""Loopback servers that speak the HTTP of the Hub, GitHub and plain file hosts, with fault injection.

One server class plays every role:
- Hub:    GET /api/datasets/{repo}/revision/{rev}   (dataset_info with files metadata)
          GET /datasets/{repo}/resolve/{rev}/{path}  (file bytes, Range, ETag)
- GitHub: GET /api/repos/{repo}/commits/{ref}, /api/repos/{repo}/git/trees/{sha}
          GET /raw/{repo}/{sha}/{path}, /media/{repo}/{sha}/{path}
- ModelScope (as modelscope/hub/api.py calls it):
          GET /api/v1/datasets/{owner}/{name}/commits?Ref=..   GET /api/v1/datasets/{owner}/{name}
          GET /api/v1/datasets/{hub_id}/repo/tree?Revision=..&PageNumber=..&PageSize=..
          GET /api/v1/datasets/{owner}/{name}/repo?Revision=..&FilePath=..
- files:  GET /files/{path}
Faults are queued per request path and consumed one request at a time:
("status", code[, headers]), ("redirect", url), ("html",), ("lfs_pointer",),
("corrupt",), ("ignore_range",), ("drop", n), ("slow", step, delay),
("flood", n[, declare_length]).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field


def git_blob(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()  # noqa: S324


@dataclass
class HubRepo:
    sha: str
    files: dict[str, bytes]
    lfs: set[str] = field(default_factory=set)
    token: str | None = None  # gated: only this bearer token may read


class FakeServer:
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.files: dict[str, bytes] = {}  # for /files, /raw and /media: "repo/sha/path" or plain path
        self.hub: dict[str, HubRepo] = {}
        self.commits: dict[tuple[str, str], str] = {}  # (repo, ref) -> sha for the GitHub API
        self.modelscope: dict[str, HubRepo] = {}  # "owner/name" -> repo (sha = the commit "master" resolves to)
        self.faults: dict[str, list[tuple]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.sent: dict[str, int] = {}  # body bytes written per path by the "flood" fault
        self.active = 0  # requests being answered right now
        self.peak = 0  # the most requests answered at once since the last reset
        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer((host, 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # dropped connections are the point
        if tls is not None:  # HTTPS: every accepted connection does the TLS handshake first
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)  # close() waits at most one poll
        self.thread.start()

    def reset(self) -> None:
        """Forget every served file, repo, commit, fault and request (one server shared by many tests)."""
        with self.lock:
            self.files.clear()
            self.hub.clear()
            self.commits.clear()
            self.faults.clear()
            self.requests.clear()
            self.peak = 0

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, path: str, *faults: tuple) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def requests_for(self, path: str) -> list[dict]:
        return [h for p, h in self.requests if p == path]

    def _next_fault(self, path: str) -> tuple | None:
        with self.lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return None

            def do_GET(self) -> None:  # noqa: N802
                with server.lock:
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                try:
                    return self._get()
                finally:
                    with server.lock:
                        server.active -= 1

            def _get(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(parsed.path)
                with server.lock:
                    server.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                fault = server._next_fault(path)
                if fault and fault[0] == "status":
                    return self._send(fault[1], b"error", headers=fault[2] if len(fault) > 2 else {})
                if fault and fault[0] == "redirect":
                    return self._send(302, b"", headers={"Location": fault[1]})
                if path.startswith("/api/v1/datasets/"):
                    return self._modelscope(path, urllib.parse.parse_qs(parsed.query), fault)
                if path.startswith("/api/datasets/"):
                    return self._hub_info(path)
                if path.startswith("/datasets/"):
                    return self._hub_file(path, fault)
                if path.startswith("/api/repos/"):
                    return self._github_api(path)
                for prefix in ("/raw/", "/media/", "/files/"):
                    if path.startswith(prefix):
                        data = server.files.get(path[len(prefix):])
                        if data is None:
                            return self._send(404, b"not found")
                        return self._serve_bytes(data, fault)
                return self._send(404, b"not found")

            # ---------------------------------------------------------- Hub

            def _hub_repo(self, rest: str):
                for name, repo in server.hub.items():
                    if rest.startswith(name + "/"):
                        return name, repo, rest[len(name) + 1:]
                return None, None, rest

            def _denied(self, repo: HubRepo) -> bool:
                if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                    self._send(403, b"gated", headers={"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"})
                    return True
                return False

            def _hub_info(self, path: str) -> None:
                name, repo, rest = self._hub_repo(path[len("/api/datasets/"):])
                if repo is None:
                    return self._send(404, b"{}", headers={"X-Error-Code": "RepoNotFound"})
                if self._denied(repo):
                    return None
                revision = rest[len("revision/"):] if rest.startswith("revision/") else "main"
                if revision not in ("main", repo.sha):
                    return self._send(404, b"{}", headers={"X-Error-Code": "RevisionNotFound"})
                siblings = []
                for fname, data in sorted(repo.files.items()):
                    sib = {"rfilename": fname, "size": len(data), "blobId": git_blob(data)}
                    if fname in repo.lfs:
                        sib["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                      "pointerSize": 134}
                    siblings.append(sib)
                body = json.dumps({"id": name, "sha": repo.sha, "siblings": siblings, "private": False}).encode()
                return self._send(200, body, headers={"Content-Type": "application/json"})

            def _hub_file(self, path: str, fault) -> None:
                name, repo, rest = self._hub_repo(path[len("/datasets/"):])
                if repo is None or not rest.startswith("resolve/"):
                    return self._send(404, b"", headers={"X-Error-Code": "RepoNotFound"})
                if self._denied(repo):
                    return None
                _, _rev, fname = rest.split("/", 2)
                if fname not in repo.files:
                    return self._send(404, b"", headers={"X-Error-Code": "EntryNotFound"})
                return self._serve_bytes(repo.files[fname], fault)

            # ---------------------------------------------------------- ModelScope

            def _ms_json(self, data) -> None:
                body = json.dumps({"Code": 200, "Success": True, "Data": data}).encode()
                return self._send(200, body, headers={"Content-Type": "application/json"})

            def _modelscope(self, path: str, query: dict, fault) -> None:
                rest = path[len("/api/v1/datasets/"):]
                names = list(server.modelscope)
                first = rest.split("/", 1)[0]
                if first.isdigit() and rest.endswith("/repo/tree"):
                    repo = server.modelscope[names[int(first)]]
                    revision = query.get("Revision", ["master"])[0]
                    if revision not in ("master", repo.sha):
                        return self._ms_json(None)
                    page, size = int(query["PageNumber"][0]), int(query["PageSize"][0])
                    entries = [{"Path": "data", "Name": "data", "Type": "tree", "Size": 0}] + [
                        {"Path": k, "Name": k.rsplit("/", 1)[-1], "Type": "blob", "Size": len(v),
                         "Sha256": hashlib.sha256(v).hexdigest(), "Revision": repo.sha}
                        for k, v in sorted(repo.files.items())]
                    return self._ms_json({"Files": entries[(page - 1) * size: page * size]})
                for index, name in enumerate(names):
                    if rest == name:
                        return self._ms_json({"Id": index, "Type": 1})
                    if rest == name + "/commits":
                        ref = query.get("Ref", ["master"])[0]
                        commits = [{"Id": server.modelscope[name].sha}] if ref in ("master", server.modelscope[name].sha) else []
                        return self._ms_json({"Commit": commits})
                    if rest == name + "/repo":
                        data = server.modelscope[name].files.get(query.get("FilePath", [""])[0])
                        if data is None:
                            return self._send(404, b"not found")
                        return self._serve_bytes(data, fault)
                return self._send(404, json.dumps({"Code": 10010205001, "Message": "dataset not found"}).encode())

            # ---------------------------------------------------------- GitHub

            def _github_api(self, path: str) -> None:
                rest = path[len("/api/repos/"):]
                if "/commits/" in rest:
                    repo, ref = rest.split("/commits/")
                    sha = server.commits.get((repo, ref))
                    if sha is None:
                        return self._send(404, b'{"message": "No commit found"}')
                    return self._send(200, json.dumps({"sha": sha}).encode(), headers={"Content-Type": "application/json"})
                if "/git/trees/" in rest:
                    repo, sha = rest.split("/git/trees/")
                    prefix = f"{repo}/{sha}/"
                    tree = [{"path": k[len(prefix):], "type": "blob", "sha": git_blob(v), "size": len(v)}
                            for k, v in server.files.items() if k.startswith(prefix)]
                    return self._send(200, json.dumps({"sha": sha, "tree": tree}).encode(),
                                      headers={"Content-Type": "application/json"})
                return self._send(404, b"{}")

            # ---------------------------------------------------------- bytes

            def _serve_bytes(self, data: bytes, fault) -> None:
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                kind = fault[0] if fault else None
                if kind == "html":
                    return self._send(200, b"<!DOCTYPE html><html><body>Sign in</body></html>",
                                      headers={"Content-Type": "text/html"})
                if kind == "lfs_pointer":
                    pointer = (f"version https://git-lfs.github.com/spec/v1\noid sha256:"
                               f"{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n").encode()
                    return self._send(200, pointer)
                if kind == "flood":
                    return self._flood(fault[1], declare=len(fault) > 2 and fault[2])
                if kind == "corrupt":
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                start = 0
                status = 200
                headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
                rng = self.headers.get("Range")
                if rng and kind != "ignore_range":
                    if_range = self.headers.get("If-Range")
                    if if_range is None or if_range == etag:
                        start = int(rng.split("=")[1].split("-")[0])
                        if start >= len(data):
                            return self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
                        status = 206
                        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                body = data[start:]
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind == "drop":
                    self.wfile.write(body[: fault[1]])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if kind == "slow":
                    step = fault[1]
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i:i + step])
                        self.wfile.flush()
                        time.sleep(fault[2])
                    return None
                view = memoryview(body)
                for i in range(0, len(body), 1 << 20):
                    self.wfile.write(view[i:i + (1 << 20)])
                return None

            def _flood(self, total: int, declare: bool) -> None:
                """Status 200 and ``total`` bytes from a generator (never held in memory); without
                ``declare`` no Content-Length: the body ends when the connection closes."""
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if declare:
                    self.send_header("Content-Length", str(total))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                block = b"x" * (64 * 1024)
                sent = 0
                try:
                    while sent < total:
                        piece = block[: total - sent]
                        self.wfile.write(piece)
                        sent += len(piece)
                        with server.lock:
                            server.sent[path] = sent
                except OSError:  # the client stopped reading: the point of the test
                    return None
                return None

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


# ------------------------------------------------------------------ a catalog indexed once per module


class IndexedCatalog:
    """A user catalog written once and indexed once, for a module whose tests all use the same entries.

    Building the search index (validating ~130 built-in entries) costs about a
    second per fresh ``LLMDATA_HOME``; ``install`` copies the ready index into
    the current test's store instead. The index is rebuilt as usual if the
    catalog changes.
    """

    def __init__(self, directory, entries: list[dict]) -> None:
        import sqlite3

        import yaml

        from llmdata import settings

        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "catalog.yaml"
        self.path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        with settings.environment({"LLMDATA_HOME": str(directory / "home"), "LLMDATA_CATALOG": str(self.path)}):
            from llmdata.index.reader import open_index
            from llmdata.store import layout

            open_index().close()
            self.index = layout.index_path()
            with sqlite3.connect(self.index) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def install(self, monkeypatch) -> None:
        import shutil

        from llmdata.store import layout

        monkeypatch.setenv("LLMDATA_CATALOG", str(self.path))
        layout.home().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.index, layout.index_path())
