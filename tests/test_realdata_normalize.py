"""Real files from ../shared/realdata convert with every record accounted for (skipped when absent).

Training sets must produce trainable rows; evaluation sets must parse their answers
(every GSM8K answer a number, every CMMLU row four choices and a label A-D).

The converter and its options come from the catalog entry that pins the file,
so this also checks that the catalog's format declarations are right.
"""

from __future__ import annotations

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


def _manifest_files():
    if not MANIFEST.is_file():
        return []
    return yaml.safe_load(MANIFEST.read_text("utf-8"))["files"]


def _entry_for(repo: str, path: str):
    for entry in read_catalog_file(resources.builtin_catalog()).entries:
        for source in entry["sources"]:
            if source.get("repo") == repo and any(f["path"] == path for f in source.get("files", [])):
                return entry
    return None


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
    if fmt["converter"] not in REGISTRY:
        pytest.skip(f"{entry['id']}: converter {fmt['converter']} not implemented")
    raw = REALDATA / item["saved_as"]
    out = tmp_path / fmt["produces"]
    manifest = normalize({"train": [(raw, item["path"])]}, FormatSpec.from_entry(fmt), source=entry["id"], out_dir=out)
    counts = manifest["splits"]["train"]
    assert counts["read"] == item["records"]
    assert counts["written"] + counts["rejected"] == counts["read"]
    assert counts["written"] >= 0.99 * counts["read"], counts["reject_reasons"]
    table = pq.read_table(out / counts["shards"][0])
    assert table.num_rows == counts["rows"] >= counts["written"]
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    rows = table.to_pylist()
    produces = fmt["produces"]
    if produces == "chat":
        assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
    elif produces == "preference":
        assert all(r["chosen"] != r["rejected"] for r in rows)
    elif produces == "mcq":  # e.g. every CMMLU row has 4 choices and a label A-D
        assert all(len(r["choices"]) == 4 and r["answer"] in "ABCD" and r["subject"] for r in rows)
    elif produces == "qa":
        assert all(r["question"] and r["answer"] for r in rows)
        if fmt["converter"] == "gsm8k":  # every GSM8K answer yields a number
            assert counts["written"] == counts["read"]
            assert all(float(r["answer"]) == float(r["answer"]) for r in rows)
    elif produces == "code":
        assert all(r["entry_point"] and r["tests"] for r in rows)
    elif produces == "text":
        assert all(r["text"] for r in rows)
