"""Edit a catalog file in place, line by line, so that everything not edited stays byte-identical.

A round-trip YAML parser (ruamel.yaml) finds where each entry, key and source
sits; the edits then replace or insert only the lines of the keys that change
(a source's ``revision``/``ref``, ``files``, ``sha256``/``size``; an entry's
licence fields), keeping comments, key order, quoting and indentation of
everything else. Re-dumping the whole document instead would re-indent files
that mix indentation styles, as the README's own example does.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import UsageError


def _scalar(value) -> str:
    """One YAML scalar, quoted only when plain style would change its meaning."""
    import yaml

    if value is None:
        return "null"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30).rstrip("\n")
    return text[:-4].rstrip("\n") if text.endswith("\n...") else text


def flow_mapping(mapping: Mapping) -> str:
    """``{path: a.json, git_blob: 0f.., size: 12}``: the catalog's one-line style for a file."""
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _flow_list(values) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def render_value(key: str, value, indent: int) -> list[str]:
    """``key: value`` as lines at ``indent``; lists of mappings become one flow mapping per line."""
    pad = " " * indent
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [f"{pad}{key}:"] + [f"{pad}  - {flow_mapping(v)}" for v in value]
    if isinstance(value, list):
        return [f"{pad}{key}: {_flow_list(value)}"]
    if isinstance(value, Mapping):
        return [f"{pad}{key}: {flow_mapping(value)}"]
    return [f"{pad}{key}: {_scalar(value)}"]


@dataclass
class _Edit:
    start: int  # first line replaced (0-based)
    end: int  # one past the last line replaced; == start for an insertion
    lines: list[str]
    order: int = 0


@dataclass
class CatalogEditor:
    """Queue edits against the original text, then ``render()`` them all at once."""

    text: str
    edits: list[_Edit] = field(default_factory=list)

    def __post_init__(self) -> None:
        from ruamel.yaml import YAML

        self.lines = self.text.split("\n")
        self.doc = YAML(typ="rt").load(io.StringIO(self.text))
        if not isinstance(self.doc, list):
            raise UsageError("a catalog must be a YAML list of entries", hint="start each entry with '- id: ...'")
        self.by_id = {e.get("id"): e for e in self.doc if isinstance(e, Mapping)}

    # ------------------------------------------------------------------ positions

    def entry(self, entry_id: str):
        if entry_id not in self.by_id:
            raise UsageError(f"no entry {entry_id!r} in this catalog file")
        return self.by_id[entry_id]

    def _is_content(self, line: str, col: int, dash_continues: bool = False) -> bool:
        """A line that ends the node at ``col``: content indented at most ``col`` (a ``- `` item at exactly
        ``col`` still belongs to a key whose block sequence is not indented)."""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return False
        indent = len(line) - len(line.lstrip(" "))
        if dash_continues and indent == col and stripped.startswith("- "):
            return False
        return indent <= col

    def _span(self, node, key: str) -> tuple[int, int]:
        """Lines of ``key: value`` in ``node`` (a block mapping), without trailing blank or comment lines."""
        start, col = node.lc.key(key)
        end = start + 1
        while end < len(self.lines) and not self._is_content(self.lines[end], col, dash_continues=True):
            end += 1
        while end - 1 > start and (not self.lines[end - 1].strip() or self.lines[end - 1].strip().startswith("#")):
            end -= 1
        return start, end

    def _item_span(self, seq, index: int) -> tuple[int, int]:
        start, col = seq.lc.item(index)
        end = start + 1
        while end < len(self.lines) and not self._is_content(self.lines[end], col - 1):
            end += 1
        while end - 1 > start and (not self.lines[end - 1].strip() or self.lines[end - 1].strip().startswith("#")):
            end -= 1
        return start, end

    def _add(self, start: int, end: int, lines: list[str]) -> None:
        self.edits.append(_Edit(start, end, lines, len(self.edits)))

    # ------------------------------------------------------------------ edits

    def set_key(self, node, key: str, value, after: tuple[str, ...] = ()) -> None:
        """Replace ``key``'s lines in a block mapping, or insert them after the first present key of ``after``."""
        if value is None and key not in node:
            return
        if key in node:
            start, end = self._span(node, key)
            col = node.lc.key(key)[1]
            self._add(start, end, [] if value is None else render_value(key, value, col))
            return
        col = self._key_col(node)
        anchor = next((k for k in after if k in node), None)
        if anchor is None:
            anchor = list(node.keys())[-1]
        _, end = self._span(node, anchor)
        self._add(end, end, render_value(key, value, col))

    def _key_col(self, node) -> int:
        return node.lc.key(next(iter(node.keys())))[1]

    def set_entry(self, entry_id: str, key: str, value, after: tuple[str, ...] = ()) -> None:
        self.set_key(self.entry(entry_id), key, value, after)

    def set_source(self, entry_id: str, index: int, values: Mapping) -> None:
        """Set keys of one source (revision/ref, files, sha256, size, note), inserting new ones after ``repo``/``url``."""
        seq = self.entry(entry_id)["sources"]
        source = seq[index]
        if source.fa.flow_style():  # `- {kind: hf, repo: x}`: rewrite the item as a block
            start, end = self._item_span(seq, index)
            col = seq.lc.item(index)[1]
            merged = {**dict(source), **values}
            lines = []
            for k, v in merged.items():
                lines += render_value(k, v, col)
            lines[0] = " " * (col - 2) + "- " + lines[0][col:]
            self._add(start, end, lines)
            return
        order = ("kind", "repo", "url", "revision", "ref", "path", "sha256", "size", "config", "files")
        for key, value in values.items():
            preceding = order[: order.index(key)] if key in order else tuple(source.keys())
            self.set_key(source, key, value, after=tuple(reversed(preceding)))

    def render(self) -> str:
        lines = list(self.lines)
        # bottom-up, so earlier positions stay valid; at one line, replace first and insert after
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end > e.start, e.order), reverse=True):
            lines[edit.start:edit.end] = edit.lines
        return "\n".join(lines)
