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

This module holds the shared kernels and the batch wrapper; the twins live
by layout: ``columnar_chat`` (alpaca, turn lists, single Q&A, utterance
lists, seed tasks), ``columnar_hh`` (Human:/Assistant: transcripts: hh-rlhf,
pairwise ``prompt_format: hh``, belle-multiturn), ``columnar_moss``,
``columnar_preference`` (flat fields: pairwise, pku-saferlhf, hc3,
pairwise-votes, ranked-answers), ``columnar_messages`` on ``columnar_turns``
(message lists: sharegpt-pairwise, conversational-preference) and
``columnar_trees`` (oasst1, oasst1-pairs).

Exactness notes: ``utf8_trim_whitespace`` trims the same 29 code points as
Python's ``str.strip()`` (:data:`SPACES`, checked over all of Unicode); ``utf8_lower`` does
not lower like ``str.lower()``, so role names are mapped through their
dictionary by the record path's own function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .base import DEFAULT_ROLES, ROLES
from .columnar_text import SPACES, blank, pick, strip  # noqa: F401 - strip: a kernel of the twins, as blank

USER, ASSISTANT, SYSTEM = ROLES.index("user"), ROLES.index("assistant"), ROLES.index("system")
SPACE_CLASS = "[" + "".join(f"\\x{{{c:x}}}" for c in SPACES) + "]"  # the same as an RE2 character class


@dataclass
class Columns:
    """What a twin made of a batch: the converted rows' columns, and the rows left to the record function.

    ``columns`` hold the rows made of the kept records only (Arrow arrays named
    as the format's columns); ``leave`` are record indices in the batch;
    ``native_ids`` (kept records, null where none) become row ids; ``consumed``
    are the raw fields the conversion used: every other field lands in
    ``meta``. ``rows`` (kept records) says how many rows each one made when a
    record can make several (None: one each); their ids get ``#0``, ``#1`` ...
    ``reasons`` (records of ``leave`` -> why): the rejects the twin decided
    itself, with the record function's own reason; they skip it.
    """

    columns: dict
    leave: list[int]
    consumed: frozenset[str]
    native_ids: object = None
    rows: object = None
    reasons: dict | None = None


# --- kernels -------------------------------------------------------------------------------------------------------


def _np(array):
    return array.to_numpy(zero_copy_only=False)


def _combined(column):
    """A column as one array. A single chunk is taken as it is: ``combine_chunks`` copies even that one."""
    if not hasattr(column, "combine_chunks"):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _string(column):
    """The column as a string array; None when it holds anything else (numbers, lists, timestamps ...)."""
    import pyarrow as pa

    column = _combined(column)
    if column.type == pa.null():
        return pa.nulls(len(column), pa.string())
    if column.type in (pa.string(), pa.large_string()):
        return column.cast(pa.string())
    return None


def _two_texts(table, first: str, second: str):
    """Two different string columns and the rows where neither is blank (need_str on both), as
    ``(first, second, ok)``; None when the table lacks either or one holds something else than text."""
    names = table.column_names
    if first == second or first not in names or second not in names:
        return None
    a, b = _string(table.column(first)), _string(table.column(second))
    if a is None or b is None:
        return None
    return a, b, ~_bool(blank(a), True) & ~_bool(blank(b), True)


def _bool(mask, fill: bool):
    import numpy as np

    import pyarrow.compute as pc

    return np.asarray(_np(pc.fill_null(mask, fill)), dtype=bool)


def matches(data, at, word: bytes):
    """Where ``data[at:at + len(word)] == word``, for positions ``at`` known to leave room for the word.

    The last byte rules most positions out (one plain gather); the rest of the word is compared 8 (then 4, 2, 1)
    bytes at a time on those left, read as integers from an overlapping view of ``data``.
    """
    import numpy as np

    hit = data[at + len(word) - 1] == word[-1]
    left = np.flatnonzero(hit)
    sure = np.ones(len(left), dtype=bool)
    done = 0
    for size, kind in ((8, "<u8"), (4, "<u4"), (2, "<u2"), (1, "<u1")):
        while len(word) - 1 - done >= size:
            window = np.ndarray(shape=(len(data) - size + 1,), dtype=kind, buffer=data, strides=(1,))
            sure &= window[at[left] + done] == np.frombuffer(word[done:done + size], dtype=kind)[0]
            done += size
    hit[left] = sure
    return hit


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


def list_of_structs(column, *fields: str, numbers: tuple[str, ...] = ()):
    """(valid rows, starts, lengths, child arrays by field name, struct nulls) of a list<struct> column whose
    ``fields`` are strings (``numbers``: any type, as they are); None otherwise."""
    import numpy as np
    import pyarrow as pa

    column = _combined(column)
    kind = column.type
    if not (pa.types.is_list(kind) and pa.types.is_struct(kind.value_type)):
        return None
    struct = column.values
    children = {}
    for name in (*fields, *numbers):
        if kind.value_type.get_field_index(name) < 0:
            return None
        child = _combined(struct.field(name)) if name in numbers else _string(struct.field(name))
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


# --- shared by the chat twins -------------------------------------------------------------------------------------


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

    index, _ = ranges(starts, lengths)
    parent = np.repeat(np.arange(n), lengths)
    turn_codes = codes[index]
    bad = (turn_codes < 0) | _bool(blank(contents), True)[index]
    ok = row_ok & (lengths > 0) & (np.bincount(parent[bad], minlength=n) == 0)
    ok &= np.bincount(parent[turn_codes == USER], minlength=n) > 0
    last = np.where(lengths > 0, starts + lengths - 1, 0)
    ok &= codes[last] == ASSISTANT if len(codes) else False
    kept = np.flatnonzero(ok)
    turn_index, _ = ranges(starts[kept], lengths[kept])
    return with_system(kept, lengths[kept], codes[turn_index], turn_index, contents, system, has_system), ok


def with_system(kept, lengths, codes, take, pool, system, has_system):
    """Message lists of the rows ``kept``: the row's system message where ``has_system`` holds, then its turns.

    Turns come row after row, ``lengths`` of them per kept row: role ``codes[t]``
    and text ``pool[take[t]]``; ``system`` holds a text per row of the batch.
    """
    import numpy as np
    import pyarrow as pa

    k_sys = has_system[kept]
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(lengths + k_sys, out=offsets[1:])
    if not k_sys.any():
        return messages(codes, pick(pool, take), offsets)
    at_system = np.zeros(offsets[-1], dtype=bool)
    at_system[offsets[:-1][k_sys]] = True
    out_take = np.empty(offsets[-1], dtype=np.int64)
    out_take[~at_system], out_take[at_system] = take, len(pool) + kept[k_sys]
    out_codes = np.empty(offsets[-1], dtype=np.int8)
    out_codes[~at_system], out_codes[at_system] = codes, SYSTEM
    return messages(out_codes, pa.concat_arrays([pool, system.cast(pool.type)]).take(pa.array(out_take)), offsets)


def _roles(o: dict) -> dict[str, str]:
    return {**DEFAULT_ROLES, **{str(k).lower(): v for k, v in (o.get("roles") or {}).items()}}


# --- the record path's batches through a table twin ---------------------------------------------------------------


def table_batch(table_fn: Callable, floats: Callable[[dict], tuple[str, ...]] = lambda o: (), nulls: bool = False):
    """A batch twin made from a table twin: the records are serialized with orjson and parsed by pyarrow.

    Faster than building Arrow from Python objects (pyarrow parses in C++ on
    all cores). orjson writes a float NaN or infinity as null, so a batch in
    which a field the twin reads numbers from (``floats``: top-level keys, their
    lists and objects searched too) holds one goes to the record function.
    ``nulls``: the table twin takes the rows whose JSON holds a null too.
    """

    def batch(records: list[dict], o: dict):
        import orjson

        # datetimes, dataclasses, subclasses of str ...: the JSON reader would not see them, so orjson must refuse them
        strict = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
        for key in floats(o):
            if any(_non_finite(r.get(key)) for r in records):
                return None
        try:
            lines = [orjson.dumps(r, option=strict) for r in records]
        except orjson.JSONEncodeError:
            return None
        table = read_jsonl(b"\n".join(lines))
        if table is None or table.num_rows != len(records):
            return None
        if nulls:
            import numpy as np

            return table_fn(table, o, np.array([b"null" in line for line in lines], dtype=bool))
        return table_fn(table, o)

    return batch


def _non_finite(value) -> bool:
    """A float NaN or infinity in ``value``, or in its lists and objects."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def null_lines(data, lines: int):
    """Per line of JSON Lines bytes (``lines`` of them, none blank): whether it holds ``null`` (in a string too).

    The word is searched for by ``re`` (a fast scan over the bytes, no copy): it is rare, so the lines are
    found for its few occurrences only.
    """
    import re

    import numpy as np

    at = np.fromiter((m.start() for m in re.finditer(b"null", data)), dtype=np.int64)
    if not at.size:
        return np.zeros(lines, dtype=bool)
    line = np.searchsorted(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10), at, side="right")
    return np.bincount(line, minlength=lines)[:lines] > 0


def read_jsonl(data):
    """JSON Lines bytes as a valid Arrow table of one chunk; None when pyarrow cannot read them as one.

    The bytes are parsed as one block: a table of several chunks would be
    copied whole by the twins' ``_combined`` (more CPU than a parallel
    parse saves; the fast path parses on a thread of its own anyway). The
    table is validated in full: pyarrow's JSON reader does not check UTF-8,
    and (pyarrow 26) a null object as the first item of a list of objects
    yields list offsets beyond the values.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        table = pj.read_json(pa.BufferReader(pa.py_buffer(data)),
                             read_options=pj.ReadOptions(block_size=max(len(data), 1 << 16) + 1))
        table.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return table
