"""Text of a row, its canonical form, tokens and n-gram hashes: the ground dedup and decontamination stand on.

* canonical form: NFKC, case-folded, whitespace collapsed; roles kept, so a
  question asked by the user and the same words said by the assistant differ.
* tokens: each CJK character (Han, kana, Hangul) is a token, every other run
  of letters and digits is one; punctuation is dropped. 13 tokens is then a
  13-word span in English and a 13-character span in Chinese.
* token and n-gram hashes: 64-bit xxh3 per token, n-grams combined in numpy
  over a whole batch at once (``window_hashes``), stable across processes.
"""

from __future__ import annotations

import re
import unicodedata

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN = re.compile(rf"[{CJK}]|[^\W{CJK}]+")
MESSAGE_COLUMNS = {"chat": ("messages",), "preference": ("prompt", "chosen", "rejected")}
QUESTION_COLUMNS = {"mcq": ("question", "choices"), "qa": ("question", "answer", "rationale"),
                    "code": ("prompt", "reference")}


def canonical(text: str) -> str:
    # str.split() splits on exactly the characters ``\s`` matches (str.isspace), and is several times faster
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def row_parts(row: dict, fmt: str) -> list[tuple[str, str]]:
    """(role, content) pairs of a training row; ``text`` rows are one part."""
    if fmt == "text":
        return [("text", row.get("text") or "")]
    parts = []
    for column in MESSAGE_COLUMNS[fmt]:
        for m in row.get(column) or ():
            parts.append((m["role"] if column != "rejected" else "rejected:" + m["role"], m["content"] or ""))
    return parts


def text_columns(fmt: str) -> list[str]:
    """The columns :func:`row_parts` reads (what a pass over the text needs to load)."""
    return list(MESSAGE_COLUMNS.get(fmt, ("text",)))


def row_text(row: dict, fmt: str) -> str:
    """All contents of a row joined by newlines (what filters measure and decontamination scans)."""
    return "\n".join(content for _, content in row_parts(row, fmt))


def row_key(row: dict, fmt: str) -> str:
    """The canonical conversation: exact duplicates are rows with the same key."""
    return "\x1e".join(f"{role}\x1f{canonical(content)}" for role, content in row_parts(row, fmt))


def row_key_tokens(row: dict, fmt: str) -> tuple[str, list[str]]:
    """``row_key(row)`` and ``tokens(row_text(row))`` from one canonicalization of each part.

    The same tokens as canonicalizing the joined text: parts are joined by a
    newline, which NFKC never composes with a neighbour and case folding and
    whitespace collapsing treat as whitespace, and no token spans whitespace.
    """
    parts = [(role, canonical(content)) for role, content in row_parts(row, fmt)]
    return ("\x1e".join(f"{role}\x1f{text}" for role, text in parts),
            TOKEN.findall(" ".join(text for _, text in parts)))


def benchmark_texts(row: dict, fmt: str) -> list[str]:
    """The strings of a benchmark item contamination is looked for: question (with choices), answer ..."""
    texts = []
    for column in QUESTION_COLUMNS[fmt]:
        value = row.get(column)
        if isinstance(value, list):
            value = " ".join(v for v in value if v)
        if value:
            texts.append(value)
    if fmt == "mcq" and row.get("choices"):
        texts = [f"{row.get('question') or ''} {' '.join(row['choices'])}"]
    return texts


def tokens(text: str) -> list[str]:
    return TOKEN.findall(canonical(text))


def token_hashes(token_lists: list[list[str]]):
    """Flat uint64 token hashes and row offsets (len(rows) + 1) for a batch of tokenized rows."""
    import numpy as np
    import xxhash

    h = xxhash.xxh3_64_intdigest
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((h(tok.encode()) for row in token_lists for tok in row), dtype=np.uint64,
                       count=int(offsets[-1]))
    return flat, offsets


_MULT = 0x9E3779B97F4A7C15
_MIX = 0xBF58476D1CE4E5B9


def window_hashes(flat, offsets, n: int, *, short_rows_whole: bool = False):
    """Hashes of every n-token window that lies inside one row; returns (hashes, row of each hash).

    With ``short_rows_whole`` a row shorter than ``n`` tokens contributes one hash
    of all its tokens (so a short row still has a MinHash set); otherwise none.
    """
    import numpy as np

    total = len(flat)
    lengths = np.diff(offsets)
    rows_of_token = np.repeat(np.arange(len(lengths)), lengths)
    if total >= n:
        acc = np.zeros(total - n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(n):
                acc = acc * np.uint64(_MULT) + flat[k: total - n + 1 + k]
        starts = np.arange(total - n + 1)
        valid = starts + n <= offsets[1:][rows_of_token[: total - n + 1]]
        hashes, rows = acc[valid], rows_of_token[: total - n + 1][valid]
    else:
        hashes, rows = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    if short_rows_whole:
        short = np.nonzero((lengths > 0) & (lengths < n))[0]
        if len(short):
            extra = np.zeros(len(short), dtype=np.uint64)
            with np.errstate(over="ignore"):
                for i, r in enumerate(short):
                    value = np.uint64(n)
                    for t in flat[offsets[r]: offsets[r + 1]]:
                        value = value * np.uint64(_MULT) + t
                    extra[i] = value
            order = np.argsort(np.concatenate([rows, short]), kind="stable")
            hashes = np.concatenate([hashes, extra])[order]
            rows = np.concatenate([rows, short])[order]
    with np.errstate(over="ignore"):  # a final mix, so nearby sums do not share low bits
        hashes = (hashes ^ (hashes >> np.uint64(31))) * np.uint64(_MIX)
    return hashes, rows


def script_language(text: str) -> str:
    """zh / ja / ko / en / other by the letters' scripts (a filter, not a language identifier)."""
    han = kana = hangul = latin = other = 0
    for ch in text:
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            han += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF:
            hangul += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
        elif ch.isalpha():
            other += 1
    letters = han + kana + hangul + latin + other
    if not letters:
        return "other"
    if kana and kana + han >= 0.3 * letters:
        return "ja"
    if hangul >= 0.3 * letters:
        return "ko"
    if han >= 0.3 * letters:
        return "zh"
    return "en" if latin >= 0.5 * letters else "other"
