"""Converters to the ``preference`` format (RLHF, DPO, reward models)."""

from __future__ import annotations

import re

from .base import Reject, Row, check_pair, choice, column, columns, converter, map_role, msg, need_str, role_map
from .base import DEFAULT_ROLES
from .columnar import table_batch
from .columnar_hh import hh_table
from .columnar_messages import conversational_table, sharegpt_pairwise_table
from .columnar_preference import (hc3_table, pairwise_floats, pairwise_table, pku_table, prompt_keys, ranked_table,
                                  vote_keys, votes_table)

_HH_TURN = re.compile(r"\n\n(Human|Assistant): ?")


def parse_hh_transcript(text: str) -> list[dict]:
    """'\\n\\nHuman: ...\\n\\nAssistant: ...' -> messages (user / assistant)."""
    if not isinstance(text, str):
        raise Reject(f"transcript should be a string, got {type(text).__name__}")
    marks = list(_HH_TURN.finditer(text))
    if not marks or marks[0].start() != 0:
        if not text.startswith(("Human:", "\n\nHuman:")):
            raise Reject("transcript does not start with '\\n\\nHuman:'")
        text = "\n\n" + text
        marks = list(_HH_TURN.finditer(text))
    messages = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        messages.append(msg("user" if m.group(1) == "Human" else "assistant", text[m.end():end].strip()))
    return messages


def _split_common_prefix(chosen: list[dict], rejected: list[dict]):
    """Prompt = the turns both transcripts share; the rest are the two answers."""
    n = 0
    while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
        n += 1
    prompt, a, b = chosen[:n], chosen[n:], rejected[n:]
    if not prompt or prompt[-1]["role"] != "user":
        raise Reject("chosen and rejected do not diverge at an assistant turn after a shared prompt")
    return prompt, a, b


@converter("hh-rlhf", "preference", table=hh_table, batch=table_batch(hh_table))
def hh_rlhf(record: dict, o: dict):
    """Anthropic HH: chosen / rejected full transcripts; the shared prefix is the prompt."""
    chosen = parse_hh_transcript(record.get("chosen") if "chosen" in record else None)
    rejected = parse_hh_transcript(record.get("rejected") if "rejected" in record else None)
    prompt, a, b = _split_common_prefix(chosen, rejected)
    if any(not m["content"] for m in prompt):
        raise Reject("empty turn in the prompt")
    check_pair(prompt, a, b)
    yield Row({"prompt": prompt, "chosen": a, "rejected": b}, {"chosen", "rejected"})


@converter("pairwise", "preference", table=pairwise_table, batch=table_batch(pairwise_table, pairwise_floats),
           options=(
    column("prompt", "prompt", "field holding the prompt text"),
    column("chosen", "chosen", "field holding the preferred answer"),
    column("rejected", "rejected", "field holding the other answer"),
    column("system", "system", "field holding an optional system prompt"),
    choice("prompt_format", ("text", "hh"), "text", "hh: the prompt is a '\\n\\nHuman: ... Assistant:' transcript"),
    column("score_chosen", None, "field holding the chosen answer's score"),
    column("score_rejected", None, "field holding the rejected answer's score"),
))
def pairwise(record: dict, o: dict):
    """prompt / chosen / rejected strings (column names are options); prompt_format: hh parses a transcript prompt."""
    keys = {k: o.get(k, k) for k in ("prompt", "chosen", "rejected", "system")}
    prompt_text = need_str(record, keys["prompt"])
    if o.get("prompt_format") == "hh":
        prompt = [m for m in parse_hh_transcript(prompt_text) if m["content"] or m["role"] == "user"]
        if prompt and prompt[-1]["role"] == "assistant" and not prompt[-1]["content"]:
            prompt = prompt[:-1]
    else:
        prompt = [msg("user", prompt_text)]
    system = record.get(keys["system"])
    if isinstance(system, str) and system.strip():
        prompt.insert(0, msg("system", system))
    chosen = [msg("assistant", need_str(record, keys["chosen"]))]
    rejected = [msg("assistant", need_str(record, keys["rejected"]))]
    check_pair(prompt, chosen, rejected)
    fields = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    for side in ("chosen", "rejected"):
        score_key = o.get(f"score_{side}")
        if score_key and isinstance(record.get(score_key), (int, float)):
            fields[f"score_{side}"] = float(record[score_key])
    yield Row(fields, set(keys.values()))


@converter("sharegpt-pairwise", "preference", table=sharegpt_pairwise_table, batch=table_batch(sharegpt_pairwise_table),
           options=(
    column("messages", "conversations", "field holding the prompt turns [{from, value}]"),
    role_map(),
))
def sharegpt_pairwise(record: dict, o: dict):
    """LLaMA-Factory DPO layout: conversations [{from, value}] + chosen {from, value} + rejected {from, value}."""
    roles = {**DEFAULT_ROLES, **{str(k).lower(): v for k, v in (o.get("roles") or {}).items()}}
    turns = record.get(o.get("messages", "conversations"))
    if not isinstance(turns, list) or not turns:
        raise Reject("field 'conversations' should be a non-empty list")
    prompt = []
    system = record.get("system")
    if isinstance(system, str) and system.strip():
        prompt.append(msg("system", system))
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or not isinstance(t.get("value"), str):
            raise Reject(f"turn {i} is not a {{from, value}} object with a string value")
        prompt.append(msg(map_role(t.get("from"), roles), t["value"]))
    if prompt[-1]["role"] != "user" or any(not m["content"].strip() for m in prompt):
        raise Reject("prompt must end with a non-empty user turn")
    sides = []
    for side in ("chosen", "rejected"):
        value = record.get(side)
        if not isinstance(value, dict) or not isinstance(value.get("value"), str):
            raise Reject(f"field {side!r} should be a {{from, value}} object")
        sides.append([msg(map_role(value.get("from", "gpt"), roles), value["value"])])
    check_pair(prompt, sides[0], sides[1])
    yield Row({"prompt": prompt, "chosen": sides[0], "rejected": sides[1]}, {"conversations", "chosen", "rejected", "system"})


@converter("pku-saferlhf", "preference", table=pku_table,
           batch=table_batch(pku_table, lambda o: (f"{o.get('by', 'better')}_response_id",)), options=(
    choice("by", ("better", "safer"), "better", "prefer by better_response_id or by safer_response_id"),
))
def pku_saferlhf(record: dict, o: dict):
    """PKU-SafeRLHF: prompt, response_0, response_1 and better_response_id (or safer_response_id with by: safer)."""
    by = o.get("by", "better")
    id_key = f"{by}_response_id"
    prompt = need_str(record, "prompt")
    responses = [need_str(record, "response_0"), need_str(record, "response_1")]
    choice = record.get(id_key)
    if isinstance(choice, str) and choice.strip() in ("0", "1"):
        choice = int(choice)
    if isinstance(choice, float) and choice in (0, 1):  # 1.0 as pandas writes an integer column with gaps
        choice = int(choice)
    if choice not in (0, 1) or isinstance(choice, bool):
        raise Reject(f"field {id_key!r} should be 0 or 1, got {choice!r}")
    chosen, rejected = [msg("assistant", responses[choice])], [msg("assistant", responses[1 - choice])]
    check_pair([msg("user", prompt)], chosen, rejected)
    yield Row({"prompt": [msg("user", prompt)], "chosen": chosen, "rejected": rejected},
              {"prompt", "response_0", "response_1", id_key})


@converter("ranked-answers", "preference", table=ranked_table,
           batch=table_batch(ranked_table, lambda o: (o.get("answers", "answers"),)), options=(
    column("question", "question", "field holding the question"),
    column("answers", "answers", "field holding the list of answers"),
    column("text", "text", "key of an answer's text"),
    column("score_field", "pm_score", "key of an answer's score"),
    choice("pairs", ("best-vs-worst", "best-vs-rest"), "best-vs-worst", "which pairs to make"),
))
def ranked_answers(record: dict, o: dict):
    """A question with scored answers (Stack Exchange pm_score ...): highest vs lowest score, or best vs each lower.

    Options: question (default 'question'), answers ('answers'), text ('text'), score_field ('pm_score'),
    pairs ('best-vs-worst' | 'best-vs-rest').
    """
    qkey, akey = o.get("question", "question"), o.get("answers", "answers")
    tkey, skey = o.get("text", "text"), o.get("score_field", "pm_score")
    question = need_str(record, qkey)
    answers = record.get(akey)
    if not isinstance(answers, list):
        raise Reject(f"field {akey!r} should be a list of answers")
    scored = [a for a in answers if isinstance(a, dict) and isinstance(a.get(tkey), str) and a[tkey].strip()
              and isinstance(a.get(skey), (int, float)) and not isinstance(a.get(skey), bool)]
    scored.sort(key=lambda a: a[skey], reverse=True)
    if len(scored) < 2 or scored[0][skey] == scored[-1][skey]:
        raise Reject("fewer than two answers with different scores")
    worse = scored[-1:] if o.get("pairs", "best-vs-worst") == "best-vs-worst" else \
        [a for a in scored[1:] if a[skey] < scored[0][skey]]
    prompt = [msg("user", question)]
    for other in worse:
        chosen, rejected = [msg("assistant", scored[0][tkey])], [msg("assistant", other[tkey])]
        check_pair(prompt, chosen, rejected)
        yield Row({"prompt": prompt, "chosen": chosen, "rejected": rejected,
                   "score_chosen": float(scored[0][skey]), "score_rejected": float(other[skey])}, {qkey, akey})


@converter("hc3", "preference", table=hc3_table, batch=table_batch(hc3_table), options=(
    choice("prefer", ("human", "chatgpt"), "human", "which side becomes chosen"),
))
def hc3(record: dict, o: dict):
    """HC3: question + human_answers + chatgpt_answers; prefer: human (default) or chatgpt."""
    question = need_str(record, "question")
    sides = {}
    for key in ("human_answers", "chatgpt_answers"):
        values = record.get(key)
        if not isinstance(values, list):
            raise Reject(f"field {key!r} should be a list")
        texts = [v for v in values if isinstance(v, str) and v.strip()]
        if not texts:
            raise Reject(f"no non-empty answer in {key!r}")
        sides[key] = texts[0]
    prefer = "chatgpt_answers" if o.get("prefer") == "chatgpt" else "human_answers"
    other = "human_answers" if prefer == "chatgpt_answers" else "chatgpt_answers"
    prompt = [msg("user", question)]
    chosen, rejected = [msg("assistant", sides[prefer])], [msg("assistant", sides[other])]
    check_pair(prompt, chosen, rejected)
    yield Row({"prompt": prompt, "chosen": chosen, "rejected": rejected}, {"question", "human_answers", "chatgpt_answers"})


def _messages(value: object, o: dict, roles: dict, side: str) -> list[dict]:
    """A message list [{role, content}] (or a bare string, as the assistant's reply) in llmdata's roles."""
    if isinstance(value, str):
        return [msg("assistant" if side != "prompt" else "user", value)]
    if not isinstance(value, list) or not value:
        raise Reject(f"field {side!r} should be a non-empty list of messages")
    role_key, content_key = o.get("role", "role"), o.get("content", "content")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get(content_key), str) or role_key not in m:
            raise Reject(f"{side} message {i} is not a {{{role_key}, {content_key}}} object with a string {content_key}")
        out.append(msg(map_role(m[role_key], roles), m[content_key]))
    return out


@converter("conversational-preference", "preference", table=conversational_table,
           batch=table_batch(conversational_table, lambda o: (o.get("score_chosen", "score_chosen"),
                                                              o.get("score_rejected", "score_rejected"))), options=(
    column("prompt", "prompt", "field holding the prompt: a message list or a string; absent = the shared start"),
    column("chosen", "chosen", "field holding the preferred conversation or reply (message list)"),
    column("rejected", "rejected", "field holding the other conversation or reply (message list)"),
    column("role", "role", "key of a message's role"),
    column("content", "content", "key of a message's text"),
    column("score_chosen", "score_chosen", "field holding the chosen side's score"),
    column("score_rejected", "score_rejected", "field holding the rejected side's score"),
    role_map(),
))
def conversational_preference(record: dict, o: dict):
    """chosen / rejected as message lists, with or without a separate prompt (TRL, UltraFeedback, llmdata's own output).

    When chosen and rejected repeat the prompt (UltraFeedback binarized), the repeated
    turns are dropped; without a prompt, the turns both sides share are the prompt.
    """
    roles = {**DEFAULT_ROLES, **{str(k).lower(): v for k, v in (o.get("roles") or {}).items()}}
    keys = {k: o.get(k, k) for k in ("prompt", "chosen", "rejected")}
    for side in ("chosen", "rejected"):
        if keys[side] not in record or record[keys[side]] is None:
            raise Reject(f"missing field {keys[side]!r}")
    chosen = _messages(record[keys["chosen"]], o, roles, "chosen")
    rejected = _messages(record[keys["rejected"]], o, roles, "rejected")
    raw_prompt = record.get(keys["prompt"])
    if raw_prompt is None or raw_prompt == []:
        prompt, chosen, rejected = _split_common_prefix(chosen, rejected)
    else:
        prompt = _messages(raw_prompt, o, roles, "prompt")
        n = len(prompt)
        if chosen[:n] == prompt and rejected[:n] == prompt and len(chosen) > n and len(rejected) > n:
            chosen, rejected = chosen[n:], rejected[n:]
    if any(not m["content"].strip() for m in prompt) or prompt[-1]["role"] != "user":
        raise Reject("prompt must end with a non-empty user turn")
    check_pair(prompt, chosen, rejected)
    fields = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    used = set(keys.values())
    for side in ("chosen", "rejected"):
        key = o.get(f"score_{side}", f"score_{side}")
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            fields[f"score_{side}"] = float(value)
            used.add(key)
    native = record.get("prompt_id", record.get("id"))
    yield Row(fields, used, native_id=str(native) if isinstance(native, (str, int)) and str(native) else None)


def _vote(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) else None


@converter("pairwise-votes", "preference", table=votes_table, batch=table_batch(votes_table, vote_keys), options=(
    columns("prompt", ["instruction", "input"], "field(s) making the prompt, joined by a blank line"),
    column("response1", "response1", "field holding the first response"),
    column("response2", "response2", "field holding the second response"),
    columns("votes", ["annotator1", "annotator2", "annotator3"],
            "field(s) holding the judgements: 1 or 2 = that response is better, 0 = tie"),
))
def pairwise_votes(record: dict, o: dict):
    """Two responses judged by several annotators (PandaLM): label 0 = tie, 1 or 2; the majority decides.

    A majority for 0 is rejected with the reason "tie", and votes without a majority
    are rejected too: neither becomes a preference. Scores are the vote counts.
    """
    prompts, votes_at = prompt_keys(o), vote_keys(o)
    parts = [need_str(record, k, allow_empty=True).strip() for k in prompts]
    prompt_text = "\n\n".join(p for p in parts if p)
    if not prompt_text:
        raise Reject(f"the prompt fields {', '.join(map(repr, prompts))} are empty")
    responses = [need_str(record, o.get("response1", "response1")), need_str(record, o.get("response2", "response2"))]
    votes = [_vote(record.get(k)) for k in votes_at if record.get(k) is not None]
    if not votes or any(v not in (0, 1, 2) for v in votes):
        raise Reject(f"votes should be 0 (tie), 1 or 2, got {[record.get(k) for k in votes_at]}")
    counts = {label: votes.count(label) for label in (0, 1, 2)}
    winner = max(counts, key=counts.get)
    if counts[winner] * 2 <= len(votes):
        raise Reject(f"no majority among the votes {votes}")
    if winner == 0:
        raise Reject(f"tie: the majority of the votes {votes} prefers neither response")
    chosen, rejected = [msg("assistant", responses[winner - 1])], [msg("assistant", responses[2 - winner])]
    prompt = [msg("user", prompt_text)]
    check_pair(prompt, chosen, rejected)
    used = {*prompts, *votes_at, o.get("response1", "response1"), o.get("response2", "response2")}
    native = record.get("idx", record.get("id"))
    yield Row({"prompt": prompt, "chosen": chosen, "rejected": rejected,
               "score_chosen": float(counts[winner]), "score_rejected": float(counts[3 - winner])}, used,
              native_id=str(native) if isinstance(native, (str, int)) and str(native) != "" else None)
