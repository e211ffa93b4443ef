"""Evaluation converters (mcq, qa, code, text) on fixture records in each benchmark's raw schema."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from llmdata.normalize.converters import Reject, get
from llmdata.normalize.pipeline import FormatSpec, normalize


def run(name: str, record: dict, **options):
    return [row.fields for row in get(name).fn(record, options)]


def test_mcq_letter_columns_and_list_with_index():
    [row] = run("mcq", {"Question": "女性生殖腺是", "A": "卵巢", "B": "前庭大腺", "C": "前庭球", "D": "乳腺",
                        "Answer": "A", "subject": "anatomy"}, question="Question", answer="Answer")
    assert row == {"subject": "anatomy", "question": "女性生殖腺是", "choices": ["卵巢", "前庭大腺", "前庭球", "乳腺"],
                   "answer": "A", "answers": ["A"]}
    [mmlu] = run("mcq", {"question": "2+2?", "subject": "math", "choices": ["3", "4", "5", "6"], "answer": 1},
                 choices="choices")
    assert mmlu["answer"] == "B"


@pytest.mark.parametrize(("record", "reason"), [
    ({"question": "q", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "E"}, "not one of A, B, C, D"),
    ({"question": "q", "A": "a", "B": "", "C": "c", "D": "d", "answer": "A"}, "choice B is empty"),
    ({"question": "q", "A": "a", "B": "b", "answer": "A"}, "missing choice column"),
    ({"question": "", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "A"}, "field 'question' is empty"),
    ({"question": "q", "A": "a", "B": "b", "C": "c", "D": "d", "answer": True}, "letter or an index"),
])
def test_mcq_rejects(record, reason):
    with pytest.raises(Reject, match=reason):
        run("mcq", record)


def test_agieval_options_and_cloze():
    [row] = run("agieval", {"passage": None, "question": "下列说法正确的是", "options": ["(A)甲", "(B)乙", "(C)丙", "(D)丁"],
                            "label": "C", "answer": None, "other": None})
    assert row["choices"] == ["甲", "乙", "丙", "丁"] and row["answer"] == "C"
    with pytest.raises(Reject, match="cloze"):
        run("agieval", {"question": "1+1=?", "options": None, "label": None, "answer": "2"})


def test_gsm8k_final_number_and_rationale():
    [row] = run("gsm8k", {"question": "q", "answer": "She sells 16-3-4=<<16-3-4=9>>9 eggs.\n#### 1,018"})
    assert row["answer"] == "1018" and row["rationale"].startswith("She sells")
    with pytest.raises(Reject, match="####"):
        run("gsm8k", {"question": "q", "answer": "no marker"})
    with pytest.raises(Reject, match="not a number"):
        run("gsm8k", {"question": "q", "answer": "x\n#### ten"})


def test_math_equation_competition_math_strategyqa():
    [ape] = run("math-equation", {"id": "1", "original_text": "1+1=?", "segmented_text": "1 + 1", "ans": "2",
                                  "equation": "x=1+1"})
    assert (ape["answer"], ape["rationale"]) == ("2", "x=1+1")
    [m] = run("competition-math", {"problem": "p", "level": "Level 1", "type": "Algebra",
                                   "solution": "So $x = \\boxed{\\frac{1}{2}}$."})
    assert m["answer"] == "\\frac{1}{2}"
    with pytest.raises(Reject, match="boxed"):
        run("competition-math", {"problem": "p", "solution": "no box"})
    [s] = run("strategyqa", {"qid": "x", "question": "Q?", "answer": False, "facts": ["f1", "f2"]})
    assert (s["answer"], s["rationale"]) == ("no", "f1 f2")
    with pytest.raises(Reject, match="true or false"):
        run("strategyqa", {"question": "Q?", "answer": "maybe"})


def test_qa_string_or_list_answers_and_rejects():
    """DuReader: answers is a list of reference answers; the first non-blank one is the answer, all stay in meta."""
    record = {"question_id": 186572, "question": "2017有什么好看的小说", "answers": ["", "《将夜》", "《择天记》"],
              "question_type": "ENTITY", "documents": [{"title": "t", "paragraphs": ["p"]}]}
    [row] = get("qa").fn(record, {"answer": "answers", "id": "question_id"})
    assert row.fields == {"question": "2017有什么好看的小说", "answer": "《将夜》", "rationale": None}
    assert row.native_id == "186572" and "answers" not in row.consumed and "documents" not in row.consumed
    [plain] = run("qa", {"question": "1+1?", "answer": " 2 ", "rationale": "one and one"})
    assert plain == {"question": "1+1?", "answer": "2", "rationale": "one and one"}
    with pytest.raises(Reject, match="no non-empty answer"):
        run("qa", {"question": "q", "answers": [], "question_type": "YES_NO"}, answer="answers")
    with pytest.raises(Reject, match="missing field 'answer'"):
        run("qa", {"question": "q", "documents": []})  # DuReader's test set: no answers at all
    with pytest.raises(Reject, match="should be a string"):
        run("qa", {"question": "q", "answer": {"text": "a"}})
    with pytest.raises(Reject, match="field 'question' is empty"):
        run("qa", {"question": " ", "answer": "a"})


def test_squad_articles_become_one_row_per_question(tmp_path):
    doc = {"version": "1.3", "data": [{"title": "梵文", "id": "1", "paragraphs": [{"context": "梵語很古老。", "qas": [
        {"id": "1-1", "question": "梵語如何？", "answers": [{"text": "很古老", "answer_start": 2}]},
        {"id": "1-2", "question": "無答案", "answers": []}]}]},
        {"title": "空", "id": "2", "paragraphs": []}]}
    raw = tmp_path / "drcd.json"
    raw.write_text(json.dumps(doc, ensure_ascii=False))
    out = tmp_path / "qa"
    manifest = normalize({"dev": [(raw, "drcd.json")]}, FormatSpec("json", "squad", {"records": "data"}),
                         source="drcd", out_dir=out)
    c = manifest["splits"]["dev"]
    assert (c["read"], c["written"], c["rejected"], c["rows"]) == (2, 1, 1, 1)
    [row] = pq.read_table(out / c["shards"][0]).to_pylist()
    assert row["id"] == "1-1" and row["answer"] == "很古老" and json.loads(row["meta"])["context"] == "梵語很古老。"


def test_humaneval_and_mbpp():
    [h] = run("humaneval", {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "canonical_solution": "    return x\n",
                            "test": "def check(c):\n    assert c(1) == 1\n", "entry_point": "f"})
    assert h["entry_point"] == "f" and h["reference"] == "    return x\n"
    [m] = run("mbpp", {"task_id": 2, "text": "Write a function to add.", "code": "def helper():\n    pass\ndef add(a, b):\n    return a+b",
                       "test_list": ["assert add(1, 2) == 3"], "test_setup_code": "", "challenge_test_list": []})
    assert m["entry_point"] == "add" and m["tests"] == "assert add(1, 2) == 3"
    with pytest.raises(Reject, match="called by the tests"):
        run("mbpp", {"text": "t", "code": "def g(): pass", "test_list": ["assert f() == 1"]})


def test_subject_from_file_name_and_text(tmp_path):
    raw = tmp_path / "high_school_mathematics.csv"
    raw.write_text(",Question,A,B,C,D,Answer\n0,1+1=,1,2,3,4,B\n1,坏行,1,2,3,4,Z\n", encoding="utf-8")
    out = tmp_path / "mcq"
    spec = FormatSpec("csv", "mcq", {"subject_from": "filename", "question": "Question", "answer": "Answer"})
    manifest = normalize({"test": [(raw, "data/test/high_school_mathematics.csv")]}, spec, source="cmmlu", out_dir=out)
    [row] = pq.read_table(out / manifest["splits"]["test"]["shards"][0]).to_pylist()
    assert row["subject"] == "high_school_mathematics" and row["choices"] == ["1", "2", "3", "4"]
    assert manifest["splits"]["test"]["rejected"] == 1
    [t] = run("text", {"text": "hello world", "meta": {"url": "x"}})
    assert t == {"text": "hello world"}


def test_ultrachat_alternating_turns():
    [row] = run("ultrachat", {"id": "0", "data": ["hi", "hello", "how are you?", "fine"]})
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user", "assistant"]
    with pytest.raises(Reject, match="assistant reply"):
        run("ultrachat", {"id": "1", "data": ["only a question"]})


def test_ultrachat_prefixed_utterances_lose_their_role_prefix():
    """HuatuoGPT-sft-data-v1: {"data": ["问：...", "答：...", ...]}; a missing or swapped prefix is a reject."""
    huatuo = {"prefixes": ["问：", "答："]}
    [row] = run("ultrachat", {"data": ["问：头疼怎么办？", "答：多休息。\n必要时就医。", " 问：还要注意什么？", "答：多喝水。"]},
                **huatuo)
    assert [(m["role"], m["content"]) for m in row["messages"]] == [
        ("user", "头疼怎么办？"), ("assistant", "多休息。\n必要时就医。"), ("user", "还要注意什么？"), ("assistant", "多喝水。")]
    with pytest.raises(Reject, match="utterance 1 does not start with '答："):
        run("ultrachat", {"data": ["问：头疼怎么办？", "问：多休息。"]}, **huatuo)
    with pytest.raises(Reject, match="utterance 0"):
        run("ultrachat", {"data": ["头疼怎么办？", "答：多休息。"]}, **huatuo)
    with pytest.raises(Reject, match="empty assistant turn"):
        run("ultrachat", {"data": ["问：头疼怎么办？", "答："]}, **huatuo)


@pytest.mark.parametrize(("fmt", "converter", "record", "options"), [
    ("mcq", "mcq", {"question": "q", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "D", "x": 1}, {}),
    ("qa", "gsm8k", {"question": "q", "answer": "1+1=2\n#### 2"}, {}),
    ("qa", "qa", {"question_id": 7, "question": "q", "answers": ["a", "b"], "documents": []},
     {"answer": "answers", "id": "question_id"}),
    ("code", "humaneval", {"task_id": "t", "prompt": "def f():\n", "canonical_solution": "  pass\n",
                           "test": "def check(c): pass", "entry_point": "f"}, {}),
    ("text", "text", {"text": "doc"}, {}),
])
def test_rows_validate_against_the_published_format_schemas(tmp_path, fmt, converter, record, options):
    import jsonschema

    from llmdata import resources
    from llmdata.normalize.formats import FORMAT_COLUMNS

    raw = tmp_path / "r.jsonl"
    raw.write_text(json.dumps(record) + "\n")
    out = tmp_path / fmt
    normalize({"test": [(raw, "r.jsonl")]}, FormatSpec("jsonl", converter, options), source="s", out_dir=out)
    [row] = pq.read_table(out / "test-00000.parquet").to_pylist()
    schema = json.loads(resources.schema_path(f"formats/{fmt}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(row)
    assert tuple(schema["properties"]) == FORMAT_COLUMNS[fmt]


def test_subjects_from_zip_members(tmp_path):
    import zipfile

    archive = tmp_path / "m3ke.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for subject in ("law", "medicine"):
            zf.writestr(f"m3ke/{subject}.jsonl", json.dumps({"question": f"{subject}?", "A": "a", "B": "b", "C": "c",
                                                             "D": "d", "answer": "A"}) + "\n")
    out = tmp_path / "mcq"
    manifest = normalize({"test": [(archive, "m3ke.zip")]}, FormatSpec("jsonl", "mcq", {"subject_from": "filename"}),
                         source="m3ke", out_dir=out)
    rows = pq.read_table(out / manifest["splits"]["test"]["shards"][0]).to_pylist()
    assert sorted(r["subject"] for r in rows) == ["law", "medicine"]
