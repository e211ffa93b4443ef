"""Dedup + decontamination of short chat rows against benchmark items: `llmdata build`'s steps vs plain datasketch.

    python benchmarks/dedup_decontam.py --rows 1000000 --bench 20000
    python benchmarks/dedup_decontam.py --rows 20000 --bench 2000      # a quick check

Ours: exact dedup (BLAKE2 of the canonical conversation), near dedup (rensa
MinHash digest matrices + LSH + Jaccard check on flagged rows) and 13-gram
decontamination (numpy n-gram hashes, one searchsorted) — the functions
`llmdata build` calls. Baseline, in the same run: the plain datasketch recipe
(one ``MinHash(num_perm=128)`` per row, ``update_batch`` over encoded shingles,
``MinHashLSH`` query then insert) plus a Python set of 13-gram tuples for
decontamination. Plain datasketch runs ~1.5 ms per row here, so by default it
runs on the first ``--baseline-rows`` rows and is compared per row (both are
linear in rows); pass ``--baseline-rows 0`` for all rows. Peak memory is the
process's max RSS after each part (each part runs in a fresh process).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

WORDS = [f"w{i}" for i in range(30000)] + [chr(0x4E00 + i) for i in range(3000)]


def rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i and rng.random() < 0.03:  # 3% copies of an earlier row, a third of them with one word changed
            row = json.loads(json.dumps(out[rng.randrange(len(out))]))
            if rng.random() < 0.33:
                words = row[0]["content"].split()
                words[rng.randrange(len(words))] = rng.choice(WORDS)
                row[0]["content"] = " ".join(words)
            out.append(row)
            continue
        user = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))
        reply = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25)))
        out.append([{"role": "user", "content": user}, {"role": "assistant", "content": reply}])
    return out


def bench_items(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"question": " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 40))), "answer": str(i)}
            for i in range(n)]


def plant(train: list, items: list, k: int) -> None:
    for j in range(k):  # k training rows quote a benchmark question
        train[j * 7 + 1][0]["content"] = "please solve: " + items[j]["question"]


def ours(train: list, items: list) -> dict:
    from llmdata.recipes import decontam, dedup
    from llmdata.recipes.spec import NearDup
    from llmdata.recipes.text import row_key, row_text

    data = [{"messages": r} for r in train]
    sources = ["s"] * len(data)
    t = time.perf_counter()
    exact = dedup.exact([row_key(r, "chat") for r in data], sources)
    texts = [row_text(r, "chat") for r in data]
    near = dedup.near(texts, sources, exact.keep, NearDup(), seed=1)
    index = decontam.index_benchmarks({"bench": [(items, "qa")]}, 13)
    alive = [i for i, k in enumerate(near.keep) if k]
    hits = sum(1 for names in decontam.scan([texts[i] for i in alive], index, 13) if names)
    return {"seconds": time.perf_counter() - t, "exact": exact.keep.count(False),
            "near": near.keep.count(False) - exact.keep.count(False), "contaminated": hits}


def baseline(train: list, items: list) -> dict:
    import re

    from datasketch import MinHash, MinHashLSH

    token = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff]+")
    t = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    dropped = 0
    kept_texts = []
    for i, row in enumerate(train):
        toks = token.findall("\n".join(m["content"] for m in row).lower())
        shingles = {" ".join(toks[k:k + 3]).encode() for k in range(max(1, len(toks) - 2))}
        m = MinHash(num_perm=128)
        m.update_batch(list(shingles))
        if lsh.query(m):
            dropped += 1
            continue
        lsh.insert(i, m)
        kept_texts.append(toks)
    grams = set()
    for item in items:
        toks = token.findall(item["question"].lower())
        grams.update(tuple(toks[k:k + 13]) for k in range(len(toks) - 12))
    hits = sum(1 for toks in kept_texts if any(tuple(toks[k:k + 13]) in grams for k in range(len(toks) - 12)))
    return {"seconds": time.perf_counter() - t, "near+exact": dropped, "contaminated": hits}


def _child(part: str, n: int, bench: int, baseline_rows: int) -> dict:
    train, items = rows(n), bench_items(bench)
    plant(train, items, min(50, bench))
    if part == "baseline" and baseline_rows:
        train = train[:baseline_rows]
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = ours(train, items) if part == "ours" else baseline(train, items)
    result |= {"rows": len(train), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "data_rss_mib": start_rss / 1024}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bench", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=50_000, help="0: run the baseline on every row")
    parser.add_argument("--part", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(_child(args.part, args.rows, args.bench, args.baseline_rows)))
        return
    results = {}
    for part in ("ours", "baseline"):
        cmd = [sys.executable, __file__, "--part", part, "--rows", str(args.rows), "--bench", str(args.bench),
               "--baseline-rows", str(args.baseline_rows)]
        results[part] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        r = results[part]
        print(f"{part:9s} rows {r['rows']:>9,}  {r['seconds']:8.1f} s  {r['rows'] / r['seconds']:>9,.0f} rows/s  "
              f"peak RSS {r['peak_rss_mib']:,.0f} MiB (data alone {r['data_rss_mib']:,.0f} MiB)  "
              + ", ".join(f"{k} {v}" for k, v in r.items() if k in ("exact", "near", "near+exact", "contaminated")))
    ours_rate = results["ours"]["rows"] / results["ours"]["seconds"]
    base_rate = results["baseline"]["rows"] / results["baseline"]["seconds"]
    print(f"speed-up vs plain datasketch (rows/s): {ours_rate / base_rate:.1f}x")


if __name__ == "__main__":
    main()
