"""Dedup + decontamination of short chat rows against benchmark items: `llmdata build`'s steps vs plain datasketch.

    python benchmarks/dedup_decontam.py --rows 1000000 --bench 20000
    python benchmarks/dedup_decontam.py --rows 250000 1000000      # two sizes: does memory grow with rows?
    python benchmarks/dedup_decontam.py --rows 20000 --bench 2000  # a quick check

For each size, a first process generates the rows (3% copies of earlier rows, a
third of those with one word changed, 50 rows quoting a benchmark question) and
writes them as normalized chat shards with the store's own writer; its time and
memory are reported apart. Then, each in a fresh process so peaks are not mixed:

* ours: the code `llmdata build` runs (``recipes.screen``) streaming the shards:
  exact dedup (BLAKE2 of the canonical conversation), near dedup (rensa MinHash,
  LSH band keys spilled to files and grouped by sorting, Jaccard check on the
  candidates) and 13-gram decontamination (numpy n-gram hashes, searchsorted).
  Then, timed and measured apart (the baseline writes nothing), what the build
  does next: the kept rows, shuffled, written as output shards of 500,000 rows
  (``recipes.shards``).
* baseline: the plain datasketch recipe over the same shards, read batch by
  batch: one ``MinHash(num_perm=128)`` per row, ``update_batch`` over encoded
  3-word shingles, ``MinHashLSH`` query then insert, and a Python set of 13-gram
  tuples checked on every row it keeps. It runs ~1.5 ms a row, so by default on
  the first ``--baseline-rows`` rows; rates are compared per row (both are
  linear in rows); ``--baseline-rows 0`` runs it on all rows.

Memory is the process's peak RSS (``ru_maxrss``); "work" is the peak minus the
RSS once the libraries are imported and before anything is read, "per row" is work / rows. With two
sizes or more the growth of our peak between them, per added row, is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [f"w{i}" for i in range(30000)] + [chr(0x4E00 + i) for i in range(3000)]


def rows(n: int, seed: int = 0) -> list[list[dict]]:
    rng = random.Random(seed)
    out: list[list[dict]] = []
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


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(n: int, bench: int, data: Path) -> dict:
    from llmdata.normalize.writer import SplitWriter

    t = time.perf_counter()
    train, items = rows(n), bench_items(bench)
    plant(train, items, min(50, bench))
    data.mkdir(parents=True)
    writer = SplitWriter(data, "chat", "train")
    for i, messages in enumerate(train):
        writer.add({"id": str(i), "source": "bench", "messages": messages, "meta": "{}"})
    writer.close()
    (data / "items.json").write_text(json.dumps(items))
    return {"seconds": time.perf_counter() - t, "peak_rss_mib": _rss_mib(), "rows": n,
            "shards": writer.shards, "bytes": sum(p.stat().st_size for p in data.glob("*.parquet"))}


def _shards(data: Path) -> list[Path]:
    return sorted(data.glob("train-*.parquet"))


def ours(data: Path, limit: int) -> dict:
    import numpy as np
    import pyarrow.parquet  # noqa: F401  (imported before the start figure, as the baseline's are)
    import rensa  # noqa: F401
    import xxhash  # noqa: F401

    from llmdata.normalize.formats import arrow_schema
    from llmdata.recipes import decontam, shards as output
    from llmdata.recipes.mixture import Mixture, Part, count_rows
    from llmdata.recipes.screen import screen
    from llmdata.recipes.spec import Recipe

    recipe = Recipe(name="bench", seed=1, inputs=())  # exact + near (0.8, 128 perms, 3-shingles) + 13-grams, drop
    shards = _shards(data)
    n = min(limit or count_rows(shards), count_rows(shards))
    start_rss = _rss_mib()
    t = time.perf_counter()
    items = json.loads((data / "items.json").read_text())
    index = decontam.index_benchmarks({"bench": [(items, "qa")]}, recipe.decontam.ngram)
    mixture = Mixture([Part("bench", shards, np.arange(n, dtype=np.int64))])
    with tempfile.TemporaryDirectory(dir=data) as spill:
        result = screen(mixture, "chat", recipe, index, Path(spill))
    seconds, screen_rss = time.perf_counter() - t, _rss_mib()
    t = time.perf_counter()  # then what build does next: the kept rows, shuffled, as output shards
    kept = np.flatnonzero(result.keep)
    order = kept[np.random.default_rng(recipe.seed).permutation(len(kept))]
    with tempfile.TemporaryDirectory(dir=data) as work:
        (Path(work) / "data").mkdir()
        names = output.write(mixture, order, recipe.shard_rows, Path(work), shuffled=True,
                             empty_schema=arrow_schema("chat"))
    return {"seconds": seconds, "rows": n, "start_rss_mib": start_rss, "peak_rss_mib": screen_rss,
            "write_seconds": time.perf_counter() - t, "write_peak_rss_mib": _rss_mib(), "write_shards": len(names),
            "exact": sum(result.exact_lost.values()), "near": sum(result.near_lost.values()),
            "contaminated": int(sum(result.contaminated.values()))}


def baseline(data: Path, limit: int) -> dict:
    import re

    import pyarrow.parquet as pq
    from datasketch import MinHash, MinHashLSH

    token = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff]+")
    start_rss = _rss_mib()
    t = time.perf_counter()
    items = json.loads((data / "items.json").read_text())
    grams = set()
    for item in items:
        toks = token.findall(item["question"].lower())
        grams.update(tuple(toks[k:k + 13]) for k in range(len(toks) - 12))
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    seen = dropped = hits = 0
    for shard in _shards(data):
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=4096, columns=["messages"]):
            for row in batch.to_pylist():
                if limit and seen == limit:
                    break
                toks = token.findall("\n".join(m["content"] for m in row["messages"]).lower())
                shingles = {" ".join(toks[k:k + 3]).encode() for k in range(max(1, len(toks) - 2))}
                m = MinHash(num_perm=128)
                m.update_batch(list(shingles))
                if lsh.query(m):
                    dropped += 1
                else:
                    lsh.insert(seen, m)
                    hits += any(tuple(toks[k:k + 13]) in grams for k in range(len(toks) - 12))
                seen += 1
    return {"seconds": time.perf_counter() - t, "rows": seen, "start_rss_mib": start_rss,
            "peak_rss_mib": _rss_mib(), "near+exact": dropped, "contaminated": hits}


def _run(*args: str) -> dict:
    cmd = [sys.executable, __file__, *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def _line(part: str, r: dict) -> str:
    work = r["peak_rss_mib"] - r["start_rss_mib"]
    counts = ", ".join(f"{k} {v:,}" for k, v in r.items() if k in ("exact", "near", "near+exact", "contaminated"))
    return (f"{part:9s} rows {r['rows']:>9,}  {r['seconds']:8.1f} s  {r['rows'] / r['seconds']:>7,.0f} rows/s  "
            f"peak RSS {r['peak_rss_mib']:,.0f} MiB (after imports {r['start_rss_mib']:,.0f}, work {work:,.0f} MiB "
            f"= {work * 2**20 / r['rows']:,.0f} B/row)  {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="one or more sizes")
    parser.add_argument("--bench", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=50_000, help="0: run the baseline on every row")
    parser.add_argument("--workdir", type=Path, help="where the shards go (default: a temporary directory)")
    parser.add_argument("--part", choices=["generate", "ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        n = args.rows[0]
        result = (generate(n, args.bench, args.data) if args.part == "generate" else
                  ours(args.data, n) if args.part == "ours" else baseline(args.data, args.baseline_rows))
        print(json.dumps(result))
        return
    root = Path(tempfile.mkdtemp(prefix="dedup-bench-", dir=args.workdir))
    peaks = {}
    try:
        for n in args.rows:
            data = root / str(n)
            g = _run("--part", "generate", "--rows", str(n), "--bench", str(args.bench), "--data", str(data))
            print(f"input     rows {n:>9,}  generated in {g['seconds']:.1f} s, {len(g['shards'])} shard(s), "
                  f"{g['bytes'] / 2**20:,.0f} MiB of Parquet; generator peak RSS {g['peak_rss_mib']:,.0f} MiB "
                  "(its own process, in neither figure below)")
            results = {part: _run("--part", part, "--rows", str(n), "--baseline-rows", str(args.baseline_rows),
                                  "--data", str(data)) for part in ("ours", "baseline")}
            for part, r in results.items():
                print(_line(part, r))
            r = results["ours"]
            print(f"  then   writing the {r['rows'] - r['exact'] - r['near'] - r['contaminated']:,} kept rows shuffled "
                  f"into {r['write_shards']} shard(s) of {500_000:,} rows: {r['write_seconds']:.1f} s, "
                  f"peak RSS of the whole run {r['write_peak_rss_mib']:,.0f} MiB")
            rate = {part: r["rows"] / r["seconds"] for part, r in results.items()}
            print(f"speed-up vs plain datasketch (rows/s): {rate['ours'] / rate['baseline']:.1f}x\n")
            peaks[n] = results["ours"]["peak_rss_mib"]
            shutil.rmtree(data)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sizes = sorted(peaks)
    for a, b in zip(sizes, sizes[1:]):
        grow = peaks[b] - peaks[a]
        print(f"ours, {a:,} -> {b:,} rows: peak RSS {peaks[a]:,.0f} -> {peaks[b]:,.0f} MiB, "
              f"{grow * 2**20 / (b - a):,.0f} B per added row")


if __name__ == "__main__":
    main()
