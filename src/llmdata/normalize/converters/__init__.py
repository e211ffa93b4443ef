"""Converters from raw dataset layouts to the normalized formats, looked up by catalog name."""

from __future__ import annotations

from . import chat, columnar, evals, preference, retrieval, trees  # noqa: F401 - importing registers the converters
from .base import REGISTRY, Converter, Reject, Row

__all__ = ["REGISTRY", "Converter", "Reject", "Row", "get"]


def get(name: str) -> Converter:
    from ...errors import UsageError

    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"no converter named {name!r}",
                         hint=f"available: {', '.join(sorted(REGISTRY))}") from None
