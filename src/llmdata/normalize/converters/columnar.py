"""Columnar twins of the flat converters: a whole batch of records through pyarrow compute.

Per-record Python is what makes one-off conversion scripts slow. For flat
layouts (alpaca-style instruction / input / output) the conversion is a few
string operations that pyarrow does for a whole column at once. A batch
function returns ``None`` whenever a batch holds anything it does not handle
exactly like the row converter (other types, history, system prompts), and
the pipeline then converts that batch row by row; rows it marks as rejected
are re-run through the row converter for the exact reason. Tests check that
both paths give the same rows. The twins are attached to their converter's
declaration (``converter(..., batch=..., table=...)``), not registered here.
"""

from __future__ import annotations


def _strings(records: list[dict], key: str, required: bool):
    import pyarrow as pa

    values = [r.get(key) for r in records]
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # numbers, lists ...: leave it to the row converter


def _interleave_chat(prompt, output):
    """messages = [{user: prompt}, {assistant: output}] per row, built from two string columns."""
    import numpy as np
    import pyarrow as pa

    n = len(prompt)
    contents = pa.concat_arrays([prompt, output]).take(pa.array(np.stack([np.arange(n), np.arange(n) + n], 1).ravel()))
    roles = pa.DictionaryArray.from_arrays(pa.array(np.tile(np.array([0, 1], dtype=np.int8), n)),
                                           pa.array(["user", "assistant"])).cast(pa.string())
    struct = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), struct)


def alpaca_arrays(instr, extra, output):
    """The alpaca conversion on three string columns: (messages for the kept rows, rejected row indices)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    i = pc.fill_null(pc.utf8_trim_whitespace(instr), "")
    x = pc.fill_null(pc.utf8_trim_whitespace(extra), "") if extra is not None else \
        pa.nulls(len(i), pa.string()).fill_null("")
    i_empty, x_empty = pc.equal(pc.utf8_length(i), 0), pc.equal(pc.utf8_length(x), 0)
    joined = pc.binary_join_element_wise(i, x, "\n\n")
    prompt = pc.if_else(i_empty, x, pc.if_else(x_empty, i, joined))
    out_ok = pc.and_(pc.is_valid(output),
                     pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(output, ""))), 0))
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
    instr = _strings(records, k_instr, False)
    output = _strings(records, k_output, True)
    extra = None if k_input == k_instr or k_input not in keys else _strings(records, k_input, False)
    if instr is None or output is None or (k_input != k_instr and k_input in keys and extra is None):
        return None
    messages, rejected = alpaca_arrays(instr, extra, output)
    return {"messages": messages, "consumed": consumed, "plain": not (keys - consumed)}, rejected


def alpaca_table(table, o: dict):
    """The same on an Arrow table read by pyarrow's JSON reader; None when the table needs the row path."""
    import pyarrow as pa

    k_instr, k_input, k_output, consumed = _alpaca_keys(o)
    names = set(table.column_names)
    if names - consumed or o.get("system", "system") in names or o.get("history", "history") in names:
        return None  # extra fields (meta) or system/history: the record path handles them
    if k_output not in names:
        return None
    cols = {}
    for key in {k_instr, k_input, k_output} & names:
        col = table.column(key)
        if col.type not in (pa.string(), pa.large_string(), pa.null()):
            return None
        cols[key] = col.combine_chunks().cast(pa.string())
    n = table.num_rows
    instr = cols.get(k_instr, pa.nulls(n, pa.string()))
    extra = None if k_input == k_instr else cols.get(k_input)
    return alpaca_arrays(instr, extra, cols[k_output])
