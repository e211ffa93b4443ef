"""Converters to the ``preference`` format (RLHF, DPO, reward models)."""

from __future__ import annotations

import re

from .base import Reject, Row, check_pair, converter, map_role, msg, need_str
from .chat import DEFAULT_ROLES

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


@converter("hh-rlhf", "preference")
def hh_rlhf(record: dict, o: dict):
    """Anthropic HH: chosen / rejected full transcripts; the shared prefix is the prompt."""
    chosen = parse_hh_transcript(record.get("chosen") if "chosen" in record else None)
    rejected = parse_hh_transcript(record.get("rejected") if "rejected" in record else None)
    prompt, a, b = _split_common_prefix(chosen, rejected)
    if any(not m["content"] for m in prompt):
        raise Reject("empty turn in the prompt")
    check_pair(prompt, a, b)
    yield Row({"prompt": prompt, "chosen": a, "rejected": b}, {"chosen", "rejected"})


@converter("pairwise", "preference")
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


@converter("sharegpt-pairwise", "preference")
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


@converter("pku-saferlhf", "preference")
def pku_saferlhf(record: dict, o: dict):
    """PKU-SafeRLHF: prompt, response_0, response_1 and better_response_id (or safer_response_id with by: safer)."""
    by = o.get("by", "better")
    id_key = f"{by}_response_id"
    prompt = need_str(record, "prompt")
    responses = [need_str(record, "response_0"), need_str(record, "response_1")]
    choice = record.get(id_key)
    if isinstance(choice, str) and choice.strip() in ("0", "1"):
        choice = int(choice)
    if choice not in (0, 1) or isinstance(choice, bool):
        raise Reject(f"field {id_key!r} should be 0 or 1, got {choice!r}")
    chosen, rejected = [msg("assistant", responses[choice])], [msg("assistant", responses[1 - choice])]
    check_pair([msg("user", prompt)], chosen, rejected)
    yield Row({"prompt": [msg("user", prompt)], "chosen": chosen, "rejected": rejected},
              {"prompt", "response_0", "response_1", id_key})


@converter("ranked-answers", "preference")
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


@converter("hc3", "preference")
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
