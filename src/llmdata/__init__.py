"""llmdata: find, fetch and load LLM training and evaluation data.

The API is imported lazily so that ``import llmdata`` (and the CLI) stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["search", "info", "validate", "fetch", "load", "__version__"]


def __getattr__(name: str):
    if name in {"search", "info", "validate", "fetch", "load"}:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'llmdata' has no attribute {name!r}")
