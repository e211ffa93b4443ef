"""The converter contract, written once, and helpers every converter shares.

A converter turns one raw record into zero or more normalized rows. It is a
function ``(record, options) -> Iterable[Row]``; what it consumed from the
record is reported so the rest lands in ``meta`` and nothing is lost. A
record that cannot be converted raises :class:`Reject` with a reason; the
pipeline writes it to the rejects file with its position.

Per-dataset differences (column names, role names) are catalog options, so a
new dataset in a known layout is data, not code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

Format = Literal["chat", "preference", "text", "mcq", "qa", "code", "retrieval"]
ROLES = ("system", "user", "assistant", "tool")


class Reject(Exception):
    """This record cannot be converted; the message says why."""


@dataclass
class Row:
    """A normalized row without id/source (the pipeline adds them)."""

    fields: dict
    consumed: set[str] = field(default_factory=set)
    native_id: str | None = None


ConvertFn = Callable[[dict, dict], Iterable[Row]]


BatchFn = Callable[[list[dict], dict], "tuple[dict, list[int]] | None"]


@dataclass(frozen=True)
class Converter:
    name: str
    produces: Format
    version: int
    fn: ConvertFn
    doc: str
    batch: BatchFn | None = None  # optional columnar twin of ``fn``: same output, whole batches at once


REGISTRY: dict[str, Converter] = {}


def converter(name: str, produces: Format, version: int = 1) -> Callable[[ConvertFn], ConvertFn]:
    """Register a converter under the name catalog entries use."""

    def register(fn: ConvertFn) -> ConvertFn:
        REGISTRY[name] = Converter(name, produces, version, fn, (fn.__doc__ or "").strip())
        return fn

    return register


def need_str(record: dict, key: str, *, allow_empty: bool = False) -> str:
    """The string at ``key``; Reject when missing, not a string, or blank (unless allowed)."""
    if key not in record or record[key] is None:
        if allow_empty:
            return ""
        raise Reject(f"missing field {key!r}")
    value = record[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Reject(f"field {key!r} should be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise Reject(f"field {key!r} is empty")
    return value


def msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def check_chat(messages: list[dict]) -> list[dict]:
    """A trainable conversation: non-empty turns, at least one user turn, ends with the assistant."""
    if not messages:
        raise Reject("no messages")
    for i, m in enumerate(messages):
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            raise Reject(f"empty {m.get('role', '?')} turn at message {i}")
    if not any(m["role"] == "user" for m in messages):
        raise Reject("no user turn")
    if messages[-1]["role"] != "assistant":
        raise Reject("conversation does not end with an assistant reply")
    return messages


def check_pair(prompt: list[dict], chosen: list[dict], rejected: list[dict]) -> None:
    if not prompt:
        raise Reject("empty prompt")
    for part, name in ((chosen, "chosen"), (rejected, "rejected")):
        if not part or not all(isinstance(m["content"], str) and m["content"].strip() for m in part):
            raise Reject(f"empty {name} response")
    if chosen == rejected:
        raise Reject("chosen and rejected are identical")


def map_role(raw: object, role_map: dict[str, str]) -> str:
    key = str(raw).strip().lower()
    if key in role_map:
        return role_map[key]
    raise Reject(f"unknown role {raw!r}; map it with the converter option roles: {{{raw}: user|assistant|system|tool}}")


def batch_for(name: str) -> Callable[[BatchFn], BatchFn]:
    """Attach a columnar implementation to an already registered converter."""

    def attach(fn: BatchFn) -> BatchFn:
        import dataclasses

        REGISTRY[name] = dataclasses.replace(REGISTRY[name], batch=fn)
        return fn

    return attach
