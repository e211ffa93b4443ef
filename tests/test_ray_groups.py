"""The Ray build's grouping steps against the local dedup, on a few thousand rows (no Ray needed).

Each step is what one ``map_groups`` call gets: here the buckets are split by
hand, so the numpy work each bucket does is checked on far more (and nastier)
rows than the end-to-end Ray tests afford: chains of near copies, short and
empty texts, copies the exact pass already removed, several bucket counts.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from llmdata.ray_engine import features, groups
from llmdata.recipes import dedup
from llmdata.recipes.spec import NearDup


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(400)] + list("数据模型训练评测中文句子")
    texts: list[str] = []
    for i in range(n):
        roll = rng.random()
        if texts and roll < 0.35:  # a near copy of an earlier row (often of another copy)
            words = rng.choice(texts).split() or ["x"]
            for _ in range(rng.choice([1, 1, 2, 3, 6])):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            texts.append(" ".join(words))
        elif texts and roll < 0.42:
            texts.append(rng.choice(texts))  # an exact copy
        elif roll < 0.45:
            texts.append(rng.choice(["", "ok", "a b", "!!", "数据"]))  # empty or shorter than a shingle
        else:
            texts.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 60))))
    return texts


def _grouped(table, fn, **kwargs):
    """``groupby("bucket").map_groups(fn)``, by hand."""
    buckets = table.column("bucket").to_numpy()
    return pa.concat_tables([fn(table.filter(pa.array(buckets == b)), **kwargs) for b in np.unique(buckets)])


def _near_by_groups(texts: list[str], keep: list[bool], cfg: NearDup, seed: int, buckets: int) -> dict:
    n = len(texts)
    table = pa.table({"pos": pa.array(np.arange(n), type=pa.int64()), **features.signature_columns(texts, cfg, seed)})
    _, rows = dedup.lsh_params(cfg.threshold, cfg.num_perm)
    exploded = groups.explode(table, rows, cfg.num_perm, buckets, np.asarray(keep))
    members = _grouped(exploded, groups.members_group, rows=rows).column("pos").to_numpy()
    flagged = np.zeros(n, dtype=bool)
    flagged[members] = True
    narrow = groups.explode(table, dedup.SECOND_PASS_ROWS, cfg.num_perm, buckets, flagged)
    pairs = _grouped(narrow, groups.pairs_group, rows=dedup.SECOND_PASS_ROWS)
    sigs = groups.side(table.select(["pos", "sig"]).filter(pa.array(flagged)), "pos", buckets, cfg.num_perm)

    def joined(left, by, fn, **kwargs):
        side = groups.side(left, by, buckets, cfg.num_perm)
        return _grouped(pa.concat_tables([side, sigs.cast(side.schema)]), fn, num_perm=cfg.num_perm, **kwargs)

    attached = joined(pairs, "other", groups.attach_group)
    similar = joined(attached, "pos", groups.compare_group, threshold=cfg.threshold)
    losers, winners = features.earliest_partners(similar.column("pos").to_numpy(), similar.column("other").to_numpy())
    return dict(zip(losers.tolist(), winners.tolist()))


@pytest.mark.parametrize("cfg,buckets", [(NearDup(), 1), (NearDup(), 3), (NearDup(0.6, 64, 2), 4),
                                         (NearDup(0.9, 100, 5), 2)])
def test_near_duplicates_by_buckets_are_the_local_engines(cfg, buckets):
    texts = _texts(2500, seed=buckets)
    keep = [random.Random(7).random() > 0.05 for _ in texts]  # rows an exact pass already removed
    local = dedup.near(texts, ["s"] * len(texts), keep, cfg, seed=5)
    assert len(local.partner) > 150  # plenty of near copies, so the comparison means something
    assert _near_by_groups(texts, keep, cfg, 5, buckets) == local.partner


def test_exact_duplicates_by_buckets_are_the_local_engines():
    texts = _texts(3000, seed=11)
    digests = np.frombuffer(b"".join(dedup.key_digest(t) for t in texts), dtype=np.uint64)
    table = pa.table({"pos": pa.array(np.arange(len(texts)), type=pa.int64()),
                      "k0": pa.array(digests[0::2]), "k1": pa.array(digests[1::2])})
    found = _grouped(groups.with_key_bucket(table, 3), groups.exact_group)
    local = dedup.exact(texts, ["s"] * len(texts))
    assert len(local.partner) > 100
    assert dict(zip(found.column("pos").to_pylist(), found.column("other").to_pylist())) == local.partner
