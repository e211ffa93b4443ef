"""Load YAML into plain Python data and remember where every value came from.

JSON Schema errors carry a path (``[3, "sources", 0, "repo"]``); to tell the
user "catalog.yaml:212:7" we need the line and column of the node at that
path. PyYAML's composed node tree has those marks, so we build the data from
the nodes ourselves and keep a ``path -> (line, column)`` table on the side.
Duplicate mapping keys, which PyYAML silently overwrites, are reported here.

A catalog may come from anyone (``LLMDATA_CATALOG``, ``--catalog``), so
reading one is bounded: the file size, the nesting depth (checked on the event
stream *before* libyaml composes, whose recursion crashes the interpreter on
deep input), and how far aliases may expand the document ("billion laughs":
315 bytes that expand to 9**9 nodes). Only plain YAML types are accepted;
``!!python/...`` and other tags are refused. Every failure is one
:class:`~llmdata.errors.YamlSyntaxError` with file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import YamlSyntaxError

try:  # libyaml is ~10x faster when present
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

Path_ = tuple  # a JSON-pointer-like tuple of keys and indexes


@dataclass
class LoadedYaml:
    data: object
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    duplicate_keys: list[tuple[tuple, int, int]] = field(default_factory=list)

    def position(self, path: tuple) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at ``path``, or of its nearest parent."""
        path = tuple(path)
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def key_position(self, path: tuple) -> tuple[int | None, int | None]:
        """Where the *key* at the end of ``path`` is written (falls back to the value)."""
        return self.positions.get(tuple(path) + ("<key>",), self.position(path))


# Limits: far above any real catalog (the built-in one is ~140 KB, ~6,000 nodes,
# depth 6), far below what hurts.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 50
MAX_ALIAS_GROWTH = 10  # aliases may add at most 10x the document's own nodes ...
ALIAS_ALLOWANCE = 10_000  # ... plus this many

_PLAIN = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_PLAIN + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class _Limit(Exception):
    """Raised inside the builder; turned into a YamlSyntaxError with the node's position."""

    def __init__(self, node: yaml.Node, message: str, hint: str) -> None:
        super().__init__(message)
        self.node, self.message, self.hint = node, message, hint


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_PLAIN):] if tag.startswith(_PLAIN) else tag


def _yaml_error(exc: yaml.YAMLError, filename: str, text: str) -> YamlSyntaxError:
    """Any PyYAML error as one line with a position (reader errors carry a character offset)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        what = ": ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        return YamlSyntaxError(filename, line, col, f"YAML syntax error: {_one_line(what)}")
    position = getattr(exc, "position", None)
    line = col = None
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return YamlSyntaxError(filename, line, col, f"YAML syntax error: {_one_line(reason)}",
                           hint="remove control characters; save the file as UTF-8 text")


def _check_depth(text: str, filename: str) -> None:
    """Walk the event stream (iterative in libyaml) and refuse nesting deeper than MAX_DEPTH."""
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise YamlSyntaxError(
                        filename, mark.line + 1, mark.column + 1,
                        f"the YAML is nested more than {MAX_DEPTH} levels deep",
                        hint="a catalog entry needs a handful of levels; check for runaway brackets")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def load_yaml(text: str, filename: str = "<string>", *, positions_depth: int | None = None) -> LoadedYaml:
    """Parse ``text`` safely; ``positions_depth`` limits the position table to paths that short
    (1: each entry's start only), which is what a valid catalog needs and a fraction of the memory."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlSyntaxError(filename, None, None,
                              f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB, the limit for a catalog",
                              hint="split it into several catalog files")
    if positions_depth == 1:  # a file expected to be valid: try the fast parse first
        from .fast_yaml import fast_load

        fast = fast_load(text, max_depth=MAX_DEPTH, scalar_tags=_SCALAR_TAGS)
        if fast is not None:
            data, root, starts = fast
            positions = {(): root}
            positions.update(((i,), start) for i, start in enumerate(starts))
            return LoadedYaml(data=data, positions=positions)
    try:
        _check_depth(text, filename)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename, text) from None
    result = LoadedYaml(data=None)
    if node is None:
        return result
    builder = _Builder(result, filename, positions_depth)
    try:
        result.data = builder.build(node, ())
    except _Limit as exc:
        line, col = _mark(exc.node)
        raise YamlSyntaxError(filename, line, col, exc.message, hint=exc.hint) from None
    return result


def load_yaml_file(path: Path, *, positions_depth: int | None = None) -> LoadedYaml:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlSyntaxError(str(path), None, None, f"cannot read the file: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise YamlSyntaxError(str(path), None, None,
                              f"the file is {size / 2**20:.0f} MiB; a catalog may be at most "
                              f"{MAX_FILE_BYTES // 2**20} MiB", hint="split it into several catalog files")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError(str(path), line, None, "file is not valid UTF-8") from None
    return load_yaml(text, str(path), positions_depth=positions_depth)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Plain data from composed nodes, with positions, a tag allow-list and a budget for alias expansion.

    A node reached a second time is an alias; the nodes built that way count
    against ``MAX_ALIAS_GROWTH`` times the distinct nodes seen (plus an
    allowance), so anchors for shared blocks work and exponential ones stop
    after a few thousand nodes.
    """

    def __init__(self, out: LoadedYaml, filename: str, positions_depth: int | None = None) -> None:
        self.out = out
        self.positions_depth = 1 << 30 if positions_depth is None else positions_depth
        self.filename = filename
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self.seen: set[int] = set()
        self.built = 0
        self.active: set[int] = set()  # collections on the current path: an alias to one is a cycle

    def _count(self, node: yaml.Node, depth: int) -> None:
        self.built += 1
        self.seen.add(id(node))
        if self.built > ALIAS_ALLOWANCE + MAX_ALIAS_GROWTH * len(self.seen):
            raise _Limit(node, f"aliases expand the YAML to more than {MAX_ALIAS_GROWTH} times its own size "
                               "(an alias bomb?)", "use anchors (&name) and aliases (*name) only for small shared "
                                                   "blocks, and never nest them")
        if depth > MAX_DEPTH:
            raise _Limit(node, f"the YAML is nested more than {MAX_DEPTH} levels deep once aliases are expanded",
                         "do not nest aliases inside anchored blocks")

    def build(self, node: yaml.Node, path: tuple) -> object:
        self._count(node, len(path))
        if len(path) <= self.positions_depth:
            self.out.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, _PLAIN + "map")
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _PLAIN + "seq")
            return self._guarded(node, lambda: [self.build(item, path + (i,)) for i, item in enumerate(node.value)])
        return self._scalar(node)

    def _guarded(self, node: yaml.Node, make):
        if id(node) in self.active:
            raise _Limit(node, "an alias refers to the block that contains it (a cycle)",
                         "an anchor (&name) cannot be used inside its own value")
        self.active.add(id(node))
        try:
            return make()
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: tuple) -> dict:
        def make() -> dict:
            mapping: dict = {}
            for key_node, value_node in node.value:
                if key_node.tag == _PLAIN + "merge":
                    raise _Limit(key_node, "merge keys ('<<') are not supported in a catalog",
                                 "write the keys out, or reuse a whole value with &anchor and *alias")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Limit(key_node, "a mapping key must be a plain value, not a list or mapping",
                                 "write keys as plain words")
                key = self._scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    key = str(key)
                child = path + (key,)
                if key in mapping:
                    self.out.duplicate_keys.append((child, *_mark(key_node)))
                if len(child) <= self.positions_depth:
                    self.out.positions[child + ("<key>",)] = _mark(key_node)
                mapping[key] = self.build(value_node, child)
            return mapping

        return self._guarded(node, make)

    def _check_tag(self, node: yaml.Node, plain: str) -> None:
        if node.tag != plain:
            raise _Limit(node, f"unsupported YAML tag {_short_tag(node.tag)!r}",
                         "a catalog holds plain strings, numbers, booleans, lists and mappings; remove the tag")

    def _scalar(self, node: yaml.Node) -> object:
        if node.tag not in _SCALAR_TAGS:
            raise _Limit(node, f"unsupported YAML tag {_short_tag(node.tag)!r}",
                         "a catalog holds plain strings, numbers, booleans, lists and mappings; remove the tag")
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _Limit(node, f"cannot read the value {node.value!r}: {_one_line(exc)}",
                         "quote the value to keep it as text") from None
