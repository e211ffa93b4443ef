"""Columnar twins of the preference converters on message lists: sharegpt-pairwise, conversational-preference
(see :mod:`.columnar` and :mod:`.columnar_turns`)."""

from __future__ import annotations

from .base import ROLES
from .columnar import (ASSISTANT, USER, Columns, _bool, _combined, _leave, _roles, _string, _system, blank, native_ids,
                       ranges, role_codes, with_system)
from .columnar_turns import Turns, first_difference, gather, message_turns, same_turns, text_turns


def _one_message(table, key: str, roles: dict):
    """sharegpt-pairwise's chosen / rejected: a {from, value} object (from: "gpt" when absent) as one turn."""
    import numpy as np
    import pyarrow as pa

    column = _combined(table.column(key))
    kind = column.type
    if not pa.types.is_struct(kind) or kind.get_field_index("value") < 0:
        return None
    value = _string(column.field("value"))
    if value is None:
        return None
    n = len(column)
    if kind.get_field_index("from") < 0:  # every object lacks it: "gpt"
        codes = np.full(n, ROLES.index(roles["gpt"]) if "gpt" in roles else -1, dtype=np.int8)
    else:  # a null "from" may be absent ("gpt") or null ("none"): role_codes leaves it to the record path
        codes = role_codes(column.field("from"), roles)
    codes[~_bool(column.is_valid(), False) | _bool(value.is_null(), True)] = -1
    return Turns(codes >= 0, np.arange(n), np.ones(n, dtype=np.int64), codes, value, np.arange(n),
                 _bool(blank(value), True))


def sharegpt_pairwise_table(table, o: dict):
    """sharegpt-pairwise: prompt turns [{from, value}] (+ system), chosen and rejected {from, value} objects."""
    import numpy as np
    import pyarrow as pa

    key, roles = o.get("messages", "conversations"), _roles(o)
    names = table.column_names
    if key not in names or "chosen" not in names or "rejected" not in names:
        return None
    prompt = message_turns(table.column(key), "from", "value", roles)
    system, has_system = _system(table, "system")
    chosen, rejected = _one_message(table, "chosen", roles), _one_message(table, "rejected", roles)
    if prompt is None or system is False or chosen is None or rejected is None:
        return None
    n = table.num_rows
    rows = np.arange(n)
    ok = prompt.ok & chosen.ok & rejected.ok & (prompt.lengths > 0)
    ok &= _code_at(prompt, prompt.starts + prompt.lengths - 1) == USER
    ok &= ~prompt.any_blank(rows, prompt.starts, np.where(ok, prompt.lengths, 0))
    ok &= ~chosen.blank & ~rejected.blank & ~same_turns(chosen, rows, rejected, rows)
    kept = np.flatnonzero(ok)
    index, _ = ranges(prompt.starts[kept], prompt.lengths[kept])
    one = np.ones(len(kept), dtype=np.int64)
    system = pa.nulls(n, pa.string()) if system is None else system
    columns = {"prompt": with_system(kept, prompt.lengths[kept], prompt.codes[index], prompt.at[index], prompt.text,
                                     system, has_system),
               "chosen": gather([chosen], np.zeros(len(kept), dtype=np.int8), kept, one),
               "rejected": gather([rejected], np.zeros(len(kept), dtype=np.int8), kept, one)}
    return Columns(columns, _leave(ok), frozenset({"conversations", "chosen", "rejected", "system"}))


def _code_at(turns: Turns, index):
    """The role codes of the turns ``index`` (-1 where that is no turn of ``turns``)."""
    import numpy as np

    inside = (index >= 0) & (index < len(turns.codes))
    return np.where(inside, turns.codes[np.where(inside, index, 0)] if len(turns.codes) else -1, -1)


def _side(table, key: str, o: dict, roles: dict, code: int):
    """A conversational-preference side: a message list, or a string as one ``code`` turn; None: another type."""
    import pyarrow as pa

    column = _combined(table.column(key))
    if column.type == pa.null():
        return text_turns(pa.nulls(len(column), pa.string()), code)
    strings = _string(column)
    if strings is not None:
        return text_turns(strings, code)
    return message_turns(column, o.get("role", "role"), o.get("content", "content"), roles)


def conversational_table(table, o: dict):
    """conversational-preference: chosen / rejected message lists (or strings), with a prompt or the shared start."""
    import numpy as np
    import pyarrow as pa

    keys = {k: o.get(k, k) for k in ("prompt", "chosen", "rejected")}
    names, roles, n = table.column_names, _roles(o), table.num_rows
    if keys["chosen"] not in names or keys["rejected"] not in names or len(set(keys.values())) < 3:
        return None
    c = _side(table, keys["chosen"], o, roles, ASSISTANT)
    r = _side(table, keys["rejected"], o, roles, ASSISTANT)
    p = _side(table, keys["prompt"], o, roles, USER) if keys["prompt"] in names else \
        text_turns(pa.nulls(n, pa.string()), USER)
    if c is None or r is None or p is None:
        return None
    rows = np.arange(n)
    ok = c.ok & r.ok & (c.lengths > 0) & (r.lengths > 0)
    split = p.lengths == 0  # no prompt, a null or an empty list: the turns both sides share are the prompt
    ok &= split | p.ok
    both = np.where(ok & split, np.minimum(c.lengths, r.lengths), 0)
    p_len = np.where(split, np.minimum(first_difference(c, c.starts, r, r.starts, both), both - 1), p.lengths)
    # an explicit prompt repeated at the start of both sides is cut from them
    m = np.where(ok & ~split & (c.lengths > p.lengths) & (r.lengths > p.lengths), p.lengths, 0)
    repeated = (first_difference(p, p.starts, c, c.starts, m) == m) & (first_difference(p, p.starts, r, r.starts, m)
                                                                      == m) & (m > 0)
    cut = np.where(split, p_len, np.where(repeated, p.lengths, 0))
    ok &= p_len > 0
    p_side, p_start = np.where(split, 0, 2), np.where(split, c.starts, p.starts)
    p_last = p_start + p_len - 1
    ok &= np.where(split, _code_at(c, p_last), _code_at(p, p_last)) == USER
    ok &= ~np.where(split, c.any_blank(rows, c.starts, np.where(ok & split, p_len, 0)),
                    p.any_blank(rows, p.starts, np.where(ok & ~split, p_len, 0)))
    a_len, b_len = c.lengths - cut, r.lengths - cut
    ok &= (a_len > 0) & (b_len > 0)
    ok &= ~c.any_blank(rows, c.starts + cut, np.where(ok, a_len, 0))
    ok &= ~r.any_blank(rows, r.starts + cut, np.where(ok, b_len, 0))
    same_length = np.where(ok & (a_len == b_len), a_len, 0)
    ok &= ~((a_len == b_len) & (first_difference(c, c.starts + cut, r, r.starts + cut, same_length) == same_length))
    scores, consumed = _scores(table, o)
    for values in scores.values():
        ok &= _bool(values.is_valid(), False)  # a null score: absent (not in meta) or null (in meta)? record path
    ids, undecided = native_ids(table, ("prompt_id", "id"))
    ok &= ~undecided
    kept = np.flatnonzero(ok)
    sides = [c, r, p]
    columns = {"prompt": gather(sides, p_side[kept], p_start[kept], p_len[kept]),
               "chosen": gather(sides, np.zeros(len(kept), dtype=np.int8), c.starts[kept] + cut[kept], a_len[kept]),
               "rejected": gather(sides, np.ones(len(kept), dtype=np.int8), r.starts[kept] + cut[kept], b_len[kept])}
    take = pa.array(kept)
    columns.update({name: values.take(take) for name, values in scores.items()})
    return Columns(columns, _leave(ok), frozenset(keys.values()) | consumed,
                   None if ids is None else ids.filter(pa.array(ok)))


def _scores(table, o: dict):
    """conversational-preference's numeric score columns (as float64) and the fields they consume."""
    import pyarrow as pa

    scores, consumed = {}, set()
    for side in ("chosen", "rejected"):
        key = o.get(f"score_{side}", f"score_{side}")
        if key not in table.column_names:
            continue
        column = _combined(table.column(key))
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            scores[f"score_{side}"] = column.cast(pa.float64(), safe=False)  # rounded as float() rounds
            consumed.add(key)
    return scores, frozenset(consumed)
