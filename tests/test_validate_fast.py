"""The fast schema check may only ever accept what jsonschema accepts.

``catalog.schema_check.schema_errors`` trusts jsonschema-rs's "valid" and asks
jsonschema for the report otherwise; these mutations of real catalog entries
(missing keys, wrong types, unknown keys, bad enums, unsafe paths, bad URLs)
check that the two never disagree on "valid".
"""

from __future__ import annotations

import copy

import pytest
import yaml

from llmdata import resources
from llmdata.catalog.schema_check import _fast_check, _validator, schema_errors


def _mutations(entry: dict):
    for key in list(entry):
        for value in (None, 12345, "https://x y", ["x"]):
            changed = copy.deepcopy(entry)
            changed[key] = value
            yield changed
        changed = copy.deepcopy(entry)
        del changed[key]
        yield changed
    yield {**copy.deepcopy(entry), "bogus": 1}
    for i, source in enumerate(entry.get("sources", [])):
        for key in list(source):
            for value in ("../x", "/abs", "http://$x", -1, "ftp"):
                changed = copy.deepcopy(entry)
                changed["sources"][i][key] = value
                yield changed
        for j, spec in enumerate(source.get("files", [])[:2]):  # two files show each shape; 134 would be slow
            for key in list(spec):
                for value in ("/abs", "a/../../b", -1, "z" * 64):
                    changed = copy.deepcopy(entry)
                    changed["sources"][i]["files"][j][key] = value
                    yield changed
    for key in list(entry.get("format") or {}):
        changed = copy.deepcopy(entry)
        changed["format"][key] = 7
        yield changed


def _sample() -> list[dict]:
    entries = yaml.safe_load(resources.builtin_catalog().read_text("utf-8"))
    kinds: dict[tuple, dict] = {}
    for e in entries:  # one entry per (source kinds, produces) shape keeps this fast and broad
        shape = (tuple(s["kind"] for s in e["sources"]), e["format"]["produces"], e["access"])
        kinds.setdefault(shape, e)
    return list(kinds.values())


@pytest.mark.parametrize("entry", _sample(), ids=lambda e: e["id"])
def test_fast_check_never_accepts_what_jsonschema_rejects(entry):
    fast, full = _fast_check(), _validator()
    assert fast is not None and fast([entry])
    for changed in _mutations(entry):
        if not full.is_valid([changed]):
            assert not fast([changed]), changed


def test_schema_errors_reports_with_paths_when_invalid():
    entries = yaml.safe_load(resources.builtin_catalog().read_text("utf-8"))[:2]
    assert schema_errors(entries) == []
    entries[1]["sources"][0]["kind"] = "ftp"
    errors = schema_errors(entries)
    assert errors and list(errors[0].absolute_path)[:3] == [1, "sources", 0]


def test_without_the_rust_validator_jsonschema_answers_alone(monkeypatch):
    from llmdata.catalog import schema_check

    monkeypatch.setattr(schema_check, "_fast_check", lambda: None)
    entries = yaml.safe_load(resources.builtin_catalog().read_text("utf-8"))[:2]
    assert schema_errors(entries) == []
    entries[0]["access"] = "open"
    assert [e.validator for e in schema_errors(entries)] == ["enum"]
