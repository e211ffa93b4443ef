"""Columnar twins of the OpenAssistant tree converters (oasst1, oasst1-pairs), level by level.

pyarrow reads a tree as nested structs, one ``replies`` list per depth found
in the batch. The twin flattens the levels into one table of nodes (each with
its parent, row and depth), marks the nodes the record function visits
(usable, under usable ancestors, the root a prompter), orders siblings as it
does (by rank, missing ranks last, ties in their order), and reads paths off
the parent pointers: the best path follows the first sibling at every step,
every path ends at a leaf, pairs are made under prompter nodes. Rows come out
in the record function's depth-first order. A field it cannot read exactly
(ranks that are not numbers, ``deleted`` that is not a boolean, text that is
not a string) sends the batch to the record function.
"""

from __future__ import annotations

from .columnar import (ASSISTANT, USER, Columns, _bool, _combined, _leave, _np, _string, blank, messages, native_ids,
                       ranges)


def _field(struct, name: str):
    index = struct.type.get_field_index(name)
    return None if index < 0 else struct.field(index)


def _level(level):
    """One depth's nodes as arrays; None when a field has a type the record function reads differently."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(level)
    text, role, rank, deleted, review = (_field(level, k) for k in ("text", "role", "rank", "deleted",
                                                                     "review_result"))
    text = pa.nulls(n, pa.string()) if text is None else _string(text)
    role = pa.nulls(n, pa.string()) if role is None else _string(role)
    if text is None or role is None:
        return None
    if rank is not None and not (rank.type == pa.null() or pa.types.is_integer(rank.type)
                                 or pa.types.is_floating(rank.type)):
        return None  # the record function sorts by rank: only numbers compare as it does
    if deleted is not None and deleted.type not in (pa.null(), pa.bool_()):
        return None  # ``not deleted`` of a number or a string: the record function
    prompter, assistant = (_bool(pc.equal(role, name), False) for name in ("prompter", "assistant"))
    usable = _bool(level.is_valid(), False) & ~_bool(blank(text), True) & (prompter | assistant)
    if deleted is not None and deleted.type == pa.bool_():
        usable &= ~_bool(deleted, False)
    if review is not None and review.type == pa.bool_():
        usable &= _bool(review, True)  # only a review_result of false drops a node
    has_rank = np.zeros(n, dtype=bool) if rank is None or rank.type == pa.null() else _bool(rank.is_valid(), False)
    value = (np.asarray(_np(rank.cast(pa.float64(), safe=False).fill_null(0)), dtype=np.float64)
             if has_rank.any() else np.zeros(n))
    if pa.types.is_integer(rank.type if rank is not None else pa.null()) and np.abs(value).max(initial=0) > 2**53:
        return None  # ranks a float would merge: the record function compares them as integers
    return {"usable": usable, "prompter": prompter, "has_rank": has_rank, "rank": value}, text


def _nodes(column):
    """Every node of every tree, depth after depth (parents before children); None: not readable exactly."""
    import numpy as np
    import pyarrow as pa

    level = _combined(column)
    if not pa.types.is_struct(level.type):
        return None
    keys = {"row": np.arange(len(level)), "parent": np.full(len(level), -1), "sibling": np.zeros(len(level), int)}
    parts, texts, base, depth = [], [], 0, 0
    while True:
        read = _level(level)
        if read is None:
            return None
        fields, text = read
        parts.append({**keys, **fields, "depth": np.full(len(level), depth)})
        texts.append(text)
        replies = _field(level, "replies")
        if replies is None or replies.type == pa.null() or (pa.types.is_list(replies.type)
                                                              and replies.type.value_type == pa.null()):
            break
        if not (pa.types.is_list(replies.type) and pa.types.is_struct(replies.type.value_type)):
            return None
        replies = _combined(replies)
        offsets = _np(replies.offsets).astype(np.int64)
        lengths = np.where(_bool(replies.is_valid(), False), offsets[1:] - offsets[:-1], 0)
        index, _ = ranges(offsets[:-1], lengths)
        owner = np.repeat(np.arange(len(level)), lengths)
        keys = {"row": keys["row"][owner], "parent": owner + base,
                "sibling": index - np.repeat(offsets[:-1], lengths)}
        base, depth = base + len(level), depth + 1
        level = replies.values.take(pa.array(index))
    nodes = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    nodes["text"] = pa.concat_arrays(texts)
    return nodes


def _walk(nodes, n: int):
    """Visited nodes, sibling positions, depth-first order, ancestors per depth and the root's verdict per row."""
    import numpy as np

    m, depth, parent = len(nodes["row"]), nodes["depth"], nodes["parent"]
    top = int(depth.max()) + 1 if m else 0
    visited = nodes["usable"].copy()
    visited[depth == 0] &= nodes["prompter"][depth == 0]
    for d in range(1, top):
        at = np.flatnonzero(depth == d)
        visited[at] &= visited[parent[at]]
    root_ok = np.zeros(n, dtype=bool)
    root_ok[nodes["row"][depth == 0]] = visited[depth == 0]
    # siblings as _replies sorts them: ranked first, by rank, ties in their order
    pos = np.zeros(m, dtype=np.int64)
    child = np.flatnonzero(visited & (depth > 0))
    order = child[np.lexsort((nodes["sibling"][child], nodes["rank"][child], ~nodes["has_rank"][child],
                              parent[child]))]
    group = parent[order]
    first = np.r_[True, group[1:] != group[:-1]] if len(order) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    pos[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    ancestors = np.full((m, max(top, 1)), -1, dtype=np.int64)  # ancestor at each depth, the node itself last
    path_pos = np.full((m, max(top, 1)), -1, dtype=np.int64)
    for d in range(top):
        at = np.flatnonzero(depth == d)
        if d:
            ancestors[at] = ancestors[parent[at]]
            path_pos[at] = path_pos[parent[at]]
        ancestors[at, d], path_pos[at, d] = at, pos[at]
    keys = [path_pos[:, d] for d in reversed(range(path_pos.shape[1]))]
    rank = np.empty(m, dtype=np.int64)
    rank[np.lexsort((*keys, nodes["row"]))] = np.arange(m)  # depth-first, parents before their children
    return visited, pos, rank, ancestors, root_ok


def _paths(nodes, ancestors, ends):
    """Message lists from the root to each node of ``ends``."""
    import numpy as np
    import pyarrow as pa

    length = nodes["depth"][ends] + 1
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    index = ancestors[np.repeat(ends, length), np.arange(offsets[-1]) - np.repeat(offsets[:-1], length)]
    codes = np.where(nodes["prompter"][index], USER, ASSISTANT)
    return messages(codes, nodes["text"].take(pa.array(index)), offsets)


def _walked(table):
    """(nodes, row count, :func:`_walk` of them) for the trees in the ``prompt`` column; None when the twin
    cannot take the table (no such column, a shape :func:`_nodes` does not flatten)."""
    if "prompt" not in table.column_names:
        return None
    nodes = _nodes(table.column("prompt"))
    if nodes is None:
        return None
    return nodes, table.num_rows, _walk(nodes, table.num_rows)


def oasst1_table(table, o: dict):
    """oasst1: the best thread (paths: best) or every root-to-leaf thread (paths: all), each cut after its last
    assistant message."""
    import numpy as np
    import pyarrow as pa

    walked = _walked(table)
    if walked is None:
        return None
    nodes, n, (visited, pos, rank, ancestors, root_ok) = walked
    depth, parent = nodes["depth"], nodes["parent"]
    has_child = np.zeros(len(depth), dtype=bool)
    has_child[parent[visited & (depth > 0)]] = True
    leaf = visited & ~has_child
    if o.get("paths", "best") == "best":  # the line of first siblings from the root: its leaf
        on = visited & (pos == 0)
        for d in range(1, int(depth.max()) + 1 if len(depth) else 0):
            at = np.flatnonzero(depth == d)
            on[at] &= on[parent[at]]
        leaf &= on
    candidates = np.flatnonzero(leaf)
    candidates = candidates[np.argsort(rank[candidates], kind="stable")]
    # each thread ends at its last assistant message: the deepest assistant among its node's ancestors
    chain = ancestors[candidates]
    is_assistant = (chain >= 0) & ~nodes["prompter"][chain.clip(0)]
    last = chain.shape[1] - 1 - np.argmax(is_assistant[:, ::-1], axis=1)
    keep = is_assistant.any(axis=1) & (last >= 1)
    candidates, ends = candidates[keep], chain[keep, last[keep]]
    rows = nodes["row"][candidates]
    ok = root_ok & (np.bincount(rows, minlength=n) > 0)
    ids, undecided = native_ids(table, ("message_tree_id",))
    ok &= ~undecided & ~_zero_ids(table)
    mine = ok[rows]
    ends, rows = ends[mine], rows[mine]
    return Columns({"messages": _paths(nodes, ancestors, ends)}, _leave(ok), frozenset({"prompt"}),
                   None if ids is None else ids.filter(pa.array(ok)), rows=np.bincount(rows, minlength=n)[ok])


def _zero_ids(table):
    """Rows whose message_tree_id is the integer 0: falsy, so no id (``str(... or "") or None``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if "message_tree_id" not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    column = _combined(table.column("message_tree_id"))
    if not pa.types.is_integer(column.type):
        return np.zeros(table.num_rows, dtype=bool)
    return _bool(pc.equal(column, 0), False)


def oasst1_pairs_table(table, o: dict):
    """oasst1-pairs: under each prompter message, its best-ranked assistant reply against each lower-ranked one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    walked = _walked(table)
    if walked is None:
        return None
    nodes, n, (visited, pos, rank, ancestors, root_ok) = walked
    parent = nodes["parent"]
    # the ranked assistant replies of visited prompters, in sibling order; the first is the best
    ranked = np.flatnonzero(visited & (parent >= 0) & ~nodes["prompter"] & nodes["has_rank"])
    ranked = ranked[visited[parent[ranked]] & nodes["prompter"][parent[ranked]]]
    ranked = ranked[np.lexsort((pos[ranked], parent[ranked]))]
    group = parent[ranked]
    first = np.r_[True, group[1:] != group[:-1]] if len(ranked) else np.zeros(0, dtype=bool)
    best = ranked[np.flatnonzero(first)[np.cumsum(first) - 1]] if len(ranked) else ranked
    worse = ~first & (nodes["rank"][ranked] > nodes["rank"][best])
    pair_best, pair_worse = best[worse], ranked[worse]
    under = parent[pair_worse]
    order = np.lexsort((pos[pair_worse], rank[under]))
    pair_best, pair_worse, under = pair_best[order], pair_worse[order], under[order]
    rows = nodes["row"][under]
    text = nodes["text"]
    same = _bool(pc.equal(text.take(pa.array(pair_best)), text.take(pa.array(pair_worse))), False)
    ok = root_ok & (np.bincount(rows, minlength=n) > 0) & (np.bincount(rows[same], minlength=n) == 0)
    mine = ok[rows]
    pair_best, pair_worse, under, rows = pair_best[mine], pair_worse[mine], under[mine], rows[mine]
    k = len(rows)
    one = np.arange(k + 1)
    columns = {"prompt": _paths(nodes, ancestors, under),
               "chosen": messages(np.full(k, ASSISTANT), text.take(pa.array(pair_best)), one),
               "rejected": messages(np.full(k, ASSISTANT), text.take(pa.array(pair_worse)), one),
               "score_chosen": pa.array(-nodes["rank"][pair_best]), "score_rejected": pa.array(-nodes["rank"][pair_worse])}
    return Columns(columns, _leave(ok), frozenset({"prompt"}), rows=np.bincount(rows, minlength=n)[ok])
