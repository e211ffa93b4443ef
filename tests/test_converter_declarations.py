"""Converters are declared records: their options are data, published in registry/converters.json and the README,
and checked by `llmdata validate` without importing converter code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO, entry_yaml

from llmdata.normalize import docs
from llmdata.normalize.converters import REGISTRY


def test_generated_registry_and_readme_tables_are_in_sync():
    stale = docs.write(REPO, check=True)
    assert stale == [], f"run `python -m llmdata.normalize.docs` to refresh {stale}"


def test_every_converter_option_is_declared_with_a_valid_schema_and_default():
    import jsonschema

    for conv in REGISTRY.values():
        assert conv.doc, conv.name
        for table in [conv, *conv.tables.values()]:
            jsonschema.Draft202012Validator.check_schema(table.options_schema())
            for option in table.options:
                assert option.doc, (conv.name, option.name)
                if option.default is not None:
                    jsonschema.Draft202012Validator(option.schema).validate(option.default)


def test_validate_learns_converters_without_importing_them():
    code = ("import sys; from llmdata import resources; from llmdata.catalog.validate import check_files; "
            "check_files([resources.builtin_catalog()]); "
            "print([m for m in sys.modules if m.startswith('llmdata.normalize')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _format_entry(fmt: str) -> str:
    return entry_yaml() + textwrap.indent(fmt, "  ")


@pytest.mark.parametrize(("fmt", "needle", "message", "hint"), [
    ("format: {produces: chat, reader: jsonl, converter: alpaca, options: {outptu: answer}}\n",
     "outptu", "converter 'alpaca' has no option 'outptu'", "did you mean 'output'?"),
    ("format:\n  produces: chat\n  reader: jsonl\n  converter: sharegpt\n  options:\n    roles: {patient: doctor}\n",
     "roles:", "option 'roles' of 'sharegpt'", "extra role names"),
    ("format:\n  produces: mcq\n  reader: csv\n  converter: mcq\n  options:\n    withheld: 'yes'\n",
     "withheld:", "option 'withheld' of 'mcq': 'yes' is not valid", "hidden test answers"),
    ("format:\n  produces: preference\n  reader: jsonl\n  converter: hc3\n  options:\n    prefer: humans\n",
     "prefer:", "'humans' is not valid", "which side"),
    ("format:\n  produces: chat\n  reader: jsonl\n  converter: alpaca\n  options:\n    by: safer\n",
     "by:", "converter 'alpaca' has no option 'by'", "options of alpaca: instruction, input, output"),
])
def test_validate_reports_unknown_and_ill_typed_options_with_line_and_hint(write_catalog, cli, fmt, needle, message,
                                                                           hint):
    path = write_catalog(_format_entry(fmt))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text)
    result = cli("validate", str(path), "--json")
    assert result.code == 2, result.out
    [problem] = [p for p in result.json()["problems"] if p["severity"] == "error"]
    assert problem["line"] == line and message in problem["message"] and hint in problem["hint"], problem


def test_reader_options_are_checked_and_a_mismatched_reader_warns(write_catalog, cli):
    path = write_catalog(_format_entry(
        "format: {produces: chat, reader: jsonl, converter: alpaca, options: {header: false, records: data}}\n"))
    result = cli("validate", str(path), "--json")
    assert result.code == 0
    [warning] = result.json()["problems"]
    assert warning["severity"] == "warning" and "'header' does nothing for reader 'jsonl'" in warning["message"]
    good = write_catalog(_format_entry(
        "format: {produces: retrieval, reader: tsv, converter: trec-retrieval, options: {members: '*.tsv'}}\n"),
        name="good.yaml")
    assert cli("validate", str(good)).code == 0


def test_unknown_option_also_fails_before_conversion(tmp_path):
    from llmdata.errors import UsageError
    from llmdata.normalize.pipeline import FormatSpec, normalize

    raw = tmp_path / "r.jsonl"
    raw.write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n")
    with pytest.raises(UsageError, match="no option 'outptu'") as info:
        normalize({"train": [(raw, "r.jsonl")]}, FormatSpec("jsonl", "alpaca", {"outptu": "b"}), source="s",
                  out_dir=tmp_path / "out")
    assert "did you mean 'output'" in str(info.value)
