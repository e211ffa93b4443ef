"""Converters on fixture records written in each dataset's real raw schema, malformed ones included."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest

from llmdata.normalize.converters import REGISTRY, Reject, get
from llmdata.normalize.pipeline import FormatSpec, StrictConversionError, normalize
from llmdata.normalize.readers import ReadError, read_records


def run(name: str, record: dict, **options):
    return [row.fields for row in get(name).fn(record, options)]


def roles(messages):
    return [m["role"] for m in messages]


# ----------------------------------------------------------------- chat


def test_alpaca_with_input_system_and_history():
    [row] = run("alpaca", {"instruction": "Translate", "input": "你好", "output": "Hello", "system": "Be brief.",
                           "history": [["hi", "hello!"]]})
    assert roles(row["messages"]) == ["system", "user", "assistant", "user", "assistant"]
    assert row["messages"][3]["content"] == "Translate\n\n你好"


@pytest.mark.parametrize(("record", "reason"), [
    ({"instruction": "x"}, "missing field 'output'"),
    ({"instruction": "", "input": "", "output": "y"}, "are empty"),
    ({"instruction": "x", "output": "   "}, "field 'output' is empty"),
    ({"instruction": ["x"], "output": "y"}, "should be a string, got list"),
    ({"instruction": "x", "output": "y", "history": [["only one"]]}, "history item 0"),
])
def test_alpaca_rejects(record, reason):
    with pytest.raises(Reject, match=reason):
        run("alpaca", record)


def test_alpaca_column_mapping_from_catalog_options():
    [row] = run("alpaca", {"input": "问题", "target": "答案", "type": "mrc"}, instruction="input", output="target")
    assert row["messages"] == [{"role": "user", "content": "问题"}, {"role": "assistant", "content": "答案"}]


def test_sharegpt_any_role_names():
    record = {"id": "c1", "system": "sys", "conversations": [
        {"from": "human", "value": "weather?"},
        {"from": "function_call", "value": '{"name": "weather"}'},
        {"from": "observation", "value": "sunny"},
        {"from": "gpt", "value": "It is sunny."},
    ]}
    [row] = run("sharegpt", record)
    assert roles(row["messages"]) == ["system", "user", "assistant", "tool", "assistant"]


@pytest.mark.parametrize(("turns", "reason"), [
    ([{"from": "human", "value": "hi"}], "does not end with an assistant"),
    ([{"from": "human", "value": ""}, {"from": "gpt", "value": "x"}], "empty user turn"),
    ([{"from": "narrator", "value": "x"}, {"from": "gpt", "value": "y"}], "unknown role 'narrator'"),
    ([{"from": "human", "value": 3.5}, {"from": "gpt", "value": "y"}], "should be a string"),
    ("not a list", "should be a list"),
])
def test_sharegpt_rejects(turns, reason):
    with pytest.raises(Reject, match=reason):
        run("sharegpt", {"conversations": turns})


def test_sharegpt_custom_role_map():
    [row] = run("sharegpt", {"conversations": [{"from": "patient", "value": "头痛"}, {"from": "doctor", "value": "休息"}]},
                roles={"patient": "user", "doctor": "assistant"})
    assert roles(row["messages"]) == ["user", "assistant"]


def test_openai_messages():
    [row] = run("openai-messages", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})
    assert roles(row["messages"]) == ["user", "assistant"]


def test_belle_multiturn_text():
    record = {"instruction": "Human:你好\nAssistant:你好！有什么可以帮你？\nHuman:讲个笑话\nAssistant:", "input": "",
              "output": "从前有座山……"}
    [row] = run("belle-multiturn", record)
    assert [(m["role"], m["content"]) for m in row["messages"]] == [
        ("user", "你好"), ("assistant", "你好！有什么可以帮你？"), ("user", "讲个笑话"), ("assistant", "从前有座山……")]
    with pytest.raises(Reject, match="Human:"):
        run("belle-multiturn", {"instruction": "你好", "output": "hi"})


BAIZE = ("The conversation between human and AI assistant.\n[|Human|] How do I sort a list in Python?\n"
         "[|AI|] Use sorted(xs) or xs.sort().\n[|Human|] And in reverse?\n[|AI|] Pass reverse=True.\n[|Human|] ")


def test_baize_transcript():
    [row] = run("baize", {"topic": "sort a list", "input": BAIZE})
    assert [(m["role"], m["content"]) for m in row["messages"]] == [
        ("user", "How do I sort a list in Python?"), ("assistant", "Use sorted(xs) or xs.sort()."),
        ("user", "And in reverse?"), ("assistant", "Pass reverse=True.")]
    [converted] = get("baize").fn({"topic": "sort a list", "input": BAIZE}, {})
    assert converted.consumed == {"input"}  # the topic stays in meta


@pytest.mark.parametrize(("text", "reason"), [
    ("no turns at all", r"does not start with a '\[\|Human\|\]' turn"),
    ("[|AI|] hello\n[|Human|] hi\n", "does not start"),
    ("[|Human|] hi\n[|Human|] again\n[|AI|] yes\n", "two user turns in a row"),
    ("[|Human|] hi\n[|AI|] \n[|Human|] ", "empty assistant turn"),
    ("[|Human|] only a question\n", "does not end with an assistant"),
])
def test_baize_rejects(text, reason):
    with pytest.raises(Reject, match=reason):
        run("baize", {"topic": "t", "input": text})
    with pytest.raises(Reject, match="missing field 'input'"):
        run("baize", {"topic": "t"})


UNNATURAL = {"instruction": "Find the capital of the country.", "instances": [
    {"instruction_with_input": "Find the capital of the country.\nFrance", "input": "France",
     "constraints": "The output should be a city name.", "output": "Paris"},
    {"instruction_with_input": "Find the capital of the country.\nJapan", "input": "Japan", "constraints": "None.",
     "output": "Tokyo"}]}


def test_unnatural_instructions_core_and_full():
    rows = run("unnatural-instructions", UNNATURAL)
    assert [[m["content"] for m in r["messages"]] for r in rows] == [
        ["Find the capital of the country.\nFrance\nThe output should be a city name.", "Paris"],
        ["Find the capital of the country.\nJapan", "Tokyo"]]
    full = {**UNNATURAL, "reformulations": [
        {"instruction": "Name the capital city.", "input": "France",
         "instruction_with_input": "Name the capital city.\nFrance", "output": "Paris"}]}
    rows = run("unnatural-instructions", full)
    assert len(rows) == 3 and rows[2]["messages"][0]["content"] == "Name the capital city.\nFrance"


@pytest.mark.parametrize(("record", "reason"), [
    ({"instances": UNNATURAL["instances"]}, "missing field 'instruction'"),
    ({"instruction": "x", "instances": []}, "'instances' should be a non-empty list"),
    ({"instruction": "x", "instances": ["not an object"]}, "instances item 0 is not an object"),
    ({"instruction": "x", "instances": [{"constraints": "None", "output": "y"}]}, "missing field 'instruction_with_input'"),
    ({**UNNATURAL, "reformulations": {"instruction": "x"}}, "'reformulations' should be a list"),
    ({**UNNATURAL, "reformulations": [{"instruction_with_input": "x", "output": ""}]}, "field 'output' is empty"),
])
def test_unnatural_instructions_rejects(record, reason):
    with pytest.raises(Reject, match=reason):
        run("unnatural-instructions", record)


def test_moss_conversation_with_plugin():
    record = {"conversation_id": 7, "meta_instruction": "You are MOSS.\n", "num_turns": 1, "category": "tool",
              "chat": {"turn_1": {
                  "Human": "<|Human|>: 今天天气？<eoh>\n",
                  "Inner Thoughts": "<|Inner Thoughts|>: 需要搜索<eot>\n",
                  "Commands": "<|Commands|>: Search(\"天气\")<eoc>\n",
                  "Tool Responses": "<|Results|>:\n晴<eor>\n",
                  "MOSS": "<|MOSS|>: 今天晴。<eom>\n"}}}
    [row] = run("moss", record)
    assert [(m["role"], m["content"]) for m in row["messages"]] == [
        ("system", "You are MOSS."), ("user", "今天天气？"), ("assistant", 'Search("天气")'), ("tool", "晴"),
        ("assistant", "今天晴。")]
    with pytest.raises(Reject, match="lacks a Human or MOSS"):
        run("moss", {"chat": {"turn_1": {"Human": "<|Human|>: hi<eoh>", "MOSS": "<|MOSS|>: None<eom>"}}})


def test_medical_qa_and_seed_tasks():
    [row] = run("medical-qa", {"department": "内科", "title": "头痛", "ask": "头痛怎么办", "answer": "多休息"})
    assert row["messages"][0]["content"] == "头痛怎么办"
    rows = run("seed-tasks", {"id": "t1", "instruction": "Add", "instances": [{"input": "1+1", "output": "2"},
                                                                           {"input": "2+2", "output": "4"}]})
    assert len(rows) == 2
    with pytest.raises(Reject, match="instances"):
        run("seed-tasks", {"instruction": "Add", "instances": []})


# ----------------------------------------------------------------- preference

HH_CHOSEN = "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour.\n\nHuman: Then?\n\nAssistant: Knead and bake."
HH_REJECTED = "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour.\n\nHuman: Then?\n\nAssistant: No idea."


def test_hh_rlhf_splits_shared_prefix():
    [row] = run("hh-rlhf", {"chosen": HH_CHOSEN, "rejected": HH_REJECTED})
    assert roles(row["prompt"]) == ["user", "assistant", "user"]
    assert row["chosen"] == [{"role": "assistant", "content": "Knead and bake."}]
    assert row["rejected"] == [{"role": "assistant", "content": "No idea."}]


@pytest.mark.parametrize(("record", "reason"), [
    ({"chosen": HH_CHOSEN, "rejected": HH_CHOSEN}, "identical"),
    ({"chosen": HH_CHOSEN.rsplit("Knead", 1)[0], "rejected": HH_REJECTED}, "empty chosen"),
    ({"chosen": "no markers", "rejected": HH_REJECTED}, "does not start"),
    ({"chosen": None, "rejected": HH_REJECTED}, "should be a string"),
])
def test_hh_rlhf_rejects(record, reason):
    with pytest.raises(Reject, match=reason):
        run("hh-rlhf", record)


def test_pairwise_with_hh_prompt_and_scores():
    record = {"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " hello", "rejected": " go away",
              "upvotes_chosen": 10, "upvotes_rejected": 1}
    [row] = run("pairwise", record, prompt_format="hh", score_chosen="upvotes_chosen", score_rejected="upvotes_rejected")
    assert row["prompt"] == [{"role": "user", "content": "hi"}]
    assert (row["score_chosen"], row["score_rejected"]) == (10.0, 1.0)


def test_sharegpt_pairwise_llamafactory_layout():
    record = {"conversations": [{"from": "human", "value": "Q"}], "chosen": {"from": "gpt", "value": "good"},
              "rejected": {"from": "gpt", "value": "bad"}}
    [row] = run("sharegpt-pairwise", record)
    assert row["chosen"][0]["content"] == "good" and row["rejected"][0]["content"] == "bad"
    with pytest.raises(Reject, match="'rejected'"):
        run("sharegpt-pairwise", {**record, "rejected": "bad"})


def test_pku_saferlhf_better_and_safer():
    record = {"prompt": "p", "response_0": "a", "response_1": "b", "better_response_id": 1, "safer_response_id": 0,
              "is_response_0_safe": True, "is_response_1_safe": False}
    [better] = run("pku-saferlhf", record)
    [safer] = run("pku-saferlhf", record, by="safer")
    assert better["chosen"][0]["content"] == "b" and safer["chosen"][0]["content"] == "a"
    with pytest.raises(Reject, match="should be 0 or 1"):
        run("pku-saferlhf", {**record, "better_response_id": 2})


def test_every_converter_has_a_docstring():
    assert all(c.doc for c in REGISTRY.values())


# ----------------------------------------------------------------- readers and pipeline


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def collect(path, reader, **kw):
    return [(str(p), r) for p, r in read_records(path, reader, **kw)]


def test_json_flavours_are_detected(tmp_path):
    array = write(tmp_path / "a.json", b'\xef\xbb\xbf[{"a": 1}, {"a": 2}]')
    jsonl = write(tmp_path / "b.json", b'{"a": 1}\n\n{"a": 2}\n')
    concat = write(tmp_path / "c.json", b'{\n  "a": 1\n}\n{\n  "a": 2\n}\n')
    gz = write(tmp_path / "d.jsonl.gz", gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    for path in (array, jsonl, concat, gz):
        assert [r for _, r in collect(path, "json")] == [{"a": 1}, {"a": 2}], path
    assert [p for p, _ in collect(jsonl, "jsonl")] == ["b.json line 1", "b.json line 3"]


def test_bad_lines_become_bad_records_with_positions(tmp_path):
    path = write(tmp_path / "x.jsonl", b'{"a": 1}\n{"a": \n' + '{"a": "\u4e2d"}'.encode("gb18030") + b"\n")
    records = collect(path, "jsonl")
    assert records[0][1] == {"a": 1}
    assert records[1][0] == "x.jsonl line 2" and "invalid JSON" in records[1][1].reason
    assert records[2][0] == "x.jsonl line 3" and "UTF-8" in records[2][1].reason


def test_csv_gb18030_tsv_headerless_and_encoding_error(tmp_path):
    csv_path = write(tmp_path / "m.csv", "department,ask,answer\n内科,头痛,休息\n".encode("gb18030"))
    assert collect(csv_path, "csv", encoding="gb18030")[0][1] == {"department": "内科", "ask": "头痛", "answer": "休息"}
    with pytest.raises(ReadError, match="gb18030"):
        collect(csv_path, "csv")
    tsv = write(tmp_path / "q.tsv", b"1\tquery one\n2\tquery two\n")
    assert collect(tsv, "tsv", options={"header": False})[1][1] == {"col0": "2", "col1": "query two"}


def test_tsv_without_quoting_keeps_leading_double_quotes(tmp_path):
    """CSL's benchmark TSVs are written with a plain tab join: a field may start with a quote that is text."""
    line = 'to title\t"外部性"是一个问题.\t"外部性"问题与"科斯定理"\n'
    tsv = write(tmp_path / "dev.tsv", line.encode("utf-8") + "to title\t摘要\t标题\n".encode("utf-8"))
    options = {"header": False, "columns": ["prompt", "text_a", "text_b"]}
    quoted = collect(tsv, "tsv", options=options)[0][1]
    assert quoted["text_b"] == "外部性问题与\"科斯定理\""  # the csv module's default eats the quotes
    plain = [r for _, r in collect(tsv, "tsv", options={**options, "quoting": "none"})]
    assert plain[0] == {"prompt": "to title", "text_a": '"外部性"是一个问题.', "text_b": '"外部性"问题与"科斯定理"'}
    assert plain[1]["text_b"] == "标题"
    short = write(tmp_path / "short.tsv", 'to title\t"只有两列\n'.encode("utf-8"))
    [(_, bad)] = collect(short, "tsv", options={**options, "quoting": "none"})
    assert "expected 3 columns, got 2" in bad.reason


def test_truncated_json_array_is_a_read_error(tmp_path):
    path = write(tmp_path / "t.json", b'[{"a": 1}, {"a"')
    with pytest.raises(ReadError, match="invalid JSON array"):
        collect(path, "json")


def test_records_star_reads_the_list_under_every_key(tmp_path):
    """Safety-Prompts ships {scenario: [records]}: every scenario's records, the scenario as the position."""
    doc = {"Insult": [{"prompt": "a"}, {"prompt": "b"}], "Mental_Health": [{"prompt": "c"}]}
    path = write(tmp_path / "s.json", json.dumps(doc, indent=4).encode())
    assert collect(path, "json", options={"records": "*"}) == [
        ("s.json Insult 0", {"prompt": "a"}), ("s.json Insult 1", {"prompt": "b"}),
        ("s.json Mental_Health 0", {"prompt": "c"})]
    assert [r for _, r in collect(path, "json", options={"records": "Mental_Health"})] == [{"prompt": "c"}]
    for bad in ({"Insult": [{"prompt": "a"}], "version": "1"}, {}, [{"prompt": "a"}]):
        path = write(tmp_path / "bad.json", json.dumps(bad).encode())
        with pytest.raises(ReadError, match="a list under every key"):
            collect(path, "json", options={"records": "*"})
    with pytest.raises(ReadError, match="a list under 'data'"):
        collect(write(tmp_path / "squad.json", b'{"version": "1"}'), "json", options={"records": "data"})


def test_parquet_members_of_a_tar_are_read_row_by_row(tmp_path):
    import io
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"text": "x"}, {"text": "y"}]), table)
    archive = tmp_path / "shards.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("data/part-0.parquet")
        info.size = len(table.getvalue())
        tf.addfile(info, io.BytesIO(table.getvalue()))
    assert collect(archive, "parquet") == [("shards.tar.gz!data/part-0.parquet row 0", {"text": "x"}),
                                           ("shards.tar.gz!data/part-0.parquet row 1", {"text": "y"})]


def test_pipeline_counts_rejects_and_manifest(tmp_path):
    lines = [
        json.dumps({"instruction": "a", "input": "", "output": "b", "extra": 1}),
        json.dumps({"instruction": "a"}),
        "{broken",
        json.dumps(["not", "an", "object"]),
        json.dumps({"instruction": "c", "output": "d"}),
    ]
    raw = write(tmp_path / "raw.jsonl", ("\n".join(lines) + "\n").encode())
    out = tmp_path / "out" / "chat"
    manifest = normalize({"train": [(raw, "raw.jsonl")]}, FormatSpec("jsonl", "alpaca"), source="demo", out_dir=out)
    counts = manifest["splits"]["train"]
    assert (counts["read"], counts["written"], counts["rejected"]) == (5, 2, 3)
    assert counts["written"] + counts["rejected"] == counts["read"]
    rejects = [json.loads(line) for line in (out / "train.rejects.jsonl").read_text().splitlines()]
    assert [r["position"] for r in rejects] == ["raw.jsonl line 2", "raw.jsonl line 3", "raw.jsonl line 4"]
    assert "missing field 'output'" in rejects[0]["reason"]
    table = pq.read_table(out / counts["shards"][0])
    assert table.column_names == ["id", "source", "messages", "meta"]
    assert table.column("id").to_pylist() == ["raw.jsonl:1", "raw.jsonl:5"]
    assert json.loads(table.column("meta")[0].as_py()) == {"extra": 1}
    assert json.loads((out / "manifest.json").read_text())["converter"] == "alpaca"


def test_strict_fails_and_keeps_previous_output(tmp_path):
    good = write(tmp_path / "good.jsonl", b'{"instruction": "a", "output": "b"}\n')
    bad = write(tmp_path / "bad.jsonl", b'{"instruction": "a"}\n')
    out = tmp_path / "out" / "chat"
    normalize({"train": [(good, "good.jsonl")]}, FormatSpec("jsonl", "alpaca"), source="demo", out_dir=out)
    with pytest.raises(StrictConversionError, match="bad.jsonl line 1: missing field 'output'"):
        normalize({"train": [(bad, "bad.jsonl")]}, FormatSpec("jsonl", "alpaca"), source="demo", out_dir=out,
                  strict=True)
    assert json.loads((out / "manifest.json").read_text())["splits"]["train"]["written"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["chat"]  # no work directory left behind


# ----------------------------------------------------------------- trees and ranked answers

OASST_TREE = {"message_tree_id": "t1", "tree_state": "ready_for_export", "prompt": {
    "message_id": "m0", "text": "What is RLHF?", "role": "prompter", "lang": "en", "replies": [
        {"message_id": "m1", "text": "Reinforcement learning from human feedback.", "role": "assistant", "rank": 0,
         "replies": [{"message_id": "m3", "text": "Example?", "role": "prompter", "replies": [
             {"message_id": "m4", "text": "InstructGPT.", "role": "assistant", "rank": 0}]}]},
        {"message_id": "m2", "text": "A pizza topping.", "role": "assistant", "rank": 2, "replies": []},
        {"message_id": "m5", "text": "spam", "role": "assistant", "rank": None, "deleted": True},
    ]}}


def test_oasst1_threads_best_and_all():
    [best] = run("oasst1", OASST_TREE)
    assert [m["content"] for m in best["messages"]] == [
        "What is RLHF?", "Reinforcement learning from human feedback.", "Example?", "InstructGPT."]
    assert len(run("oasst1", OASST_TREE, paths="all")) == 2  # the deleted reply is skipped


def test_oasst1_pairs_from_sibling_ranks():
    [pair] = run("oasst1-pairs", OASST_TREE)
    assert pair["prompt"] == [{"role": "user", "content": "What is RLHF?"}]
    assert pair["chosen"][0]["content"].startswith("Reinforcement") and pair["rejected"][0]["content"] == "A pizza topping."
    with pytest.raises(Reject, match="no ranked sibling"):
        run("oasst1-pairs", {"prompt": {"text": "hi", "role": "prompter", "replies": []}})
    with pytest.raises(Reject, match="root"):
        run("oasst1", {"prompt": {"text": "", "role": "prompter"}})


def test_ranked_answers_stack_exchange():
    record = {"qid": 1, "question": "How to sort?", "answers": [
        {"answer_id": 1, "pm_score": 2, "text": "sorted()"}, {"answer_id": 2, "pm_score": 9, "text": "list.sort()"},
        {"answer_id": 3, "pm_score": -1, "text": "by hand"}]}
    [row] = run("ranked-answers", record)
    assert (row["chosen"][0]["content"], row["rejected"][0]["content"]) == ("list.sort()", "by hand")
    assert (row["score_chosen"], row["score_rejected"]) == (9.0, -1.0)
    assert len(run("ranked-answers", record, pairs="best-vs-rest")) == 2
    with pytest.raises(Reject, match="different scores"):
        run("ranked-answers", {"question": "q", "answers": [{"text": "a", "pm_score": 1}, {"text": "b", "pm_score": 1}]})


def test_hc3_human_vs_chatgpt():
    record = {"id": "0", "question": "为什么天是蓝的？", "human_answers": ["瑞利散射。"], "chatgpt_answers": ["因为光的散射。"]}
    [row] = run("hc3", record)
    assert row["chosen"][0]["content"] == "瑞利散射。"
    [flip] = run("hc3", record, prefer="chatgpt")
    assert flip["chosen"][0]["content"] == "因为光的散射。"
    with pytest.raises(Reject, match="no non-empty answer"):
        run("hc3", {**record, "human_answers": [""]})


def test_columnar_and_row_paths_give_the_same_rows(tmp_path, monkeypatch):
    import dataclasses

    records = [
        {"instruction": "  Translate ", "input": " 你好 ", "output": "Hello"},
        {"instruction": "", "input": "only input", "output": "x"},
        {"instruction": "no input", "output": "y", "extra": {"k": [1, 2]}},
        {"instruction": "null input", "input": None, "output": "z"},
        {"instruction": "", "input": "", "output": "rejected: empty prompt"},
        {"instruction": "q", "output": "   "},
        {"instruction": "q"},
        {"instruction": "tab\tand newline\n", "input": "\n", "output": " keep spaces "},
    ]
    raw = tmp_path / "mixed.jsonl"
    raw.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    batch = normalize({"train": [(raw, "mixed.jsonl")]}, FormatSpec("jsonl", "alpaca"), source="s",
                      out_dir=tmp_path / "batch")
    monkeypatch.setitem(REGISTRY, "alpaca", dataclasses.replace(REGISTRY["alpaca"], batch=None))
    rows = normalize({"train": [(raw, "mixed.jsonl")]}, FormatSpec("jsonl", "alpaca"), source="s",
                     out_dir=tmp_path / "rows")
    assert batch["splits"]["train"]["rejected"] == rows["splits"]["train"]["rejected"] == 3
    read = lambda d: pq.read_table(tmp_path / d / "train-00000.parquet").to_pylist()  # noqa: E731
    assert read("batch") == read("rows")
    assert (tmp_path / "batch" / "train.rejects.jsonl").read_text() == (tmp_path / "rows" / "train.rejects.jsonl").read_text()


@pytest.mark.parametrize("blank_line", [False, True])
def test_arrow_reader_path_matches_the_record_path(tmp_path, monkeypatch, blank_line):
    import dataclasses

    records = [{"instruction": f"q{i} ", "input": "" if i % 2 else f" in{i}", "output": f"a{i}"} for i in range(30)]
    records[7]["output"] = "  "
    records[11] = {"instruction": "", "input": "", "output": "x"}
    lines = [json.dumps(r) for r in records]
    if blank_line:
        lines.insert(5, "")  # row numbers no longer equal line numbers: that chunk goes through the record path
    raw = tmp_path / "plain.jsonl"
    raw.write_text("\n".join(lines) + "\n")
    spec = FormatSpec("jsonl", "alpaca")
    from llmdata.normalize import arrowpath

    probe = tmp_path / "probe"
    probe.mkdir()
    counts = arrowpath.convert_split_arrow([(raw, "plain.jsonl")], spec, REGISTRY["alpaca"], "s", "train", probe, False)
    assert (counts.read, counts.written, counts.rejected) == (30, 28, 2)
    assert list(probe.glob("*.parquet"))
    fast = normalize({"train": [(raw, "plain.jsonl")]}, spec, source="s", out_dir=tmp_path / "fast")
    monkeypatch.setitem(REGISTRY, "alpaca", dataclasses.replace(REGISTRY["alpaca"], batch=None, table=None))
    slow = normalize({"train": [(raw, "plain.jsonl")]}, spec, source="s", out_dir=tmp_path / "slow")
    assert fast["splits"]["train"]["read"] == slow["splits"]["train"]["read"] == 30
    assert fast["splits"]["train"]["rejected"] == 2
    read = lambda d: pq.read_table(tmp_path / d / "train-00000.parquet").to_pylist()  # noqa: E731
    assert read("fast") == read("slow")
    rejects = lambda d: [json.loads(x)["position"] for x in (tmp_path / d / "train.rejects.jsonl").read_text().splitlines()]  # noqa: E731
    assert rejects("fast") == rejects("slow") == (["plain.jsonl line 9", "plain.jsonl line 13"] if blank_line
                                                   else ["plain.jsonl line 8", "plain.jsonl line 12"])


def test_preference_rows_validate_against_the_published_schema(tmp_path):
    import jsonschema
    from referencing import Registry, Resource

    from llmdata import resources

    chat = json.loads(resources.schema_path("formats/chat.schema.json").read_text())
    pref = json.loads(resources.schema_path("formats/preference.schema.json").read_text())
    registry = Registry().with_resources([("chat.schema.json", Resource.from_contents(chat))])
    raw = tmp_path / "hh.jsonl"
    raw.write_text(json.dumps({"chosen": HH_CHOSEN, "rejected": HH_REJECTED}) + "\n")
    out = tmp_path / "pref"
    normalize({"train": [(raw, "hh.jsonl")]}, FormatSpec("jsonl", "hh-rlhf"), source="hh", out_dir=out)
    [row] = pq.read_table(out / "train-00000.parquet").to_pylist()
    jsonschema.Draft202012Validator(pref, registry=registry).validate(row)
    assert set(row) == set(pref["properties"])
