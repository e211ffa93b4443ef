"""Columnar twins on Anthropic HH transcripts ("\\n\\nHuman: ...\\n\\nAssistant: ..."): hh-rlhf, pairwise with ``prompt_format: hh``.

The transcript split is done without copying the text: numpy finds the turn
marks in the string column's data buffer (every newline, then the pairs of
them followed by ``Human:`` or ``Assistant:``), and a zero-copy string array
over that same buffer cuts it at the marks, so that its pieces are, per row,
[text before the first mark, mark, turn, mark, turn ...]. One strip of those
pieces is the only copy before the output columns are taken from it. That is
``parse_hh_transcript`` exactly: the marks are literal and cannot overlap, the
optional space after the colon goes with the strip, and a transcript starting
with a bare ``Human:`` gets its first mark at its start.
"""

from __future__ import annotations

from dataclasses import dataclass

from .columnar import ASSISTANT, USER, Columns, _bool, _leave, _string, messages, ranges, strip, with_system

_MARKS = ((b"\n\nHuman:", USER), (b"\n\nAssistant:", ASSISTANT))


@dataclass
class Turns:
    """The transcripts of a string column as turns: per row ``starts``/``lengths`` into the turn arrays.

    ``ok``: rows ``parse_hh_transcript`` accepts (a string starting with a mark
    or with ``Human:``). Turn ``t`` has role ``codes[t]`` and its stripped text
    is ``text[at[t]]``; ``empty[t]`` says whether that text is "".
    """

    ok: object
    starts: object
    lengths: object
    codes: object
    text: object
    at: object
    empty: object

    def take(self, turns):
        """The stripped texts of the turns ``turns`` (indices into the turn arrays), as a new string array."""
        import pyarrow as pa

        return self.text.take(pa.array(self.at[turns]))


def _offsets(array, n: int):
    """The value offsets of a string array (int64), as they index its data buffer."""
    import numpy as np

    import pyarrow as pa

    kind = np.int64 if pa.types.is_large_string(array.type) else np.int32
    return np.frombuffer(array.buffers()[1], dtype=kind)[array.offset:array.offset + n + 1].astype(np.int64)


def _matches(data, at, word: bytes):
    """Where ``data[at:at + len(word)] == word``, for positions ``at`` known to leave room for the word."""
    import numpy as np

    hit = np.ones(len(at), dtype=bool)
    for k, byte in enumerate(word):
        hit &= data[at + k] == byte
    return hit


def hh_turns(text) -> Turns:
    """``parse_hh_transcript`` on every string of ``text`` (a string array; nulls are not parsed)."""
    import numpy as np
    import pyarrow as pa

    n = len(text)
    if text.type == pa.null():
        text = pa.nulls(n, pa.string())
    offsets = _offsets(text, n)
    buffer = text.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, dtype=np.uint8)
    first, end = int(offsets[0]), int(offsets[-1])
    newlines = np.flatnonzero(data[first:end] == 10)
    pairs = newlines[:-1][np.diff(newlines) == 1] + first  # "\n\n" starts here
    found = []
    for mark, role in _MARKS:
        at = pairs[pairs + len(mark) <= end]
        at = at[_matches(data, at + 2, mark[2:])]
        found.append((at, np.full(len(at), role, dtype=np.int8), np.full(len(at), len(mark), dtype=np.int64)))
    row_start, row_len = offsets[:-1], offsets[1:] - offsets[:-1]
    valid = _bool(text.is_valid(), False)
    bare = np.flatnonzero(valid & (row_len >= 6))
    bare = row_start[bare[_matches(data, row_start[bare], b"Human:")]]
    found.append((bare, np.full(len(bare), USER, dtype=np.int8), np.full(len(bare), 6, dtype=np.int64)))
    pos, codes, size = (np.concatenate(parts) for parts in zip(*found))
    order = np.argsort(pos, kind="stable")
    pos, codes, size = pos[order], codes[order], size[order]
    row = np.searchsorted(offsets[1:], pos, side="right")
    inside = pos + size <= offsets[1:][row]  # a mark cut by the end of its string is no mark
    pos, codes, size, row = pos[inside], codes[inside], size[inside], row[inside]
    m = len(pos)
    lengths = np.bincount(row, minlength=n).astype(np.int64)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    has = lengths > 0
    ok = valid & has
    ok[has] &= pos[starts[has]] == row_start[has]
    # pieces per row: [row start, mark 0, turn 0, mark 1, turn 1, ...]; the next row's start ends the last turn
    bounds = np.empty(n + 2 * m + 1, dtype=np.int64)
    bounds[np.arange(n) + 2 * starts] = row_start
    turn = np.arange(m)
    bounds[row + 1 + 2 * turn] = pos
    bounds[row + 2 + 2 * turn] = pos + size
    bounds[-1] = end
    pieces = (pa.StringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds.astype(np.int32)), buffer)
              if end < 2**31 else pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds), buffer))
    stripped = strip(pieces)
    if stripped.type != pa.string():
        stripped = stripped.cast(pa.string())
    at = row + 2 + 2 * turn
    empty = np.diff(_offsets(stripped, len(stripped)))[at] == 0
    return Turns(ok, starts, lengths, codes, stripped, at, empty)


def hh_table(table, o: dict):
    """hh-rlhf: split both transcripts, the longest shared start is the prompt (as ``_split_common_prefix``)."""
    import numpy as np
    import pyarrow.compute as pc

    names = table.column_names
    if "chosen" not in names or "rejected" not in names:
        return None
    c_text, r_text = _string(table.column("chosen")), _string(table.column("rejected"))
    if c_text is None or r_text is None:
        return None
    n = table.num_rows
    c, r = hh_turns(c_text), hh_turns(r_text)
    ok = c.ok & r.ok
    both = np.where(ok, np.minimum(c.lengths, r.lengths), 0)
    # compare the first min(len) turns of both sides; the first difference ends the prompt
    ci, _ = ranges(c.starts, both)
    ri, _ = ranges(r.starts, both)
    parent = np.repeat(np.arange(n), both)
    j = np.arange(len(ci)) - np.repeat(np.cumsum(both) - both, both)
    same = (c.codes[ci] == r.codes[ri]) & _bool(pc.equal(c.take(ci), r.take(ri)), False)
    first_diff = both.copy()
    rows, first = np.unique(parent[~same], return_index=True)
    first_diff[rows] = j[~same][first]
    ok &= first_diff < both  # the answers differ from their first turn (else chosen may equal rejected: record path)
    p_len = np.minimum(first_diff, both - 1)
    ok &= p_len > 0
    ok &= c.codes[np.where(p_len > 0, c.starts + p_len - 1, 0)] == USER if len(c.codes) else False
    for side in (c, r):
        length = np.where(ok, side.lengths, 0)
        index, _ = ranges(side.starts, length)
        ok &= np.bincount(np.repeat(np.arange(n), length)[side.empty[index]], minlength=n) == 0
    kept = np.flatnonzero(ok)
    columns = {}
    for name, side, start, length in (("prompt", c, c.starts[kept], p_len[kept]),
                                      ("chosen", c, c.starts[kept] + p_len[kept], c.lengths[kept] - p_len[kept]),
                                      ("rejected", r, r.starts[kept] + p_len[kept], r.lengths[kept] - p_len[kept])):
        index, offsets = ranges(start, length)
        columns[name] = messages(side.codes[index], side.take(index), offsets)
    return Columns(columns, _leave(ok), frozenset({"chosen", "rejected"}))


def hh_prompt(text, wanted, system, has_system):
    """pairwise's ``prompt_format: hh`` prompt of the rows ``wanted``: an optional system message, then the
    transcript's turns but the empty assistant ones; (messages, rows converted). Rows left without a turn go to the
    record path."""
    import numpy as np

    n = len(text)
    t = hh_turns(text)
    parent = np.repeat(np.arange(n), t.lengths)
    ok = t.ok & wanted
    keep = np.flatnonzero(~(t.empty & (t.codes == ASSISTANT)) & ok[parent])
    lengths = np.bincount(parent[keep], minlength=n)
    ok &= lengths > 0
    keep = keep[ok[parent[keep]]]
    kept = np.flatnonzero(ok)
    return with_system(kept, lengths[kept], t.codes[keep], t.at[keep], t.text, system, has_system), ok
