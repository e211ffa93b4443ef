"""llmdata export: files LLaMA-Factory, lm-evaluation-harness and TRL read as they are.

LLaMA-Factory (``pip install llamafactory``) pulls torch and transformers, too
heavy for CI, so its rules are checked through a pinned copy of its format spec:
``_llamafactory_convert`` below restates ``DatasetAttr.join`` (parser.py),
the file-type rule of ``_load_single_dataset`` (loader.py) and
``SharegptDatasetConverter.__call__`` / ``AlpacaDatasetConverter`` (converter.py)
of hiyouga/LLaMA-Factory commit ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30, and
the data are read with ``datasets.load_dataset`` as its loader does.
TRL likewise pulls torch: ``_trl_is_conversational`` is ``trl.data_utils.is_conversational``
of huggingface/trl commit bc13ae6d91667d42f5ad74e211b5db703dc4377e.
lm-eval 0.4.x installs without torch, so its own ``TaskManager`` loads the tasks.
"""

from __future__ import annotations

import json
import os

import datasets
import pytest
from recipe_data import serve

import llmdata
from llmdata.recipes.export import export_files

# ---- pinned LLaMA-Factory rules (commit ff6d4d12, src/llamafactory/data/{parser,loader,converter}.py) ----
FILEEXT2TYPE = {"arrow": "arrow", "csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet", "txt": "text"}
ATTR_DEFAULTS = {"formatting": "alpaca", "ranking": False, "split": "train", "system": None, "tools": None,
                 "chosen": None, "rejected": None, "kto_tag": None, "prompt": "instruction", "query": "input",
                 "response": "output", "history": None, "messages": "conversations", "role_tag": "from",
                 "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt", "observation_tag": "observation",
                 "function_tag": "function_call", "system_tag": "system"}
INFO_KEYS = {"hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name", "formatting",
             "ranking", "subset", "split", "folder", "num_samples", "columns", "tags"}


def _dataset_attr(info: dict) -> dict:
    assert set(info) <= INFO_KEYS, set(info) - INFO_KEYS
    attr = dict(ATTR_DEFAULTS)
    for key in ("formatting", "ranking", "split"):
        attr[key] = info.get(key, ATTR_DEFAULTS[key])
    for key in ("prompt", "query", "response", "history", "messages", "system", "tools", "chosen", "rejected",
                "kto_tag"):
        if "columns" in info:
            attr[key] = info["columns"].get(key)  # set_attr: absent -> None
    for key in ("role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag",
                "system_tag"):
        if "tags" in info:
            attr[key] = info["tags"].get(key)
    return attr


def _llamafactory_convert(dataset_dir, name: str) -> list[dict]:
    """Load one dataset_info.json entry the way LLaMA-Factory does; converted examples, broken ones dropped."""
    info = json.loads((dataset_dir / "dataset_info.json").read_text())[name]
    attr = _dataset_attr(info)
    local = dataset_dir / info["file_name"]
    files = [str(local / f) for f in os.listdir(local)] if local.is_dir() else [str(local)]
    kinds = {FILEEXT2TYPE.get(os.path.splitext(f)[-1][1:]) for f in files}
    assert len(kinds) == 1 and None not in kinds, "File types should be identical."
    ds = datasets.load_dataset(kinds.pop(), data_files=files, split=attr["split"])
    out = []
    for example in ds:
        if attr["formatting"] == "alpaca":
            prompt = [{"role": "user", "content": example[attr["prompt"]]}]
            out.append({"_prompt": prompt, "_response": []})
            continue
        tag = {attr["user_tag"]: "user", attr["assistant_tag"]: "assistant", attr["observation_tag"]: "observation",
               attr["function_tag"]: "function", attr["system_tag"]: "system"}
        odd, even = (attr["user_tag"], attr["observation_tag"]), (attr["assistant_tag"], attr["function_tag"])
        messages = example[attr["messages"]]
        if attr["system_tag"] and messages and messages[0][attr["role_tag"]] == attr["system_tag"]:
            messages = messages[1:]
        aligned, broken = [], False
        for i, m in enumerate(messages):
            if m[attr["role_tag"]] not in (odd, even)[i % 2]:
                broken = True
                break
            aligned.append({"role": tag[m[attr["role_tag"]]], "content": m[attr["content_tag"]]})
        if (not attr["ranking"] and len(aligned) % 2) or (attr["ranking"] and len(aligned) % 2 == 0):
            broken = True
        if broken:
            continue
        if attr["ranking"] and isinstance(example[attr["chosen"]], dict) and isinstance(example[attr["rejected"]], dict):
            chosen, rejected = example[attr["chosen"]], example[attr["rejected"]]
            if chosen[attr["role_tag"]] not in even or rejected[attr["role_tag"]] not in even:
                continue
            out.append({"_prompt": aligned, "_response": [
                {"role": tag[chosen[attr["role_tag"]]], "content": chosen[attr["content_tag"]]},
                {"role": tag[rejected[attr["role_tag"]]], "content": rejected[attr["content_tag"]]}]})
        else:
            out.append({"_prompt": aligned[:-1], "_response": aligned[-1:]})
    return out


def _trl_is_conversational(example: dict) -> bool:
    """trl/data_utils.py is_conversational (huggingface/trl bc13ae6d)."""
    supported_keys = ["prompt", "chosen", "rejected", "completion", "messages"]
    example_keys = {key for key in example.keys() if key in supported_keys}
    if example_keys:
        key = example_keys.pop()
        maybe_messages = example[key]
        if isinstance(maybe_messages, list):
            maybe_message = maybe_messages[0]
            if isinstance(maybe_message, dict) and "role" in maybe_message and "content" in maybe_message:
                return True
    return False


@pytest.fixture
def served(hosts, catalog):
    serve(hosts, catalog)
    return hosts


def test_llamafactory_chat_and_preference(served, tmp_path, cli):
    out = tmp_path / "lf"
    result = cli("export", "chat-a:train", "--to", "llamafactory", "--out", str(out), "--json")
    assert result.code == 0, result.err
    assert result.json()["files"] == ["chat-a.train.jsonl", "dataset_info.json"]
    assert cli("export", "pref-mini", "--to", "llamafactory", "--out", str(out)).code == 0
    assert sorted(os.listdir(out)) == ["chat-a.train.jsonl", "dataset_info.json", "pref-mini.train.jsonl"]
    chat = _llamafactory_convert(out, "chat-a")
    assert len(chat) == 30 and chat[0]["_response"][0]["role"] == "assistant"
    assert chat[0]["_prompt"][0]["content"].startswith("question a0:")
    pref = _llamafactory_convert(out, "pref-mini")
    assert len(pref) == 8  # every pair trains: chosen and rejected are one message each
    assert pref[0]["_response"] == [{"role": "assistant", "content": "Option 0 is better."},
                                    {"role": "assistant", "content": "I don't know 0."}]
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["pref-mini"]["ranking"] is True and info["chat-a"]["formatting"] == "sharegpt"


def test_llamafactory_leaves_out_rows_it_would_drop_and_says_why(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from llmdata.normalize.formats import arrow_schema

    m = lambda role, text: {"role": role, "content": text}  # noqa: E731
    rows = [{"id": "1", "source": "x", "messages": [m("system", "s"), m("user", "q"), m("assistant", "a")], "meta": "{}"},
            {"id": "2", "source": "x", "messages": [m("user", "q"), m("user", "q2"), m("assistant", "a")], "meta": "{}"},
            {"id": "3", "source": "x", "messages": [m("user", "q")], "meta": "{}"}]
    shard = tmp_path / "s.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema("chat")), shard)
    report = export_files("llamafactory", "x", "chat", {"train": [shard]}, tmp_path / "lf")
    assert report["rows"] == {"train": 1} and sum(report["skipped"].values()) == 2
    assert len(_llamafactory_convert(tmp_path / "lf", "x")) == 1


def test_lm_eval_tasks_load_with_lm_eval(served, tmp_path, cli):
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    out = tmp_path / "tasks"
    result = cli("export", "mmlu-mini:test", "--to", "lm-eval", "--out", str(out), "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["tasks"] == ["llmdata_mmlu-mini_anatomy", "llmdata_mmlu-mini_law"]
    assert report["fewshot_split"] == "dev"
    assert cli("export", "gsm-mini", "--to", "lm-eval", "--out", str(out)).code == 0
    manager = TaskManager(include_path=str(out), include_defaults=False)
    assert {"llmdata_mmlu-mini", "llmdata_gsm-mini"} <= set(manager.all_tasks)
    loaded = manager.load(["llmdata_mmlu-mini", "llmdata_gsm-mini"])  # the group pulls in one task per subject
    assert loaded["group_map"]["llmdata_mmlu-mini"] == ["llmdata_mmlu-mini_anatomy", "llmdata_mmlu-mini_law"]
    anatomy, gsm = loaded["tasks"]["llmdata_mmlu-mini_anatomy"], loaded["tasks"]["llmdata_gsm-mini"]
    docs = list(anatomy.test_docs())
    assert len(docs) == 5 and len(list(anatomy.fewshot_docs())) == 3
    assert anatomy.doc_to_choice(docs[1]) == ["A", "B", "C", "D"] and anatomy.doc_to_target(docs[1]) == 1
    assert anatomy.doc_to_text(docs[0]).endswith("A. femur\nB. tibia\nC. ulna\nD. radius\nAnswer:")
    gdocs = list(gsm.test_docs())
    assert len(gdocs) == 6 and gsm.doc_to_target(gdocs[0]) == "60"
    assert gsm.doc_to_text(gdocs[0]).startswith("Question: Natalia sold clips")


def test_jsonl_and_parquet_are_trl_conversational(served, tmp_path, cli):
    for kind in ("jsonl", "parquet"):
        out = tmp_path / kind
        assert cli("export", "pref-mini", "--to", kind, "--out", str(out)).code == 0
        assert os.listdir(out) == [f"pref-mini.train.{kind}"]
        ds = datasets.load_dataset("json" if kind == "jsonl" else "parquet",
                                   data_files=str(out / f"pref-mini.train.{kind}"), split="train")
        assert len(ds) == 8 and _trl_is_conversational(ds[0])
        assert {"prompt", "chosen", "rejected"} <= set(ds.column_names)  # DPOTrainer's conversational keys
    llmdata.export("chat-b", "jsonl", tmp_path / "chat")
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "chat" / "chat-b.train.jsonl"), split="train")
    assert _trl_is_conversational(ds[0]) and "messages" in ds.column_names  # SFTTrainer's conversational key


def test_export_usage_errors(served, tmp_path, cli):
    result = cli("export", "chat-a", "--to", "axolotl", "--out", str(tmp_path / "x"))
    assert result.code == 2 and "llamafactory" in result.err
    result = cli("export", "chat-a:validation", "--to", "jsonl", "--out", str(tmp_path / "x"))
    assert result.code == 2 and "no split 'validation'" in result.err
    result = cli("export", "chat-a", "--to", "lm-eval", "--out", str(tmp_path / "x"))
    assert result.code == 2 and "lm-eval export takes" in result.err


def test_parquet_export_streams_row_groups_to_the_bytes_of_one_write(tmp_path, monkeypatch):
    """copy_parquet holds one row group at a time, yet writes what pq.write_table of the joined shards writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from llmdata.recipes import export_io

    monkeypatch.setattr(export_io, "ROW_GROUP_ROWS", 7)
    shards = []
    for k, (rows, group) in enumerate([(5, 5), (12, 4), (0, 1), (3, 3), (15, 6)]):
        table = pa.table({"id": [f"{k}-{i}" for i in range(rows)], "n": list(range(rows))},
                         schema=pa.schema([("id", pa.string()), ("n", pa.int64())]))
        shards.append(tmp_path / f"s{k}.parquet")
        pq.write_table(table, shards[-1], row_group_size=group)
    for chosen in (shards, shards[2:3], shards[1:2]):
        assert export_io.copy_parquet(chosen, tmp_path / "out.parquet") == sum(pq.read_metadata(s).num_rows
                                                                               for s in chosen)
        pq.write_table(pa.concat_tables([pq.read_table(s) for s in chosen]), tmp_path / "whole.parquet",
                       compression="zstd", row_group_size=7)
        assert (tmp_path / "out.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
