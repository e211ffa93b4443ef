"""llmdata: find, fetch and load LLM training and evaluation data.

The API is imported lazily so that ``import llmdata`` (and the CLI) stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
_API = ("search", "info", "entry", "validate", "fetch", "load", "list_store", "verify", "remove", "pages", "pin",
        "export", "build", "load_recipe")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'llmdata' has no attribute {name!r}")
