"""Tokenization shared by the index and the query, so both agree on what a word is.

SQLite's ``unicode61`` tokenizer treats a run of Han characters as one token,
and ``trigram`` cannot match queries shorter than three characters, so
neither finds 医疗 inside 中文医疗对话数据. We pre-tokenize instead, the way
CJK analyzers in search engines do: Latin text becomes lowercase words, Han
(and kana/hangul) text becomes overlapping character bigrams; a lone
character stays a unigram. The FTS5 table then sees space-separated tokens.

A query is tokenized the same way; a CJK run of length >= 2 must match all of
its bigrams, a single CJK character matches as a prefix of any bigram.
"""

from __future__ import annotations

import re
import unicodedata

# Han ideographs (incl. extension A and compatibility), kana, hangul.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_SEGMENT = re.compile(rf"([{_CJK}]+)|([^\W_]+)", re.UNICODE)


def _normalize(text: str) -> str:
    # NFKC folds full-width Latin (ＧＰＴ) and digits to ASCII; casefold for case.
    return unicodedata.normalize("NFKC", text).casefold()


def segments(text: str) -> list[tuple[str, bool]]:
    """Split text into (segment, is_cjk) runs, dropping punctuation and spaces."""
    out = []
    for m in _SEGMENT.finditer(_normalize(text)):
        if m.group(1):
            out.append((m.group(1), True))
        else:
            out.append((m.group(2), False))
    return out


def cjk_grams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_tokens(text: str) -> str:
    """The token string stored in the FTS table for ``text`` (``segments`` and ``cjk_grams`` inlined: this
    runs four times per entry when the index is built)."""
    tokens: list[str] = []
    for cjk, word in _SEGMENT.findall(_normalize(text)):
        if word:
            tokens.append(word)
        elif len(cjk) < 3:
            tokens.append(cjk)
        else:
            tokens += [cjk[i : i + 2] for i in range(len(cjk) - 1)]
    return " ".join(tokens)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def query_terms(query: str) -> list[str]:
    """FTS5 sub-expressions, one per query word; the caller joins them with AND or OR."""
    terms: list[str] = []
    for seg, is_cjk in segments(query):
        if is_cjk:
            if len(seg) == 1:
                terms.append(_quote(seg) + "*")
            else:
                grams = cjk_grams(seg)
                terms.append("(" + " AND ".join(_quote(g) for g in grams) + ")" if len(grams) > 1 else _quote(grams[0]))
        else:
            terms.append(_quote(seg) + "*")
    return terms


def exact_key(text: str) -> str:
    """``text`` as its search segments joined by spaces: equal keys mean "the query *is* this id or name"."""
    return " ".join(seg for seg, _ in segments(text))
