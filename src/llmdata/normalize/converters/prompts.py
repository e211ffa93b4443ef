"""Converters to the ``prompt`` format: prompt-only evaluation sets (LLM-as-judge, safety prompts).

A row is the user turns to ask, in order (MT-Bench asks its second turn after the
model answered the first), with optional reference answers (one per turn where
the set has them) and a category.
"""

from __future__ import annotations

from .base import Reject, Row, column, converter, msg, need_str


def _turns(record: dict, key: str) -> list[str]:
    value = record.get(key)
    if isinstance(value, list):
        if not value or not all(isinstance(t, str) and t.strip() for t in value):
            raise Reject(f"field {key!r} should be a non-empty list of non-empty strings")
        return value
    return [need_str(record, key)]


def _references(record: dict, key: str) -> list[str] | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Reject(f"field {key!r} should be a string or a list of strings")
    return value or None


def _native(record: dict, key: str) -> str | None:
    value = record.get(key)
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def _category(record: dict, key: str) -> str | None:
    value = record.get(key)
    return str(value) if isinstance(value, (str, int)) and str(value) else None


@converter("prompt", "prompt", options=(
    column("text", "prompt", "field holding the prompt (a string) or the user turns (a list of strings)"),
    column("id", "id", "field holding the record's id"),
    column("category", "category", "field holding the category"),
    column("reference", "reference", "field holding reference answer(s), a string or a list"),
))
def prompt(record: dict, o: dict):
    """Prompt-only sets: one prompt field (InstructionWild instruction, CValues prompt, MOSS user_prompt ...)."""
    keys = {k: o.get(k, d) for k, d in (("text", "prompt"), ("id", "id"), ("category", "category"),
                                        ("reference", "reference"))}
    turns = _turns(record, keys["text"])
    yield Row({"messages": [msg("user", t) for t in turns], "references": _references(record, keys["reference"]),
               "category": _category(record, keys["category"])}, set(keys.values()),
              native_id=_native(record, keys["id"]))


@converter("fastchat-questions", "prompt")
def fastchat_questions(record: dict, o: dict):
    """FastChat judge questions: question_id, category, turns [..] (MT-Bench two, Vicuna bench one) or text, reference?."""
    key = "turns" if "turns" in record else "text"
    turns = _turns(record, key)
    yield Row({"messages": [msg("user", t) for t in turns], "references": _references(record, "reference"),
               "category": _category(record, "category")}, {key, "question_id", "category", "reference"},
              native_id=_native(record, "question_id"))


@converter("self-instruct-eval", "prompt")
def self_instruct_eval(record: dict, o: dict):
    """Self-instruct user-oriented prompts: id, motivation_app, instruction, instances [{input, output}] -> one row each.

    The instruction and the instance input make the user turn; the output is the reference.
    """
    instruction = need_str(record, "instruction")
    instances = record.get("instances")
    if isinstance(instances, dict):  # the Hub's columnar copy: {input: [...], output: [...]}
        ins, outs = instances.get("input") or [], instances.get("output") or []
        instances = [{"input": i, "output": out} for i, out in zip(ins, outs)]
    if not isinstance(instances, list) or not instances:
        raise Reject("field 'instances' should be a non-empty list")
    rows = []
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict):
            raise Reject(f"instance {i} is not an object")
        extra = need_str(inst, "input", allow_empty=True).strip()
        text = instruction.strip() + ("\n\n" + extra if extra else "")
        reference = need_str(inst, "output", allow_empty=True)
        rows.append(Row({"messages": [msg("user", text)], "references": [reference] if reference.strip() else None,
                         "category": _category(record, "motivation_app")},
                        {"instruction", "instances", "motivation_app"}, native_id=_native(record, "id")))
    yield from rows
