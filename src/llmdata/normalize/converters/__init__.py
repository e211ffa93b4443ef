"""Converters from raw dataset layouts to the normalized formats: one declared record each, looked up by catalog name."""

from __future__ import annotations

from . import chat, evals, preference, prompts, retrieval, trees  # noqa: F401 - importing declares the converters
from .base import REGISTRY, Converter, Option, Reject, Row

__all__ = ["REGISTRY", "Converter", "Option", "Reject", "Row", "get"]


def get(name: str) -> Converter:
    from ...errors import UsageError

    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"no converter named {name!r}",
                         hint=f"available: {', '.join(sorted(REGISTRY))}") from None
