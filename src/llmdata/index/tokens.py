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
# A word is a run of letters and digits that are not CJK: "gpt4生成" is "gpt4" and 生成.
_SEGMENT = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)", re.UNICODE)
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)  # a segment of either kind, as one match


def _normalize(text: str) -> str:
    # NFKC folds full-width Latin (ＧＰＴ) and digits to ASCII; casefold for case (ASCII needs neither NFKC
    # nor more than lower()).
    if text.isascii():
        return text.lower()
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
    """The tokens of ``text`` for the full-text index, separated by spaces (the definition; see ``fts_text``)."""
    tokens: list[str] = []
    for seg, is_cjk in segments(text):
        tokens.extend(cjk_grams(seg) if is_cjk else [seg])
    return " ".join(tokens)


def fts_text(text: str) -> str:
    """What the index stores for ``text``: SQLite's ``unicode61`` tokenizer reads it as ``index_tokens(text)``.

    Building the index runs this five times per entry, so it leaves to
    SQLite what SQLite does the same way: ASCII text is stored as it is
    (``unicode61`` lowercases and splits it at every character that is not a
    letter or digit, as ``segments`` does); other text is NFKC-normalized and
    casefolded, and each CJK run is replaced by its bigrams between spaces.
    (A test checks the equivalence on the whole catalog.)
    """
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFKC", text):  # the check is ~20x faster than normalizing
        text = unicodedata.normalize("NFKC", text)
    return _CJK_RUN.sub(_grams, text.casefold())


def _grams(match: re.Match) -> str:
    run = match.group()
    return " " + (run if len(run) < 3 else " ".join([run[i : i + 2] for i in range(len(run) - 1)])) + " "


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
    return " ".join(_WORD.findall(_normalize(text)))
