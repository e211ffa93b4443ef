"""The fast way through a valid catalog: rapidyaml parses, PyYAML's own rules type the scalars.

PyYAML builds every value in Python (even with libyaml underneath): about
half a millisecond per catalog entry, most of a minute for 100,000 entries. rapidyaml parses
in C++ and writes the document out as JSON, which the ``json`` module reads
at C speed. What JSON cannot carry is settled with PyYAML's rules, so the
result equals ``yaml.safe_load``:

- a number, or a string that YAML 1.1 would read as something else when it
  is not quoted (``yes``, ``0x1f``, ``2024-01-01``, ``~``), is looked up in
  the parsed tree: quoted, it stays the string; plain, PyYAML's resolver and
  constructor turn its text into the value;
- a mapping key that YAML 1.1 would not read as a string, a duplicate key, a
  tag, an anchor or alias, a merge key, a directive, several documents, a
  character PyYAML refuses, YAML 1.1 line breaks (NEL, LS, PS), nesting
  deeper than the limit, any rapidyaml error, or a spot where the two parsers
  are known to differ (tabs, no final line break, a plain value starting
  with an indicator, ``x:`` before a flow indicator): ``None``, and the
  caller reads the file with the bounded PyYAML loader, which also positions
  the error messages.

Only the start of each top-level entry gets a position (that is all a valid
catalog needs); they are found in the text and checked against the entries.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from functools import lru_cache

# An entry of a top-level block sequence: a dash in column 1 and a blank; the match ends where the
# entry's node starts (blanks, line breaks and comments skipped).
_ITEM = re.compile(r"^-(?=[ \t\r\n]|\Z)(?:[ \t\r\n]+|#[^\n]*)*", re.MULTILINE)
_ALLOWED_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])
_HIGH = bytes(range(0x80, 0x100))
# UTF-8 of characters PyYAML treats differently from rapidyaml or refuses: NEL, LS, PS, U+FFFE, U+FFFF
_ODD_SEQUENCES = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xef\xbf\xbe", b"\xef\xbf\xbf")

# ':' before a flow indicator or '?' (one regular expression: ``bytes.find`` of each pair stops at every colon)
_COLON_FLOW = re.compile(rb":[,?\[\]{}]")

_ryml_lock = threading.Lock()


class _Fallback(Exception):
    """Something the fast path does not settle: read the file the exact way."""


class _Number:
    """Stands for a JSON number: its value is made from the tree's text with PyYAML's rules."""

    __slots__ = ()


_NUMBER = _Number()


@lru_cache(maxsize=1)
def _ryml():
    try:
        import ryml
    except ImportError:  # the exact path works without it
        return None
    return ryml


@lru_cache(maxsize=1)
def _pyyaml():
    """PyYAML's resolver table (by first character), a resolver and a constructor for plain scalars."""
    import yaml

    return yaml, yaml.resolver.Resolver.yaml_implicit_resolvers, yaml.SafeLoader("")


def _plain_subset(raw: bytes) -> bool:
    """No tag, anchor, alias, directive, complex key, odd line break or refused character in ``raw``.

    Each sign is looked for with ``bytes.find`` (they are rare), so a clean
    file costs a few scans at memory speed; a false alarm ("Q & A") only
    sends the file down the exact path.
    """
    if not raw.endswith(b"\n"):  # PyYAML and rapidyaml end a last block scalar differently without it
        return False
    for sign in b"!&*%":  # a tag, anchor, alias or directive: JSON would not show them
        at = raw.find(sign)
        while at >= 0:
            if _starts_token(raw, at):
                return False
            at = raw.find(sign, at + 1)
    at = raw.find(b"?")
    while at >= 0:  # a complex key, or a '?' in a flow collection, where PyYAML ends a plain scalar
        line = raw.rfind(b"\n", 0, at) + 1
        if not raw[line:at].strip(b" \t") or b"[" in raw[line:at] or b"{" in raw[line:at]:
            return False
        at = raw.find(b"?", at + 1)
    if _COLON_FLOW.search(raw):
        return False  # libyaml refuses these inside a plain scalar in a flow collection; rapidyaml does not
    if b"\t" in raw:  # PyYAML and rapidyaml disagree about tabs around plain scalars
        return False
    at = raw.find(b"\r")
    while at >= 0:
        if raw[at + 1:at + 2] != b"\n":
            return False
        at = raw.find(b"\r", at + 1)
    rest = raw.translate(None, _ALLOWED_ASCII)  # control characters and the bytes of non-ASCII characters
    if any(seq in rest for seq in _ODD_SEQUENCES):  # each starts with a lead byte: found in ``rest`` as in ``raw``
        return False
    if rest.translate(None, _HIGH):
        return False  # an ASCII control character
    at = rest.find(b"\xc2")  # U+0080..U+00BF; the C1 controls among them are refused
    while at >= 0:
        if rest[at + 1:at + 2] < b"\xa0":
            return False
        at = rest.find(b"\xc2", at + 1)
    return True


# Indicators that PyYAML does not accept at the start of a plain scalar everywhere rapidyaml does
# (':x' in a flow collection, a reserved '@' or '`'): a value starting with one is looked up, and
# when it was written plain the exact path decides.
_INDICATORS = frozenset(":?,[]{}#&*!|>'\"%@`")


@lru_cache(maxsize=1)
def _first_signs() -> frozenset:
    """First characters of values that need a look at the tree: YAML 1.1 may type them, or they are indicators."""
    return frozenset(_pyyaml()[1]) | _INDICATORS


def _starts_token(raw: bytes, at: int) -> bool:
    """Could the byte at ``at`` start a node (where '&', '*', '!' ... mean something), not sit inside text?

    True at the start of a line, after a flow indicator or a ':', and after a
    '-' or '?' followed by a blank; "Q & A" and "helpful-*" are text.
    """
    before = at
    while before > 0 and raw[before - 1] in b" \t":
        before -= 1
    if before == 0:
        return True
    prev = raw[before - 1]
    return prev in b"\r\n[{,:" or (prev in b"-?" and before < at)


def _maybe_typed(text: str) -> bool:
    """Would YAML 1.1 read ``text``, written plain, as anything but a string?"""
    if text[:1] in _INDICATORS:
        return True
    _, table, _ = _pyyaml()
    for _tag, regexp in table.get(text[:1] if text else "", ()):
        if regexp.match(text):
            return True
    return False


def fast_load(text: str, *, max_depth: int, scalar_tags: frozenset | set):
    """``(data, root, starts)``: the data, where the top-level sequence starts and where each of its items
    starts, as 1-based (line, column); or None to read the file the exact way.

    ``data`` equals what ``yaml.safe_load(text)`` returns. None whenever the
    document leaves the subset described in the module docstring.
    """
    ryml = _ryml()
    raw = text.encode("utf-8")
    if ryml is None or not _plain_subset(raw):
        return None
    try:
        tree, emitted = _parse(ryml, raw)
        root = tree.root_id()
        expected = tree.size()
        if tree.is_stream(root):
            if tree.num_children(root) != 1:
                return None
            root, expected = tree.first_child(root), expected - 1
        parsed = json.loads(emitted, parse_int=_number, parse_float=_number, parse_constant=_number)
        del emitted, raw  # memory: the tree and the data are what the rest needs
        if tree.is_stream(tree.root_id()):
            parsed = parsed[0]
        walk = _Walk(ryml, tree, root, max_depth, scalar_tags)
        data = walk.walk(parsed)
        if walk.nodes != expected:  # a duplicate key folded two nodes into one
            return None
        root_start, starts = _item_starts(text, data)
    except (_Fallback, ValueError, RecursionError):
        return None
    except Exception as exc:  # rapidyaml's parse and emit errors
        if type(exc).__module__.startswith("ryml"):
            return None
        raise
    return data, root_start, starts


def _number(_text: str) -> _Number:
    return _NUMBER


def _parse(ryml, raw: bytes):
    """Parse and emit JSON, with rapidyaml's messages on stderr (it prints its errors there) kept out of sight."""
    with _ryml_lock, _StderrAside():
        tree = ryml.parse_in_arena(raw)
        if tree.empty() or tree.size() == 0:
            raise _Fallback
        emitted = ryml.emit_json(tree)
        if not emitted:
            raise _Fallback
        return tree, emitted


class _StderrAside:
    """Send file descriptor 2 to a temporary file while rapidyaml runs; pass on what others wrote meanwhile."""

    _ours = re.compile(rb"ERROR: \[|\(detected here\)|c4/yml/|\(node=")

    def __enter__(self):
        try:
            self.saved = os.dup(2)
        except OSError:
            self.saved = None
            return self
        self.sink = tempfile.TemporaryFile()
        os.dup2(self.sink.fileno(), 2)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            return
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.sink.seek(0)
        others = [line for line in self.sink.read().splitlines(keepends=True) if not self._ours.search(line)]
        self.sink.close()
        if others:
            os.write(2, b"".join(others))


class _Walk:
    """Check and finish the data from JSON: keys, nesting depth, node count, and the values JSON cannot type.

    Nodes of the tree are looked up (by path) only for the values JSON cannot
    type, which are few; the top level's children are listed once for that.
    """

    def __init__(self, ryml, tree, root: int, max_depth: int, scalar_tags) -> None:
        self.ryml, self.tree, self.root, self.max_depth, self.scalar_tags = ryml, tree, root, max_depth, scalar_tags
        self.nodes = 0
        self._top: list[int] | None = None

    def walk(self, data):
        """``data`` (from JSON) made exact, in place where a value changes."""
        firsts, maybe_typed, max_depth = _first_signs(), _maybe_typed, self.max_depth
        string_keys: set[str] = set()  # keys YAML 1.1 also reads as strings: a catalog repeats a few dozen
        stack = [(data, ())]
        nodes = 0
        while stack:
            value, path = stack.pop()
            if len(path) > max_depth:
                raise _Fallback
            nodes += 1 + len(value)  # this collection and its children (collections count when popped)
            if type(value) is dict:
                for key in value:
                    if key not in string_keys:
                        if key[:1] in firsts and maybe_typed(key):
                            raise _Fallback  # a key YAML reads as a number, boolean, null, date or merge
                        string_keys.add(key)
                items = value.items()
            else:
                items = enumerate(value)
            for key, item in items:
                kind = type(item)
                if kind is str:
                    if item[:1] in firsts and maybe_typed(item):
                        value[key] = self._scalar(self._node(path + (key,)))
                elif kind is dict or kind is list:
                    nodes -= 1
                    stack.append((item, path + (key,)))
                elif item is _NUMBER:
                    value[key] = self._scalar(self._node(path + (key,)))
        self.nodes += nodes
        return data

    def _node(self, path: tuple) -> int:
        tree, none = self.tree, self.ryml.NONE
        node = self.root
        for depth, step in enumerate(path):
            if depth == 0 and isinstance(step, int):
                if self._top is None:
                    self._top = []
                    child = tree.first_child(node)
                    while child != none:
                        self._top.append(child)
                        child = tree.next_sibling(child)
                node = self._top[step] if step < len(self._top) else none
            elif isinstance(step, int):
                node = tree.child(node, step)
            else:
                node = tree.find_child(node, step.encode("utf-8"))
            if node == none:
                raise _Fallback
        return node

    def _scalar(self, node: int):
        """A number or a string YAML 1.1 might type: its value as PyYAML constructs it from the tree's text."""
        tree = self.tree
        if tree.is_container(node) or tree.has_val_tag(node) or tree.is_val_ref(node) or tree.has_val_anchor(node):
            raise _Fallback
        raw = tree.val(node)
        text = "" if raw is None else bytes(raw).decode("utf-8")
        if not tree.is_val_plain(node):
            return text  # quoted or a block scalar: always a string
        if text[:1] in _INDICATORS:
            raise _Fallback
        yaml, _, loader = _pyyaml()
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))
        if tag not in self.scalar_tags:
            raise _Fallback  # '<<' or '=': the exact path says what is wrong
        try:
            return loader.construct_object(yaml.ScalarNode(tag, text), deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise _Fallback from None


def _item_starts(text: str, data) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Where the top-level sequence starts, and (line, column) of each of its items where PyYAML's node for
    the item starts; checked against ``data``."""
    if not isinstance(data, list):
        raise _Fallback
    starts: list[tuple[int, int]] = []
    line, line_start, counted = 1, 0, 0
    for number, match in enumerate(_ITEM.finditer(text)):
        if number == 0:
            first_dash = text.count("\n", 0, match.start()) + 1
        at = match.end()
        line += text.count("\n", counted, at)
        counted = at
        line_start = text.rfind("\n", 0, at) + 1
        starts.append((line, at - line_start + 1))
        if number >= len(data):
            raise _Fallback
        item = data[number]
        if item is None:
            raise _Fallback  # an empty item: PyYAML places it where the dash ends
        if isinstance(item, dict) and item:
            first = next(iter(item))
            if not text[at:at + len(first) + 1].lstrip("\"'").startswith(first):
                raise _Fallback
    if len(starts) != len(data) or not starts:
        raise _Fallback
    return (first_dash, 1), starts
