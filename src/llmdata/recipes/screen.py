"""Dedup and decontamination of a streamed mixture, with a few tens of bytes per row in memory.

One pass reads the mixture's text columns batch by batch and keeps, per row,
only the 16-byte hash of its exact-dedup key and whether it has tokens; its
MinHash band keys go to files (:class:`.dedup.NearFinder`), and the rows that
share an n-gram with a benchmark (normally a handful) are noted by number.
Each row is canonicalized and tokenized once; the tokens feed both the MinHash
shingles and the benchmark n-grams. The decisions then run on those arrays, in the order a
build has always applied them: exact dedup over all rows, near dedup over the
rows exact dedup kept (a second read of only the near-duplicate candidates),
decontamination over the rows both kept. Which rows go, who lost rows to whom
and the per-benchmark counts are the same as deciding on the rows in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import dedup, decontam
from .mixture import Mixture
from .spec import Recipe
from .text import row_key_tokens, text_columns, token_hashes, window_hashes


@dataclass
class Screened:
    """What dedup and decontamination decided, per mixture position, and the tallies the report shows."""

    keep: object  # bool array
    exact_lost: Counter = field(default_factory=Counter)  # (loser source, winner source) -> rows
    near_lost: Counter = field(default_factory=Counter)
    flagged: dict = field(default_factory=dict)  # live row -> the benchmarks it shares an n-gram with
    per_bench: Counter = field(default_factory=Counter)  # benchmark -> rows, (source, benchmark) -> rows
    contaminated: Counter = field(default_factory=Counter)  # source -> rows flagged


def _tokens(batch, fmt: str) -> tuple[list[str], list[list[str]]]:
    pairs = [row_key_tokens(row, fmt) for row in batch.to_pylist()]
    return [k for k, _ in pairs], [t for _, t in pairs]


def _tally(pairs: Counter, mixture: Mixture, losers, winners) -> None:
    """Add (loser source, winner source) -> rows for mixture positions ``losers`` and ``winners``."""
    import numpy as np

    parts = len(mixture.parts)
    codes, counts = np.unique(mixture.part_of(losers) * parts + mixture.part_of(winners), return_counts=True)
    for code, count in zip(codes.tolist(), counts.tolist()):
        pairs[(mixture.parts[code // parts].source, mixture.parts[code % parts].source)] += count


def screen(mixture: Mixture, fmt: str, recipe: Recipe, bench: decontam.Benchmarks | None, directory: Path) -> Screened:
    """Run exact dedup, near dedup and decontamination as ``recipe`` asks; spill files go under ``directory``."""
    import numpy as np

    n = mixture.rows
    result = Screened(keep=np.ones(n, dtype=bool))
    digests = np.zeros((n, 2), dtype=np.uint64) if recipe.exact_dedup else None
    finder = dedup.NearFinder(recipe.near_dup, recipe.seed, directory) if recipe.near_dup is not None else None
    if digests is None and finder is None and bench is None:
        return result
    found: dict[int, tuple[str, ...]] = {}  # row -> benchmarks, before dedup
    for positions, batch in mixture.batches(columns=text_columns(fmt)):
        keys, toks = _tokens(batch, fmt)
        if digests is not None:
            digests[positions] = dedup.key_digests(keys)
        flat, offsets = token_hashes(toks)
        if finder is not None:
            finder.add(flat, offsets)
        if bench is not None:
            for r, names in decontam.lookup(*window_hashes(flat, offsets, recipe.decontam.ngram), bench).items():
                found[int(positions[r])] = names
    keep = result.keep
    if digests is not None:
        losers, winners = dedup.exact_pairs(digests)
        del digests
        keep[losers] = False
        _tally(result.exact_lost, mixture, losers, winners)
    if finder is not None:
        flagged = finder.candidates(keep)
        partner = finder.partners(token_hashes(_tokens(batch, fmt)[1]) for _, batch in
                                  mixture.batches(columns=text_columns(fmt), positions=flagged))
        losers = np.flatnonzero(partner >= 0)
        keep[flagged[losers]] = False
        _tally(result.near_lost, mixture, flagged[losers], flagged[partner[losers]])
    if bench is not None:  # only rows both dedup steps kept are checked
        hits = sorted((i, names) for i, names in found.items() if keep[i])
        rows = [i for i, _ in hits]
        sources = dict(zip(rows, (mixture.parts[k].source for k in mixture.part_of(rows).tolist())))
        result.flagged, result.per_bench = decontam.tally_contamination(hits, sources, keep, recipe.decontam.action)
        result.contaminated = Counter(sources[i] for i in result.flagged)
    return result
