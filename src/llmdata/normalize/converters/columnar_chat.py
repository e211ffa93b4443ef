"""Columnar twins of the chat converters: alpaca, sharegpt, openai-messages, conversation-pairs, medical-qa,
ultrachat, seed-tasks (see :mod:`.columnar`)."""

from __future__ import annotations

from .columnar import (ASSISTANT, USER, Columns, _bool, _combined, _leave, _np, _roles, _string, _system, _two_texts,
                       blank, chat_from_turns, list_of_structs, messages, native_ids, ranges, role_codes, strip)


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


# --- one question and one answer, plain utterance lists, seed tasks ------------------------------------------------


def qa_table(table, o: dict):
    """medical-qa: a question and an answer column (need_str on both) -> [user, assistant]."""
    q, a = o.get("question", "ask"), o.get("answer", "answer")
    texts = _two_texts(table, q, a)
    if texts is None:
        return None
    question, answer, ok = texts
    import pyarrow as pa

    mask = pa.array(ok)
    return Columns({"messages": _interleave_chat(question.filter(mask), answer.filter(mask))}, _leave(ok),
                   frozenset({q, a}))


def _string_lists(column):
    """(valid rows, starts, lengths, values) of a list<string> column; None when it is anything else."""
    import numpy as np
    import pyarrow as pa

    column = _combined(column)
    if not pa.types.is_list(column.type):
        return None
    values = _string(column.values)
    if values is None:
        return None
    valid = _bool(column.is_valid(), False)
    offsets = _np(column.offsets).astype(np.int64)
    return valid, offsets[:-1], np.where(valid, offsets[1:] - offsets[:-1], 0), values


def ultrachat_table(table, o: dict):
    """ultrachat: a list of utterance strings, user and assistant by turns -> chat."""
    import numpy as np

    key = o.get("messages", "data")
    if o.get("prefixes") or key not in table.column_names:  # prefixed utterances: the record function checks them
        return None
    parts = _string_lists(table.column(key))
    if parts is None:
        return None
    valid, starts, lengths, values = parts
    n = table.num_rows
    index, _ = ranges(starts, lengths)
    bad = _bool(blank(values), True)[index]  # a null utterance is not a string: the record path says so
    ids, undecided = native_ids(table)
    ok = valid & ~undecided & (lengths > 0) & (lengths % 2 == 0)
    ok &= np.bincount(np.repeat(np.arange(n), lengths)[bad], minlength=n) == 0
    kept = np.flatnonzero(ok)
    index, offsets = ranges(starts[kept], lengths[kept])
    codes = np.where((index - np.repeat(starts[kept], lengths[kept])) % 2 == 0, USER, ASSISTANT)
    import pyarrow as pa

    return Columns({"messages": messages(codes, values.take(pa.array(index)), offsets)}, _leave(ok),
                   frozenset({key}), None if ids is None else ids.filter(pa.array(ok)))


def seed_table(table, o: dict):
    """seed-tasks: an instruction and its instances [{input, output}]; one row per instance."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = table.column_names
    if "instruction" not in names or "instances" not in names:
        return None
    instruction = _string(table.column("instruction"))
    instances = _combined(table.column("instances"))
    kind = instances.type
    if instruction is None or not (pa.types.is_list(kind) and pa.types.is_struct(kind.value_type)):
        return None
    fields = {kind.value_type.field(i).name for i in range(kind.value_type.num_fields)}
    if "output" not in fields:
        return None
    struct = instances.values
    output = _string(struct.field("output"))
    extra = _string(struct.field("input")) if "input" in fields else pa.nulls(len(struct), pa.string())
    if output is None or extra is None:
        return None
    n = table.num_rows
    valid = _bool(instances.is_valid(), False)
    offsets = _np(instances.offsets).astype(np.int64)
    lengths = np.where(valid, offsets[1:] - offsets[:-1], 0)
    index, _ = ranges(offsets[:-1], lengths)
    parent = np.repeat(np.arange(n), lengths)
    bad = _bool(struct.is_null(), True)[index] | _bool(blank(output), True)[index]
    ok = ~_bool(blank(instruction), True) & (lengths > 0) & (np.bincount(parent[bad], minlength=n) == 0)
    ids, undecided = native_ids(table)
    ok &= ~undecided
    kept = np.flatnonzero(ok)
    index, _ = ranges(offsets[:-1][kept], lengths[kept])
    rows_of = pa.array(np.repeat(kept, lengths[kept]))
    instr = strip(instruction).take(rows_of)
    x = pc.fill_null(strip(extra.take(pa.array(index))), "")
    prompt = pc.if_else(pc.equal(pc.utf8_length(x), 0), instr, pc.binary_join_element_wise(instr, x, "\n\n"))
    result = _interleave_chat(prompt, output.take(pa.array(index)))
    return Columns({"messages": result}, _leave(ok), frozenset({"instruction", "instances"}),
                   None if ids is None else ids.filter(pa.array(ok)), rows=lengths[kept])
