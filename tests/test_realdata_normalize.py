"""Real files from ../shared/realdata convert with every record accounted for (skipped when absent).

The converter and its options come from the catalog entry that pins the file, and
the split from the entry's ``splits``, so this also checks the catalog's format
declarations. Every file that has an entry converts with read == the MANIFEST's
record count; the only rejects are the ones listed here, each for a reason a user
would agree with. Rows validate against the published format schemas.
"""

from __future__ import annotations

import fnmatch
import json

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import SHARED

from llmdata import resources
from llmdata.catalog.validate import read_catalog_file
from llmdata.normalize.converters import REGISTRY
from llmdata.normalize.pipeline import FormatSpec, normalize

REALDATA = SHARED / "realdata"
MANIFEST = REALDATA / "MANIFEST.yaml"

# The rejects a user would agree with, per file: {reason: count}. Every other file converts without one.
EXPECTED_REJECTS = {
    # four test pairs whose chosen transcript ends with an empty assistant turn: nothing to prefer
    "anthropics__hh-rlhf__harmless-base__test.jsonl.gz": {"empty chosen response": 4},
    # one demo dev question (a YES_NO one) whose annotators gave no answer: answers is []
    "baidu__DuReader__DuReader-2.0__data__demo__devset__search.dev.json": {"field 'answers' holds no non-empty answer": 1},
}
# Files an entry pins that are not part of any of its splits (another layout, kept beside the data).
NOT_A_SPLIT = {
    "lm-sys__FastChat__fastchat__llm_judge__data__mt_bench__reference_answer__gpt-4.jsonl":
        "MT-Bench's GPT-4 reference answers (answer_id, choices[].turns): pinned with the questions, not a split",
}


def _manifest_files():
    if not MANIFEST.is_file():
        return []
    return [f for f in yaml.safe_load(MANIFEST.read_text("utf-8"))["files"] if f.get("saved_as")]


def _entry_for(repo: str, path: str):
    for entry in read_catalog_file(resources.builtin_catalog()).entries:
        for source in entry["sources"]:
            if source.get("repo") == repo and any(f["path"] == path for f in source.get("files", [])):
                return entry
    return None


def _schema_validator(fmt: str):
    import jsonschema
    from referencing import Registry, Resource

    chat = json.loads(resources.schema_path("formats/chat.schema.json").read_text())
    schema = json.loads(resources.schema_path(f"formats/{fmt}.schema.json").read_text())
    registry = Registry().with_resources([("chat.schema.json", Resource.from_contents(chat))])
    return jsonschema.Draft202012Validator(schema, registry=registry)


FILES = _manifest_files()


@pytest.mark.skipif(not FILES, reason="../shared/realdata is absent")
@pytest.mark.parametrize("item", FILES, ids=[f["id"] for f in FILES])
def test_real_file_converts_with_counts_accounted(item, tmp_path):
    entry = _entry_for(item["repo"], item["path"])
    if entry is None:
        pytest.skip(f"no catalog entry pins {item['repo']}/{item['path']}")
    fmt = entry["format"]
    if fmt["produces"] == "unsupported":
        assert len(fmt["reason"]) > 10
        pytest.skip(f"{entry['id']}: unsupported ({fmt['reason']})")
    assert fmt["converter"] in REGISTRY, f"{entry['id']}: converter {fmt['converter']} is not declared"
    splits = [name for name, patterns in (entry.get("splits") or {"train": ["*"]}).items()
              if any(fnmatch.fnmatchcase(item["path"], p) for p in patterns)]
    if not splits:
        assert item["id"] in NOT_A_SPLIT, f"{entry['id']} pins {item['path']} but no split names it"
        pytest.skip(NOT_A_SPLIT[item["id"]])
    split = splits[0]
    raw = REALDATA / item["saved_as"]
    out = tmp_path / fmt["produces"]
    manifest = normalize({split: [(raw, item["path"])]}, FormatSpec.from_entry(fmt), source=entry["id"], out_dir=out)
    counts = manifest["splits"][split]
    assert counts["read"] == item["records"]
    assert counts["written"] + counts["rejected"] == counts["read"]
    assert counts["reject_reasons"] == EXPECTED_REJECTS.get(item["id"], {})
    table = pq.read_table(out / counts["shards"][0])
    assert table.num_rows == counts["rows"] >= counts["written"] > 0
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    rows = table.to_pylist()
    validator = _schema_validator(fmt["produces"])
    for row in rows[:300]:
        validator.validate(row)
    produces = fmt["produces"]
    if produces == "chat":
        assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
    elif produces == "preference":
        assert all(r["chosen"] != r["rejected"] for r in rows)
    elif produces == "mcq":  # e.g. every CMMLU row has 4 choices and a label A-D
        assert all(len(r["choices"]) == 4 and r["answer"] in "ABCD" and r["answers"] == [r["answer"]] and r["subject"]
                   for r in rows)
    elif produces == "qa":
        assert all(r["question"] and r["answer"] for r in rows)
        if fmt["converter"] == "gsm8k":  # every GSM8K answer yields a number
            assert counts["written"] == counts["read"]
            assert all(float(r["answer"]) == float(r["answer"]) for r in rows)
    elif produces == "code":
        assert all(r["entry_point"] and r["tests"] for r in rows)
    elif produces == "text":
        assert all(r["text"] for r in rows)
    elif produces == "prompt":
        assert all(m["role"] == "user" and m["content"].strip() for r in rows for m in r["messages"])
        if fmt["converter"] == "fastchat-questions":  # MT-Bench: two turns each; references where the file has them
            raw_records = [json.loads(line) for line in raw.read_text("utf-8").splitlines() if line.strip()]
            assert all(len(r["messages"]) == 2 for r in rows)
            assert sum(r["references"] is not None for r in rows) == sum("reference" in r for r in raw_records) > 0
