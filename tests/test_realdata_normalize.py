"""Real files from ../shared/realdata convert with every record accounted for (skipped when absent).

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
from llmdata.normalize.pipeline import FormatSpec, normalize

REALDATA = SHARED / "realdata"
MANIFEST = REALDATA / "MANIFEST.yaml"
TRAINING_CATEGORIES = {"sft", "multiturn", "preference"}


def _manifest_files():
    if not MANIFEST.is_file():
        return []
    return [f for f in yaml.safe_load(MANIFEST.read_text("utf-8"))["files"] if f.get("category") in TRAINING_CATEGORIES]


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
    if fmt["produces"] not in ("chat", "preference"):
        assert fmt["produces"] != "unsupported" or len(fmt["reason"]) > 10
        pytest.skip(f"{entry['id']} produces {fmt['produces']}")
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
    first = table.slice(0, 1).to_pylist()[0]
    if fmt["produces"] == "chat":
        assert first["messages"][-1]["role"] == "assistant"
    else:
        assert first["chosen"] != first["rejected"]
