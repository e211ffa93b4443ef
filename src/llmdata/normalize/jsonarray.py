"""A JSON array's items as JSON Lines, a block of bytes at a time, without parsing them.

pyarrow's JSON reader reads JSON Lines only; this lets the columnar path take
files that are one large array, with memory bounded by a block. numpy finds
the array's structure in a block: the quotes that are not escaped (a quote
after an odd run of backslashes is), hence which bytes are inside strings,
then the brackets, braces and commas outside them and their depth. The commas
at depth 1 end the items: they become newlines, and every other newline or
carriage return a space (outside strings those are whitespace; inside one
they are invalid JSON, which is checked), so the items read as JSON Lines, one
per line. A block ends after its last complete item; the rest is scanned again
with the next block.

Anything else — a raw newline in a string, a brace closing the array, bytes
after its closing bracket, a file that ends inside it — stops the split
(:class:`Unsplittable`); the caller reads the rest of the file with the record
path's reader, which then does exactly what it always did.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

BLOCK = 16 << 20  # bytes scanned at a time
_SPACE = b" \t\r\n"
_COMPRESSED = (b"\x1f\x8b", b"PK\x03\x04", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh")


class Unsplittable(Exception):
    """The bytes from here on are not a plain JSON array's items (or not certainly): read them the record way."""


def is_plain_array(path: Path) -> bool:
    """Uncompressed, BOM-less, and the first byte other than whitespace is ``[``."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return not head.startswith(_COMPRESSED + (b"\xef\xbb\xbf",)) and head.lstrip(_SPACE)[:1] == b"["


@lru_cache(maxsize=1)
def _table():
    import numpy as np

    kinds = np.zeros(256, dtype=np.int8)
    for char, kind in ((b'"', 1), (b"\\", 2), (b",", 3), (b"[", 4), (b"{", 4), (b"]", 5), (b"}", 6), (b"\n", 7),
                       (b"\r", 7)):
        kinds[char[0]] = kind
    return kinds


def _scan(data):
    """(positions of the commas ending items, position of the array's closing bracket or -1) in ``data``, which
    starts between two items of the array (depth 1, outside strings)."""
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    found = raw == 34  # compares, one byte value at a time, are the fast way to find them
    for byte in (92, 44, 10, 13):
        found |= raw == byte
    folded = raw | 0x20  # [ and { , ] and } differ by this bit only
    found |= folded == 0x7B
    found |= folded == 0x7D
    at = np.flatnonzero(found)
    kind = _table()[raw[at]]
    quote = kind == 1
    slashes = at[kind == 2]
    if len(slashes):
        quotes = np.flatnonzero(quote)
        before = at[quotes] - 1
        maybe = np.flatnonzero(np.isin(before, slashes))
        if len(maybe):  # the length of the backslash run ending just before such a quote: odd escapes it
            run_start = slashes[np.r_[True, np.diff(slashes) != 1]]
            start = run_start[np.searchsorted(run_start, before[maybe], side="right") - 1]
            quote[quotes[maybe[(before[maybe] - start) % 2 == 0]]] = False
    outside = np.cumsum(quote) % 2 == 0  # an even number of quotes so far: not inside a string
    if np.any((kind == 7) & ~outside):
        raise Unsplittable("a raw line break inside a string")
    mark = outside & (kind >= 3) & (kind <= 6)
    where, kind = at[mark], kind[mark]
    depth = 1 + np.cumsum(np.where(kind == 4, 1, np.where(kind >= 5, -1, 0)))
    closed = np.flatnonzero(depth <= 0)
    end = -1
    if len(closed):
        if kind[closed[0]] != 5:
            raise Unsplittable("a brace closes the array")
        end = int(where[closed[0]])
        where, kind, depth = where[:closed[0]], kind[:closed[0]], depth[:closed[0]]
    return where[(kind == 3) & (depth == 1)], end


def _lines(data, seps) -> bytearray:
    """The items of ``data`` (its commas at ``seps`` end them) as JSON Lines."""
    import numpy as np

    lines = bytearray(data.translate(_BREAKS))
    np.frombuffer(lines, dtype=np.uint8)[seps] = 10
    return lines


_BREAKS = bytes.maketrans(b"\r\n", b"  ")


def items(path: Path, size: int = BLOCK):
    """(JSON Lines bytes, number of items) for the array in ``path``, block after block; an empty array gives
    nothing. Raises :class:`Unsplittable` where the bytes stop being what it can split exactly."""
    with open(path, "rb", buffering=0) as fh:
        data = fh.read(size).lstrip(_SPACE)[1:]  # after the opening bracket (is_plain_array checked it)
        while True:
            seps, end = _scan(data)
            if end >= 0:
                body = data[:end]
                if len(seps) or body.strip(_SPACE):
                    yield _lines(body, seps), len(seps) + 1
                tail = data[end + 1:]
                while tail:
                    if tail.strip(_SPACE):
                        raise Unsplittable("bytes after the array")
                    tail = fh.read(size)
                return
            if len(seps):
                yield _lines(data[:seps[-1]], seps[:-1]), len(seps)
                data = data[int(seps[-1]) + 1:]
            more = fh.read(size)
            if not more:
                raise Unsplittable("the file ends inside the array")
            data += more
