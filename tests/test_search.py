"""Search over the built-in catalog: Chinese and English words, ranking, filters, JSON output."""

from __future__ import annotations

import pytest

import llmdata
from llmdata.errors import UnknownDatasetError, UsageError
from llmdata.index.tokens import fts_text, index_tokens, query_terms


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def _one_index_for_the_module(clean_env, shared_home, monkeypatch):
    """These tests only read the built-in catalog: build its index once."""
    monkeypatch.setenv("LLMDATA_HOME", str(shared_home))


def ids(hits):
    return [h["id"] for h in hits]


def test_tokens_make_two_character_chinese_words_searchable():
    assert index_tokens("中文医疗对话") == "中文 文医 医疗 疗对 对话"
    assert index_tokens("ＧＰＴ-4 Medical") == "gpt 4 medical"
    assert query_terms("医疗 data") == ['"医疗"', '"data"*']
    assert query_terms("医") == ['"医"*']
    assert index_tokens("ChatGPT生成的中文数据") == "chatgpt 生成 成的 的中 中文 文数 数据"  # Latin and Han apart


def test_stored_text_reads_as_the_tokens_in_sqlite():
    """``fts_text`` leaves splitting and lowercasing to SQLite: its tokenizer must see ``index_tokens``."""
    import sqlite3

    import yaml

    from llmdata import resources

    texts = ["ＧＰＴ-4 Medical", "alpaca gpt-4 中文alpaca", "7万条 (Chinese)", "x中y", "中", "Straße ÉCOLE café",
             "snake_case-and.dots", "émoji 😀 ok", "한국어 텍스트", "かなカナ混じり", "1,000 条", ""]
    for entry in yaml.load(resources.builtin_catalog().read_text("utf-8"), Loader=yaml.CSafeLoader):
        texts += [entry["name"], entry["summary"]["en"], entry["summary"]["zh"], entry.get("notes") or "",
                  " ".join(entry.get("tags", []))]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", [(i + 1, fts_text(text)) for i, text in enumerate(texts)])
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)",
                     [(-(i + 1), index_tokens(text)) for i, text in enumerate(texts)])
    seen: dict[int, list[str]] = {}
    for term, doc in conn.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
        seen.setdefault(doc, []).append(term)
    assert len(seen) > len(texts)  # most texts have tokens: the comparison means something
    for i, text in enumerate(texts):
        assert seen.get(i + 1) == seen.get(-(i + 1)), text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("医疗", {"chinese-medical-dialogue-data", "chatmed-consult", "huatuo26m-lite", "shibing624-medical"}),
        ("数学", {"gsm8k", "ape210k", "competition-math"}),
        ("代码", {"code-alpaca-20k", "humaneval", "mbpp"}),
        ("法律", {"cmmlu"}),
        ("检索", {"t2ranking", "dureader-retrieval", "msmarco-passage"}),
    ],
)
def test_two_character_chinese_queries(query, expected):
    found = set(ids(llmdata.search(query, limit=None)))
    assert expected <= found


def test_chinese_query_does_not_match_unrelated_entries():
    found = ids(llmdata.search("医疗", limit=None))
    assert "gsm8k" not in found and "slimpajama-627b" not in found


def test_mixed_chinese_english_query_requires_both_words():
    found = ids(llmdata.search("医疗 chatmed", limit=None))
    assert found[:2] == ["chatmed-consult", "chatmed-consult-test"] or set(found[:2]) == {
        "chatmed-consult", "chatmed-consult-test"}
    assert "huatuo26m-lite" not in found


def test_english_query_ranks_name_matches_first():
    hits = llmdata.search("alpaca", limit=None)
    in_name = ["alpaca" in (h["name"] + h["id"]).lower() for h in hits]
    assert {"stanford-alpaca", "code-alpaca-20k", "alpaca-gpt4-zh"} <= set(ids(hits))
    assert "belle-train-0.5m-cn" in ids(hits)  # mentions the Alpaca recipe in its summary only
    # every entry named after the word outranks every entry that only mentions it
    assert in_name == sorted(in_name, reverse=True)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_exact_id_is_first():
    assert ids(llmdata.search("gsm8k"))[0] == "gsm8k"
    assert ids(llmdata.search("hh-rlhf"))[0] == "hh-rlhf"


def test_prefix_match_on_english_words():
    assert "humaneval" in ids(llmdata.search("humaneva"))


def test_all_words_then_any_word_fallback():
    # No entry mentions both; the fallback still returns entries with either word.
    found = set(ids(llmdata.search("zhihu humaneval", limit=None)))
    assert {"zhihu-rlhf-3k", "humaneval"} <= found


def test_category_and_lang_filters():
    hits = llmdata.search(category="preference", lang="zh", limit=None)
    assert hits and all(
        ("preference" == h["category"] or "preference" in h.get("also", []))
        and any(lang.startswith("zh") for lang in h["languages"]) for h in hits
    )
    assert "zhihu-rlhf-3k" in ids(hits) and "hh-rlhf" not in ids(hits)


def test_lang_zh_includes_traditional_chinese_and_accepts_aliases():
    assert "drcd" in ids(llmdata.search(lang="zh", limit=None))
    assert ids(llmdata.search(lang="中文", limit=None)) == ids(llmdata.search(lang="zh", limit=None))
    assert "drcd" not in ids(llmdata.search(lang="en", limit=None))


def test_domain_license_commercial_access_host_filters():
    medical = llmdata.search(domain="医疗", limit=None)
    assert medical and all("medical" in h["domains"] for h in medical)
    assert all(h["license"].startswith("cc-by") for h in llmdata.search(license="cc-by-*", limit=None))
    assert all(h["commercial"] is True for h in llmdata.search(commercial=True, limit=None))
    assert ids(llmdata.search(access="manual", limit=None)) >= ["wudaocorpora"] or "wudaocorpora" in ids(
        llmdata.search(access="manual", limit=None))
    hf_only = llmdata.search(host_kind="hf", limit=None)
    assert hf_only and all(any(s["kind"] == "hf" for s in h["sources"]) for h in hf_only)


def test_filters_combine_with_query():
    hits = llmdata.search("medical", commercial=True, limit=None)
    assert hits and all(h["commercial"] is True and "medical" in h["domains"] for h in hits)
    assert "chatmed-consult" not in ids(hits)  # licence unknown


def test_bad_filter_values_are_usage_errors():
    with pytest.raises(UsageError, match="domain, not a category"):
        llmdata.search(category="medical")
    with pytest.raises(UsageError, match="did you mean 'preference'"):
        llmdata.search(category="preferance")
    with pytest.raises(UsageError):
        llmdata.search(access="private")


def test_info_and_did_you_mean():
    card = llmdata.info("gsm8k")
    assert card["license"] == "mit" and card["sources"][0]["kind"] == "github"
    with pytest.raises(UnknownDatasetError) as exc:
        llmdata.info("gsm8")
    assert "gsm8k" in exc.value.suggestions
    with pytest.raises(KeyError):  # also a KeyError for Python callers
        llmdata.info("belle-0.5m")


def test_cli_search_json_and_table(cli):
    result = cli("search", "医疗", "--lang", "zh", "--json")
    assert result.code == 0
    data = result.json()
    assert data and {"id", "name", "summary", "license", "commercial", "sources", "score"} <= set(data[0])

    table = cli("search", "数学")
    assert table.code == 0 and "gsm8k" in table.out and "简介" in table.out


def test_cli_search_no_match_and_bad_usage(cli):
    result = cli("search", "zzzzqqq")
    assert result.code == 0 and "no dataset matches" in result.err
    bad = cli("search", "--category", "medical")
    assert bad.code == 2 and "--domain medical" in bad.err


def test_cli_info(cli):
    result = cli("info", "hh-rlhf")
    assert result.code == 0 and "Anthropic HH-RLHF" in result.out and "354e5c3c" in result.out
    as_json = cli("info", "hh-rlhf", "--json")
    assert as_json.json()["id"] == "hh-rlhf"
    unknown = cli("info", "hh-rlfh")
    assert unknown.code == 2 and "did you mean" in unknown.err and "hh-rlhf" in unknown.err
