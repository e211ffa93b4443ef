"""Columnar twins of the converters: a whole batch of records through pyarrow compute.

Per-record Python is what makes one-off conversion scripts slow: building a
dict per message, mapping role names, checking turns, then building Arrow
again from Python rows. A twin does the same on whole Arrow columns with
pyarrow's compute kernels (string trims and comparisons, list flattening and
slicing by offsets) and numpy for per-row reductions over list offsets.

Engine: pyarrow compute, because pyarrow is already a dependency (the JSON
reader, the Parquet writer and ``datasets`` all use it), the data never leaves
Arrow memory between reading and writing, and the twins are small. DuckDB or
Polars would add a dependency for the same kernels and a copy in and out of
their own formats; ``benchmarks/convert_chat.py`` measures the result against
a plain DuckDB copy.

The record function stays the reference. A twin returns :class:`Columns`: the
rows it converted, and ``leave``, every row it does not convert *exactly like
the record function*: rejects (the record function then says why) and
anything it cannot decide from Arrow alone (a null that may be a missing key,
an id typed as a float, a turn without a role ...). The pipeline runs those
rows through the record function, in file order. A twin returns ``None`` when
a whole table is out of its reach (a column of another type); the pipeline
then converts that table row by row. Tests check that both paths give the
same rows, ids, meta and rejects.

Exactness notes: ``utf8_trim_whitespace`` trims the same 29 code points as
Python's ``str.strip()`` (checked over all of Unicode); ``utf8_lower`` does
not lower like ``str.lower()``, so role names are mapped through their
dictionary by the record path's own function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .base import DEFAULT_ROLES, ROLES

USER, ASSISTANT, SYSTEM = ROLES.index("user"), ROLES.index("assistant"), ROLES.index("system")


@dataclass
class Columns:
    """What a twin made of a batch: the converted rows' columns, and the rows left to the record function.

    ``columns`` hold the kept rows only (Arrow arrays named as the format's columns);
    ``leave`` are row indices in the batch; ``native_ids`` (kept rows, null where
    none) become row ids; ``consumed`` are the raw fields the conversion used:
    every other field lands in ``meta``.
    """

    columns: dict
    leave: list[int]
    consumed: frozenset[str]
    native_ids: object = None
    extra: dict = field(default_factory=dict)


# --- kernels -------------------------------------------------------------------------------------------------------


def _np(array):
    return array.to_numpy(zero_copy_only=False)


def _combined(column):
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _string(column):
    """The column as a string array; None when it holds anything else (numbers, lists, timestamps ...)."""
    import pyarrow as pa

    column = _combined(column)
    if column.type == pa.null():
        return pa.nulls(len(column), pa.string())
    if column.type in (pa.string(), pa.large_string()):
        return column.cast(pa.string())
    return None


def strip(strings):
    """``str.strip()`` of every string (the same code points; checked in the module docstring)."""
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(strings)


def blank(strings):
    """True where ``not s.strip()``; null stays null."""
    import pyarrow.compute as pc

    return pc.equal(pc.utf8_length(strip(strings)), 0)


def _bool(mask, fill: bool):
    import numpy as np

    import pyarrow.compute as pc

    return np.asarray(_np(pc.fill_null(mask, fill)), dtype=bool)


def ranges(starts, lengths):
    """Indices of the spans [start, start + length) one after another, and the offsets of the result."""
    import numpy as np

    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - np.asarray(starts, np.int64), lengths)
    return index, offsets


def messages(codes, contents, offsets):
    """list<struct<role, content>> from role codes (indices into ROLES), contents and list offsets."""
    import numpy as np
    import pyarrow as pa

    roles = pa.array(ROLES).take(pa.array(np.asarray(codes, dtype=np.int8)))
    struct = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), struct)


def role_codes(raw_roles, roles: dict[str, str]):
    """Role codes (indices into ROLES) of raw role names, -1 where unknown or null: ``map_role`` per distinct name."""
    import numpy as np
    import pyarrow as pa

    encoded = _combined(raw_roles).dictionary_encode()
    names = encoded.dictionary.to_pylist()
    lookup = np.array([ROLES.index(roles[k]) if (k := str(name).strip().lower()) in roles else -1 for name in names]
                      + [-1], dtype=np.int8)
    indices = _np(encoded.indices.fill_null(len(names)).cast(pa.int32()))
    return lookup[indices]


def list_of_structs(column, *fields: str):
    """(valid rows, offsets, child arrays by field name, struct nulls) of a list<struct> column; None otherwise."""
    import numpy as np
    import pyarrow as pa

    column = _combined(column)
    kind = column.type
    if not (pa.types.is_list(kind) and pa.types.is_struct(kind.value_type)):
        return None
    struct = column.values
    children = {}
    for name in fields:
        if kind.value_type.get_field_index(name) < 0:
            return None
        child = _string(struct.field(name))
        if child is None:
            return None
        children[name] = child
    valid = _bool(column.is_valid(), False)
    offsets = _np(column.offsets).astype(np.int64)
    lengths = np.where(valid, offsets[1:] - offsets[:-1], 0)
    return valid, offsets[:-1], lengths, children, _bool(struct.is_null(), True)


def _id_strings(column):
    """``str(value)`` of string and integer ids (null where absent or ""), and rows whose id is of another type."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(column)
    if pa.types.is_integer(column.type):
        return column.cast(pa.string()), np.zeros(n, dtype=bool)
    if column.type == pa.null():
        return pa.nulls(n, pa.string()), np.zeros(n, dtype=bool)
    if column.type in (pa.string(), pa.large_string()):
        ids = column.cast(pa.string())
        return pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids), np.zeros(n, dtype=bool)
    return pa.nulls(n, pa.string()), _bool(column.is_valid(), False)  # floats, booleans, objects: record path


def native_ids(table, keys=("id",)):
    """Native ids as the record function takes them: ``record.get(keys[0], record.get(keys[1]))``, stringified.

    Returns (ids or None, rows the twin cannot decide). A null in an earlier
    key is ambiguous (absent, so the next key counts, or present and null?):
    such rows are left to the record function when a later key has a value.
    """
    import numpy as np
    import pyarrow.compute as pc

    result, undecided = None, np.zeros(table.num_rows, dtype=bool)
    for key in keys:
        if key not in table.column_names:
            continue
        ids, unsure = _id_strings(_combined(table.column(key)))
        undecided |= unsure
        if result is None:
            result = ids
        else:
            undecided |= _bool(pc.and_(pc.is_null(result), pc.is_valid(ids)), False)
    return result, undecided


def _leave(ok):
    import numpy as np

    return np.flatnonzero(~ok).tolist()


# --- alpaca ----------------------------------------------------------------------------------------------------------


def _strings(records: list[dict], key: str):
    import pyarrow as pa

    try:
        return pa.array([r.get(key) for r in records], type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # numbers, lists ...: leave it to the row converter


def _interleave_chat(prompt, output):
    """messages = [{user: prompt}, {assistant: output}] per row, built from two string columns."""
    import numpy as np
    import pyarrow as pa

    n = len(prompt)
    contents = pa.concat_arrays([prompt, output]).take(pa.array(np.stack([np.arange(n), np.arange(n) + n], 1).ravel()))
    return messages(np.tile(np.array([USER, ASSISTANT], dtype=np.int8), n), contents,
                    np.arange(0, 2 * n + 1, 2, dtype=np.int32))


def alpaca_arrays(instr, extra, output):
    """The alpaca conversion on three string columns: (messages for the kept rows, rejected row indices)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    i = pc.fill_null(strip(instr), "")
    x = pc.fill_null(strip(extra), "") if extra is not None else pa.nulls(len(i), pa.string()).fill_null("")
    i_empty, x_empty = pc.equal(pc.utf8_length(i), 0), pc.equal(pc.utf8_length(x), 0)
    joined = pc.binary_join_element_wise(i, x, "\n\n")
    prompt = pc.if_else(i_empty, x, pc.if_else(x_empty, i, joined))
    out_ok = pc.and_(pc.is_valid(output), pc.invert(pc.fill_null(blank(output), True)))
    ok = pc.and_(out_ok, pc.invert(pc.and_(i_empty, x_empty)))
    rejected = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    return _interleave_chat(pc.filter(prompt, ok), pc.filter(output, ok)), rejected


def _alpaca_keys(o: dict) -> tuple[str, str, str, set[str]]:
    k_instr, k_input, k_output = (o.get(k, k) for k in ("instruction", "input", "output"))
    consumed = {k_instr, k_input, k_output, o.get("system", "system"), o.get("history", "history")}
    return k_instr, k_input, k_output, consumed


def alpaca_batch(records: list[dict], o: dict):
    k_instr, k_input, k_output, consumed = _alpaca_keys(o)
    keys = set().union(*(r.keys() for r in records))
    for key in (o.get("system", "system"), o.get("history", "history")):
        if key in keys and any(r.get(key) for r in records):
            return None
    instr = _strings(records, k_instr)
    output = _strings(records, k_output)
    extra = None if k_input == k_instr or k_input not in keys else _strings(records, k_input)
    if instr is None or output is None or (k_input != k_instr and k_input in keys and extra is None):
        return None
    result, rejected = alpaca_arrays(instr, extra, output)
    return Columns({"messages": result}, rejected, frozenset(consumed))


def alpaca_table(table, o: dict):
    """The same on an Arrow table read by pyarrow's JSON reader; None when the table needs the row path."""
    import pyarrow as pa

    k_instr, k_input, k_output, consumed = _alpaca_keys(o)
    names = set(table.column_names)
    if o.get("system", "system") in names or o.get("history", "history") in names or k_output not in names:
        return None  # system/history: the record path handles them
    cols = {}
    for key in {k_instr, k_input, k_output} & names:
        cols[key] = _string(table.column(key))
        if cols[key] is None:
            return None
    instr = cols.get(k_instr, pa.nulls(table.num_rows, pa.string()))
    extra = None if k_input == k_instr else cols.get(k_input)
    result, rejected = alpaca_arrays(instr, extra, cols[k_output])
    return Columns({"messages": result}, rejected, frozenset(consumed))


# --- turn lists: sharegpt, openai-messages, conversation-pairs ----------------------------------------------------


def _system(table, key: str):
    """(system strings, rows with a non-blank one) of an optional system column; None when it is not strings."""
    import numpy as np

    if key not in table.column_names:
        return None, np.zeros(table.num_rows, dtype=bool)
    strings = _string(table.column(key))
    if strings is None:
        return False, None
    return strings, _bool(blank(strings), True) == False  # noqa: E712 - numpy mask


def chat_from_turns(n, row_ok, starts, lengths, codes, contents, system, has_system):
    """Messages of the rows where ``row_ok`` holds: [system?] + their turns; plus the check_chat verdict per row.

    ``codes``/``contents`` are per turn (indexed by ``starts``/``lengths``); a
    row passes when every turn has a known role and non-blank content, some
    turn is the user's and the last one the assistant's.
    """
    import numpy as np
    import pyarrow as pa

    index, _ = ranges(starts, lengths)
    parent = np.repeat(np.arange(n), lengths)
    turn_codes = codes[index]
    bad = (turn_codes < 0) | _bool(blank(contents), True)[index]
    ok = row_ok & (lengths > 0) & (np.bincount(parent[bad], minlength=n) == 0)
    ok &= np.bincount(parent[turn_codes == USER], minlength=n) > 0
    last = np.where(lengths > 0, starts + lengths - 1, 0)
    ok &= codes[last] == ASSISTANT if len(codes) else False
    kept = np.flatnonzero(ok)
    k_len, k_sys = lengths[kept], has_system[kept]
    turn_index, _ = ranges(starts[kept], k_len)
    out_len = k_len + k_sys
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(out_len, out=offsets[1:])
    if k_sys.any():
        pool = pa.concat_arrays([contents, system])
        at_system = np.zeros(offsets[-1], dtype=bool)
        at_system[offsets[:-1][k_sys]] = True
        take = np.empty(offsets[-1], dtype=np.int64)
        take[~at_system] = turn_index
        take[at_system] = len(contents) + kept[k_sys]
        out_codes = np.empty(offsets[-1], dtype=np.int8)
        out_codes[~at_system] = codes[turn_index]
        out_codes[at_system] = SYSTEM
    else:
        pool, take, out_codes = contents, turn_index, codes[turn_index]
    return messages(out_codes, pool.take(pa.array(take)), offsets), ok


def _roles(o: dict) -> dict[str, str]:
    return {**DEFAULT_ROLES, **{str(k).lower(): v for k, v in (o.get("roles") or {}).items()}}


def turns_table(table, o: dict, defaults: tuple[str, str, str] = ("conversations", "from", "value")):
    """sharegpt / openai-messages: a list of {role, content} turns (+ optional system) -> chat."""
    import numpy as np

    key, role_key, content_key = (o.get(k, d) for k, d in zip(("messages", "role", "content"), defaults))
    system_key = o.get("system", "system")
    if key not in table.column_names or len({key, role_key, content_key, system_key}) < 4:
        return None
    parts = list_of_structs(table.column(key), role_key, content_key)
    system, has_system = _system(table, system_key)
    if parts is None or system is False:
        return None
    valid, starts, lengths, children, struct_null = parts
    role, content = children[role_key], children[content_key]
    codes = role_codes(role, _roles(o))
    codes[struct_null | _bool(content.is_null(), True)] = -1  # not an object / lacks a key: the record path says which
    ids, undecided = native_ids(table)
    n = table.num_rows
    result, ok = chat_from_turns(n, valid & ~undecided, starts, lengths, codes, content, system, has_system)
    return Columns({"messages": result}, _leave(ok), frozenset({key, system_key}),
                   None if ids is None else ids.filter(np.asarray(ok)))


def sharegpt_table(table, o: dict):
    return turns_table(table, o)


def openai_table(table, o: dict):
    return turns_table(table, o, ("messages", "role", "content"))


def pairs_table(table, o: dict):
    """conversation-pairs: [{human, assistant}, ...] (+ optional system) -> chat."""
    import numpy as np

    key, user, assistant = o.get("messages", "conversation"), o.get("user", "human"), o.get("assistant", "assistant")
    system_key = o.get("system", "system")
    if key not in table.column_names or len({key, system_key}) < 2 or user == assistant:
        return None
    parts = list_of_structs(table.column(key), user, assistant)
    system, has_system = _system(table, system_key)
    if parts is None or system is False:
        return None
    valid, starts, pair_lengths, children, struct_null = parts
    # interleave the two columns: turn 2k is the user's text of pair k, 2k+1 the assistant's
    u, a = children[user], children[assistant]
    import pyarrow as pa

    m = len(u)
    contents = pa.concat_arrays([u, a]).take(pa.array(np.stack([np.arange(m), np.arange(m) + m], 1).ravel()))
    missing = struct_null | _bool(u.is_null(), True) | _bool(a.is_null(), True)
    codes = np.tile(np.array([USER, ASSISTANT], dtype=np.int8), m)
    codes[np.repeat(missing, 2)] = -1
    ids, undecided = native_ids(table, ("conversation_id", "id"))
    n = table.num_rows
    result, ok = chat_from_turns(n, valid & (pair_lengths > 0) & ~undecided, starts * 2, pair_lengths * 2, codes,
                                 contents, system, has_system)
    return Columns({"messages": result}, _leave(ok), frozenset({key, system_key}),
                   None if ids is None else ids.filter(np.asarray(ok)))


# --- preference: hh-rlhf, pairwise ------------------------------------------------------------------------------------


def hh_transcripts(text):
    """parse_hh_transcript on a string column: (rows parsed exactly, starts, lengths, role codes, stripped contents).

    The turn marks become a NUL-separated list ("", role, text, role, text ...)
    split by pyarrow; a transcript holding a NUL itself is left to the record path.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.fill_null(text, "")
    marked = pc.or_(pc.starts_with(text, "\n\nHuman:"), pc.starts_with(text, "\n\nAssistant:"))
    bare = pc.and_(pc.invert(marked), pc.starts_with(text, "Human:"))
    text = pc.if_else(bare, pc.binary_join_element_wise("\n\n", text, ""), text)
    usable = pc.and_(pc.or_(marked, bare), pc.invert(pc.match_substring(text, "\x00")))
    pieces = pc.split_pattern(pc.replace_substring_regex(text, r"\n\n(Human|Assistant): ?", "\x00\\1\x00"), "\x00")
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


# --- the record path's batches through a table twin ---------------------------------------------------------------


def table_batch(table_fn: Callable, floats: Callable[[dict], tuple[str, ...]] = lambda o: ()):
    """A batch twin made from a table twin: the records are serialized with orjson and parsed by pyarrow.

    Faster than building Arrow from Python objects (pyarrow parses in C++ on
    all cores). orjson writes a float NaN as null, so a batch in which a field
    read as a number (``floats``) holds NaN goes to the record function.
    """

    def batch(records: list[dict], o: dict):
        import orjson

        # datetimes, dataclasses, subclasses of str ...: the JSON reader would not see them, so orjson must refuse them
        strict = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
        for key in floats(o):
            if any(isinstance(v, float) and v != v for v in (r.get(key) for r in records)):
                return None
        try:
            data = b"\n".join(orjson.dumps(r, option=strict) for r in records)
        except orjson.JSONEncodeError:
            return None
        table = read_jsonl(data)
        if table is None:
            return None
        if table.num_rows != len(records):
            return None
        return table_fn(table, o)

    return batch


def read_jsonl(data):
    """JSON Lines bytes as a valid Arrow table; None when pyarrow cannot read them as one.

    Blocks of 4 MiB are parsed on all cores; a line longer than a block is
    retried as one block. The table is validated in full: pyarrow's JSON reader
    does not check UTF-8, and (pyarrow 26) a null object as the first item of a
    list of objects yields list offsets beyond the values.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    errors = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)
    block = 4 << 20
    for attempt in range(2):
        try:
            table = pj.read_json(pa.BufferReader(pa.py_buffer(data)), read_options=pj.ReadOptions(block_size=block))
            table.validate(full=True)
            return table
        except errors as exc:
            if attempt or "straddling" not in str(exc) or len(data) < block:
                return None
            block = len(data) + 1
    return None
