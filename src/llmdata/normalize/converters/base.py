"""The converter contract, written once, and helpers every converter shares.

A converter is one declared record (:class:`Converter`): its name in the
catalog, the format it produces, its version, the readers it can take input
from, its options as typed data (:class:`Option`), the record function and,
optionally, columnar twins. The record function turns one raw record into
zero or more normalized rows: ``(record, options) -> Iterable[Row]``; what it
consumed from the record is reported so the rest lands in ``meta`` and
nothing is lost. A record that cannot be converted raises :class:`Reject`
with a reason; the pipeline writes it to the rejects file with its position.

Per-dataset differences (column names, role names) are catalog options, so a
new dataset in a known layout is data, not code. The declarations are also
published as ``registry/converters.json`` (see :mod:`llmdata.normalize.docs`),
which is what ``llmdata validate`` checks catalog options against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

Format = Literal["chat", "preference", "text", "mcq", "qa", "code", "prompt", "retrieval",
                 "corpus", "queries", "qrels"]
ROLES = ("system", "user", "assistant", "tool")
# Role names seen in ShareGPT-style data (FastChat, LLaMA-Factory, Firefly, BELLE exports ...).
DEFAULT_ROLES = {
    "human": "user", "user": "user", "prompter": "user",
    "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant",
    "bard": "assistant", "model": "assistant", "function_call": "assistant",
    "system": "system",
    "observation": "tool", "function": "tool", "tool": "tool",
}


class Reject(Exception):
    """This record cannot be converted; the message says why."""


@dataclass
class Row:
    """A normalized row without id/source (the pipeline adds them).

    ``flags`` name what is worth counting about a kept row (``answer withheld``);
    the manifest reports them per split.
    """

    fields: dict
    consumed: set[str] = field(default_factory=set)
    native_id: str | None = None
    flags: tuple[str, ...] = ()


ConvertFn = Callable[[dict, dict], Iterable[Row]]
# Columnar twins (see .columnar): a batch of records, or an Arrow table, -> Columns (kept rows + rows left to ``fn``)
BatchFn = Callable[[list[dict], dict], "object | None"]
TableFn = Callable[..., "object | None"]  # (table, options) or, with ``table_nulls``, (table, options, nulls)


@dataclass(frozen=True)
class Option:
    """One converter or reader option: its name, the JSON Schema of its value, a sentence of documentation."""

    name: str
    schema: dict
    doc: str
    default: object = None

    def describe(self) -> str:
        return f"`{self.name}`" + (f" (default `{self.default}`)" if self.default not in (None, "", [], {}) else "")


def column(name: str, default: str | None, doc: str) -> Option:
    """A raw field name."""
    return Option(name, {"type": "string", "minLength": 1}, doc, default)


def flag(name: str, default: bool, doc: str) -> Option:
    return Option(name, {"type": "boolean"}, doc, default)


def choice(name: str, values: tuple[str, ...], default: str, doc: str) -> Option:
    return Option(name, {"enum": list(values)}, doc, default)


def columns(name: str, default, doc: str) -> Option:
    """Several raw field names, or one field holding a list."""
    return Option(name, {"oneOf": [{"type": "string", "minLength": 1},
                                   {"type": "array", "items": {"type": "string"}, "minItems": 1}]}, doc, default)


def role_map(doc: str = "extra role names: {raw name: user|assistant|system|tool}") -> Option:
    return Option("roles", {"type": "object", "additionalProperties": {"enum": list(ROLES)}}, doc, None)


@dataclass(frozen=True)
class Converter:
    """A converter as one declared record; ``fn`` does the work, everything else is data."""

    name: str
    produces: Format
    version: int
    fn: ConvertFn
    doc: str
    options: tuple[Option, ...] = ()
    readers: tuple[str, ...] = ()  # readers it accepts input from; empty = any
    reader_options: dict = field(default_factory=dict)  # reader defaults (header: false ...); the entry may override
    batch: BatchFn | None = None  # columnar twin of ``fn`` on a batch of records: same output
    table: TableFn | None = None  # columnar twin on an Arrow table from pyarrow's JSON reader
    tables: dict = field(default_factory=dict)  # retrieval layouts: table name -> Converter
    # the table twin is also told, per row, whether its JSON holds a null: Arrow shows a null and an absent key alike
    table_nulls: bool = False

    @property
    def option_names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.options)

    def options_schema(self) -> dict:
        """The JSON Schema of this converter's ``options`` mapping (reader options are added by the caller)."""
        return {"type": "object", "properties": {o.name: {**o.schema, "description": o.doc} for o in self.options}}


REGISTRY: dict[str, Converter] = {}


def converter(name: str, produces: Format, version: int = 1, *, options: Iterable[Option] = (),
              readers: Iterable[str] = (), reader_options: dict | None = None, batch: BatchFn | None = None,
              table: TableFn | None = None, table_nulls: bool = False,
              doc: str | None = None) -> Callable[[ConvertFn], ConvertFn]:
    """Declare a converter under the name catalog entries use; the decorated function is its record function."""

    def register(fn: ConvertFn) -> ConvertFn:
        if name in REGISTRY:
            raise ValueError(f"converter {name!r} is declared twice")
        REGISTRY[name] = Converter(name, produces, version, fn, (doc or fn.__doc__ or "").strip(), tuple(options),
                                   tuple(readers), dict(reader_options or {}), batch, table, table_nulls=table_nulls)
        return fn

    return register


def need_str(record: dict, key: str, *, allow_empty: bool = False) -> str:
    """The string at ``key``; Reject when missing, not a string, or blank (unless allowed)."""
    if key not in record or record[key] is None:
        if allow_empty:
            return ""
        raise Reject(f"missing field {key!r}")
    value = record[key]
    if isinstance(value, float) and value != value:  # NaN, as pandas writes a missing cell into JSON
        if allow_empty:
            return ""
        raise Reject(f"field {key!r} is NaN")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Reject(f"field {key!r} should be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise Reject(f"field {key!r} is empty")
    return value


def msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def system_turn(record: dict, key: str) -> list[dict]:
    """The conversation's start: ``[system message]`` when ``record[key]`` is a non-blank string, else ``[]``."""
    system = record.get(key)
    return [msg("system", system)] if isinstance(system, str) and system.strip() else []


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
