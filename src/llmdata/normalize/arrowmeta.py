"""The ``meta`` JSON of the rows a twin converted, built in Arrow where that is exact, else from each line.

``meta`` is what the record path writes: the fields the converter did not
consume, in the record's own key order, as orjson writes them. A row's meta is
assembled from its Arrow values when every such field is decidable there: a
string that needs no escaping, an integer or a boolean, not null (a null may
be an absent key); with several fields, each key must occur once in the line
(so the occurrence is the top-level key: inside a string a quote is escaped)
and in the table's column order. Every other row's meta comes from parsing
its line, as before.
"""

from __future__ import annotations

import orjson

_JSON_ESCAPES = r'["\\\x00-\x1f]'


def arrow_meta(table, consumed: frozenset, kept, raw, chunk):
    """``meta`` strings of the rows ``kept`` (indices into ``table``, whose lines are ``raw(i)``, all of them
    the bytes ``chunk``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .converters.columnar import _combined

    extra = [name for name in table.column_names if name not in consumed]
    if not extra:
        return pa.array(["{}"]).take(pa.array(np.zeros(len(kept), dtype=np.int8)))
    take = pa.array(kept)
    ok = np.ones(len(kept), dtype=bool)
    parts = []
    for name in extra:
        column = _combined(table.column(name)).take(take)
        text, exact = _json_values(column)
        ok &= exact
        parts.append(pc.binary_join_element_wise(orjson.dumps(name).decode() + ":", text, ""))
    if len(extra) > 1 and ok.any():
        ok &= _in_column_order(chunk, len(table), kept, extra)
    if not ok.any():
        return _from_lines(kept, consumed, raw)
    meta = pc.binary_join_element_wise("{", pc.binary_join_element_wise(*parts, ","), "}", "")
    if ok.all():
        return meta
    rest = np.flatnonzero(~ok)
    return pc.replace_with_mask(meta, pa.array(~ok), pa.array(_from_lines(kept[rest], consumed, raw), pa.string()))


def _json_values(column):
    """(the JSON text of each value, where that text is exactly orjson's): strings needing no escape, integers,
    booleans; null and anything else is not decided here."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(column)
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if column.type in (pa.string(), pa.large_string()):
        plain = pc.invert(pc.match_substring_regex(column, _JSON_ESCAPES))
        exact = valid & np.asarray(pc.fill_null(plain, False).to_numpy(zero_copy_only=False), dtype=bool)
        return pc.binary_join_element_wise('"', pc.fill_null(column.cast(pa.string()), ""), '"', ""), exact
    if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
        text = pc.fill_null(column.cast(pa.string()), "")  # booleans cast to "true" / "false", as JSON writes them
        return text, valid
    return pa.array([""] * n, pa.string()), np.zeros(n, dtype=bool)


def _in_column_order(chunk, rows: int, kept, names):
    """Per kept row: each key of ``names`` occurs once in its line, and in this order (found with numpy among
    the chunk's quotes: the 8 bytes ending at each quote-and-colon are read once and compared with each key's last
    8 bytes, and only the few positions left are compared in full)."""
    import numpy as np

    from .converters.columnar import matches

    data = np.frombuffer(chunk, dtype=np.uint8)
    newlines, quotes = np.flatnonzero(data == 10), np.flatnonzero(data[:-1] == 34)
    ends = quotes[data[quotes + 1] == 58]  # a quote and a colon: where a key ends
    near, far = ends[ends < 7], ends[ends >= 7]
    tails = (np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))[far - 7] if far.size
             else np.zeros(0, dtype=np.uint64))
    ok = np.ones(rows, dtype=bool)
    last = np.full(rows, -1, dtype=np.int64)
    for name in names:
        key = orjson.dumps(name)
        tail = key[-8:]
        mask = np.uint64(((1 << 8 * len(tail)) - 1) << 8 * (8 - len(tail)))
        alike = far[(tails & mask) == np.uint64(int.from_bytes(tail.rjust(8, b"\0"), "little"))]
        at = np.concatenate([near, alike]) - (len(key) - 1)
        at = at[at >= 0]
        at = at[matches(data, at, key)]
        line = np.searchsorted(newlines, at, side="right")
        first = np.full(rows, -1, dtype=np.int64)
        first[line[::-1]] = at[::-1]  # the earliest occurrence in each line
        ok &= (np.bincount(line, minlength=rows)[:rows] == 1) & (first > last)
        last = first
    return ok[kept]


def _from_lines(kept, consumed, raw) -> list[str]:
    from .readers import parse_line

    dumps = orjson.dumps
    return [dumps({k: v for k, v in parse_line(raw(i)).items() if k not in consumed}, default=str).decode()
            for i in kept.tolist()]
