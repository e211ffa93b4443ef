"""Load YAML into plain Python data and remember where every value came from.

JSON Schema errors carry a path (``[3, "sources", 0, "repo"]``); to tell the
user "catalog.yaml:212:7" we need the line and column of the node at that
path. PyYAML's composed node tree has those marks, so we build the data from
the nodes ourselves and keep a ``path -> (line, column)`` table on the side.
Duplicate mapping keys, which PyYAML silently overwrites, are reported here.
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


def load_yaml(text: str, filename: str = "<string>") -> LoadedYaml:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise YamlSyntaxError(filename, line, col, f"YAML syntax error: {exc.problem or exc}") from None
    finally:
        loader.dispose()
    result = LoadedYaml(data=None)
    if node is None:
        return result
    constructor = yaml.SafeLoader("")  # only its scalar constructors are used
    result.data = _build(node, (), result, constructor)
    return result


def load_yaml_file(path: Path) -> LoadedYaml:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError(str(path), line, None, "file is not valid UTF-8") from None
    return load_yaml(text, str(path))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, path: tuple, out: LoadedYaml, constructor: yaml.SafeLoader) -> object:
    out.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        mapping: dict = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            child = path + (key,)
            if key in mapping:
                out.duplicate_keys.append((child, *_mark(key_node)))
            out.positions[child + ("<key>",)] = _mark(key_node)
            mapping[key] = _build(value_node, child, out, constructor)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), out, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
