"""Run llmdata in a benchmark's subprocesses as an installed copy runs: with its modules' bytecode compiled.

``pip install`` compiles a package's modules; an environment that sets
``PYTHONDONTWRITEBYTECODE`` (or a source checkout never imported before)
would have every timed process compile llmdata's modules again, about 0.1 s
of CPU that no installed user pays.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path


def installed_env(env: dict | None = None) -> dict:
    """``env`` (default: this process's environment) with llmdata's bytecode compiled and allowed to be read."""
    import llmdata

    compileall.compile_dir(Path(llmdata.__file__).parent, quiet=1)
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
