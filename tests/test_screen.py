"""Streaming dedup + decontamination (recipes.screen) against a straightforward in-memory reference.

The reference holds every row as a Python dict and decides as the first
version of ``llmdata build`` did: a dict of exact-key hashes, rensa's own LSH
index over whole signatures, a dict of narrow bands for the second look, and
a dict of every benchmark n-gram hash checked against each surviving row. The streaming path reads Parquet
shards with small row groups in small batches, so rows cross every boundary.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmdata.normalize.formats import arrow_schema
from llmdata.recipes import decontam, dedup, mixture, text
from llmdata.recipes.mixture import Mixture, Part
from llmdata.recipes.screen import screen
from llmdata.recipes.spec import Decontam, NearDup, Recipe

WORDS = [f"w{i}" for i in range(400)] + list("数据模型训练评测中文句子") + ["ﬁle", "Ｆｕｌｌ", "café", "cafe\u0301"]
QUESTIONS = {"bench-a": [" ".join(random.Random(i).choices(WORDS, k=20)) for i in range(40)],
             "bench-b": [" ".join(random.Random(1000 + i).choices(WORDS, k=18)) for i in range(30)]}
QUESTIONS["bench-b"][0] = QUESTIONS["bench-a"][0]  # one item in both benchmarks


def _conversations(n: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    rows: list[list[dict]] = []
    for i in range(n):
        kind = rng.random()
        if rows and kind < 0.06:  # exact copy, sometimes differing only in case and spacing
            copy = [dict(m) for m in rng.choice(rows)]
            if rng.random() < 0.5:
                copy[0]["content"] = "  " + copy[0]["content"].upper().replace(" ", " \u00a0 ") + "\n"
            rows.append(copy)
        elif rows and kind < 0.16:  # near copy: one or two words changed
            copy = [dict(m) for m in rng.choice(rows)]
            words = copy[0]["content"].split()
            for _ in range(rng.randint(1, 2)):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            copy[0]["content"] = " ".join(words)
            rows.append(copy)
        elif kind < 0.18:  # quotes a benchmark question
            bench = rng.choice(sorted(QUESTIONS))
            rows.append([{"role": "user", "content": "please answer: " + rng.choice(QUESTIONS[bench])},
                         {"role": "assistant", "content": "ok"}])
        elif kind < 0.19:  # nothing to tokenize, or fewer tokens than a shingle
            rows.append([{"role": "user", "content": rng.choice(["", "?!", "w1", "w1 w2"])},
                         {"role": "assistant", "content": ""}])
        else:
            rows.append([{"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(10, 40)))},
                         {"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))}])
    return rows


def _write_source(directory, name: str, conversations: list[list[dict]]) -> list:
    schema = arrow_schema("chat")
    table = pa.Table.from_pylist([{"id": f"{name}-{i}", "source": name, "messages": c, "meta": "{}"}
                                  for i, c in enumerate(conversations)], schema=schema)
    half = table.num_rows // 2
    paths = [directory / f"{name}-{k}.parquet" for k in range(2)]
    pq.write_table(table.slice(0, half), paths[0], row_group_size=97)
    pq.write_table(table.slice(half), paths[1], row_group_size=101)
    return paths


def _reference(rows: list[dict], sources: list[str], recipe: Recipe) -> dict:
    import rensa

    keep = [True] * len(rows)
    exact_lost, near_lost, first = Counter(), Counter(), {}
    for i, row in enumerate(rows):
        digest = hashlib.blake2b(text.row_key(row, "chat").encode(), digest_size=16).digest()
        j = first.setdefault(digest, i)
        if j != i:
            keep[i] = False
            exact_lost[(sources[i], sources[j])] += 1
    texts = [text.row_text(r, "chat") for r in rows]
    cfg = recipe.near_dup
    alive = [i for i, k in enumerate(keep) if k]
    bands, _ = dedup.lsh_params(cfg.threshold, cfg.num_perm)
    index = rensa.RMinHashLSH(cfg.threshold, cfg.num_perm, bands)
    matrix = dedup.digests(*dedup.shingle_hashes([texts[i] for i in alive], cfg), cfg, recipe.seed)
    index.insert_matrix(matrix, 0)
    flags = index.query_duplicate_flags_matrix(matrix)
    flagged = [i for i, flag in zip(alive, flags) if flag and text.tokens(texts[i])]
    sig = np.asarray(dedup.digests(*dedup.shingle_hashes([texts[i] for i in flagged], cfg), cfg,
                                   recipe.seed).to_rows(), dtype=np.uint32)
    earliest: dict = {}
    for pos in range(len(flagged)):
        candidates = set()
        for b in range(cfg.num_perm // 4):
            holder = earliest.setdefault((b, sig[pos, b * 4:(b + 1) * 4].tobytes()), pos)
            if holder != pos:
                candidates.add(holder)
        for holder in sorted(candidates):
            if float(np.mean(sig[pos] == sig[holder])) >= cfg.threshold:
                i, j = flagged[pos], flagged[holder]
                keep[i] = False
                near_lost[(sources[i], sources[j])] += 1
                break
    n = recipe.decontam.ngram
    owners: dict[int, set] = {}
    for name, questions in QUESTIONS.items():
        for q in questions:
            for h in text.window_hashes(*text.token_hashes([text.tokens(q)]), n)[0].tolist():
                owners.setdefault(h, set()).add(name)
    hits = {}
    for i in (i for i, k in enumerate(keep) if k):
        found = set()
        for h in text.window_hashes(*text.token_hashes([text.tokens(texts[i])]), n)[0].tolist():
            found |= owners.get(h, set())
        hits[i] = tuple(sorted(found))
    per_bench = Counter()
    for i, names in hits.items():
        for name in names:
            per_bench[name] += 1
            per_bench[(sources[i], name)] += 1
    return {"keep": keep, "exact": exact_lost, "near": near_lost, "per_bench": per_bench,
            "hits": {i: n for i, n in hits.items() if n}}


@pytest.mark.parametrize("near", [NearDup(), NearDup(threshold=0.5, num_perm=17, shingle=1)])
def test_streaming_screen_matches_the_in_memory_reference(tmp_path, monkeypatch, near):
    monkeypatch.setattr(mixture, "BATCH_ROWS", 64)
    monkeypatch.setattr(dedup, "SIGNATURE_ROWS", 50)
    data = _conversations(3000, seed=11)
    # a second and third source that repeat and nearly repeat rows of the first
    parts, picked_rows, sources = [], [], []
    for name, rows in (("a", data[:1500]), ("b", data[1500:2400] + data[:100]), ("c", data[2400:] + data[700:900])):
        shards = _write_source(tmp_path, name, rows)
        picks = np.arange(len(rows), dtype=np.int64)
        if name == "b":
            picks = picks[picks % 7 != 3]  # sampling left some rows out
        parts.append(Part(name, shards, picks))
        table = pa.concat_tables([pq.read_table(p) for p in shards])
        picked_rows += table.take(pa.array(picks)).to_pylist()
        sources += [name] * len(picks)
    bench = decontam.index_benchmarks({name: [([{"question": q, "answer": "1"} for q in qs], "qa")]
                                       for name, qs in QUESTIONS.items()}, 13)
    recipe = Recipe(name="t", seed=5, inputs=(), near_dup=near, decontam=Decontam(action="flag"))

    got = screen(Mixture(parts), "chat", recipe, bench, tmp_path / "spill")
    want = _reference(picked_rows, sources, recipe)

    assert want["exact"] and want["near"] and want["per_bench"]["bench-a"] and want["per_bench"]["bench-b"]
    assert got.keep.tolist() == want["keep"]
    assert got.exact_lost == want["exact"] and got.near_lost == want["near"]
    assert {k: v for k, v in got.per_bench.items() if v} == want["per_bench"]
    assert got.flagged == want["hits"]
    assert got.contaminated == Counter(sources[i] for i in want["hits"])
    assert not any((tmp_path / "spill").iterdir())  # band keys and signatures are removed once used


def test_one_canonicalization_gives_the_key_and_the_tokens():
    rng = random.Random(3)
    alphabet = ("ab Z9 数据 ｶﾞ ﬁ é \u0301 \u0308 \u00a0 \u2003 \t \n \u1100\u1161 \u3000 ẞ İ ǅ ① ㎏ Å \u200b"
                ).split(" ") + [" ", "\u0301", "\n"]
    for _ in range(3000):
        row = {"messages": [{"role": rng.choice(["user", "assistant", "system"]),
                             "content": "".join(rng.choices(alphabet, k=rng.randint(0, 12)))}
                            for _ in range(rng.randint(1, 4))]}
        key, toks = text.row_key_tokens(row, "chat")
        assert key == text.row_key(row, "chat")
        assert toks == text.tokens(text.row_text(row, "chat"))


@pytest.mark.parametrize("shuffled", [False, True])
def test_streamed_shards_are_the_bytes_of_slicing_the_whole_mixture(tmp_path, monkeypatch, shuffled):
    from llmdata.recipes import shards
    from llmdata.recipes.build import flag_contaminated

    monkeypatch.setattr(mixture, "BATCH_ROWS", 50)
    monkeypatch.setattr(shards, "GROUP", 2)  # shuffled shards filled over several passes
    data = _conversations(3000, seed=4)
    parts, tables = [], []
    for name, rows in (("a", data[:1700]), ("b", data[1700:])):
        paths = _write_source(tmp_path, name, rows)
        picks = np.arange(len(rows), dtype=np.int64)[::2 if name == "a" else 1]
        parts.append(Part(name, paths, picks))
        tables.append(pa.concat_tables([pq.read_table(p) for p in paths]).take(pa.array(picks)))
    whole = pa.concat_tables(tables)  # the mixture as the in-memory build held it
    kept = np.flatnonzero(np.arange(whole.num_rows) % 9 != 4)
    order = kept[np.random.default_rng(3).permutation(len(kept))] if shuffled else kept

    def marks(positions):
        return [("bench-a",) if p % 5 == 0 else () for p in positions.tolist()]

    (tmp_path / "work" / "data").mkdir(parents=True)
    names = shards.write(Mixture(parts), order, 700, tmp_path / "work", shuffled=shuffled,
                         finish=lambda table, positions: flag_contaminated(table, marks(positions)))
    final = flag_contaminated(whole.take(pa.array(order)), marks(order))
    assert len(names) == -(-len(order) // 700) and sorted(p.name for p in (tmp_path / "work").iterdir()) == ["data"]
    for k, name in enumerate(names):
        pq.write_table(final.slice(k * 700, 700), tmp_path / "expected.parquet", compression="zstd")
        assert (tmp_path / "work" / name).read_bytes() == (tmp_path / "expected.parquet").read_bytes(), name
