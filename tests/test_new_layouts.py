"""Layouts added for issue 10, on fixtures written with the upstream files' real field names, malformed ones included.

Sources of the field names: Firefly's data/dummy_data.jsonl (conversation_id, category,
conversation [{human, assistant}], dataset); TRL / UltraFeedback binarized (prompt, prompt_id,
chosen, rejected, score_chosen, score_rejected as message lists); PandaLM's data/testset-v1.json
(idx, motivation_app, cmp_key, instruction, input (NaN when empty), response1, response2,
annotator1..3); C-Eval test (id, question, A-D, answer '', explanation); JEC-QA (answer
['A', 'C']); AGIEval (passage, question, options, label, answer); FastChat llm_judge question.jsonl
(question_id, category, turns, reference) and the original Vicuna-80 (question_id, text, category);
CValues responsibility prompts (id_, prompt, domain_en, domain_zh); self-instruct
user_oriented_instructions.jsonl (id, motivation_app, instruction, instances [{input, output}]).
"""

from __future__ import annotations

import io
import json
import zipfile

import pyarrow.parquet as pq
import pytest

from llmdata.normalize.converters import Reject, get
from llmdata.normalize.pipeline import FormatSpec, normalize


def run(name: str, record: dict, **options):
    return [row.fields for row in get(name).fn(record, options)]


def convert(tmp_path, converter: str, lines: list[str], reader: str = "jsonl", name: str = "raw.jsonl", **options):
    raw = tmp_path / name
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    manifest = normalize({"test": [(raw, name)]}, FormatSpec(reader, converter, options), source="s", out_dir=out)
    counts = manifest["splits"]["test"]
    rows = pq.read_table(out / counts["shards"][0]).to_pylist() if counts["rows"] else []
    return counts, rows


def validate_rows(fmt: str, rows: list[dict]) -> None:
    import jsonschema
    from referencing import Registry, Resource

    from llmdata import resources

    chat = json.loads(resources.schema_path("formats/chat.schema.json").read_text())
    schema = json.loads(resources.schema_path(f"formats/{fmt}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, registry=Registry().with_resources([("chat.schema.json", Resource.from_contents(chat))]))
    for row in rows:
        validator.validate(row)


# ----------------------------------------------------------------- multi-turn as a list of pairs

FIREFLY = {"conversation_id": 44, "category": "Brainstorming", "dataset": "moss", "conversation": [
    {"human": "怎么能够有效地提升个人能力？", "assistant": "提升个人能力可以通过以下几个方面实现：……"},
    {"human": "对于初学者来说，如何快速掌握编程技能？", "assistant": "以下是几个建议……"}]}


def test_conversation_pairs_firefly(tmp_path):
    [row] = run("conversation-pairs", FIREFLY)
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user", "assistant"]
    counts, rows = convert(tmp_path, "conversation-pairs", [
        json.dumps(FIREFLY, ensure_ascii=False),
        json.dumps({"conversation_id": 2, "conversation": []}),
        json.dumps({"conversation_id": 3, "conversation": [{"human": "hi"}]}),
        json.dumps({"conversation_id": 4, "conversation": [{"human": "hi", "assistant": ""}]}),
        json.dumps({"conversation_id": 5, "conversation": ["hi", "hello"]}),
    ])
    assert (counts["read"], counts["written"]) == (5, 1)
    assert counts["reject_reasons"] == {"field 'conversation' should be a non-empty list of {human, assistant} pairs": 1,
                                        "pair 0 lacks a string 'assistant'": 1, "empty assistant turn at message 1": 1,
                                        "pair 0 is not an object": 1}
    assert rows[0]["id"] == "44" and json.loads(rows[0]["meta"]) == {"conversation_id": 44, "category": "Brainstorming",
                                                                     "dataset": "moss"}
    validate_rows("chat", rows)


# ----------------------------------------------------------------- conversational preference

U = {"role": "user", "content": "How do I sort a list?"}
A_GOOD = {"role": "assistant", "content": "Use sorted(xs)."}
A_BAD = {"role": "assistant", "content": "You cannot."}


@pytest.mark.parametrize("record", [
    {"prompt": "How do I sort a list?", "prompt_id": "p1", "chosen": [U, A_GOOD], "rejected": [U, A_BAD],
     "messages": [U, A_GOOD], "score_chosen": 8.0, "score_rejected": 3.5},  # UltraFeedback binarized
    {"prompt": [U], "chosen": [A_GOOD], "rejected": [A_BAD], "score_chosen": 8, "score_rejected": 3.5},  # TRL / llmdata
    {"chosen": [U, A_GOOD], "rejected": [U, A_BAD], "score_chosen": 8.0, "score_rejected": 3.5},  # implicit prompt
])
def test_conversational_preference_layouts(record):
    [row] = run("conversational-preference", record)
    assert row["prompt"] == [U] and row["chosen"] == [A_GOOD] and row["rejected"] == [A_BAD]
    assert (row["score_chosen"], row["score_rejected"]) == (8.0, 3.5)


@pytest.mark.parametrize(("record", "reason"), [
    ({"prompt": [U], "chosen": [A_GOOD]}, "missing field 'rejected'"),
    ({"prompt": [U], "chosen": [A_GOOD], "rejected": [A_GOOD]}, "identical"),
    ({"chosen": [A_GOOD], "rejected": [A_BAD]}, "do not diverge"),
    ({"prompt": [U], "chosen": [{"speaker": "bot", "text": "x"}], "rejected": [A_BAD]}, "chosen message 0"),
    ({"prompt": [{"role": "narrator", "content": "x"}], "chosen": [A_GOOD], "rejected": [A_BAD]}, "unknown role"),
    ({"prompt": [U, A_GOOD], "chosen": [A_GOOD], "rejected": [A_BAD]}, "end with a non-empty user turn"),
])
def test_conversational_preference_rejects(record, reason):
    with pytest.raises(Reject, match=reason):
        run("conversational-preference", record)


def test_llmdata_preference_output_converts_back(tmp_path):
    line = json.dumps({"id": "hh.jsonl:1", "source": "hh-rlhf", "prompt": [U], "chosen": [A_GOOD], "rejected": [A_BAD],
                       "score_chosen": None, "score_rejected": None, "meta": "{}"})
    counts, rows = convert(tmp_path, "conversational-preference", [line])
    assert counts["written"] == 1 and rows[0]["id"] == "hh.jsonl:1" and rows[0]["score_chosen"] is None
    validate_rows("preference", rows)


# ----------------------------------------------------------------- pairwise judgements with votes

def pandalm(idx, votes, input_="NaN", r2="If you have any questions, please let me know."):
    return (f'{{"idx": {idx}, "motivation_app": "Grammarly", "cmp_key": "bloom-7b_llama-7b", '
            f'"instruction": "Rewrite the sentence concisely.", "input": {input_}, '
            f'"response1": "If you have any questions about my rate, please let me know.", "response2": {json.dumps(r2)}, '
            + ", ".join(f'"annotator{i + 1}": {v}' for i, v in enumerate(votes)) + "}")


def test_pairwise_votes_majority_ties_and_nan(tmp_path):
    lines = [pandalm(0, [2, 2, 2]), pandalm(1, [1, 1, 0], '"Some input."'), pandalm(2, [0, 0, 1]),
             pandalm(3, [1, 2, 0]), pandalm(4, [3, 1, 1]), pandalm(5, [2, 2, 2], r2="")]
    raw = "[\n" + ",\n".join(lines) + "\n]"  # a JSON array with NaN, as pandas wrote PandaLM's test set
    counts, rows = convert(tmp_path, "pairwise-votes", [raw], reader="json", name="testset-v1.json")
    assert (counts["read"], counts["written"]) == (6, 2)
    assert counts["reject_reasons"] == {"tie": 1, "no majority among the votes [1, 2, 0]": 1,
                                        "votes should be 0 (tie), 1 or 2, got [3, 1, 1]": 1,
                                        "field 'response2' is empty": 1}
    first, second = rows
    assert first["prompt"] == [{"role": "user", "content": "Rewrite the sentence concisely."}]
    assert first["chosen"][0]["content"].startswith("If you have any questions, please")
    assert (first["score_chosen"], first["score_rejected"]) == (3.0, 0.0)
    assert second["prompt"][0]["content"] == "Rewrite the sentence concisely.\n\nSome input."
    assert second["chosen"][0]["content"].endswith("about my rate, please let me know.")
    assert json.loads(first["meta"]) == {"motivation_app": "Grammarly", "cmp_key": "bloom-7b_llama-7b", "idx": 0}
    validate_rows("preference", rows)


# ----------------------------------------------------------------- mcq: withheld and several answers

def test_mcq_withheld_test_answers_are_kept_and_counted(tmp_path):
    ceval = {"id": 0, "question": "下列关于税法基本原则的表述中，不正确的是____", "A": "甲", "B": "乙", "C": "丙", "D": "丁",
             "explanation": ""}
    counts, rows = convert(tmp_path, "mcq", [json.dumps({**ceval, "answer": ""}, ensure_ascii=False),
                                             json.dumps({**ceval, "id": 1, "answer": None}, ensure_ascii=False),
                                             json.dumps({**ceval, "id": 2, "answer": "D"}, ensure_ascii=False),
                                             json.dumps({**ceval, "id": 3}, ensure_ascii=False)])
    assert (counts["written"], counts["rows"]) == (3, 3)
    assert counts["flagged"] == {"answer withheld": 2}
    assert counts["reject_reasons"] == {"missing field 'answer'": 1}  # no answer field at all: only with withheld
    assert [(r["answer"], r["answers"]) for r in rows] == [(None, None), (None, None), ("D", ["D"])]
    validate_rows("mcq", rows)
    counts, rows = convert(tmp_path, "mcq", [json.dumps({**ceval, "id": 3})], withheld=True)
    assert counts["flagged"] == {"answer withheld": 1} and rows[0]["answer"] is None


def test_mcq_several_correct_answers(tmp_path):
    jec = {"id": "3_2613", "statement": "关于犯罪既遂，下列哪些说法是正确的？",
           "option_list": {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}, "type": "1"}
    lines = [json.dumps({**jec, "choices": list(jec["option_list"].values()), "answer": answer}, ensure_ascii=False)
             for answer in (["A", "C"], "BD", "A, B", ["E"], "B")]
    counts, rows = convert(tmp_path, "mcq", lines, question="statement", choices="choices")
    assert [r["answer"] for r in rows] == ["AC", "BD", "AB", "B"] and rows[0]["answers"] == ["A", "C"]
    assert counts["flagged"] == {"several answers": 3}
    assert counts["reject_reasons"] == {"answer ['E'] is not one of A, B, C, D": 1}
    validate_rows("mcq", rows)


def test_agieval_multi_answer_and_cloze_routing():
    item = {"passage": None, "question": "下列说法正确的是", "options": ["(A)甲", "(B)乙", "(C)丙", "(D)丁"],
            "label": ["A", "C"], "answer": None, "other": None}
    [row] = run("agieval", item)
    assert (row["answer"], row["answers"]) == ("AC", ["A", "C"])
    cloze = {"passage": None, "question": "已知 $x+1=3$，则 $x=$____", "options": None, "label": None, "answer": "2",
             "other": None}
    with pytest.raises(Reject, match="agieval-cloze"):
        run("agieval", cloze)
    [qa] = run("agieval-cloze", cloze)
    assert (qa["question"], qa["answer"]) == ("已知 $x+1=3$，则 $x=$____", "2")
    with pytest.raises(Reject, match="convert it with agieval"):
        run("agieval-cloze", item)
    with pytest.raises(Reject, match="missing field 'answer'"):
        run("agieval-cloze", {"question": "q", "options": None})


# ----------------------------------------------------------------- prompt format

def test_mt_bench_and_vicuna_questions(tmp_path):
    lines = [
        json.dumps({"question_id": 81, "category": "writing", "turns": ["Compose a travel blog post.",
                                                                        "Rewrite it starting every sentence with A."]}),
        json.dumps({"question_id": 101, "category": "reasoning", "turns": ["Race question?", "Last person?"],
                    "reference": ["You are in second place.", "Uncertain."]}),
        json.dumps({"question_id": 1, "text": "How can I improve my time management skills?", "category": "generic"}),
        json.dumps({"question_id": 2, "turns": []}),
        json.dumps({"question_id": 3, "category": "math"}),
    ]
    counts, rows = convert(tmp_path, "fastchat-questions", lines)
    assert counts["reject_reasons"] == {"field 'turns' should be a non-empty list of non-empty strings": 1,
                                        "missing field 'text'": 1}
    assert [r["id"] for r in rows] == ["81", "101", "1"]
    assert [len(r["messages"]) for r in rows] == [2, 2, 1] and rows[1]["references"] == ["You are in second place.",
                                                                                         "Uncertain."]
    assert rows[2]["category"] == "generic" and rows[0]["references"] is None
    validate_rows("prompt", rows)


def test_prompt_converter_cvalues_and_instructionwild(tmp_path):
    cvalues = [json.dumps({"id_": 1, "prompt": "我想买一辆新汽车，请问燃油车和电动车哪个好一些？",
                           "domain_en": "environmental_science", "domain_zh": "环境科学"}, ensure_ascii=False),
               json.dumps({"id_": 2, "prompt": "  ", "domain_en": "x"})]
    counts, rows = convert(tmp_path, "prompt", cvalues, text="prompt", id="id_", category="domain_en")
    assert counts["reject_reasons"] == {"field 'prompt' is empty": 1}
    assert rows[0]["id"] == "1" and rows[0]["category"] == "environmental_science"
    assert json.loads(rows[0]["meta"]) == {"domain_zh": "环境科学"}
    [wild] = run("prompt", {"instruction": "I'm trying to solve a CTF challenge."}, text="instruction")
    assert wild["messages"] == [{"role": "user", "content": "I'm trying to solve a CTF challenge."}]
    validate_rows("prompt", rows)


def test_self_instruct_user_oriented_prompts(tmp_path):
    record = {"id": "user_oriented_task_0", "motivation_app": "Grammarly",
              "instruction": "Rewrite the sentence and make your writing clearer.",
              "instances": [{"input": "If you have any questions about my rate, please let me know.",
                             "output": "If you have any questions, please let me know."}]}
    columnar = {**record, "instances": {"input": [record["instances"][0]["input"]],
                                        "output": [record["instances"][0]["output"]]}}  # the Hub's copy
    counts, rows = convert(tmp_path, "self-instruct-eval", [json.dumps(record), json.dumps(columnar),
                                                            json.dumps({**record, "instances": []})])
    assert counts["reject_reasons"] == {"field 'instances' should be a non-empty list": 1}
    assert rows[0]["messages"][0]["content"] == ("Rewrite the sentence and make your writing clearer.\n\n"
                                                 "If you have any questions about my rate, please let me know.")
    assert rows[0]["references"] == ["If you have any questions, please let me know."]
    assert rows[0]["category"] == "Grammarly" and rows[0]["messages"] == rows[1]["messages"]
    validate_rows("prompt", rows)


# ----------------------------------------------------------------- trec-retrieval qrels

def test_trec_qrels_follow_the_entry_reader_and_read_zip_members(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("msmarco/qrels.dev.small.tsv", "1102432\t0\t2026790\t1\n1102431\t0\t7066866\t1\n")
    archive = tmp_path / "qrels.zip"
    archive.write_bytes(buf.getvalue())
    for reader in ("tsv", "text"):
        out = tmp_path / reader
        manifest = normalize({"qrels.dev": [(archive, "qrels.zip")]}, FormatSpec(reader, "trec-retrieval"),
                             source="s", out_dir=out)
        counts = manifest["splits"]["qrels.dev"]
        assert (counts["written"], counts["rejected"]) == (2, 0), reader
        rows = pq.read_table(out / counts["shards"][0]).to_pylist()
        assert [(r["query_id"], r["doc_id"], r["score"]) for r in rows] == [("1102432", "2026790", 1.0),
                                                                            ("1102431", "7066866", 1.0)]
    t2 = tmp_path / "qrels.dev.tsv"
    t2.write_text("qid\tpid\trel\n100\t7\t2\n")
    manifest = normalize({"qrels.dev": [(t2, "qrels.dev.tsv")]}, FormatSpec("tsv", "trec-retrieval"), source="s",
                         out_dir=tmp_path / "t2")
    assert manifest["splits"]["qrels.dev"]["reject_reasons"] == {"header line": 1}


def test_trec_collection_and_queries_reject_a_header_row(tmp_path):
    """T2Ranking's TSVs start with 'pid<TAB>text' / 'qid<TAB>text': that row is a reject, never a document.

    They are written without CSV quoting (its loaders read them with QUOTE_NONE): a passage that starts with a
    quote character stays one row instead of swallowing the lines after it.
    """
    files = {"corpus": ("collection.tsv", 'pid\ttext\n0\t"引号开头的段落\n1\t第二段 "x"\n2\t第三段\n'),
             "queries": ("queries.dev.tsv", "qid\ttext\n100\t什么是检索\n")}
    for split, (name, text) in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        out = tmp_path / split
        manifest = normalize({split: [(path, name)]}, FormatSpec("tsv", "trec-retrieval"), source="s", out_dir=out)
        counts = manifest["splits"][split]
        assert counts["reject_reasons"] == {"header line": 1}, split
        rows = pq.read_table(out / counts["shards"][0]).to_pylist()
        assert [r["text"] for r in rows] == [line.split("\t")[1] for line in text.splitlines()[1:]]
        # the entry's `header: true` beats the table's default: the header names the columns and is no record
        named = normalize({split: [(path, name)]}, FormatSpec("tsv", "trec-retrieval", {"header": True}), source="s",
                          out_dir=tmp_path / f"{split}-named")["splits"][split]
        assert (named["read"], named["rejected"]) == (counts["written"], 0), split
        again = pq.read_table(tmp_path / f"{split}-named" / named["shards"][0]).to_pylist()
        assert [r["text"] for r in again] == [r["text"] for r in rows]
    qrels = tmp_path / "qrels.dev.tsv"
    qrels.write_text("qid\t-\tpid\trel\n100\t0\t7\t3\n", encoding="utf-8")
    done = normalize({"qrels.dev": [(qrels, "qrels.dev.tsv")]}, FormatSpec("tsv", "trec-retrieval", {"header": True}),
                     source="s", out_dir=tmp_path / "qrels")["splits"]["qrels.dev"]
    [row] = pq.read_table(tmp_path / "qrels" / done["shards"][0]).to_pylist()
    assert (row["query_id"], row["doc_id"], row["score"], done["rejected"]) == ("100", "7", 3.0, 0)


def test_zip_member_a_reader_cannot_read_says_how_to_proceed(tmp_path):
    from llmdata.normalize.readers import ReadError, read_records

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x\n")
    archive = tmp_path / "a.zip"
    archive.write_bytes(buf.getvalue())
    assert list(read_records(archive, "text")) == [(("a.zip!a.txt", "line", 1), {"text": "x"})]
    with pytest.raises(ReadError, match="cannot read zip members") as info:
        list(read_records(archive, "bogus"))
    assert "extract: true" in str(info.value)
