"""OpenAssistant message trees (oasst1 ``*.trees.jsonl``): chat threads and ranked preference pairs.

A tree is ``{message_tree_id, prompt: {text, role: prompter, replies: [{text, role: assistant,
rank, replies: [...]}, ...]}}``. Sibling assistant replies carry a human ranking
(``rank`` 0 = best), which is what makes the pairs.
"""

from __future__ import annotations

from .base import Reject, Row, check_chat, check_pair, choice, converter, msg
from .columnar import table_batch
from .columnar_trees import oasst1_pairs_table, oasst1_table

_ROLE = {"prompter": "user", "assistant": "assistant"}


def _usable(node: dict) -> bool:
    return (isinstance(node, dict) and isinstance(node.get("text"), str) and node["text"].strip() != ""
            and node.get("role") in _ROLE and not node.get("deleted") and node.get("review_result", True) is not False)


def _replies(node: dict) -> list[dict]:
    replies = [r for r in node.get("replies") or [] if _usable(r)]
    return sorted(replies, key=lambda r: (r.get("rank") is None, r.get("rank") if r.get("rank") is not None else 0))


def _root(record: dict) -> dict:
    root = record.get("prompt")
    if not _usable(root) or root.get("role") != "prompter":
        raise Reject("tree has no usable prompter message at its root")
    return root


def _paths(node: dict, prefix: list[dict], best_only: bool):
    here = prefix + [msg(_ROLE[node["role"]], node["text"])]
    children = _replies(node)
    if best_only:
        children = children[:1]
    if not children:
        yield here
    for child in children:
        yield from _paths(child, here, best_only)


@converter("oasst1", "chat", table=oasst1_table, batch=table_batch(oasst1_table, lambda o: ("prompt",)), options=(
    choice("paths", ("best", "all"), "best", "best: follow the rank-0 reply at each step; all: every root-to-leaf thread"),
))
def oasst1(record: dict, o: dict):
    """Trees -> root-to-leaf threads ending with an assistant turn; options paths: best (rank 0 at each step) | all."""
    root = _root(record)
    rows = []
    for path in _paths(root, [], best_only=o.get("paths", "best") == "best"):
        while path and path[-1]["role"] != "assistant":
            path = path[:-1]
        if len(path) >= 2:
            rows.append(Row({"messages": check_chat(path)}, {"prompt"}, native_id=str(record.get("message_tree_id") or "")
                            or None))
    if not rows:
        raise Reject("tree has no assistant reply")
    yield from rows


def _pairs(node: dict, prefix: list[dict]):
    here = prefix + [msg(_ROLE[node["role"]], node["text"])]
    children = _replies(node)
    if node["role"] == "prompter":
        ranked = [c for c in children if c.get("role") == "assistant" and c.get("rank") is not None]
        for worse in ranked[1:]:
            if worse["rank"] > ranked[0]["rank"]:
                yield here, ranked[0], worse
    for child in children:
        yield from _pairs(child, here)


@converter("oasst1-pairs", "preference", table=oasst1_pairs_table,
           batch=table_batch(oasst1_pairs_table, lambda o: ("prompt",)))
def oasst1_pairs(record: dict, o: dict):
    """Trees -> (best-ranked reply, each lower-ranked sibling) pairs with the thread so far as prompt."""
    root = _root(record)
    rows = []
    for prompt, best, worse in _pairs(root, []):
        chosen, rejected = [msg("assistant", best["text"])], [msg("assistant", worse["text"])]
        check_pair(prompt, chosen, rejected)
        rows.append(Row({"prompt": prompt, "chosen": chosen, "rejected": rejected,
                         "score_chosen": -float(best["rank"]), "score_rejected": -float(worse["rank"])}, {"prompt"}))
    if not rows:
        raise Reject("tree has no ranked sibling replies")
    yield from rows
