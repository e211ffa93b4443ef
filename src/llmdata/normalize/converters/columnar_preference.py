"""Columnar twins of the preference converters on flat fields: pairwise, pku-saferlhf, hc3, pairwise-votes
(see :mod:`.columnar`)."""

from __future__ import annotations

from .columnar import (ASSISTANT, USER, Columns, _bool, _combined, _leave, _np, _string, _system, blank, messages,
                       list_of_structs, native_ids, ranges, strip, with_system)
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
        scores[f"score_{side}"] = column.cast(pa.float64(), safe=False)  # rounded as float() rounds
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


# --- one prompt, two answers: pku-saferlhf, hc3, pairwise-votes ---------------------------------------------------


def _needed(table, key: str):
    """need_str on a column: (strings, rows holding a non-blank one); None when the column is not strings."""
    if key not in table.column_names:
        return None
    strings = _string(table.column(key))
    if strings is None:
        return None
    return strings, ~_bool(blank(strings), True)


def _pair_columns(n, kept, prompt, chosen, rejected, scores=None):
    """prompt [user], chosen [assistant], rejected [assistant] of the rows ``kept`` (+ score columns)."""
    import numpy as np
    import pyarrow as pa

    take, one = pa.array(kept), np.arange(len(kept) + 1)
    columns = {"prompt": messages(np.full(len(kept), USER), prompt.take(take), one),
               "chosen": messages(np.full(len(kept), ASSISTANT), chosen.take(take), one),
               "rejected": messages(np.full(len(kept), ASSISTANT), rejected.take(take), one)}
    for name, values in (scores or {}).items():
        columns[name] = pa.array(np.asarray(values, dtype=np.float64)[kept])
    return columns


def pku_table(table, o: dict):
    """pku-saferlhf: prompt, response_0, response_1 and which is better (or safer) -> preference."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    id_key = f"{o.get('by', 'better')}_response_id"
    parts = [_needed(table, k) for k in ("prompt", "response_0", "response_1")]
    if any(p is None for p in parts) or id_key not in table.column_names:
        return None
    choice = _combined(table.column(id_key))
    if pa.types.is_string(choice.type):  # "0" / "1", spaces around allowed
        choice = pc.if_else(pc.is_in(strip(choice), pa.array(["0", "1"])), strip(choice), None).cast(pa.int64())
    elif not (pa.types.is_integer(choice.type) or pa.types.is_floating(choice.type)):
        return None  # booleans, anything else: the record path
    (prompt, p_ok), (r0, r0_ok), (r1, r1_ok) = parts
    first = _bool(pc.equal(choice, 0), False)
    ok = p_ok & r0_ok & r1_ok & (first | _bool(pc.equal(choice, 1), False))
    ok &= ~_bool(pc.equal(r0, r1), True)
    mask = pa.array(first)
    chosen, rejected = pc.if_else(mask, r0, r1), pc.if_else(mask, r1, r0)
    return Columns(_pair_columns(table.num_rows, np.flatnonzero(ok), prompt, chosen, rejected), _leave(ok),
                   frozenset({"prompt", "response_0", "response_1", id_key}))


def _first_text(column):
    """Per row of a list<string> column: (the first non-blank string's index into the values, or -1; values)."""
    import numpy as np
    import pyarrow as pa

    column = _combined(column)
    if not pa.types.is_list(column.type) or (values := _string(column.values)) is None:
        return None
    n = len(column)
    valid = _bool(column.is_valid(), False)
    offsets = _np(column.offsets).astype(np.int64)
    lengths = np.where(valid, offsets[1:] - offsets[:-1], 0)
    index, _ = ranges(offsets[:-1], lengths)
    parent = np.repeat(np.arange(n), lengths)
    good = ~_bool(blank(values), True)[index]
    first = np.full(n, -1, dtype=np.int64)
    rows, at = np.unique(parent[good], return_index=True)
    first[rows] = index[good][at]
    return first, values


def hc3_table(table, o: dict):
    """hc3: question + the first non-blank human and ChatGPT answers; prefer: human (default) or chatgpt."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    question = _needed(table, "question")
    sides = [_first_text(table.column(k)) if k in table.column_names else None
             for k in ("human_answers", "chatgpt_answers")]
    if question is None or None in sides:
        return None
    (h_first, h_values), (c_first, c_values) = sides
    ok = question[1] & (h_first >= 0) & (c_first >= 0)
    human = h_values.take(pa.array(np.where(ok, h_first, 0)))
    chatgpt = c_values.take(pa.array(np.where(ok, c_first, 0)))
    ok &= ~_bool(pc.equal(human, chatgpt), True)
    chosen, rejected = (chatgpt, human) if o.get("prefer") == "chatgpt" else (human, chatgpt)
    return Columns(_pair_columns(table.num_rows, np.flatnonzero(ok), question[0], chosen, rejected), _leave(ok),
                   frozenset({"question", "human_answers", "chatgpt_answers"}))


def _names(value, default: list[str]) -> list[str]:
    value = default if value is None else value
    return [value] if isinstance(value, str) else list(value)


def prompt_keys(o: dict) -> list[str]:
    """pairwise-votes: the fields joined into the prompt."""
    return _names(o.get("prompt"), ["instruction", "input"])


def vote_keys(o: dict) -> list[str]:
    """pairwise-votes: the fields holding the annotators' labels."""
    return _names(o.get("votes"), ["annotator1", "annotator2", "annotator3"])


def votes_table(table, o: dict):
    """pairwise-votes: prompt fields, two responses and annotators' labels (0 tie, 1, 2); the majority decides."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    prompts, votes = prompt_keys(o), vote_keys(o)
    n, names = table.num_rows, table.column_names
    prompt = pa.array([""] * n, pa.string())
    for key in prompts:  # need_str(allow_empty): absent or null is "", then stripped and joined by a blank line
        part = _string(table.column(key)) if key in names else pa.nulls(n, pa.string())
        if part is None:
            return None
        part = pc.fill_null(strip(part), "")
        prompt = pc.if_else(pc.equal(pc.utf8_length(prompt), 0), part,
                            pc.if_else(pc.equal(pc.utf8_length(part), 0), prompt,
                                       pc.binary_join_element_wise(prompt, part, "\n\n")))
    responses = [_needed(table, o.get(k, k)) for k in ("response1", "response2")]
    if None in responses:
        return None
    ok = ~_bool(pc.equal(pc.utf8_length(prompt), 0), True) & responses[0][1] & responses[1][1]
    counts, voted = np.zeros((3, n), dtype=np.int64), np.zeros(n, dtype=np.int64)
    cast = []  # (present, value) per vote field, in order: the votes the record function lists in its reasons
    for key in votes:
        if key not in names:
            continue
        vote = _combined(table.column(key))
        if vote.type == pa.null():
            continue
        if not (pa.types.is_integer(vote.type) or pa.types.is_floating(vote.type)):
            return None  # strings of digits, booleans: the record path
        present = _bool(vote.is_valid(), False)
        value = np.where(present, np.nan_to_num(np.asarray(_np(vote.fill_null(0)), dtype=np.float64)), 0)
        ok &= ~present | np.isin(value, (0, 1, 2))
        voted += present
        cast.append((present, value))
        for label in range(3):
            counts[label] += present & (value == label)
    winner = np.argmax(counts, axis=0)  # the first label with the most votes, as max() over the dict
    top = counts[winner, np.arange(n)]
    ok &= voted > 0
    reasons = _vote_rejects(ok & ~(top * 2 > voted), ok & (top * 2 > voted) & (winner == 0), cast)
    ok &= (top * 2 > voted) & (winner > 0)
    first = pa.array(winner == 1)
    (r1, _), (r2, _) = responses
    chosen, rejected = pc.if_else(first, r1, r2), pc.if_else(first, r2, r1)
    ok &= ~_bool(pc.equal(chosen, rejected), True)
    ids, undecided = native_ids(table, ("idx", "id"))
    ok &= ~undecided
    kept = np.flatnonzero(ok)
    scores = {"score_chosen": top, "score_rejected": counts[np.where(winner == 1, 2, 1), np.arange(n)]}
    used = {*prompts, *votes, o.get("response1", "response1"), o.get("response2", "response2")}
    return Columns(_pair_columns(n, kept, prompt, chosen, rejected, scores), _leave(ok), frozenset(used),
                   None if ids is None else ids.filter(pa.array(ok)), reasons=reasons)


def _vote_rejects(split, tied, cast) -> dict[int, str]:
    """The record function's reasons for the rows whose votes have no majority (``split``) or a majority for a tie
    (``tied``), all else about them being valid: PandaLM has many."""
    import numpy as np

    reasons = {}
    for rows, text in ((split, "no majority among the votes {}"),
                       (tied, "tie: the majority of the votes {} prefers neither response")):
        index = np.flatnonzero(rows)
        columns = [(present[index].tolist(), value[index].astype(np.int64).tolist()) for present, value in cast]
        for k, i in enumerate(index.tolist()):
            reasons[i] = text.format([value[k] for present, value in columns if present[k]])
    return reasons


def ranked_table(table, o: dict):
    """ranked-answers: the best-scored answer against the worst (or each lower-scored one), sorted as the record
    path sorts (score descending, ties in their order)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    qkey, akey = o.get("question", "question"), o.get("answers", "answers")
    tkey, skey = o.get("text", "text"), o.get("score_field", "pm_score")
    question = _needed(table, qkey)
    if question is None or akey not in table.column_names or qkey == akey:
        return None
    answers = list_of_structs(table.column(akey), tkey, numbers=(skey,))
    if answers is None or tkey == skey:
        return None
    valid, starts, lengths, fields, struct_null = answers
    text, score = fields[tkey], fields[skey]
    if not (pa.types.is_integer(score.type) or pa.types.is_floating(score.type)):
        return None
    values = np.asarray(_np(score.cast(pa.float64(), safe=False).fill_null(0)), dtype=np.float64)
    if pa.types.is_integer(score.type) and np.abs(values).max(initial=0) > 2**53:
        return None  # beyond what a float keeps exactly: the record path compares them as integers
    n = table.num_rows
    index, _ = ranges(starts, lengths)
    parent = np.repeat(np.arange(n), lengths)
    usable = (~struct_null & ~_bool(blank(text), True) & _bool(score.is_valid(), False))[index]
    index, parent = index[usable], parent[usable]
    order = np.lexsort((np.arange(len(index)), -values[index], parent))  # per record: score descending, stable
    index, parent = index[order], parent[order]
    count = np.bincount(parent, minlength=n)
    first, has = np.cumsum(count) - count, count > 0
    best, last = np.full(n, len(values)), np.full(n, len(values))  # no usable answer: a score of 0 past the end
    best[has], last[has] = index[first[has]], index[first[has] + count[has] - 1]
    values = np.append(values, 0.0)
    ok = question[1] & valid & (count >= 2) & (values[best] != values[last])
    if o.get("pairs", "best-vs-worst") == "best-vs-worst":
        pair_parent, other = np.flatnonzero(ok), last[ok]
    else:
        lower = values[index] < values[best[parent]]
        pair_parent, other = parent[lower & ok[parent]], index[lower & ok[parent]]
    pair_best = best[pair_parent]
    same = _bool(pc.equal(text.take(pa.array(pair_best)), text.take(pa.array(other))), False)
    ok &= np.bincount(pair_parent[same], minlength=n) == 0  # check_pair: a record with identical texts is rejected
    keep = ok[pair_parent]
    pair_parent, pair_best, other = pair_parent[keep], pair_best[keep], other[keep]
    k = len(pair_parent)
    one = np.arange(k + 1)
    columns = {"prompt": messages(np.full(k, USER), question[0].take(pa.array(pair_parent)), one),
               "chosen": messages(np.full(k, ASSISTANT), text.take(pa.array(pair_best)), one),
               "rejected": messages(np.full(k, ASSISTANT), text.take(pa.array(other)), one),
               "score_chosen": pa.array(values[pair_best]), "score_rejected": pa.array(values[other])}
    return Columns(columns, _leave(ok), frozenset({qkey, akey}), rows=np.bincount(pair_parent, minlength=n)[ok])
