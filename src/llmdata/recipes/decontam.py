"""Decontamination: training rows that share an n-gram with a benchmark's questions or answers.

The benchmark side becomes one sorted array of 64-bit n-gram hashes (13 tokens
by default, as lm-evaluation-harness and the GPT-3 paper use), with the
benchmark each hash came from. Training rows are tokenized in batches, their
n-gram hashes looked up with one ``searchsorted``; a row is contaminated by
every benchmark it shares at least one n-gram with. Benchmark items shorter
than n tokens cannot be matched this way; they are counted and reported.

Most training n-grams are in no benchmark, so a table of one byte per slot
(addressed by a hash's top bits, about 16 slots per benchmark hash, at most
32 MiB) answers "certainly not" for nearly all of them before the binary
search. Memory depends on the benchmarks' size, never on the training rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .text import benchmark_texts, tokens, token_hashes, window_hashes

BATCH = 50_000


@dataclass
class Benchmarks:
    names: list[str]
    hashes: object  # sorted uint64 array
    owner: object  # int array: index into names per hash
    items: Counter = field(default_factory=Counter)  # benchmark -> items read
    too_short: Counter = field(default_factory=Counter)  # benchmark -> items shorter than n tokens
    present: object = None  # bool array: True at slot ``hash >> shift`` for every benchmark hash
    shift: int = 64


def index_benchmarks(tables: dict[str, list[tuple[list[dict], str]]], n: int) -> Benchmarks:
    """``tables``: benchmark id -> [(rows, format)]; every question/answer text becomes n-gram hashes."""
    import numpy as np

    names = sorted(tables)
    all_hashes, all_owner = [], []
    bench = Benchmarks(names, None, None)
    for k, name in enumerate(names):
        found, texts = [], []
        for rows, fmt in tables[name]:
            for row in rows:
                item = [tokens(t) for t in benchmark_texts(row, fmt)]
                bench.items[name] += 1
                if not any(len(t) >= n for t in item):
                    bench.too_short[name] += 1
                texts += item
                if len(texts) >= BATCH // 10:  # a few thousand texts hashed at a time
                    found.append(np.unique(window_hashes(*token_hashes(texts), n)[0]))
                    texts = []
        found.append(window_hashes(*token_hashes(texts), n)[0])
        hashes = np.unique(np.concatenate(found))
        all_hashes.append(hashes)
        all_owner.append(np.full(len(hashes), k, dtype=np.int32))
    hashes = np.concatenate(all_hashes) if all_hashes else np.zeros(0, dtype=np.uint64)
    owner = np.concatenate(all_owner) if all_owner else np.zeros(0, dtype=np.int32)
    order = np.argsort(hashes, kind="stable")
    bench.hashes, bench.owner = hashes[order], owner[order]
    bits = min(25, max(10, int(np.ceil(np.log2(max(1, len(hashes)) * 16)))))
    bench.shift = 64 - bits
    bench.present = np.zeros(1 << bits, dtype=bool)
    bench.present[bench.hashes >> np.uint64(bench.shift)] = True
    return bench


def lookup(hashes, rows, bench: Benchmarks) -> dict[int, tuple[str, ...]]:
    """Rows (of ``window_hashes``' output) that share an n-gram hash with a benchmark: row -> benchmark names."""
    import numpy as np

    if not len(bench.hashes) or not len(hashes):
        return {}
    if bench.present is not None:
        maybe = bench.present[hashes >> np.uint64(bench.shift)]
        hashes, rows = hashes[maybe], rows[maybe]
    pos = np.searchsorted(bench.hashes, hashes)
    pos[pos == len(bench.hashes)] = 0
    hit = bench.hashes[pos] == hashes
    if not hit.any():
        return {}
    by_row: dict[int, set[str]] = {}
    for r, p in zip(rows[hit].tolist(), pos[hit].tolist()):
        # the same hash may belong to several benchmarks: walk the run of equal hashes
        q = p
        while q < len(bench.hashes) and bench.hashes[q] == bench.hashes[p]:
            by_row.setdefault(r, set()).add(bench.names[int(bench.owner[q])])
            q += 1
    return {r: tuple(sorted(names)) for r, names in by_row.items()}


def scan(texts: list[str], bench: Benchmarks, n: int) -> list[tuple[str, ...]]:
    """For each training text, the benchmarks it shares an n-gram with (empty tuple: clean)."""
    found: list[tuple[str, ...]] = [()] * len(texts)
    if not len(bench.hashes):
        return found
    for start in range(0, len(texts), BATCH):
        flat, offsets = token_hashes([tokens(t) for t in texts[start: start + BATCH]])
        for r, names in lookup(*window_hashes(flat, offsets, n), bench).items():
            found[start + r] = names
    return found


def tally_contamination(hits, sources, keep: list[bool], action: str) -> tuple[dict, Counter]:
    """``hits``: (row, benchmarks it shares an n-gram with) of the rows still kept, in mixture order.
    Returns the flagged rows and rows per benchmark and per (source, benchmark); ``drop`` unkeeps them."""
    flagged: dict[int, tuple[str, ...]] = {}
    per_bench: Counter = Counter()
    for i, names in hits:
        if names:
            flagged[i] = names
            per_bench.update(names)
            for name in names:
                per_bench[(sources[i], name)] += 1
            if action == "drop":
                keep[i] = False
    return flagged, per_bench
