"""belle-multiturn's turn marks found with numpy: the pieces ``split(replace(text, mark, NUL role NUL), NUL)`` gives.

A mark is ``(?:^|\\n)\\s*(Human|Assistant)\\s*[:：]`` (``\\s`` as Python means it).
Every ``Human`` and ``Assistant`` in the text's bytes is looked at: one at the
start of its string or right after a line end, and right before ``:`` or
``：``, is a mark; one with neither a line end, a start nor a space before it,
or with neither a colon nor a space after it, is not. A string holding one
with a space of any kind on either side (``\\s*`` may match there) is split by
the regular expression instead, as before; so are strings of a large buffer.
The pieces are cut from a string array over the text's own buffer and taken
once; the spaces a mark may leave at a turn's ends are the strip's.
"""

from __future__ import annotations

from functools import lru_cache

from .columnar import SPACE_CLASS, matches

MARK = f"(?:^|\n){SPACE_CLASS}*(Human|Assistant){SPACE_CLASS}*[:：]"
_WORDS = (b"Human", b"Assistant")


def _offsets(array, n: int):
    """The value offsets of a string array (int64), as they index its data buffer."""
    import numpy as np

    import pyarrow as pa

    kind = np.int64 if pa.types.is_large_string(array.type) else np.int32
    return np.frombuffer(array.buffers()[1], dtype=kind)[array.offset:array.offset + n + 1].astype(np.int64)


@lru_cache(maxsize=1)
def _ascii_spaces():
    """The ASCII code points str.isspace() holds, as a lookup table by byte."""
    import numpy as np

    space = np.zeros(256, dtype=bool)
    space[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
    return space


def space_ends(data, at):
    """Whether a space of str.isspace() ends at byte ``at`` (its last byte) of UTF-8 ``data``."""
    b0, b1, b2 = (data[(at - k).clip(0, len(data) - 1)] for k in range(3))
    return (_ascii_spaces()[b0] | ((b1 == 0xC2) & ((b0 == 0x85) | (b0 == 0xA0)))
            | ((b2 == 0xE1) & (b1 == 0x9A) & (b0 == 0x80))
            | ((b2 == 0xE2) & (b1 == 0x80) & (((b0 >= 0x80) & (b0 <= 0x8A)) | (b0 == 0xA8) | (b0 == 0xA9)
                                              | (b0 == 0xAF)))
            | ((b2 == 0xE2) & (b1 == 0x81) & (b0 == 0x9F)) | ((b2 == 0xE3) & (b1 == 0x80) & (b0 == 0x80)))


def _space_starts(data, at):
    """Whether a space of str.isspace() starts at byte ``at`` of UTF-8 ``data``."""
    b0, b1, b2 = (data[(at + k).clip(0, len(data) - 1)] for k in range(3))
    return (_ascii_spaces()[b0] | ((b0 == 0xC2) & ((b1 == 0x85) | (b1 == 0xA0)))
            | ((b0 == 0xE1) & (b1 == 0x9A) & (b2 == 0x80))
            | ((b0 == 0xE2) & (b1 == 0x80) & (((b2 >= 0x80) & (b2 <= 0x8A)) | (b2 == 0xA8) | (b2 == 0xA9)
                                              | (b2 == 0xAF)))
            | ((b0 == 0xE2) & (b1 == 0x81) & (b2 == 0x9F)) | ((b0 == 0xE3) & (b1 == 0x80) & (b2 == 0x80)))


def belle_pieces(text):
    """Per string of ``text`` (no nulls, no NUL): [text before the first mark, role, turn, role, turn ...] as a
    list array, the roles "Human" / "Assistant" and the turns unstripped (their spaces may differ from the regular
    expression's split, never their stripped text)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    offsets, buffer = _offsets(text, n), text.buffers()[2]
    if buffer is None or buffer.size == 0 or offsets[-1] >= 2**31:
        return pc.split_pattern(pc.replace_substring_regex(text, MARK, "\x00\\1\x00"), "\x00")
    data = np.frombuffer(buffer, dtype=np.uint8)
    first, end = int(offsets[0]), int(offsets[-1])
    found = []
    for word in _WORDS:
        at = np.flatnonzero(data[first:max(end - len(word) + 1, first)] == word[0]) + first
        at = at[matches(data, at, word)]
        found.append((at, np.full(len(at), len(word), dtype=np.int64)))
    at, size = (np.concatenate(parts) for parts in zip(*found))
    order = np.argsort(at, kind="stable")
    at, size = at[order], size[order]
    row = np.searchsorted(offsets[1:], at, side="right")
    row_start, row_end = offsets[:-1][row], offsets[1:][row]
    at, size, row, row_start, row_end = (a[at + size <= row_end] for a in (at, size, row, row_start, row_end))
    at_start = at == row_start
    after_line = ~at_start & (data[np.maximum(at - 1, 0)] == 10)
    spaced_before = ~at_start & ~after_line & space_ends(data, at - 1)
    q = at + size
    colon = (q < row_end) & (data[np.minimum(q, len(data) - 1)] == ord(":"))
    wide = (q + 2 < row_end) & (data[np.minimum(q, len(data) - 1)] == 0xEF) \
        & (data[np.minimum(q + 1, len(data) - 1)] == 0xBC) & (data[np.minimum(q + 2, len(data) - 1)] == 0x9A)
    spaced_after = (q < row_end) & _space_starts(data, q)
    unsure = np.zeros(n, dtype=bool)
    unsure[row[(spaced_before & (colon | wide | spaced_after)) | ((at_start | after_line) & spaced_after)]] = True
    mark = (at_start | after_line) & (colon | wide) & ~unsure[row]
    at, size, row, after_line, wide = at[mark], size[mark], row[mark], after_line[mark], wide[mark]
    marks = np.bincount(row, minlength=n)
    # bounds per row: its start, then per mark: mark start, role start, role end, mark end; pieces between them
    base = np.arange(n) + 4 * (np.cumsum(marks) - marks)
    bounds = np.empty(n + 4 * len(at) + 1, dtype=np.int64)
    bounds[base], bounds[-1] = offsets[:-1], end
    k = np.arange(len(at)) - np.repeat(np.cumsum(marks) - marks, marks)  # the mark's number in its row
    slot = base[row] + 1 + 4 * k
    bounds[slot], bounds[slot + 1], bounds[slot + 2] = at - after_line, at, at + size
    bounds[slot + 3] = at + size + np.where(wide, 3, 1)
    pieces = pa.StringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds.astype(np.int32)), buffer)
    lengths = 1 + 2 * marks
    list_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=list_offsets[1:])
    take = np.empty(list_offsets[-1], dtype=np.int64)
    take[list_offsets[:-1]] = base
    take[list_offsets[:-1][row] + 1 + 2 * k], take[list_offsets[:-1][row] + 2 + 2 * k] = slot + 1, slot + 3
    lists = pa.ListArray.from_arrays(pa.array(list_offsets.astype(np.int32)), pieces.take(pa.array(take)))
    if not unsure.any():
        return lists
    mask = pa.array(unsure)
    slow = pc.split_pattern(pc.replace_substring_regex(text.filter(mask), MARK, "\x00\\1\x00"), "\x00")
    where = np.arange(n)
    where[unsure] = n + np.arange(int(unsure.sum()))
    return pa.concat_arrays([lists, slow.cast(lists.type)]).take(pa.array(where))
