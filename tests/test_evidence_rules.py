"""The catalog's evidence rules: licence claims cite a source, model-generated data is never marked commercial,
raw-only entries give a reason from the fixed vocabulary."""

from __future__ import annotations

from llmdata import resources
from llmdata.catalog.pages import evidence_url, summary_counts
from llmdata.catalog.validate import check_loaded, read_catalog_file
from llmdata.catalog.yaml_positions import load_yaml_file

ENTRY = """\
- id: my-data
  name: My data
  summary: {en: A dataset for the rules., zh: 用于检查规则的数据。}
  category: sft
  languages: [en]
  license: mit
  access: public
  sources:
    - {kind: url, url: https://files.example.org/a.jsonl}
"""


def problems(tmp_path, text: str, curated: bool):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return [p for p in check_loaded(load_yaml_file(path), str(path), curated=curated) if p.severity == "error"]


def test_licence_claims_need_a_source_in_the_curated_catalog_only(tmp_path):
    [p] = problems(tmp_path, ENTRY, curated=True)
    assert p.key == "license" and "license_source" in p.message and "owner/name@commit:path#Lline" in p.hint
    assert problems(tmp_path, ENTRY, curated=False) == []
    cited = ENTRY.replace("  license: mit\n", "  license: mit\n  license_source: acme/data@0123abc:LICENSE#L1\n")
    assert problems(tmp_path, cited, curated=True) == []
    unknown = ENTRY.replace("license: mit", "license: unknown")
    [p] = problems(tmp_path, unknown, curated=True)
    assert "where you looked" in p.hint


def test_model_generated_data_is_never_commercial(tmp_path):
    text = ENTRY.replace("  license: mit\n", "  license: mit\n  commercial: true\n  generated_by: OpenAI gpt-4\n")
    found = problems(tmp_path, text, curated=False)
    assert [p.key for p in found] == ["commercial"] and "commercial: null" in found[0].hint


def test_raw_only_needs_a_reason_from_the_vocabulary(tmp_path):
    raw = ENTRY + "  format: {produces: unsupported, reason: image-text pairs only}\n"
    [p] = problems(tmp_path, raw, curated=False)
    assert "unsupported_reason" in p.message
    assert problems(tmp_path, raw + "  unsupported_reason: images-or-audio\n", curated=False) == []
    [p] = problems(tmp_path, raw + "  unsupported_reason: too-hard\n", curated=False)
    assert "needs-converter" in p.message


def test_builtin_catalog_counts_and_evidence_links():
    entries = read_catalog_file(resources.builtin_catalog()).entries
    counts = summary_counts(entries)
    assert counts["licence with source"] == counts["licence known"]
    assert counts["raw-only with reason"] == counts["raw-only"]
    assert evidence_url("acme/data@0123abc:docs/LICENSE#L3") == "https://github.com/acme/data/blob/0123abc/docs/LICENSE#L3"
    by_id = {e["id"]: e for e in entries}
    assert by_id["belle-zh-seed-tasks"]["commercial"] is False and by_id["zhihu-rlhf-3k"]["license"] == "cc-by-2.0"
    assert "cc-by-4.0" in by_id["moss-003-sft-data"]["license_note"]  # the Hub/GitHub disagreement is named
    assert all(e.get("commercial") is not True for e in entries if e.get("generated_by"))
    assert [s["kind"] for s in by_id["cvalues"]["sources"]][-1] == "modelscope"
