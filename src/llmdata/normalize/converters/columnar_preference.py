"""Columnar twins of the preference converters: hh-rlhf, pairwise (see :mod:`.columnar`)."""

from __future__ import annotations

from .columnar import (ASSISTANT, SYSTEM, USER, Columns, _bool, _combined, _leave, _np, _string, _system, blank,
                       messages, ranges, strip)


# --- preference: hh-rlhf, pairwise ------------------------------------------------------------------------------------


def hh_transcripts(text):
    """parse_hh_transcript on a string column: (rows parsed exactly, starts, lengths, role codes, stripped contents).

    The turn marks (``\\n\\nHuman:``, ``\\n\\nAssistant:``) become a NUL-separated list ("", role, text, role, text ...)
    split by pyarrow; a transcript holding a NUL itself is left to the record path.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.fill_null(text, "")
    marked = pc.or_(pc.starts_with(text, "\n\nHuman:"), pc.starts_with(text, "\n\nAssistant:"))
    bare = pc.and_(pc.invert(marked), pc.starts_with(text, "Human:"))
    text = pc.if_else(bare, pc.binary_join_element_wise("\n\n", text, ""), text)
    usable = pc.or_(marked, bare)
    data = text.buffers()[2]
    if data is not None and not np.frombuffer(data, dtype=np.uint8).all():  # a NUL somewhere: find its rows
        usable = pc.and_(usable, pc.invert(pc.match_substring(text, "\x00")))
    # the marks are literal and cannot overlap; the optional space after the colon goes with the strip below
    for role in ("Human", "Assistant"):
        text = pc.replace_substring(text, f"\n\n{role}:", f"\x00{role}\x00")
    pieces = pc.split_pattern(text, "\x00")
    offsets = _np(pieces.offsets).astype(np.int64)
    values = pieces.values
    count = offsets[1:] - offsets[:-1]  # 1 + 2 per turn
    lengths = np.where(count >= 3, (count - 1) // 2, 0)
    role_index, _ = ranges(offsets[:-1] + 1, lengths * 2)
    role_index = role_index[::2]
    codes = np.where(_np(pc.equal(values.take(pa.array(role_index)), "Human")), USER, ASSISTANT).astype(np.int8)
    contents = strip(values.take(pa.array(role_index + 1)))
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return _bool(usable, False) & (lengths > 0), starts, lengths, codes, contents


def hh_table(table, o: dict):
    """hh-rlhf: split both transcripts, the longest shared start is the prompt (as ``_split_common_prefix``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = table.column_names
    if "chosen" not in names or "rejected" not in names:
        return None
    c_text, r_text = _string(table.column("chosen")), _string(table.column("rejected"))
    if c_text is None or r_text is None:
        return None
    n = table.num_rows
    c_ok, c_start, c_len, c_codes, c_content = hh_transcripts(c_text)
    r_ok, r_start, r_len, r_codes, r_content = hh_transcripts(r_text)
    ok = c_ok & r_ok & _bool(c_text.is_valid(), False) & _bool(r_text.is_valid(), False)
    both = np.where(ok, np.minimum(c_len, r_len), 0)
    # compare the first min(len) turns of both sides; the first difference ends the prompt
    ci, _ = ranges(c_start, both)
    ri, _ = ranges(r_start, both)
    parent = np.repeat(np.arange(n), both)
    j = np.arange(len(ci)) - np.repeat(np.cumsum(both) - both, both)
    same = (c_codes[ci] == r_codes[ri]) & _bool(pc.equal(c_content.take(pa.array(ci)), r_content.take(pa.array(ri))),
                                                 False)
    first_diff = both.copy()
    rows, first = np.unique(parent[~same], return_index=True)
    first_diff[rows] = j[~same][first]
    ok &= first_diff < both  # the answers differ from their first turn (else chosen may equal rejected: record path)
    p_len = np.minimum(first_diff, both - 1)
    ok &= p_len > 0
    ok &= c_codes[np.where(p_len > 0, c_start + p_len - 1, 0)] == USER if len(c_codes) else False
    c_empty = _bool(pc.equal(pc.utf8_length(c_content), 0), True)
    r_empty = _bool(pc.equal(pc.utf8_length(r_content), 0), True)
    for start, length, empty in ((c_start, c_len, c_empty), (r_start, r_len, r_empty)):
        index, _ = ranges(start, np.where(ok, length, 0))
        ok &= np.bincount(np.repeat(np.arange(n), np.where(ok, length, 0))[empty[index]], minlength=n) == 0
    kept = np.flatnonzero(ok)
    columns = {}
    for name, start, length, codes, content in (("prompt", c_start[kept], p_len[kept], c_codes, c_content),
                                                ("chosen", c_start[kept] + p_len[kept], c_len[kept] - p_len[kept],
                                                 c_codes, c_content),
                                                ("rejected", r_start[kept] + p_len[kept], r_len[kept] - p_len[kept],
                                                 r_codes, r_content)):
        index, offsets = ranges(start, length)
        columns[name] = messages(codes[index], content.take(pa.array(index)), offsets)
    return Columns(columns, _leave(ok), frozenset({"chosen", "rejected"}))


def pairwise_table(table, o: dict):
    """pairwise with a text prompt: prompt / chosen / rejected strings (+ system, scores) -> preference."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if o.get("prompt_format", "text") != "text":
        return None
    keys = {k: o.get(k, k) for k in ("prompt", "chosen", "rejected", "system")}
    names = table.column_names
    if len(set(keys.values())) < 4 or not all(keys[k] in names for k in ("prompt", "chosen", "rejected")):
        return None
    cols = {k: _string(table.column(keys[k])) for k in ("prompt", "chosen", "rejected")}
    system, has_system = _system(table, keys["system"])
    if any(c is None for c in cols.values()) or system is False:
        return None
    n = table.num_rows
    ok = np.ones(n, dtype=bool)
    for column in cols.values():  # need_str: present, a string, not blank
        ok &= ~_bool(blank(column), True)
    ok &= ~_bool(pc.equal(cols["chosen"], cols["rejected"]), True)
    scores = {}
    for side in ("chosen", "rejected"):
        key = o.get(f"score_{side}")
        if not key or key not in names:
            continue
        column = _combined(table.column(key))
        if column.type == pa.null():
            continue
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                or pa.types.is_boolean(column.type)):
            return None
        scores[f"score_{side}"] = column.cast(pa.float64())
    kept = np.flatnonzero(ok)
    take = pa.array(kept)
    k_sys = has_system[kept]
    p_off = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(1 + k_sys, out=p_off[1:])
    prompt_text = cols["prompt"].take(take)
    if k_sys.any():
        at_system = np.zeros(p_off[-1], dtype=bool)
        at_system[p_off[:-1][k_sys]] = True
        index = np.empty(p_off[-1], dtype=np.int64)
        index[~at_system] = np.arange(len(kept))
        index[at_system] = len(kept) + np.arange(int(k_sys.sum()))
        pool = pa.concat_arrays([prompt_text, system.take(take).filter(pa.array(k_sys))])
        prompt = messages(np.where(at_system, SYSTEM, USER), pool.take(pa.array(index)), p_off)
    else:
        prompt = messages(np.full(len(kept), USER), prompt_text, p_off)
    one = np.arange(len(kept) + 1)
    columns = {"prompt": prompt,
               "chosen": messages(np.full(len(kept), ASSISTANT), cols["chosen"].take(take), one),
               "rejected": messages(np.full(len(kept), ASSISTANT), cols["rejected"].take(take), one)}
    columns.update({name: column.take(take) for name, column in scores.items()})
    return Columns(columns, _leave(ok), frozenset(keys.values()))


def pairwise_floats(o: dict) -> tuple[str, ...]:
    return tuple(o[k] for k in ("score_chosen", "score_rejected") if o.get(k))
