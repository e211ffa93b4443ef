"""Columnar twins of the preference converters on flat string fields: pairwise (see :mod:`.columnar`)."""

from __future__ import annotations

from .columnar import ASSISTANT, USER, Columns, _bool, _combined, _leave, _string, _system, blank, messages, with_system
from .columnar_hh import hh_prompt


def pairwise_table(table, o: dict):
    """pairwise: prompt / chosen / rejected strings (+ system, scores) -> preference; an hh transcript prompt too."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

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
    if system is None:
        system = pa.nulls(n, pa.string())
    if o.get("prompt_format", "text") == "hh":
        prompt, ok = hh_prompt(cols["prompt"], ok, system, has_system)
        kept = np.flatnonzero(ok)
    else:
        kept = np.flatnonzero(ok)
        prompt = with_system(kept, np.ones(len(kept), dtype=np.int64), np.full(len(kept), USER), kept, cols["prompt"],
                             system, has_system)
    take = pa.array(kept)
    one = np.arange(len(kept) + 1)
    columns = {"prompt": prompt,
               "chosen": messages(np.full(len(kept), ASSISTANT), cols["chosen"].take(take), one),
               "rejected": messages(np.full(len(kept), ASSISTANT), cols["rejected"].take(take), one)}
    columns.update({name: column.take(take) for name, column in scores.items()})
    return Columns(columns, _leave(ok), frozenset(keys.values()))


def pairwise_floats(o: dict) -> tuple[str, ...]:
    return tuple(o[k] for k in ("score_chosen", "score_rejected") if o.get(k))
