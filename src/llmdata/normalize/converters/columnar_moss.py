"""Columnar twin of the moss converter: MOSS-003 conversations, ``chat`` as an object of numbered turns.

pyarrow reads ``chat`` as a struct with one field per turn name met in the
batch (``turn_1``, ``turn_2`` ...), null where a conversation has no such turn.
A null there may also be a turn written as ``null``, which the record function
rejects; the rows whose line holds a ``null`` and lack a turn go to it.
``_moss_text`` (strip the ``<|Human|>:`` tag and the ``<eoh>`` end mark, then
the spaces; "None" is no text) cuts each value's bytes where numpy can tell
the tag and the mark apart (nearly always: a regular expression scan per
field was half the conversion time), and runs as RE2 replacements with
Python's ``\\s`` spelled out (:data:`.columnar.SPACE_CLASS`) on the others.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .base import ROLES
from .columnar import (ASSISTANT, SPACE_CLASS, SYSTEM, USER, Columns, _bool, _combined, _leave, _string, messages,
                       native_ids, strip)
from .columnar_marks import _offsets, space_ends

TOOL = ROLES.index("tool")

_TAG = rf"^{SPACE_CLASS}*<\|[^|]+\|>{SPACE_CLASS}*:{SPACE_CLASS}*"
_END = rf"{SPACE_CLASS}*<e[a-z]{{1,2}}>{SPACE_CLASS}*$"


def moss_text(column, n: int):
    """``_moss_text`` of every value: the text without tag, end mark and spaces; "" for "None" and non-strings.

    Cut with numpy where the bytes decide it (:func:`_cuts`); the values they leave open go through the regular
    expressions (:func:`_moss_regex`).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = _string(column) if column is not None else None
    if strings is None:  # absent, or not strings (numbers, objects ...): no text
        return pa.array([""] * n, pa.string())
    strings = pc.fill_null(strings, "")
    offsets = _offsets(strings, n)
    buffer = strings.buffers()[2]
    if buffer is None or buffer.size == 0 or offsets[-1] >= 2**31:
        return _moss_regex(strings)
    lo, hi, unsure = _cuts(np.frombuffer(buffer, dtype=np.uint8), offsets)
    bounds = np.empty(2 * n, dtype=np.int32)
    bounds[0::2], bounds[1::2] = lo, hi
    pieces = pa.StringArray.from_buffers(2 * n - 1, pa.py_buffer(bounds), buffer)  # [text 0, gap, text 1, gap ...]
    text = strip(pieces.take(pa.array(np.arange(0, 2 * n, 2))))
    if unsure.any():
        mask = pa.array(unsure)
        text = pc.replace_with_mask(text, mask, _moss_regex(strings.filter(mask)))
    return pc.if_else(pc.equal(text, "None"), "", text)


def _moss_regex(strings):
    """``_moss_text`` by the regular expressions (RE2, ``\\s`` spelled out), on strings without nulls."""
    import pyarrow.compute as pc

    text = strip(pc.replace_substring_regex(pc.replace_substring_regex(strings, _TAG, ""), _END, ""))
    return pc.if_else(pc.equal(text, "None"), "", text)


@lru_cache(maxsize=1)
def _byte_classes():
    """(ASCII spaces of str.isspace(), bytes a space may start with in UTF-8, a-z): lookup tables by byte."""
    import numpy as np

    space, lead, lower = (np.zeros(256, dtype=bool) for _ in range(3))
    space[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
    lead[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0xC2, 0xE1, 0xE2, 0xE3]] = True
    lower[ord("a"):ord("z") + 1] = True
    return space, lead, lower


def _cuts(data, offsets):
    """Per string ``data[offsets[i]:offsets[i + 1]]``: the bytes ``lo:hi`` that, stripped, are its text, and
    whether the bytes cannot tell (then the regular expressions decide).

    Decided here: a value starting with ``<|``, its first ``|`` after that followed by ``>:`` (the tag; ``<|``
    alone, or anything but a space first: no tag), ending, before at most 4 ASCII spaces, with ``<e?>`` or
    ``<e??>`` (the end mark) or with another character that is no space. The spaces the patterns also take are
    the strip's. Open: a value starting with a byte a space may start with, a ``<|`` tag of another shape, more
    trailing spaces, a last character that is a space of Unicode.
    """
    import numpy as np

    space, lead, lower = _byte_classes()
    start, end = offsets[:-1], offsets[1:]
    top = len(data) - 1

    def byte(pos):
        return data[np.clip(pos, 0, top)]

    size = end - start
    first, second = byte(start), byte(start + 1)
    unsure = (size > 0) & lead[first]
    opened = (size >= 2) & (first == ord("<")) & (second == ord("|"))
    bars = np.append(np.flatnonzero(data == ord("|")), len(data) + 8)
    bar = bars[np.searchsorted(bars, start + 2)]  # the first "|" after "<|"
    tag = opened & (bar >= start + 3) & (bar + 2 < end) & (byte(bar + 1) == ord(">")) & (byte(bar + 2) == ord(":"))
    unsure |= opened & ~tag
    lo = np.where(tag, bar + 3, start)
    last = end - 1
    for _ in range(4):  # trailing ASCII spaces
        last = last - ((last >= lo) & space[byte(last)])
    unsure |= (last >= lo) & space[byte(last)]
    b0, b1, b2 = byte(last), byte(last - 1), byte(last - 2)
    unsure |= (last >= lo) & space_ends(data, last)  # a space of Unicode ends it
    closed = (last >= lo) & (b0 == ord(">"))
    mark4 = closed & (last - 3 >= lo) & (byte(last - 3) == ord("<")) & (b2 == ord("e")) & lower[b1]
    mark5 = closed & (last - 4 >= lo) & (byte(last - 4) == ord("<")) & (byte(last - 3) == ord("e")) & lower[b2] \
        & lower[b1]
    hi = np.where(mark4, last - 3, np.where(mark5, last - 4, np.maximum(last + 1, lo)))
    return lo, hi, unsure


def _strings(column, n: int):
    """The column as strings; nulls when it is absent or holds anything else (which makes no text either)."""
    import pyarrow as pa

    strings = _string(column) if column is not None else None
    return pa.nulls(n, pa.string()) if strings is None else strings


def _field(struct, name: str):
    kind = struct.type
    return struct.field(name) if kind.get_field_index(name) >= 0 else None


def moss_table(table, o: dict, nulls):
    """moss: meta_instruction + chat {turn_N: {Human, Inner Thoughts, Commands, Tool Responses, MOSS}} -> chat."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if "chat" not in table.column_names:
        return None
    chat = _combined(table.column("chat"))
    if not pa.types.is_struct(chat.type):
        return None
    n = table.num_rows
    names = [chat.type.field(i).name for i in range(chat.type.num_fields)]
    number = [int(re.sub(r"\D", "", name) or 0) for name in names]
    if len(set(number)) < len(number):
        return None  # two turn names with one number: their order is each record's own
    order = [names[i] for i in np.argsort(number, kind="stable")]
    ok = _bool(chat.is_valid(), False)
    present = np.zeros((n, len(order)), dtype=bool)
    keys = ("Human", "MOSS", "Commands", "Tool Responses") + (("Inner Thoughts",) if o.get("inner_thoughts") else ())
    texts = {key: [] for key in keys}  # per field, its values in every turn (non-strings as nulls: no text either)
    for j, name in enumerate(order):
        turn = chat.field(name)
        present[:, j] = _bool(turn.is_valid(), False)
        if not pa.types.is_struct(turn.type):  # a turn that is not an object: the record path rejects it
            ok &= ~present[:, j]
            turn = pa.nulls(n, pa.struct([]))
        for key, parts in texts.items():
            parts.append(_strings(_field(turn, key), n))
    count = present.sum(axis=1)
    ok &= (count > 0) & ~(np.asarray(nulls, dtype=bool) & (count < len(order)))  # a null turn, or an absent one?
    flat = np.flatnonzero(present.ravel())  # the turns, conversation by conversation, in turn-number order
    row, col = flat // max(len(order), 1), flat % max(len(order), 1)
    pool_index = col * n + row  # where a turn's texts are in the per-field columns laid end to end
    pools = {key: moss_text(pa.concat_arrays(parts), n * len(parts)) if parts else pa.array([], pa.string())
             for key, parts in texts.items()}
    size = {key: _bool(pc.not_equal(pc.utf8_length(pool), 0), False)[pool_index] for key, pool in pools.items()}
    bad = ~(size["Human"] & size["MOSS"])
    ok &= np.bincount(row[bad], minlength=n) == 0
    ids, undecided = _conversation_ids(table)
    ok &= ~undecided
    system = moss_text(table.column("meta_instruction") if "meta_instruction" in table.column_names else None, n)
    has_system = _bool(pc.not_equal(pc.utf8_length(system), 0), False) & bool(o.get("system", True))
    keep = ok[row]
    row, pool_index, command = row[keep], pool_index[keep], size["Commands"][keep]
    result = command & size["Tool Responses"][keep]
    # per turn: user, [assistant: the command], [tool: its result], assistant; a row's system message first
    per_turn = 2 + command.astype(np.int64) + result
    kept = np.flatnonzero(ok)
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, weights=per_turn, minlength=n).astype(np.int64)[kept] + has_system[kept],
              out=offsets[1:])
    before = np.cumsum(per_turn) - per_turn  # messages of the turns before this one, over all rows
    start = offsets[np.searchsorted(kept, row)] + has_system[row] + before - before[np.searchsorted(row, row)]
    spoken = pools["Commands"]
    if o.get("inner_thoughts"):
        thoughts = pools["Inner Thoughts"]
        spoken = pc.if_else(pc.equal(pc.utf8_length(thoughts), 0), spoken,
                            pc.binary_join_element_wise(thoughts, spoken, "\n"))
    m = len(pools["Human"])
    pool = pa.concat_arrays([pools["Human"], spoken, pools["Tool Responses"], pools["MOSS"], system])
    codes = np.full(offsets[-1], ASSISTANT, dtype=np.int8)
    take = np.zeros(offsets[-1], dtype=np.int64)
    codes[start], take[start] = USER, pool_index
    take[start + 1 + command + result] = 3 * m + pool_index
    take[start[command] + 1] = m + pool_index[command]
    codes[start[result] + 2], take[start[result] + 2] = TOOL, 2 * m + pool_index[result]
    at = offsets[:-1][has_system[kept]]
    codes[at], take[at] = SYSTEM, 4 * m + kept[has_system[kept]]
    return Columns({"messages": messages(codes, pool.take(pa.array(take)), offsets)}, _leave(ok),
                   frozenset({"chat", "meta_instruction"}), None if ids is None else ids.filter(pa.array(ok)))


def _conversation_ids(table):
    """``str(record["conversation_id"])`` when the key is there: strings and integers; a null ("None", or absent?)
    and other types go to the record path."""
    import numpy as np

    if "conversation_id" not in table.column_names:
        return None, np.zeros(table.num_rows, dtype=bool)
    ids, undecided = native_ids(table, ("conversation_id",))
    return ids, undecided | ~_bool(_combined(table.column("conversation_id")).is_valid(), False)

