"""Download throughput: llmdata's verified download vs `curl -o` vs `hf_hub_download`, same loopback server.

llmdata hashes (SHA-256) every byte while it streams and verifies before the
rename; curl only writes; hf_hub_download checks the size. All three fetch the
same file from the same local server in the same run. The last line, SHA-256
of the file from the page cache with no network at all, is the floor for any
download that verifies a SHA-256 on this CPU.

    python benchmarks/download_throughput.py [--mib 1024] [--runs 2]
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

COMMIT = "c" * 40


def make_server(blob: Path, etag: str):
    size = blob.stat().st_size

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            return None

        def _headers(self):
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("ETag", f'"{etag}"')
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()

        def do_HEAD(self):  # noqa: N802
            self._headers()

        def do_GET(self):  # noqa: N802
            self._headers()
            with open(blob, "rb") as fh:
                self.wfile.flush()
                self.connection.sendfile(fh)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="llmdata-bench-"))
    try:
        blob = work / "big.bin"
        block = os.urandom(1 << 20)
        digest = hashlib.sha256()
        with open(blob, "wb") as fh:
            for i in range(args.mib):
                chunk = block[:-8] + i.to_bytes(8, "little")
                fh.write(chunk)
                digest.update(chunk)
        sha256 = digest.hexdigest()
        size = blob.stat().st_size
        httpd, base = make_server(blob, sha256)
        url = f"{base}/datasets/bench/blob/resolve/{COMMIT}/big.bin"
        os.environ["LLMDATA_HOME"] = str(work / "home")
        os.environ["HF_ENDPOINT"] = base
        os.environ.pop("LLMDATA_MIRRORS", None)

        from llmdata.fetchers.http import new_client
        from llmdata.fetchers.transfer import Pin, RemoteFile, download

        def ours():
            dest = work / "ours.bin"
            dest.unlink(missing_ok=True)
            with new_client() as client:
                download(client, RemoteFile("big.bin", url, Pin(sha256=sha256, size=size)), dest)

        def curl():
            subprocess.run(["curl", "-sS", "-o", str(work / "curl.bin"), url], check=True)

        def hub():
            from huggingface_hub import hf_hub_download

            shutil.rmtree(work / "hf-cache", ignore_errors=True)
            hf_hub_download("bench/blob", "big.bin", repo_type="dataset", revision=COMMIT,
                            cache_dir=str(work / "hf-cache"), endpoint=base)

        def hash_only():  # the floor for any client that checks SHA-256: this CPU's hashing speed
            h = hashlib.sha256()
            with open(blob, "rb") as fh:
                for chunk in iter(lambda: fh.read(4 << 20), b""):
                    h.update(chunk)

        results = {}
        for name, fn in (("curl -o", curl), ("llmdata (sha256 verified)", ours), ("hf_hub_download", hub),
                         ("sha256 of the file alone", hash_only)):
            results[name] = min(timed(fn) for _ in range(args.runs))
        httpd.shutdown()
        base_time = results["curl -o"]
        print(f"{args.mib} MiB over loopback, best of {args.runs}:")
        for name, seconds in results.items():
            print(f"  {name:28s} {seconds:6.2f} s  {args.mib / seconds:7.0f} MiB/s  x{seconds / base_time:4.2f} curl")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
