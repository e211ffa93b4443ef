"""Converters to the ``chat`` format (SFT and multi-turn), one per raw layout."""

from __future__ import annotations

import re

from .base import (DEFAULT_ROLES, Option, Reject, Row, check_chat, column, converter, flag, map_role, msg, need_str,
                   role_map, system_turn)
from .columnar import table_batch
from .columnar_hh import belle_table
from .columnar_moss import moss_table
from .columnar_chat import (alpaca_batch, alpaca_table, openai_table, pairs_table, qa_table, seed_table, sharegpt_table,
                            ultrachat_table)


def _alpaca_messages(record: dict, o: dict, used: set[str]) -> list[dict]:
    keys = {k: o.get(k, k) for k in ("instruction", "input", "output", "system", "history")}
    instruction = need_str(record, keys["instruction"], allow_empty=True)
    same_column = keys["input"] == keys["instruction"]  # e.g. pCLUE: the prompt lives in `input`
    extra = need_str(record, keys["input"], allow_empty=True) if keys["input"] in record and not same_column else ""
    output = need_str(record, keys["output"])
    used.update(k for k in keys.values() if k in record)
    prompt = "\n\n".join(part for part in (instruction.strip(), extra.strip()) if part)
    if not prompt:
        raise Reject(f"both {keys['instruction']!r} and {keys['input']!r} are empty")
    messages = system_turn(record, keys["system"])
    history = record.get(keys["history"]) or []
    if not isinstance(history, list):
        raise Reject(f"field {keys['history']!r} should be a list of [question, answer] pairs")
    for i, pair in enumerate(history):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise Reject(f"history item {i} is not a [question, answer] pair of strings")
        messages += [msg("user", pair[0]), msg("assistant", pair[1])]
    messages += [msg("user", prompt), msg("assistant", output)]
    return check_chat(messages)


@converter("alpaca", "chat", batch=alpaca_batch, table=alpaca_table, options=(
    column("instruction", "instruction", "field holding the instruction"),
    column("input", "input", "field holding the optional input, appended to the instruction"),
    column("output", "output", "field holding the answer"),
    column("system", "system", "field holding an optional system prompt"),
    column("history", "history", "field holding earlier [question, answer] pairs"),
))
def alpaca(record: dict, o: dict):
    """instruction / input / output (+ optional system, history [[q, a], ...]); column names are options."""
    used: set[str] = set()
    messages = _alpaca_messages(record, o, used)
    yield Row({"messages": messages}, used)


@converter("medical-qa", "chat", table=qa_table, batch=table_batch(qa_table), options=(
    column("question", "ask", "field holding the question"),
    column("answer", "answer", "field holding the answer"),
))
def medical_qa(record: dict, o: dict):
    """One question and one answer column (options question, answer; default ask/answer), e.g. doctor replies."""
    q, a = o.get("question", "ask"), o.get("answer", "answer")
    question, answer = need_str(record, q), need_str(record, a)
    yield Row({"messages": check_chat([msg("user", question), msg("assistant", answer)])}, {q, a})


def _objects(record: dict, key: str, *, required: bool = True) -> list[dict]:
    """The list of objects under ``key`` (a task's instances, its reformulations); Reject when it is not one."""
    items = record.get(key)
    if items is None and not required:
        return []
    if not isinstance(items, list) or (required and not items):
        raise Reject(f"field {key!r} should be a {'non-empty ' if required else ''}list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Reject(f"{key} item {i} is not an object")
    return items


@converter("seed-tasks", "chat", table=seed_table, batch=table_batch(seed_table))
def seed_tasks(record: dict, o: dict):
    """Self-instruct seed tasks: instruction + instances [{input, output}]; one row per instance."""
    instruction = need_str(record, "instruction")
    rows = []
    for inst in _objects(record, "instances"):
        extra = need_str(inst, "input", allow_empty=True)
        prompt = "\n\n".join(p for p in (instruction.strip(), extra.strip()) if p)
        rows.append(Row({"messages": check_chat([msg("user", prompt), msg("assistant", need_str(inst, "output"))])},
                        {"instruction", "instances"}, native_id=_native_id(record)))
    yield from rows


_NO_CONSTRAINTS = {"", "none", "none."}


@converter("unnatural-instructions", "chat")
def unnatural_instructions(record: dict, o: dict):
    """Unnatural Instructions: instruction + instances [{instruction_with_input, constraints, output}] (+ reformulations).

    One row per instance: the user turn is instruction_with_input, then the output
    constraints on a new line unless they are 'None'. The full data's reformulations
    (paraphrased instructions {instruction, input, instruction_with_input, output})
    give one row each; the full data is the core data plus them.
    """
    need_str(record, "instruction")
    rows = []
    for key in ("instances", "reformulations"):
        for item in _objects(record, key, required=key == "instances"):
            constraints = need_str(item, "constraints", allow_empty=True).strip()
            prompt = need_str(item, "instruction_with_input").strip()
            if constraints.lower() not in _NO_CONSTRAINTS:
                prompt += "\n" + constraints
            rows.append(Row({"messages": check_chat([msg("user", prompt), msg("assistant", need_str(item, "output"))])},
                            {"instruction", "instances", "reformulations"}))
    yield from rows


_TURN_OPTIONS = (
    column("messages", "conversations", "field holding the list of turns"),
    column("role", "from", "key of a turn's speaker"),
    column("content", "value", "key of a turn's text"),
    column("system", "system", "field holding an optional system prompt"),
    role_map(),
)


@converter("sharegpt", "chat", options=_TURN_OPTIONS, table=sharegpt_table, batch=table_batch(sharegpt_table))
def sharegpt(record: dict, o: dict):
    """conversations: [{from, value}] with any role names (human/gpt/observation/function_call ...) + optional system."""
    key, role_key, content_key = o.get("messages", "conversations"), o.get("role", "from"), o.get("content", "value")
    roles = {**DEFAULT_ROLES, **{str(k).lower(): v for k, v in (o.get("roles") or {}).items()}}
    turns = record.get(key)
    if not isinstance(turns, list):
        raise Reject(f"field {key!r} should be a list of turns")
    messages = system_turn(record, o.get("system", "system"))
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise Reject(f"turn {i} is not an object")
        if role_key not in turn or content_key not in turn:
            raise Reject(f"turn {i} lacks {role_key!r} or {content_key!r}")
        content = turn[content_key]
        if not isinstance(content, str):
            raise Reject(f"turn {i}: {content_key!r} should be a string, got {type(content).__name__}")
        messages.append(msg(map_role(turn[role_key], roles), content))
    used = {key, o.get("system", "system")}
    yield Row({"messages": check_chat(messages)}, used, native_id=_native_id(record))


@converter("openai-messages", "chat", table=openai_table, batch=table_batch(openai_table), options=(
    column("messages", "messages", "field holding the list of messages"),
    column("role", "role", "key of a message's role"),
    column("content", "content", "key of a message's text"),
    column("system", "system", "field holding an optional system prompt"),
    role_map(),
))
def openai_messages(record: dict, o: dict):
    """messages: [{role, content}] as in OpenAI's chat API."""
    options = {"messages": "messages", "role": "role", "content": "content", **o}
    yield from sharegpt(record, options)


def _transcript(text: str, marks: re.Pattern, first: str, field: str, mark: str) -> list[tuple[str, str]]:
    """(speaker, text) turns of a transcript cut at its speaker marks (group 1 names the speaker); opens with ``first``."""
    found = list(marks.finditer(text))
    if not found or found[0].group(1) != first:
        raise Reject(f"{field} does not start with a {mark!r} turn")
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [(m.group(1), text[m.end():end].strip()) for m, end in zip(found, ends)]


_BELLE_TURN = re.compile(r"(?:^|\n)\s*(Human|Assistant)\s*[:：]")


@converter("belle-multiturn", "chat", table=belle_table, batch=table_batch(belle_table), options=(
    column("instruction", "instruction", "field holding the 'Human: ... Assistant:' text"),
    column("output", "output", "field holding the last reply"),
))
def belle_multiturn(record: dict, o: dict):
    """BELLE multiturn: instruction holds 'Human: ... Assistant: ...' text ending with 'Assistant:', output the reply."""
    text = need_str(record, o.get("instruction", "instruction"))
    output = need_str(record, o.get("output", "output"))
    turns = _transcript(text, _BELLE_TURN, "Human", "instruction", "Human:")
    if turns[-1] == ("Assistant", ""):
        turns.pop()  # the trailing 'Assistant:' the output answers
    messages = [msg("user" if who == "Human" else "assistant", content) for who, content in turns]
    messages.append(msg("assistant", output))
    used = {o.get("instruction", "instruction"), o.get("output", "output"), "input"}
    yield Row({"messages": check_chat(messages)}, used)


_BAIZE_TURN = re.compile(r"\[\|(Human|AI)\|\]")


@converter("baize", "chat", options=(
    column("text", "input", "field holding the '[|Human|] ... [|AI|] ...' transcript"),
))
def baize(record: dict, o: dict):
    """Baize self-chat: input holds a header line, '[|Human|] ...' / '[|AI|] ...' turns and a trailing empty '[|Human|]'.

    The header before the first turn ('The conversation between human and AI
    assistant.', the same in every record) is not a turn and is left out, as is the
    empty Human turn at the end (the cue for a next question that never came).
    """
    key = o.get("text", "input")
    turns = _transcript(need_str(record, key), _BAIZE_TURN, "Human", key, "[|Human|]")
    if turns[-1] == ("Human", ""):
        turns.pop()
    messages = [msg("user" if who == "Human" else "assistant", content) for who, content in turns]
    for i in range(1, len(messages)):
        if messages[i]["role"] == messages[i - 1]["role"]:
            raise Reject(f"two {messages[i]['role']} turns in a row at message {i}")
    yield Row({"messages": check_chat(messages)}, {key})


_MOSS_TAG = re.compile(r"^\s*<\|[^|]+\|>\s*:\s*")
_MOSS_END = re.compile(r"\s*<e[a-z]{1,2}>\s*$")


def _moss_text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    text = _MOSS_END.sub("", _MOSS_TAG.sub("", value)).strip()
    return "" if text == "None" else text


@converter("moss", "chat", table=moss_table, batch=table_batch(moss_table, nulls=True), table_nulls=True, options=(
    flag("system", True, "keep meta_instruction as the system message"),
    flag("inner_thoughts", False, "put the inner thoughts before a plugin command"),
))
def moss(record: dict, o: dict):
    """MOSS-003: meta_instruction + chat {turn_N: {Human, Inner Thoughts, Commands, Tool Responses, MOSS}}.

    Human -> user, MOSS -> assistant; plugin commands become an assistant turn and their
    results a tool turn. Inner thoughts stay in meta unless option inner_thoughts: true.
    """
    chat = record.get("chat")
    if not isinstance(chat, dict) or not chat:
        raise Reject("field 'chat' should be an object of turns")
    messages = []
    system = _moss_text(record.get("meta_instruction"))
    if system and o.get("system", True):
        messages.append(msg("system", system))
    order = sorted(chat, key=lambda k: int(re.sub(r"\D", "", k) or 0))
    for key in order:
        turn = chat[key]
        if not isinstance(turn, dict):
            raise Reject(f"{key} is not an object")
        human, reply = _moss_text(turn.get("Human")), _moss_text(turn.get("MOSS"))
        if not human or not reply:
            raise Reject(f"{key} lacks a Human or MOSS text")
        messages.append(msg("user", human))
        thoughts = _moss_text(turn.get("Inner Thoughts"))
        command = _moss_text(turn.get("Commands"))
        if command:
            messages.append(msg("assistant", (thoughts + "\n" if o.get("inner_thoughts") and thoughts else "") + command))
            result = _moss_text(turn.get("Tool Responses"))
            if result:
                messages.append(msg("tool", result))
        messages.append(msg("assistant", reply))
    yield Row({"messages": check_chat(messages)}, {"chat", "meta_instruction"},
              native_id=str(record["conversation_id"]) if "conversation_id" in record else None)


def _native_id(record: dict) -> str | None:
    value = record.get("id")
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _unprefixed(text: str, prefix: str, index: int) -> str:
    body = text.lstrip()
    if not body.startswith(prefix):
        raise Reject(f"utterance {index} does not start with {prefix!r}")
    return body[len(prefix):].strip()


@converter("ultrachat", "chat", table=ultrachat_table, batch=table_batch(ultrachat_table), options=(
    column("messages", "data", "field holding the alternating user / assistant utterances"),
    Option("prefixes", {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 2, "maxItems": 2},
           "the user and the assistant prefix every utterance starts with, removed (HuatuoGPT: ['问：', '答：'])"),
))
def ultrachat(record: dict, o: dict):
    """UltraChat: {id, data: [user, assistant, user, assistant, ...]} as plain strings (optionally role-prefixed)."""
    turns = record.get(o.get("messages", "data"))
    if not isinstance(turns, list) or not turns:
        raise Reject("field 'data' should be a non-empty list of utterances")
    if not all(isinstance(t, str) for t in turns):
        raise Reject("every utterance in 'data' should be a string")
    prefixes = o.get("prefixes")
    if prefixes:
        turns = [_unprefixed(t, prefixes[i % 2], i) for i, t in enumerate(turns)]
    messages = [msg("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(turns)]
    yield Row({"messages": check_chat(messages)}, {o.get("messages", "data")}, native_id=_native_id(record))


@converter("conversation-pairs", "chat", table=pairs_table, batch=table_batch(pairs_table), options=(
    column("messages", "conversation", "field holding the list of turn pairs"),
    column("user", "human", "key of the user's text in a pair"),
    column("assistant", "assistant", "key of the assistant's text in a pair"),
    column("system", "system", "field holding an optional system prompt"),
))
def conversation_pairs(record: dict, o: dict):
    """Multi-turn as a list of pairs: conversation [{human, assistant}, ...] (Firefly, YeungNLP's MOSS / UltraChat)."""
    key, user, assistant = o.get("messages", "conversation"), o.get("user", "human"), o.get("assistant", "assistant")
    pairs = record.get(key)
    if not isinstance(pairs, list) or not pairs:
        raise Reject(f"field {key!r} should be a non-empty list of {{{user}, {assistant}}} pairs")
    messages = system_turn(record, o.get("system", "system"))
    for i, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            raise Reject(f"pair {i} is not an object")
        for k, role in ((user, "user"), (assistant, "assistant")):
            text = pair.get(k)
            if not isinstance(text, str):
                raise Reject(f"pair {i} lacks a string {k!r}")
            messages.append(msg(role, text))
    native = record.get("conversation_id", record.get("id"))
    yield Row({"messages": check_chat(messages)}, {key, o.get("system", "system")},
              native_id=str(native) if isinstance(native, (str, int)) and str(native) else None)
