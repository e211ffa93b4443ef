"""Columnar twin of the moss converter: MOSS-003 conversations, ``chat`` as an object of numbered turns.

pyarrow reads ``chat`` as a struct with one field per turn name met in the
batch (``turn_1``, ``turn_2`` ...), null where a conversation has no such turn.
A null there may also be a turn written as ``null``, which the record function
rejects; the rows whose line holds a ``null`` and lack a turn go to it.
``_moss_text`` (strip the ``<|Human|>:`` tag and the ``<eoh>`` end mark, then
the spaces; "None" is no text) runs as RE2 replacements with Python's ``\\s``
spelled out (:data:`.columnar.SPACE_CLASS`).
"""

from __future__ import annotations

import re

from .base import ROLES
from .columnar import (ASSISTANT, SPACE_CLASS, SYSTEM, USER, Columns, _bool, _combined, _leave, _string, messages,
                       native_ids, strip)

TOOL = ROLES.index("tool")

_TAG = rf"^{SPACE_CLASS}*<\|[^|]+\|>{SPACE_CLASS}*:{SPACE_CLASS}*"
_END = rf"{SPACE_CLASS}*<e[a-z]{{1,2}}>{SPACE_CLASS}*$"


def moss_text(column, n: int):
    """``_moss_text`` of every value: the text without tag, end mark and spaces; "" for "None" and non-strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = _string(column) if column is not None else None
    if strings is None:  # absent, or not strings (numbers, objects ...): no text
        return pa.array([""] * n, pa.string())
    text = strip(pc.replace_substring_regex(pc.replace_substring_regex(pc.fill_null(strings, ""), _TAG, ""), _END, ""))
    return pc.if_else(pc.equal(text, "None"), "", text)


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
    texts = {"Human": [], "MOSS": [], "Inner Thoughts": [], "Commands": [], "Tool Responses": []}
    for j, name in enumerate(order):
        turn = chat.field(name)
        present[:, j] = _bool(turn.is_valid(), False)
        if not pa.types.is_struct(turn.type):  # a turn that is not an object: the record path rejects it
            ok &= ~present[:, j]
            turn = pa.nulls(n, pa.struct([]))
        for key, parts in texts.items():
            parts.append(moss_text(_field(turn, key), n))
    count = present.sum(axis=1)
    ok &= (count > 0) & ~(np.asarray(nulls, dtype=bool) & (count < len(order)))  # a null turn, or an absent one?
    flat = np.flatnonzero(present.ravel())  # the turns, conversation by conversation, in turn-number order
    row, col = flat // max(len(order), 1), flat % max(len(order), 1)
    pool_index = col * n + row  # where a turn's texts are in the per-field columns laid end to end
    pools = {key: pa.concat_arrays(parts) if parts else pa.array([], pa.string()) for key, parts in texts.items()}
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

