"""Columnar twins on 'Human: ... Assistant: ...' transcripts: hh-rlhf, pairwise with ``prompt_format: hh``,
belle-multiturn.

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

from .columnar import (ASSISTANT, USER, Columns, _bool, _leave, _np, _string, _two_texts, matches, messages, ranges, strip,
                       with_system)
from .columnar_marks import _offsets, belle_pieces
from .columnar_turns import Turns, first_difference, gather

_MARKS = ((b"\n\nHuman:", USER), (b"\n\nAssistant:", ASSISTANT))


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
        at = at[matches(data, at, mark)]
        found.append((at, np.full(len(at), role, dtype=np.int8), np.full(len(at), len(mark), dtype=np.int64)))
    row_start, row_len = offsets[:-1], offsets[1:] - offsets[:-1]
    valid = _bool(text.is_valid(), False)
    bare = np.flatnonzero(valid & (row_len >= 6))
    bare = row_start[bare[matches(data, row_start[bare], b"Human:")]]
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
    return Turns(ok, starts, lengths, codes, stripped, at, np.diff(_offsets(stripped, len(stripped)))[at] == 0)


def hh_table(table, o: dict):
    """hh-rlhf: split both transcripts, the longest shared start is the prompt (as ``_split_common_prefix``)."""
    import numpy as np

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
    first_diff = first_difference(c, c.starts, r, r.starts, both)  # the first difference ends the prompt
    ok &= first_diff < both  # the answers differ from their first turn (else chosen may equal rejected: record path)
    p_len = np.minimum(first_diff, both - 1)
    ok &= p_len > 0
    ok &= c.codes[np.where(p_len > 0, c.starts + p_len - 1, 0)] == USER if len(c.codes) else False
    rows = np.arange(n)
    ok &= ~c.any_blank(rows, c.starts, np.where(ok, c.lengths, 0))
    ok &= ~r.any_blank(rows, r.starts, np.where(ok, r.lengths, 0))
    kept = np.flatnonzero(ok)
    sides = np.zeros(len(kept), dtype=np.int8)
    columns = {"prompt": gather([c], sides, c.starts[kept], p_len[kept]),
               "chosen": gather([c], sides, c.starts[kept] + p_len[kept], c.lengths[kept] - p_len[kept]),
               "rejected": gather([r], sides, r.starts[kept] + p_len[kept], r.lengths[kept] - p_len[kept])}
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
    keep = np.flatnonzero(~(t.blank & (t.codes == ASSISTANT)) & ok[parent])
    lengths = np.bincount(parent[keep], minlength=n)
    ok &= lengths > 0
    keep = keep[ok[parent[keep]]]
    kept = np.flatnonzero(ok)
    return with_system(kept, lengths[kept], t.codes[keep], t.at[keep], t.text, system, has_system), ok


def belle_table(table, o: dict):
    """belle-multiturn: 'Human: ... Assistant: ...' text ending with 'Assistant:', and the last reply -> chat.

    The turn marks are the record path's regular expression, with ``\\s`` spelled
    out as the code points Python's ``re`` means by it (RE2's ``\\s`` is ASCII
    only); a mark becomes NUL + role + NUL, and the text is split at NULs. A
    text holding a NUL itself goes to the record path.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ki, ko = o.get("instruction", "instruction"), o.get("output", "output")
    texts = _two_texts(table, ki, ko)
    if texts is None:
        return None
    text, output, ok = texts
    n = len(text)
    data = text.buffers()[2]
    if data is not None and not np.frombuffer(data, dtype=np.uint8).all():  # a NUL somewhere: find its rows
        ok &= ~_bool(pc.match_substring(text, "\x00"), True)
    pieces = belle_pieces(pc.fill_null(text, ""))
    offsets = _np(pieces.offsets).astype(np.int64)
    values = pieces.values
    marks = np.maximum(offsets[1:] - offsets[:-1] - 1, 0) // 2  # [text before, role, turn, role, turn ...]
    ok &= marks > 0
    turn_index, _ = ranges(offsets[:-1] + 1, marks * 2)
    codes = np.where(_bool(pc.equal(values.take(pa.array(turn_index[::2])), "Human"), False), USER,
                     ASSISTANT).astype(np.int8)
    contents = strip(values.take(pa.array(turn_index[1::2])))
    empty = _bool(pc.equal(pc.utf8_length(contents), 0), True)
    starts = np.cumsum(marks) - marks
    has = marks > 0
    ok[has] &= codes[starts[has]] == USER  # the first mark is the user's; text before it is dropped
    last = np.where(has, starts + marks - 1, 0)
    lengths = marks - (has & (codes[last] == ASSISTANT) & empty[last] if len(codes) else 0)  # the trailing 'Assistant:'
    rows = np.arange(n)
    index, _ = ranges(starts, np.where(ok, lengths, 0))
    ok &= np.bincount(np.repeat(rows, np.where(ok, lengths, 0))[empty[index]], minlength=n) == 0
    kept = np.flatnonzero(ok)
    turns, _ = ranges(starts[kept], lengths[kept])
    out_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(lengths[kept] + 1, out=out_offsets[1:])
    at_output = np.zeros(out_offsets[-1], dtype=bool)
    at_output[out_offsets[1:] - 1] = True
    out_codes = np.full(out_offsets[-1], ASSISTANT, dtype=np.int8)
    out_codes[~at_output] = codes[turns]
    take = np.empty(out_offsets[-1], dtype=np.int64)
    take[~at_output], take[at_output] = turns, len(contents) + kept
    pool = pa.concat_arrays([contents, output])
    return Columns({"messages": messages(out_codes, pool.take(pa.array(take)), out_offsets)}, _leave(ok),
                   frozenset({ki, ko, "input"}))
