"""Exact and near-duplicate removal across the whole mixture, with who lost rows to whom.

Rows are in mixture order (recipe order, then row order); of duplicates the
first is kept, so the report can say "belle lost 12 rows to alpaca-zh".

* exact: a 128-bit BLAKE2 hash of the canonical conversation (``text.row_key``);
  sorting the hashes groups equal rows, and the first row of a group is kept.
* near: MinHash signatures from ``rensa`` (Rust) over token shingles, cut into
  LSH bands (the split datasketch's rule picks). Each band becomes one 64-bit
  key per row, written to a file (:mod:`.spill`); a row is a candidate when
  another live row has its key in some band, found by sorting one band at a
  time. Only candidates are looked at closely: their signatures, in narrow
  bands of 4 values, name for each band the earliest candidate with the same
  values, and a row is a duplicate of the first of those (in mixture order)
  whose estimated Jaccard similarity reaches the threshold.

Memory per row: the 16-byte hash for exact dedup and one byte for near dedup
(whether the row has tokens), plus a few arrays of 8 bytes per row while one
band is sorted. Band keys and candidates' signatures stay in files.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .spec import NearDup
from .spill import Columns
from .text import tokens, token_hashes, window_hashes

BATCH = 50_000  # texts tokenized at once by the list functions exact/near
SIGNATURE_ROWS = 1024  # rows per rensa digest matrix: its to_rows() lists cost ~5 KB a row while they live
SECOND_PASS_ROWS = 4  # values per band when pairing candidates: generous recall, the Jaccard check decides


@dataclass
class DedupResult:
    keep: list[bool]
    lost: Counter = field(default_factory=Counter)  # (loser source, winner source) -> rows
    partner: dict = field(default_factory=dict)  # dropped row -> the row it duplicates


def key_digest(key: str) -> bytes:
    """The 16 bytes exact duplicates share (of ``text.row_key``)."""
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


def key_digests(keys: list[str]):
    """:func:`key_digest` of each key, as an (n, 2) uint64 array."""
    import numpy as np

    return np.frombuffer(b"".join(map(key_digest, keys)), dtype=np.uint64).reshape(len(keys), 2)


def group_first(columns: list):
    """Rows keyed by equal-length integer ``columns``: for each row, the first row with the same key, and how
    many rows share that key. Sorting, not hashing: memory is a few arrays of 8 bytes per row."""
    import numpy as np

    n = len(columns[0])
    order = np.lexsort(columns[::-1])  # stable: within a group, rows stay in their order
    starts_mask = np.ones(n, dtype=bool)
    if n > 1:
        differs = np.zeros(n - 1, dtype=bool)
        for column in columns:
            ordered = column[order]
            differs |= ordered[1:] != ordered[:-1]
        starts_mask[1:] = differs
    group = np.cumsum(starts_mask) - 1
    starts = np.flatnonzero(starts_mask)
    first = np.empty(n, dtype=np.int64)
    first[order] = order[starts][group]
    size = np.empty(n, dtype=np.int64)
    size[order] = np.diff(np.append(starts, n))[group]
    return first, size


def has_twin(column):
    """For each value of an integer array, whether another element equals it (sorting, ~20 bytes a row)."""
    import numpy as np

    order = np.argsort(column)
    ordered = column[order]
    equal = ordered[1:] == ordered[:-1]
    del ordered
    twin = np.zeros(len(column), dtype=bool)
    twin[1:] |= equal
    twin[:-1] |= equal
    out = np.empty(len(column), dtype=bool)
    out[order] = twin
    return out


def exact_pairs(digests):
    """Rows whose hash (of ``key_digests``) an earlier row has, and the first row with it: ``(losers,
    winners)``, ascending by loser. One sort; about 25 bytes a row while it runs."""
    import numpy as np

    n = len(digests)
    order = np.lexsort((digests[:, 1], digests[:, 0]))  # stable: the first of a group is its earliest row
    new_key = np.zeros(n, dtype=bool)
    new_key[:1] = True
    for c in range(2):
        ordered = digests[order, c]
        new_key[1:] |= ordered[1:] != ordered[:-1]
    del ordered
    starts, dup = np.flatnonzero(new_key), np.flatnonzero(~new_key)
    losers, winners = order[dup], order[starts[np.searchsorted(starts, dup, side="right") - 1]]
    ascending = np.argsort(losers)
    return losers[ascending], winners[ascending]


def exact(keys: list[str], sources: list[str]) -> DedupResult:
    losers, winners = exact_pairs(key_digests(keys))
    result = DedupResult(keep=[True] * len(keys))
    for i, j in zip(losers.tolist(), winners.tolist()):
        result.keep[i] = False
        result.lost[(sources[i], sources[j])] += 1
        result.partner[i] = j
    return result


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band that minimise false positives + false negatives (datasketch's rule), over
    the splits with bands x rows == num_perm."""
    import numpy as np

    def area(f, lo, hi):
        xs = np.linspace(lo, hi, 201)
        return float(np.trapezoid(f(xs), xs)) if hasattr(np, "trapezoid") else float(np.trapz(f(xs), xs))

    best, pick = float("inf"), (1, num_perm)
    for b in range(1, num_perm + 1):
        if num_perm % b:
            continue
        for r in (num_perm // b,):
            fp = area(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)
            fn = area(lambda s: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)
            if fp * 0.5 + fn * 0.5 < best:
                best, pick = fp * 0.5 + fn * 0.5, (b, r)
    return pick


def token_shingles(flat, offsets, cfg: NearDup):
    """Shingle hashes and row offsets (uint64, as rensa takes them) from ``text.token_hashes`` output."""
    import numpy as np

    shingles, rows = window_hashes(flat, offsets, cfg.shingle, short_rows_whole=True)
    return shingles, np.searchsorted(rows, np.arange(len(offsets))).astype(np.uint64)


def shingle_hashes(texts: list[str], cfg: NearDup):
    """Flat shingle hashes and row offsets (uint64, as rensa takes them) of a batch of texts."""
    return token_shingles(*token_hashes([tokens(t) for t in texts]), cfg)


def digests(shingles, row_offsets, cfg: NearDup, seed: int):
    import rensa

    return rensa.RMinHash.digest_matrix_from_flat_token_hashes(shingles, row_offsets, cfg.num_perm, seed)


def signatures(shingles, row_offsets, cfg: NearDup, seed: int):
    """MinHash signatures as a (rows, num_perm) uint32 array (rensa's digests, SIGNATURE_ROWS rows at a time)."""
    from array import array

    import numpy as np

    code = "I" if array("I").itemsize == 4 else "L"
    rows = len(row_offsets) - 1
    values = array(code)
    for a in range(0, rows, SIGNATURE_ROWS):
        b = min(rows, a + SIGNATURE_ROWS)
        lo, hi = int(row_offsets[a]), int(row_offsets[b])
        matrix = digests(shingles[lo:hi], row_offsets[a:b + 1] - np.uint64(lo), cfg, seed)
        for row in matrix.to_rows():
            values.extend(row)
    return np.frombuffer(values, dtype=np.uint32).reshape(rows, cfg.num_perm)


_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def band_keys(sig, bands: int):
    """One 64-bit key per LSH band and row: the band's values (two per step) folded through splitmix64's
    finalizer, a bijection, so equal bands give equal keys and unequal ones collide with odds of 2^-64."""
    import numpy as np

    rows, perms = sig.shape
    r = perms // bands
    values = sig[:, :bands * r].reshape(rows, bands, r).astype(np.uint64)
    keys = np.zeros((rows, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(0, r, 2):
            word = values[:, :, k] if k + 1 == r else values[:, :, k] | (values[:, :, k + 1] << np.uint64(32))
            z = keys ^ word
            z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
            keys = z ^ (z >> np.uint64(31))
    return keys


def _packed(sig):
    """Signatures two values to a uint64 (a zero pads an odd count), so a narrow band is whole packed columns."""
    import numpy as np

    if sig.shape[1] % 2:
        sig = np.concatenate([sig, np.zeros((sig.shape[0], 1), dtype=np.uint32)], axis=1)
    return np.ascontiguousarray(sig).view(np.uint64)


class NearFinder:
    """Near duplicates among rows added in mixture order: band keys go to files under ``directory``."""

    def __init__(self, cfg: NearDup, seed: int, directory: Path) -> None:
        self.cfg, self.seed, self.directory = cfg, seed, directory
        self.bands, _ = lsh_params(cfg.threshold, cfg.num_perm)
        self.keys = Columns(directory, "band", self.bands, "uint64")
        self.nonempty: list = []

    def add(self, flat, offsets) -> None:
        """The next rows, as ``text.token_hashes`` gives them."""
        import numpy as np

        shingles, row_offsets = token_shingles(flat, offsets, self.cfg)
        self.keys.append(band_keys(signatures(shingles, row_offsets, self.cfg, self.seed), self.bands))
        self.nonempty.append(np.diff(offsets) > 0)

    def candidates(self, alive):
        """Positions (ascending) of rows with tokens that share a band key with another row where ``alive``."""
        import numpy as np

        nonempty = np.concatenate(self.nonempty) if self.nonempty else np.zeros(0, dtype=bool)
        index = np.flatnonzero(alive)
        shared = np.zeros(len(index), dtype=bool)
        for b in range(self.bands):
            shared |= has_twin(self.keys.column(b)[index])
        self.keys.remove()
        return index[shared & nonempty[index]]

    def partners(self, batches: Iterable[tuple]):
        """For the candidates, given in order as batches of token hashes: the index of the earlier candidate
        each one duplicates, or -1."""
        import numpy as np

        cfg = self.cfg
        sigs = Columns(self.directory, "signature", (cfg.num_perm + 1) // 2, "uint64")
        for flat, offsets in batches:
            sigs.append(_packed(signatures(*token_shingles(flat, offsets, cfg), cfg, self.seed)))
        m, per_band = sigs.rows, SECOND_PASS_ROWS // 2
        pairs = np.zeros(0, dtype=np.int64)  # later * m + earlier, ascending
        for b in range(cfg.num_perm // SECOND_PASS_ROWS):
            first = group_first([sigs.column(b * per_band + j) for j in range(per_band)])[0]
            later = np.flatnonzero(first != np.arange(m))
            pairs = np.union1d(pairs, later * m + first[later])
        pos, cand = np.divmod(pairs, max(m, 1))
        equal = np.zeros(len(pairs), dtype=np.int64)
        for j in range(sigs.width):
            column = sigs.column(j)
            x = column[pos] ^ column[cand]
            equal += (x & np.uint64(0xFFFFFFFF)) == 0
            equal += (x >> np.uint64(32)) == 0
        sigs.remove()
        equal -= cfg.num_perm % 2  # the padding always agrees
        ok = equal / cfg.num_perm >= cfg.threshold
        pos, cand = pos[ok], cand[ok]
        firsts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]) if len(pos) else np.zeros(0, dtype=np.int64)
        partner = np.full(m, -1, dtype=np.int64)
        partner[pos[firsts]] = cand[firsts]  # the smallest earlier candidate that passes
        return partner


def near(texts: list[str], sources: list[str], keep: list[bool], cfg: NearDup, seed: int = 1) -> DedupResult:
    """Near duplicates among the rows still kept; returns which of those to keep and the losses."""
    import tempfile

    import numpy as np

    from ..store import layout

    alive = [i for i, k in enumerate(keep) if k]
    result = DedupResult(keep=list(keep))
    layout.tmp_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.tmp_dir(), prefix="near-") as directory:
        finder = NearFinder(cfg, seed, Path(directory))
        for start in range(0, len(alive), BATCH):
            finder.add(*token_hashes([tokens(texts[i]) for i in alive[start: start + BATCH]]))
        flagged = finder.candidates(np.ones(len(alive), dtype=bool)).tolist()
        partner = finder.partners(token_hashes([tokens(texts[alive[p]]) for p in flagged[s: s + BATCH]])
                                  for s in range(0, len(flagged), BATCH))
    for k in np.flatnonzero(partner >= 0).tolist():
        i, j = alive[flagged[k]], alive[flagged[int(partner[k])]]
        result.keep[i] = False
        result.lost[(sources[i], sources[j])] += 1
        result.partner[i] = j
    return result
