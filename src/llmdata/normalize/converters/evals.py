"""Converters to the evaluation formats: ``mcq``, ``qa``, ``code`` and ``text``.

Benchmarks that ship one file per subject (CMMLU, MMLU csv) get the subject
from the file name (catalog option ``subject_from: filename``; the pipeline
puts it in the record as ``subject``).
"""

from __future__ import annotations

import ast
import re
import string

from .base import Reject, Row, column, columns, converter, flag, need_str

LETTERS = string.ascii_uppercase


_SEPARATORS = re.compile(r"[\s,，、;；/]+")


def _labels(answer: object, n_choices: int) -> list[str]:
    """The correct labels in order: 'B', '(B)', 1 (0-based), 'AC', 'A, C', ['A', 'C'] -> ['A', 'C']."""
    allowed = LETTERS[:n_choices]
    if isinstance(answer, bool):
        raise Reject(f"answer should be a letter or an index, got {answer!r}")
    if isinstance(answer, int):
        if 0 <= answer < n_choices:
            return [LETTERS[answer]]
        raise Reject(f"answer {answer!r} is not one of {', '.join(allowed)}")
    if isinstance(answer, list) and answer:
        try:
            found = [label for item in answer for label in _labels(item, n_choices)]
        except Reject:
            found = []
    elif isinstance(answer, str):
        text = _SEPARATORS.sub("", answer.strip().strip("()（）.").upper())
        found = list(text) if text and all(ch in allowed for ch in text) else []
    else:
        found = []
    if not found:
        raise Reject(f"answer {answer!r} is not one of {', '.join(allowed)}")
    return sorted(set(found))


def _withheld(value: object) -> bool:
    """A test set's hidden answer: null, an empty string, or NaN."""
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and value != value)


def _answer_fields(record: dict, key: str, n_choices: int, *, missing_is_withheld: bool) -> tuple[dict, tuple]:
    """mcq's answer / answers columns and the flags a kept row carries (withheld, several answers)."""
    if key not in record:
        if not missing_is_withheld:
            raise Reject(f"missing field {key!r}")
        return {"answer": None, "answers": None}, ("answer withheld",)
    if _withheld(record[key]):
        return {"answer": None, "answers": None}, ("answer withheld",)
    labels = _labels(record[key], n_choices)
    return {"answer": "".join(labels), "answers": labels}, (("several answers",) if len(labels) > 1 else ())


def _choice_text(value: object, index: int) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise Reject(f"choice {LETTERS[index]} is empty or not text")
    return value


@converter("mcq", "mcq", version=2, options=(
    column("question", "question", "field holding the question"),
    columns("choices", ["A", "B", "C", "D"], "the choice fields, or one field holding the list of choices"),
    column("answer", "answer", "field holding the label(s) or 0-based index of the correct choice(s)"),
    column("subject", "subject", "field holding the subject"),
    flag("withheld", False, "the files have no answer field at all (hidden test answers): keep the rows"),
))
def mcq(record: dict, o: dict):
    """Multiple choice: question + choice columns (default A-D) or a list column + answer letter(s) or 0-based index.

    A null or empty answer is a withheld test answer: the row is kept with answer null and
    counted in the manifest. Several correct answers ('AC', ['A', 'C']) give answer 'AC'
    and answers ['A', 'C'].
    """
    qkey, akey, skey = o.get("question", "question"), o.get("answer", "answer"), o.get("subject", "subject")
    spec = o.get("choices", ["A", "B", "C", "D"])
    question = need_str(record, qkey)
    if isinstance(spec, str):
        raw = record.get(spec)
        if not isinstance(raw, list):
            raise Reject(f"field {spec!r} should be a list of choices")
        used = {spec}
    else:
        missing = [c for c in spec if c not in record]
        if missing:
            raise Reject(f"missing choice column(s) {', '.join(missing)}")
        raw, used = [record[c] for c in spec], set(spec)
    if len(raw) < 2:
        raise Reject("fewer than two choices")
    choices = [_choice_text(v, i) for i, v in enumerate(raw)]
    answer, flags = _answer_fields(record, akey, len(choices), missing_is_withheld=bool(o.get("withheld")))
    subject = record.get(skey)
    yield Row({"subject": str(subject) if subject is not None else None, "question": question, "choices": choices,
               **answer}, {qkey, akey, skey, *used}, flags=flags)


_OPTION_PREFIX = re.compile(r"^\s*[\(（]?([A-Z])[\)）\.．、:：]\s*")


def _agieval_question(record: dict) -> str:
    question = need_str(record, "question")
    passage = record.get("passage")
    if isinstance(passage, str) and passage.strip():
        question = passage.strip() + "\n\n" + question
    return question


@converter("agieval", "mcq", version=2)
def agieval(record: dict, o: dict):
    """AGIEval: passage?, question, options ['(A)...'], label 'A' or ['A', 'C']; cloze items are for agieval-cloze."""
    question = _agieval_question(record)
    options = record.get("options")
    if not isinstance(options, list) or len(options) < 2:
        raise Reject("open-answer (cloze) item without options: convert it with agieval-cloze (qa)")
    choices = []
    for i, opt in enumerate(options):
        text = _choice_text(opt, i)
        choices.append(_OPTION_PREFIX.sub("", text, count=1))
    answer, flags = _answer_fields(record, "label", len(choices), missing_is_withheld=False)
    yield Row({"subject": record.get("subject"), "question": question, "choices": choices, **answer},
              {"passage", "question", "options", "label"}, flags=flags)


@converter("agieval-cloze", "qa")
def agieval_cloze(record: dict, o: dict):
    """AGIEval open-answer tasks (gaokao-mathcloze, math): passage?, question, answer; multiple-choice items are rejected.

    A split holds one format, so AGIEval's cloze files are an entry (or split) of their own,
    converted to qa, beside the multiple-choice files converted by agieval.
    """
    if isinstance(record.get("options"), list) and record["options"]:
        raise Reject("multiple-choice item: convert it with agieval (mcq)")
    question = _agieval_question(record)
    answer = need_str(record, "answer")
    yield Row({"question": question, "answer": answer.strip(), "rationale": None},
              {"passage", "question", "options", "label", "answer"})


def _number(text: str) -> str:
    cleaned = text.strip().replace(",", "").rstrip(".")
    try:
        float(cleaned)
    except ValueError:
        raise Reject(f"final answer {text!r} is not a number") from None
    return cleaned


@converter("gsm8k", "qa")
def gsm8k(record: dict, o: dict):
    """GSM8K: question + answer whose last line is '#### <number>'; the steps before it become the rationale."""
    question, answer = need_str(record, "question"), need_str(record, "answer")
    if "####" not in answer:
        raise Reject("answer has no '#### <number>' line")
    steps, final = answer.rsplit("####", 1)
    yield Row({"question": question, "answer": _number(final), "rationale": steps.strip()}, {"question", "answer"})


@converter("math-equation", "qa", options=(
    column("question", "original_text", "field holding the problem"),
    column("answer", "ans", "field holding the final answer"),
    column("equation", "equation", "field holding the equation (becomes the rationale)"),
))
def math_equation(record: dict, o: dict):
    """Math23K / Ape210K: original_text, equation ('x=...'), ans; the equation is the rationale."""
    question = need_str(record, o.get("question", "original_text"))
    answer = need_str(record, o.get("answer", "ans"))
    equation = need_str(record, o.get("equation", "equation"), allow_empty=True)
    yield Row({"question": question, "answer": answer.strip(), "rationale": equation or None},
              {o.get("question", "original_text"), o.get("answer", "ans"), o.get("equation", "equation")},
              native_id=str(record["id"]) if "id" in record else None)


@converter("qa", "qa", options=(
    column("question", "question", "field holding the question"),
    column("answer", "answer", "field holding the answer: a string, or a list of reference answers"),
    column("rationale", "rationale", "field holding an optional worked solution or supporting text"),
    column("id", "id", "field holding the record's id"),
))
def qa(record: dict, o: dict):
    """Open-answer questions: a question and an answer field (a string, or a list such as DuReader's answers).

    From a list the first non-blank string is the answer; the whole list stays in meta, so
    the other reference answers are kept. A record with no answer (a hidden test set) is rejected.
    """
    qkey, akey = o.get("question", "question"), o.get("answer", "answer")
    rkey, ikey = o.get("rationale", "rationale"), o.get("id", "id")
    question = need_str(record, qkey)
    raw = record.get(akey)
    if isinstance(raw, list):
        answers = [a for a in raw if isinstance(a, str) and a.strip()]
        if not answers:
            raise Reject(f"field {akey!r} holds no non-empty answer")
        answer, consumed = answers[0], {qkey, rkey, ikey}
    else:
        answer, consumed = need_str(record, akey), {qkey, akey, rkey, ikey}
    rationale = need_str(record, rkey, allow_empty=True)
    native = record.get(ikey)
    yield Row({"question": question, "answer": answer.strip(), "rationale": rationale or None}, consumed,
              native_id=str(native) if native is not None else None)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces), as MATH solutions mark their answer."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


@converter("competition-math", "qa")
def competition_math(record: dict, o: dict):
    """MATH: problem, solution (answer = its last \\boxed{}), level, type."""
    problem, solution = need_str(record, "problem"), need_str(record, "solution")
    answer = last_boxed(solution)
    if answer is None:
        raise Reject("solution has no \\boxed{...} answer")
    yield Row({"question": problem, "answer": answer.strip(), "rationale": solution}, {"problem", "solution"})


def _as_list(value: object) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
            return parsed if isinstance(parsed, list) else [value]
        except (ValueError, SyntaxError):
            return [value]
    return []


@converter("strategyqa", "qa")
def strategyqa(record: dict, o: dict):
    """StrategyQA: question + boolean answer ('yes'/'no'); the facts become the rationale."""
    question = need_str(record, "question")
    answer = record.get("answer")
    if isinstance(answer, str) and answer.strip().lower() in ("true", "false"):
        answer = answer.strip().lower() == "true"
    if not isinstance(answer, bool):
        raise Reject(f"answer should be true or false, got {answer!r}")
    facts = [str(f) for f in _as_list(record.get("facts"))]
    yield Row({"question": question, "answer": "yes" if answer else "no", "rationale": " ".join(facts) or None},
              {"question", "answer", "facts"}, native_id=record.get("qid"))


@converter("squad", "qa")
def squad(record: dict, o: dict):
    """SQuAD layout (DRCD ...): an article {title, paragraphs: [{context, qas: [{id, question, answers}]}]}.

    One row per question; the passage is in meta as 'context' (the qa format has no context column).
    """
    paragraphs = record.get("paragraphs")
    if not isinstance(paragraphs, list):
        raise Reject("article has no 'paragraphs' list")
    rows = []
    for p in paragraphs:
        context = p.get("context") if isinstance(p, dict) else None
        for qa in (p.get("qas") or []) if isinstance(p, dict) else []:
            answers = [a.get("text") for a in qa.get("answers") or [] if isinstance(a, dict) and a.get("text")]
            if not isinstance(qa.get("question"), str) or not answers or not context:
                continue
            row = Row({"question": qa["question"], "answer": answers[0], "rationale": None}, {"paragraphs"},
                      native_id=str(qa.get("id")) if qa.get("id") is not None else None)
            row.fields["_meta"] = {"context": context, "title": record.get("title"), "answers": answers}
            rows.append(row)
    if not rows:
        raise Reject("article has no answerable question")
    yield from rows


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


@converter("humaneval", "code")
def humaneval(record: dict, o: dict):
    """HumanEval: task_id, prompt, canonical_solution, test, entry_point."""
    yield Row({"prompt": need_str(record, "prompt"), "tests": need_str(record, "test"),
               "entry_point": need_str(record, "entry_point"),
               "reference": need_str(record, "canonical_solution", allow_empty=True) or None},
              {"prompt", "test", "entry_point", "canonical_solution"}, native_id=record.get("task_id"))


@converter("mbpp", "code")
def mbpp(record: dict, o: dict):
    """MBPP: text (or prompt), code, test_list, test_setup_code; entry_point is the function the tests call."""
    prompt = need_str(record, "text" if "text" in record else "prompt")
    code = need_str(record, "code")
    tests = record.get("test_list")
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
        raise Reject("test_list should be a non-empty list of assert strings")
    setup = record.get("test_setup_code") or ""
    names = _DEF.findall(code)
    called = [n for n in names if any(re.search(rf"\b{re.escape(n)}\s*\(", t) for t in tests)]
    if not called:
        raise Reject("no function in 'code' is called by the tests")
    yield Row({"prompt": prompt, "tests": "\n".join(([setup] if setup else []) + tests), "entry_point": called[0],
               "reference": code}, {"text", "prompt", "code", "test_list", "test_setup_code"},
              native_id=str(record["task_id"]) if "task_id" in record else None)


@converter("text", "text", options=(column("field", "text", "field holding the text"),))
def text(record: dict, o: dict):
    """Pretraining text: one field (option field, default 'text')."""
    key = o.get("field", "text")
    yield Row({"text": need_str(record, key)}, {key}, native_id=str(record["id"]) if "id" in record else None)
