"""The fast catalog parse equals ``yaml.safe_load`` wherever it answers, and steps aside everywhere else.

``catalog.fast_yaml.fast_load`` (rapidyaml + PyYAML's typing rules) is
compared with PyYAML on the built-in catalog written out in several styles,
on synthetic catalogs, on a corpus of scalars YAML 1.1 types in odd ways
(each plain, single- and double-quoted), on broken documents, and on seeded
random documents. Where it answers, data and entry positions must be equal;
where PyYAML refuses a document, it must not answer.
"""

from __future__ import annotations

import math
import os
import random

import pytest
import yaml

from llmdata import resources
from llmdata.catalog import fast_yaml
from llmdata.catalog import yaml_positions
from llmdata.catalog.yaml_positions import load_yaml


def fast_load(text: str):
    return fast_yaml.fast_load(text, max_depth=yaml_positions.MAX_DEPTH, scalar_tags=yaml_positions._SCALAR_TAGS)

pytest.importorskip("ryml")

SCALARS = [
    "yes", "No", "on", "OFF", "y", "n", "true", "True", "TRUE", "false", "null", "Null", "NULL", "~", "",
    "0", "-0", "+0", "012", "0o12", "0x1F", "0b101", "1_000", "1:20", "190:20:30", "1.5", ".5", "5.", "-.5",
    "1e3", "1.0e3", "1.0e+3", "1.5E-3", "+1.5e3", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "nan", "inf",
    "Infinity", "NaN", "2024-01-01", "2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "2001-12-14t21:59:43.10-05:00",
    "12:30", "0.1.2", "v1.0", "1,000", "$100", "-", "--", "a-b", "=", "<<", "1e", "0x", "12abc",
    "https://x.org/a?b=1#c", "a: b", "a #b", "a#b", '"q"', "'s'", "it's", "é", "中文", "  lead", "trail  ",
    "x\ty", "line1\nline2", "a\\b", "snake_case", "2024", "9999999999999999999999", "-1234567890123",
    "0.000001", "3.14159265358979323846", "1__0", "0_1", "+", ".", "...", "@x", "`x", "%x", "!x", "&x", "*x",
    "?x", "a?b", "|x", ">x", "a|b", "a>b", "-x", ":x", ",x", "#x", "x:", "Q & A", "5 * 3", "[a]", "{b}", "\u3000全角", "zero\u200dwidth",
]


def _same(got, expected) -> bool:
    """Equal values of equal types all the way down (NaN equals NaN)."""
    if type(got) is not type(expected):
        return False
    if isinstance(got, dict):
        return list(got) == list(expected) and all(_same(got[k], expected[k]) for k in got)
    if isinstance(got, list):
        return len(got) == len(expected) and all(_same(a, b) for a, b in zip(got, expected))
    if isinstance(got, float) and math.isnan(got):
        return math.isnan(expected)
    return got == expected


def _agrees(doc: str) -> bool | None:
    """True when the fast parse equals PyYAML (data and entry positions), None when it stepped aside."""
    result = fast_load(doc)
    try:
        full = load_yaml(doc)
    except Exception:  # noqa: BLE001 - PyYAML refuses it: the fast path must have stepped aside
        assert result is None, f"fast path accepted what PyYAML refuses: {doc!r}"
        return None
    if result is None:
        return None
    data, root, starts = result
    assert _same(data, full.data), doc  # (load_yaml's data is yaml.safe_load's: tests/test_validate.py)
    assert root == full.positions[()], doc
    assert starts == [full.positions[(i,)] for i in range(len(data))], doc
    return True


def _forms(text: str) -> list[str]:
    return [text, "'" + text.replace("'", "''") + "'", yaml.safe_dump(text, default_style='"').strip()]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_plain_and_quoted_equal_pyyaml(scalar):
    for form in _forms(scalar):
        for template in ("- id: x\n  v: {}\n", "- id: x\n  l: [{}, z]\n", "- {}\n", "- id: x\n  m:\n    - {}\n"):
            _agrees(template.format(form))


def test_common_values_take_the_fast_path():
    doc = ("- id: a\n  name: \"Quoted: name\"\n  n: 12\n  f: 1.5\n  ok: true\n  none: null\n  empty:\n"
           "  t: 'single ''quoted'''\n  when: 2024-01-01\n  flag: yes\n  s: '2024-01-01'\n  hex: 0x1f\n"
           "  tags: [a, 'b', \"c\"]\n  text: |\n    two\n    lines\n  folded: >-\n    one\n    line\n"
           "-\n  id: b   # a comment\n  # and one more\n  zh: 中文摘要，包括标点。\n")
    assert _agrees(doc)
    data = fast_load(doc)[0]
    assert data[0]["when"] == yaml.safe_load("d: 2024-01-01")["d"] and data[0]["flag"] is True
    assert data[0]["s"] == "2024-01-01" and data[0]["hex"] == 31 and data[0]["empty"] is None


STRUCTURES = [
    "- a: [x,\n    y, z]\n  b: {c: d,\n    e: f}\n", "- a: [x, y,]\n", "- a: []\n  b: {}\n",
    "- a: |\n    line1\n    line2\n  b: x\n", "- a: |-\n    line1\n\n  b: x\n", "- a: |+\n    line1\n\n  b: x\n",
    "- a: >\n    folded\n    text\n\n    para\n  b: x\n", "- a: >-\n    folded\n     more\n    back\n",
    "- a: |2\n     two\n    x\n", "- a: plain\n    continued\n\n    para\n",
    "- a: \"dq\n    continued\n\n    para \\\n    escaped\"\n", "- a: 'sq ''x''\n    cont'\n",
    "# comment\n- a: 1 # trailing\n  # inner\n  b: 2\n", "---\n- a: 1\n...\n", "--- # c\n- a: 1\n",
    "- \"quoted key\": 1\n  'sq key': 2\n  key with spaces: 3\n", "- a: 1\r\n  b: [x, y]\r\n",
    "-\n  a: 1\n-   b: 2\n- # c\n  c: 3\n", "- - a\n  - b\n- - c\n", "- a:\n  - x\n  - y\n  b:\n    - z\n",
    "- a: [x, [y, [z]]]\n", "- a: {b: {c: {d: e}}}\n", "- a: x\n\n\n- b: y\n", "- a: 1\n  b: >+\n    keep\n\n\n",
    "- a: |\n    no newline at end", "- {a: 1, b: [x, y]}\n", "- a: x  \n  b: y\t\n",
    # PyYAML refuses these; rapidyaml accepts some of them
    "- a: - x\n", "- a: x: y\n", "- a: 'x'y\n", "- a: b\n c: d\n", "- a: [b\n", "- a: {b\n", "- a: \"open\n",
    "- a: @x\n", "- a: `x\n", "- a: x\n  - b\n", "- a: \"\\q\"\n", "- a: [https://x.org/?q=1, b]\n",
    "- a: |\n  bad\n", "- a: \"x\" y\n", "- a: x\n    y: z\n", "%YAML 1.1\n---\n- a\n", "- a: 1\n---\n- b\n",
    "- [a, b]: c\n", "- a: x\n  ? b\n  : c\n", "- a: [x :y]\n", "- a: [x : y]\n", "- a: {x :y}\n",
    "- a: [:x, z]\n", "- a: [x:, z]\n", "- a: [x,:y]\n", "- a: {x: y:z}\n", "- a: [\"x\":y]\n", "- a: {x}\n", "- a: \x07\n", "- a: \"\x85\"\n", "- a: b\u2028c\n",
]


@pytest.mark.parametrize("doc", STRUCTURES)
def test_structures_equal_pyyaml_or_step_aside(doc):
    _agrees(doc)


@pytest.mark.parametrize("doc", ["- a: 1\n  a: 2\n", "- {a: 1, a: 2}\n", "- a: &x 1\n  b: *x\n", "- a: !!str 1\n",
                                 "- <<: {a: 1}\n  b: 2\n", "- 1: a\n", "a: 1\n", "", "# nothing\n",
                                 "- a: " + "[" * 60 + "]" * 60 + "\n"])
def test_what_only_the_exact_parse_may_answer(doc):
    """Duplicate keys, anchors, tags, merge keys, typed keys, a mapping at the top, nothing, deep nesting."""
    assert fast_load(doc) is None


STYLES = [{"allow_unicode": True, "sort_keys": False, "width": 4096}, {"sort_keys": False},
          {"allow_unicode": True, "width": 30}, {"default_flow_style": None, "allow_unicode": True},
          {"default_style": '"', "allow_unicode": True}]


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_builtin_catalog_in_several_styles_equals_pyyaml(style):
    entries = yaml.load(resources.builtin_catalog().read_text("utf-8"), Loader=yaml.CSafeLoader)

    class NoAliases(yaml.CSafeDumper):
        def ignore_aliases(self, data):
            return True

    agrees = _agrees(yaml.dump(entries, Dumper=NoAliases, **STYLES[style]))
    if style < 2:  # block style without anchors: every value of the built-in catalog takes the fast path
        assert agrees


def test_builtin_catalog_as_shipped_loads_the_same():
    text = resources.builtin_catalog().read_text("utf-8")
    assert load_yaml(text, positions_depth=1).data == yaml.load(text, Loader=yaml.CSafeLoader)


def test_synthetic_catalog_equals_pyyaml():
    entry = ("- id: synth-{i}\n  name: Synthetic dataset {i}\n  summary:\n    en: A synthetic dataset number {i}.\n"
             "    zh: 第{i}个合成数据集。\n  category: sft\n  domains: [general]\n  languages: [zh]\n"
             "  license: mit\n  commercial: {c}\n  size: {{records: {i}}}\n  sources:\n    - kind: url\n"
             "      url: https://example.org/synth/{i}.jsonl\n")
    doc = "".join(entry.format(i=i, c=("true", "false", "null")[i % 3]) for i in range(300))
    assert _agrees(doc)


def test_seeded_random_documents_equal_pyyaml():
    rng = random.Random(16)
    pool = [*SCALARS, 12, -3, 0, 1.5, 1e20, True, False, None, "long " * 30, "多行\n文本\n", "trailing\n\n", " x "]

    def value(depth: int = 0):
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return rng.choice(pool)
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(["id", "name", "a", "b", "long key", "k-1", "yes", "12"]): value(depth + 1)
                for _ in range(rng.randint(0, 4))}

    styles = [{}, {"default_flow_style": True}, {"default_style": '"'}, {"default_style": "'"}, {"width": 20},
              {"allow_unicode": True}, {"allow_unicode": True, "width": 15}, {"default_style": "|"}]
    answered = 0
    for n in range(600):
        doc = yaml.safe_dump([{"id": f"e{n}", "v": value()} for _ in range(rng.randint(1, 3))], **rng.choice(styles))
        answered += bool(_agrees(doc))
    assert answered > 250  # most documents take the fast path, so the comparison means something


def test_rapidyaml_messages_stay_off_stderr_and_others_pass(capfd):
    assert fast_load("- a: [b\n") is None and fast_load("- a: " + "[" * 70 + "]" * 70 + "\n") is None
    with fast_yaml._StderrAside():
        os.write(2, b"a line of our own\n")
    err = capfd.readouterr().err
    assert err == "a line of our own\n"


def test_without_rapidyaml_the_exact_parse_answers(monkeypatch):
    monkeypatch.setattr(fast_yaml, "_ryml", lambda: None)
    doc = "- id: a\n  v: yes\n"
    assert fast_load(doc) is None
    assert load_yaml(doc, positions_depth=1).data == [{"id": "a", "v": True}]
