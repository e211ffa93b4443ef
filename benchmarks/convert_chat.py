"""Chat and preference layouts on JSON Lines (or one JSON array): llmdata vs datasets.map vs the DuckDB plain-copy limit.

One layout per chat / preference converter with a columnar twin (benchmarks/chat_layouts.py:
the raw schema, and the datasets.map script a one-off conversion would be). Each method runs in
its own subprocess (so peak RSS is its own) on the same generated input, in the same run, rounds
interleaved (the machine is shared: medians are reported):
- llmdata:      the normalization pipeline (pyarrow JSON reader + the converter's columnar twin + Parquet writer,
                rejects, manifest)
- datasets.map: load_dataset("json") + Dataset.map(to the same schema) + to_parquet, what a one-off script does
- limit:        DuckDB `COPY (SELECT * FROM read_json_auto(...)) TO 'x.parquet'`, no conversion at all

Ratios: llmdata / limit (target <= 2) and datasets.map / llmdata (target >= 8), in wall and in CPU seconds.

    python benchmarks/convert_chat.py [--records 500000] [--rounds 3] [--layouts sharegpt,hh-rlhf]
    python benchmarks/convert_chat.py --layouts all --records 100000 --rounds 1   # every layout
    python benchmarks/convert_chat.py --layouts all --rounds 3 --map-rounds 1     # ... datasets.map once each
    python benchmarks/convert_chat.py --records 20000 --rounds 1        # a quick look
    python benchmarks/convert_chat.py --memory-gb 3 --methods llmdata   # bounded memory on a 3 GB JSONL
    python benchmarks/convert_chat.py --memory-gb 1 --array --methods llmdata --rounds 1   # ... on a 1 GB JSON array
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chat_layouts import LAYOUTS, WORDS, datasets_script
from installed import installed_env

LLMDATA = """
from pathlib import Path
from llmdata.normalize.pipeline import FormatSpec, normalize
src = Path(SRC)
normalize({"train": [(src, src.name)]}, FormatSpec("jsonl", CONVERTER, OPTIONS), source="bench",
          out_dir=Path(OUT) / "norm")
"""

LIMIT = """
import duckdb
duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{SRC}')) TO '{OUT}/copy.parquet' (FORMAT parquet, COMPRESSION zstd)")
"""


def make_input(path: Path, layout: str, records: int = 0, size: int = 0, array: bool = False) -> int:
    """Generated records in the layout's raw schema; until ``records`` or ``size`` bytes are written.

    ``array``: one JSON array instead of JSON Lines.
    """
    rng = random.Random(0)
    make = LAYOUTS[layout].make

    def text(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    written = count = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[\n" if array else "")
        while (records and count < records) or (size and written < size):
            line = ("," if array and count else "") + json.dumps(make(rng, count, text), ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            count += 1
        fh.write("]\n" if array else "")
    return count


def run(code: str, src: Path, out: Path, layout: str, env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB) of ``code`` in a fresh interpreter with ``env``."""
    out.mkdir(parents=True, exist_ok=True)
    converter, options = LAYOUTS[layout].converter, LAYOUTS[layout].options
    script = f"SRC = {str(src)!r}\nOUT = {str(out)!r}\nCONVERTER = {converter!r}\nOPTIONS = {options!r}\n" + code + (
        "\nimport resource, sys\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
        "sys.stderr.write(f'\\n{u.ru_maxrss} {u.ru_utime + u.ru_stime}')")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    rss, cpu = proc.stderr.strip().splitlines()[-1].split()
    return elapsed, float(cpu), int(rss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--map-rounds", type=int, default=0,
                        help="rounds of datasets.map, in the first rounds (default: --rounds); its long runs vary "
                             "least, so fewer of them keep a many-layout run short")
    parser.add_argument("--layouts", default="sharegpt,hh-rlhf", help=f"comma-separated, or all: {', '.join(LAYOUTS)}")
    parser.add_argument("--methods", default="llmdata,datasets.map,limit")
    parser.add_argument("--memory-gb", type=float, default=0, help="instead of --records: a file of this size")
    parser.add_argument("--array", action="store_true", help="the input is one JSON array, not JSON Lines")
    parser.add_argument("--workdir", default=None, help="where the generated input goes (default: a temp dir)")
    args = parser.parse_args()
    env = installed_env()
    work = Path(tempfile.mkdtemp(prefix="llmdata-chat-", dir=args.workdir))
    summary = []
    try:
        for layout in list(LAYOUTS) if args.layouts == "all" else args.layouts.split(","):
            src = work / f"{layout}.{'json' if args.array else 'jsonl'}"
            count = make_input(src, layout, records=0 if args.memory_gb else args.records,
                               size=int(args.memory_gb * 2**30), array=args.array)
            methods = {"llmdata": LLMDATA, "datasets.map": datasets_script(LAYOUTS[layout]), "limit": LIMIT}
            methods = {name: methods[name] for name in args.methods.split(",")}
            print(f"{layout}: {count} records, {'JSON array' if args.array else 'JSONL'} "
                  f"{src.stat().st_size / 2**20:.0f} MiB, {args.rounds} round(s), "
                  f"load average {os.getloadavg()[0]:.2f} (a busy machine skews every figure)", flush=True)
            results: dict[str, list] = {name: [] for name in methods}
            for round_ in range(args.rounds):
                for name, code in methods.items():
                    if name == "datasets.map" and round_ >= (args.map_rounds or args.rounds):
                        continue
                    results[name].append(run(code, src, work / "out", layout, env))
            median = {name: tuple(statistics.median(r[i] for r in runs) for i in range(3))
                      for name, runs in results.items()}
            for name, (wall, cpu, rss) in median.items():
                print(f"  {name:14s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:7.0f} MiB"
                      f"   (walls: {', '.join(f'{r[0]:.2f}' for r in results[name])})", flush=True)
            if "llmdata" in median and "limit" in median:
                print(f"  llmdata / limit:       wall x{median['llmdata'][0] / median['limit'][0]:.2f}"
                      f"  cpu x{median['llmdata'][1] / median['limit'][1]:.2f}   (target <= 2)")
            if "llmdata" in median and "datasets.map" in median:
                print(f"  datasets.map / llmdata: wall x{median['datasets.map'][0] / median['llmdata'][0]:.2f}"
                      f"  cpu x{median['datasets.map'][1] / median['llmdata'][1]:.2f}   (target >= 8)", flush=True)
            summary.append((layout, median))
            src.unlink()
        _summary(summary)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _summary(rows) -> None:
    """One line per layout: both ratios in wall and CPU time."""
    if len(rows) < 2:
        return
    print(f"\n{'layout':26s} {'llmdata/limit wall':>19s} {'cpu':>6s} {'map/llmdata wall':>17s} {'cpu':>6s} {'RSS MiB':>8s}")
    for layout, median in rows:
        cells = []
        for top, bottom in (("llmdata", "limit"), ("datasets.map", "llmdata")):
            for i in (0, 1):
                cells.append(f"{median[top][i] / median[bottom][i]:.2f}" if top in median and bottom in median else "-")
        rss = f"{median['llmdata'][2]:.0f}" if "llmdata" in median else "-"
        print(f"{layout:26s} {cells[0]:>19s} {cells[1]:>6s} {cells[2]:>17s} {cells[3]:>6s} {rss:>8s}")


if __name__ == "__main__":
    main()
