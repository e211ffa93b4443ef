"""Downloads as Ray tasks: the file list in chunks, each chunk fetched and verified into the shared store.

:func:`download_all` has the signature of :func:`fetchers.parallel.download_all`
and is handed to :func:`fetchers.service.fetch_entry` as its ``runner``: the
service still chooses the source, checks space, and writes the ledger once,
on the driver, after every chunk came back verified. Inside a task the chunk
goes through the local engine (threads, per-file locks, resume, verify,
atomic rename), so a task retried by Ray after its worker died resumes the
parts the dead one left and re-verifies whatever it had already published.

The first chunk that fails cancels the others and its error is raised as the
local engine raises it (the original exception, not Ray's wrapper).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from .. import settings
from ..fetchers.parallel import Totals
from . import StoreNotSharedError, connect, worker_env

FILES_PER_TASK = 64  # a chunk pays one task start-up and one client; small enough to spread a large repo
MAX_RETRIES = 3  # Ray re-runs a task whose worker died (the chunk resumes and re-verifies)


def _fetch_chunk(env: dict[str, str], probe: str, files: list, dests: list[str], jobs: int, after) -> list:
    """One Ray task: the local engine over a chunk of files, in the driver's settings."""
    import socket

    from ..fetchers.http import new_client
    from ..fetchers.parallel import download_all

    with settings.environment(env):
        if not Path(probe).is_file():
            raise StoreNotSharedError(
                f"node {socket.gethostname()} cannot see the store at {env['LLMDATA_HOME']}",
                hint="with --engine ray, LLMDATA_HOME must be a shared filesystem mounted at the same path on "
                     "every node (NFS, Lustre, s3fs ...)")
        client = new_client(jobs)
        try:
            return download_all(client, files, {f.path: Path(d) for f, d in zip(files, dests)}, jobs=jobs,
                                after=after)
        finally:
            client.close()


def _chunks(count: int, tasks: int) -> list[range]:
    size = max(1, -(-count // tasks))
    return [range(i, min(i + size, count)) for i in range(0, count, size)]


def download_all(client, files, dests, *, jobs: int, progress=None, overall=None, after=None) -> list:
    """Fetch ``files`` with Ray tasks of up to ``FILES_PER_TASK`` files (``jobs`` threads each); list order kept.

    ``progress`` (per byte) is not available across processes: ``overall`` is
    called as chunks finish.
    """
    del client, progress  # each task opens its own client; bytes are not reported across processes
    ray = connect()
    from ..store import layout

    probe = layout.tmp_dir() / f"ray-probe-{uuid.uuid4().hex}"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("llmdata --engine ray: the store as the driver sees it\n")
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    tasks = max(cpus, -(-len(files) // FILES_PER_TASK))
    task = ray.remote(_fetch_chunk).options(num_cpus=1, max_retries=MAX_RETRIES)
    env = worker_env()
    sizes = [f.pin.size for f in files]
    total = sum(s or 0 for s in sizes) if all(s is not None for s in sizes) else None
    pending = {}
    for part in _chunks(len(files), tasks):
        chunk = [files[i] for i in part]
        ref = task.remote(env, str(probe), chunk, [str(dests[f.path]) for f in chunk], jobs, after)
        pending[ref] = part
    results: dict[int, object] = {}
    done_bytes = 0
    try:
        if overall is not None:
            overall(Totals(len(files), 0, total, 0))
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            part = pending.pop(ref)
            try:
                verified = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the task's own error, as the local engine raises it
                raise (exc.cause if isinstance(exc.cause, BaseException) else exc) from None
            for i, v in zip(part, verified):
                results[i] = v
                done_bytes += v.size
            if overall is not None:
                overall(Totals(len(files), len(results), total, done_bytes))
    finally:
        for ref in pending:  # after a failure (or Ctrl-C): nothing else starts
            ray.cancel(ref)
        probe.unlink(missing_ok=True)
    return [results[i] for i in range(len(files))]
