"""One large file over loopback: llmdata's verified download vs `curl -o FILE`, with the SHA-256 floor beside them.

The server runs in its own process (sendfile, Range support), so neither
client shares an interpreter with it. Each round, in turn: `curl -o FILE`,
llmdata's download (SHA-256 computed while the bytes stream, verified against
the pin, published by rename), and `hashlib.sha256` over the source file from
the page cache with no network at all. Every output file is deleted after its
run (fresh output) and every run starts after ``os.sync()``, so none pays for
the writeback of another's dirty pages. Reported: the median wall time of the rounds, each as a
ratio to curl's, and the CPU seconds (user + system) each spent.

Two more lines say where the time goes: `curl -o /dev/null` (the network alone,
no file written) and the CPU seconds of each client.

The floor: a verifying client must receive every byte (the `/dev/null` line),
write it (the rest of curl's time) and hash it (the hashlib line). Hashing runs
on its own thread, so with two cores it can hide entirely under the other two
whenever it is shorter than curl's whole run: the floor is then curl's time
itself (1.0x), and what is left over it is receiving and writing.

    python benchmarks/download_throughput.py [--mib 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = r"""
import http.server, os, sys
blob = sys.argv[1]
size = os.path.getsize(blob)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        return None

    def do_GET(self):
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng:
            start, status = int(rng.split("=")[1].split("-")[0]), 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"bench"')
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        with open(blob, "rb") as fh:
            self.wfile.flush()
            self.connection.sendfile(fh, start)

httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
httpd.daemon_threads = True
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"""


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(fn, cpu) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call; ``cpu`` reads the CPU clock of whoever does the work."""
    cpu_before, start = cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - start, cpu() - cpu_before


def make_file(path: Path, mib: int) -> str:
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for i in range(mib):
            chunk = block[:-8] + i.to_bytes(8, "little")
            fh.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is not installed: it is the baseline")
    work = Path(tempfile.mkdtemp(prefix="llmdata-bench-"))
    server = None
    try:
        blob = work / "big.bin"
        sha256 = make_file(blob, args.mib)
        size = blob.stat().st_size
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(blob)], stdout=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/big.bin"
        os.environ["LLMDATA_HOME"] = str(work / "home")
        os.environ.pop("LLMDATA_MIRRORS", None)

        from llmdata.fetchers.http import new_client
        from llmdata.fetchers.transfer import Pin, RemoteFile, download

        def ours():
            with new_client() as client:
                done = download(client, RemoteFile("big.bin", url, Pin(sha256=sha256, size=size)), work / "ours.bin")
            assert done.sha256 == sha256 and done.size == size

        def curl(target: str):
            subprocess.run(["curl", "-sS", "-o", target, url], check=True)

        def hash_only():  # the floor for any client that checks SHA-256: this CPU's hashing speed
            h = hashlib.sha256()
            with open(blob, "rb") as fh:
                for chunk in iter(lambda: fh.read(4 << 20), b""):
                    h.update(chunk)
            assert h.hexdigest() == sha256

        runs = {
            "curl -o FILE": (lambda: curl(str(work / "curl.bin")), cpu_children, work / "curl.bin"),
            "llmdata (sha256 verified)": (ours, cpu_self, work / "ours.bin"),
            "hashlib.sha256, file alone": (hash_only, cpu_self, None),
            "curl -o /dev/null": (lambda: curl(os.devnull), cpu_children, None),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, (fn, cpu, output) in runs.items():
                os.sync()  # no run pays for the writeback of an earlier one's dirty pages
                results[name].append(measured(fn, cpu))
                if output is not None:
                    output.unlink()  # fresh output every run; its dirty pages are dropped, not written
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(wall for wall, _ in results["curl -o FILE"])
    print(f"{args.mib} MiB over loopback, median of {args.runs} interleaved runs (fresh output each run):")
    for name, rows in results.items():
        wall = statistics.median(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"  {name:28s} {wall:6.2f} s  {args.mib / wall:7.0f} MiB/s  x{wall / base:4.2f} curl"
              f"   CPU {cpu:5.2f} s")
    print(f"  cores: {os.cpu_count()}; all runs: "
          + "; ".join(f"{name}: " + " ".join(f"{w:.2f}" for w, _ in rows) for name, rows in results.items()))


if __name__ == "__main__":
    sys.exit(main())
