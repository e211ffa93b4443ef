"""`llmdata validate`: every problem names file, line, column, entry and key, and says how to fix it."""

from __future__ import annotations

import json

from conftest import entry_yaml

from llmdata import resources
from llmdata.api import validate
from llmdata.catalog.validate import catalog_schema
from llmdata.vocabulary import CATEGORY_LABELS


def only_errors(problems):
    return [p for p in problems if p.severity == "error"]


def test_builtin_catalog_is_valid_and_covers_every_category():
    entries, problems = validate([resources.builtin_catalog()])
    assert only_errors(problems) == []
    assert len(entries) >= 30
    categories = {e["category"] for e in entries} | {c for e in entries for c in e.get("also", [])}
    assert categories >= set(CATEGORY_LABELS)


def test_schema_categories_match_search_vocabulary():
    assert set(catalog_schema()["$defs"]["category"]["enum"]) == set(CATEGORY_LABELS)


def test_unknown_key_reports_line_column_entry_and_suggestion(write_catalog):
    text = entry_yaml() + "  licence_note: typo here\n"
    path = write_catalog(text)
    _, problems = validate([path])
    [p] = only_errors(problems)
    assert p.file == str(path)
    assert (p.line, p.column) == (text.splitlines().index("  licence_note: typo here") + 1, 3)
    assert p.entry_id == "my-data"
    assert p.key == "licence_note"
    assert "unknown key 'licence_note'" in p.message
    assert "did you mean 'license_note'" in p.hint


def test_missing_required_key_and_bad_enum(write_catalog):
    text = entry_yaml(category="instruct").replace("  access: public\n", "")
    path = write_catalog(text)
    _, problems = validate([path])
    by_key = {p.key: p for p in only_errors(problems)}
    assert "missing required key 'access'" in by_key["access"].message
    assert by_key["access"].line == 1  # the entry's mapping starts on line 1
    cat = by_key["category"]
    assert cat.line == 6 and "'instruct' is not one of" in cat.message


def test_bad_licence_id_gets_canonical_suggestion(write_catalog):
    path = write_catalog(entry_yaml(license="MIT"))
    _, problems = validate([path])
    [p] = only_errors(problems)
    assert p.key == "license" and p.line == 9
    assert "unknown licence id 'MIT'" in p.message and "write 'mit'" in p.hint


def test_commercial_flag_must_not_contradict_licence(write_catalog):
    path = write_catalog(entry_yaml(license="cc-by-nc-4.0", commercial="true"))
    [p] = only_errors(validate([path])[1])
    assert p.key == "commercial" and "forbids commercial use" in p.message


def test_malformed_hosts(write_catalog):
    text = entry_yaml().replace("https://example.org/my-data.jsonl", "https://localhostexample/x.json")
    text += """\
    - kind: github
      repo: https://github.com/owner/name
    - kind: hf
      repo: just-a-name
"""
    problems = only_errors(validate([write_catalog(text)])[1])
    keys = sorted(p.key for p in problems)
    assert keys == ["sources.0.url", "sources.1.repo", "sources.2.repo"]
    assert any("malformed host" in p.message for p in problems)
    assert all(p.hint for p in problems)


def test_duplicate_ids_within_and_across_files(write_catalog):
    a = write_catalog(entry_yaml() + entry_yaml(), "a.yaml")
    b = write_catalog(entry_yaml(id="stanford-alpaca"), "b.yaml")
    entries, problems = validate([resources.builtin_catalog(), a, b])
    dupes = [p for p in only_errors(problems) if "duplicate id" in p.message]
    assert {p.entry_id for p in dupes} == {"my-data", "stanford-alpaca"}
    mine = next(p for p in dupes if p.entry_id == "my-data")
    assert mine.file == str(a) and mine.line == 15 and f"{a}:1" in mine.message


def test_yaml_syntax_error_and_duplicate_yaml_key(write_catalog):
    broken = write_catalog("- id: x\n  name: [unclosed\n", "broken.yaml")
    [p] = validate([broken])[1]
    assert p.line is not None and "YAML syntax error" in p.message

    dup = write_catalog(entry_yaml() + "  license: apache-2.0\n", "dup.yaml")
    messages = [p.message for p in only_errors(validate([dup])[1])]
    assert any("duplicate key 'license'" in m for m in messages)


def test_type_errors_hint_at_yaml_quoting(write_catalog):
    path = write_catalog(entry_yaml(name="2023-01-01"))
    [p] = only_errors(validate([path])[1])
    assert p.key == "name" and "expected string" in p.message and "quote" in p.hint


def test_split_naming_undeclared_file(write_catalog):
    text = entry_yaml() + "  splits:\n    train: [my-dta.jsonl]\n"
    [p] = only_errors(validate([write_catalog(text)])[1])
    assert p.key == "splits.train.0" and "did you mean 'my-data.jsonl'" in p.hint


def test_gated_entry_needs_instructions(write_catalog):
    text = entry_yaml().replace("access: public", "access: gated")
    [p] = only_errors(validate([write_catalog(text)])[1])
    assert "instructions" in p.message


def test_cli_validate_exit_codes_and_json(cli, write_catalog):
    good = write_catalog(entry_yaml(), "good.yaml")
    result = cli("validate", str(good))
    assert result.code == 0 and "ok: 1 entries valid" in result.out

    bad = write_catalog(entry_yaml(license="Apache 2"), "bad.yaml")
    result = cli("validate", str(bad))
    assert result.code == 2
    assert f"{bad}:9:12: error: entry 'my-data': key 'license'" in result.err
    assert "fix:" in result.err

    result = cli("validate", "--json", str(bad))
    assert result.code == 2
    report = json.loads(result.out)
    assert report["ok"] is False
    assert report["problems"][0] | {"hint": None} == {
        "file": str(bad), "line": 9, "column": 12, "entry": "my-data", "key": "license",
        "message": "unknown licence id 'Apache 2'", "hint": None, "severity": "error",
    }


def test_cli_validate_missing_file(cli, tmp_path):
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2 and "catalog file not found" in result.err


def test_converter_must_exist_and_match_the_declared_format(write_catalog):
    unknown = write_catalog(entry_yaml() + "  format: {produces: chat, reader: json, converter: alpacca}\n", "u.yaml")
    [p] = validate([unknown])[1]
    assert p.severity == "warning" and p.key == "format.converter" and "alpaca" in p.hint
    mismatch = write_catalog(entry_yaml() + "  format: {produces: preference, reader: json, converter: alpaca}\n",
                             "m.yaml")
    [p] = only_errors(validate([mismatch])[1])
    assert p.key == "format.produces" and "set produces: chat" in p.hint
