"""``str.strip()`` of the strings of an Arrow array as byte ranges of its data buffer, without copying the text.

``utf8_trim_whitespace`` copies every string of a column, while a twin mostly
needs only where each stripped string starts and ends: is it blank, and which
bytes do its output rows take. Here the ends are moved over ASCII whitespace
with numpy (a few bytes per string, looked up in a table); a string that
starts or ends with one of the non-ASCII spaces (or with a long run of ASCII
ones) is trimmed by pyarrow, which trims exactly what ``str.strip()`` does
(:data:`SPACES`). The strings are valid UTF-8, as those of every validated
array are, so a byte range ending with a space's encoding ends with that space.
"""

from __future__ import annotations

# The code points str.isspace() holds: what str.strip() trims and what the re module's \s matches (tests check it).
SPACES = (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
          0x2029, 0x202F, 0x205F, 0x3000)
_WIDE = tuple(chr(c).encode() for c in SPACES if c >= 0x80)  # 2 and 3 bytes each
_STEPS = 8  # ASCII spaces moved over per end before pyarrow takes the string


def _table(values):
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table


def offsets(array):
    """The value offsets of a string array (int64, ``len(array) + 1`` of them), as they index its data buffer."""
    import numpy as np
    import pyarrow as pa

    kind = np.int64 if pa.types.is_large_string(array.type) else np.int32
    n = len(array)
    return np.frombuffer(array.buffers()[1], dtype=kind)[array.offset:array.offset + n + 1].astype(np.int64)


def data(array):
    """The data buffer of a string array as bytes (numpy uint8; empty when it has none)."""
    import numpy as np

    buffer = array.buffers()[2]
    return np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, dtype=np.uint8)


def strip_bounds(array, rows=None):
    """(starts, ends): the byte range of ``array[i].strip()`` in the array's data buffer, for each ``i`` of ``rows``
    (all rows when None); a blank string gets an empty range."""
    import numpy as np

    at = offsets(array)
    if rows is None:
        rows = np.arange(len(array))
    start, end = at[rows], at[rows + 1]
    raw = data(array)
    ascii_space = _table(c for c in SPACES if c < 0x80)
    unsure = np.zeros(len(rows), dtype=bool)
    for move, edge in ((start, lambda i: start[i]), (end, lambda i: end[i] - 1)):
        todo = np.flatnonzero(start < end)
        for _ in range(_STEPS):
            todo = todo[ascii_space[raw[edge(todo)]]]
            if not len(todo):
                break
            move[todo] += 1 if move is start else -1
            todo = todo[start[todo] < end[todo]]
        unsure[todo] = True
    unsure |= _wide_space_at_an_end(raw, start, end)
    if unsure.any():
        import pyarrow as pa
        import pyarrow.compute as pc

        which = np.flatnonzero(unsure)
        strings = array.take(pa.array(np.asarray(rows)[which]))
        size = _np_int(pc.binary_length(strings))
        first = at[np.asarray(rows)[which]] + size - _np_int(pc.binary_length(pc.utf8_ltrim_whitespace(strings)))
        last = at[np.asarray(rows)[which] + 1] - size + _np_int(pc.binary_length(pc.utf8_rtrim_whitespace(strings)))
        start[which], end[which] = first, np.maximum(last, first)
    return start, end


def _wide_space_at_an_end(raw, start, end):
    """Per range: it starts or ends with one of the non-ASCII spaces (their 2 or 3 bytes read as one integer)."""
    import numpy as np

    found = np.zeros(len(start), dtype=bool)
    for side in (0, -1):
        maybe = np.flatnonzero(start < end)
        maybe = maybe[_table(w[side] for w in _WIDE)[raw[start[maybe] if side == 0 else end[maybe] - 1]]]
        for k in (2, 3):
            hit = maybe[end[maybe] - start[maybe] >= k]
            first = start[hit] if side == 0 else end[hit] - k
            code = np.zeros(len(hit), dtype=np.int64)
            for j in range(k):
                code = code * 256 + raw[first + j]
            found[hit[np.isin(code, [int.from_bytes(w, "big") for w in _WIDE if len(w) == k])]] = True
    return found


def _np_int(array):
    import numpy as np

    return np.asarray(array.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def strip(strings):
    """``str.strip()`` of every string, copied (the same code points: :data:`SPACES`)."""
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(strings)


def blank(strings):
    """True where ``not s.strip()``; null stays null. A string array's strings are not copied to find it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(strings, pa.Array) and strings.type in (pa.string(), pa.large_string()):
        nulls = np.asarray(strings.is_null().to_numpy(zero_copy_only=False), dtype=bool) if strings.null_count else None
        return pa.array(blank_mask(strings), mask=nulls)
    return pc.equal(pc.utf8_length(strip(strings)), 0)


def blank_mask(strings):
    """``not s.strip()`` per string of a string array, as a numpy bool array (null rows: True)."""
    import numpy as np

    start, end = strip_bounds(strings)
    result = start == end
    if strings.null_count:
        result |= ~np.asarray(strings.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return result


def pick(strings, index):
    """``strings.take(index)``; ``strings`` itself when ``index`` is every position in order (no copy then)."""
    import numpy as np
    import pyarrow as pa

    index = np.asarray(index)
    if len(index) == len(strings) and np.array_equal(index, np.arange(len(strings))):
        return strings
    return strings.take(pa.array(index))
