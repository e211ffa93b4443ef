"""``--engine ray``: the same downloads and converters, spread over a Ray cluster (``pip install 'llmdata[ray]'``).

- :mod:`.fetch` splits a dataset's file list into Ray tasks; each downloads
  and verifies its files into the store with :func:`fetchers.parallel.download_all`;
- :mod:`.normalize` converts with Ray tasks that run the local engine's
  readers and converters on byte ranges of the raw files;
- :func:`.normalize.load_split` reads exactly one split's shards as a ``ray.data.Dataset``;
- :mod:`.build` runs a recipe's filters, dedup and decontamination as Ray tasks and
  Ray Data groupings (:mod:`.groups`), with the same rows and bytes as the local build.

Where things run: ``ray.init()`` joins the cluster named by ``RAY_ADDRESS``
(``ray start --head`` prints it), else starts Ray on this machine. Every node
reads and writes the store itself, so ``LLMDATA_HOME`` must be a path that
names the same shared filesystem on every node (NFS, Lustre, CephFS, a
mounted bucket such as s3fs / gcsfuse), mounted at the same path. An fsspec
URL (``s3://...``) as ``LLMDATA_HOME`` is not supported: the store needs
renames and locks, which object stores do not have; mount it instead.
Before any download a probe file written by the driver is looked for on the
nodes; a node that cannot see it fails the run with a message naming it.
"""

from __future__ import annotations

import os
import re

from .. import settings
from ..errors import LlmdataError, UsageError

ENGINES = ("local", "ray")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# what a worker needs to fetch as the driver would (tokens included: the worker downloads gated files)
WORKER_ENV = ("LLMDATA_HOME", "LLMDATA_MIRRORS", "LLMDATA_RETRIES", "LLMDATA_OFFLINE", "LLMDATA_JOBS",
              "HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "GITHUB_TOKEN",
              "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
              "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE")


class StoreNotSharedError(LlmdataError):
    """A Ray node cannot see the store the driver writes to."""


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint=f"engines: {', '.join(ENGINES)}")
    return engine


def require_ray():
    """The ``ray`` module, or a UsageError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError("--engine ray needs Ray Data, which is not installed",
                         hint="pip install 'llmdata[ray]'   (installs ray[data])") from None
    return ray


def check_store() -> None:
    """Refuse a store the Ray engine cannot share: an fsspec URL, or (later, per node) a path a node cannot see."""
    value = os.environ.get(settings.HOME.env, "")
    if _URL.match(value):
        raise UsageError(f"LLMDATA_HOME={value} is a URL; --engine ray needs the store on a filesystem path",
                         hint="mount the bucket or share (s3fs, gcsfuse, NFS ...) at the same path on every node "
                              "and set LLMDATA_HOME to that path")


def connect():
    """``ray`` after ``ray.init()``: the cluster of ``RAY_ADDRESS`` when set, else a local instance."""
    ray = require_ray()
    check_store()
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, log_to_driver=False,
                 configure_logging=False)
    return ray


def worker_env() -> dict[str, str]:
    """The settings a task sets in its worker before it touches the store or the network."""
    env = {name: os.environ[name] for name in WORKER_ENV if name in os.environ}
    env[settings.HOME.env] = str(settings.home().expanduser().resolve())
    if "HF_TOKEN" not in env and "HUGGING_FACE_HUB_TOKEN" not in env:
        token = settings.hf_token()  # the one `hf auth login` stored on this machine only
        if token:
            env["HF_TOKEN"] = token
    return env
