"""sharegpt -> chat and hh-rlhf -> preference on JSON Lines: llmdata vs datasets.map vs the DuckDB plain-copy limit.

Each method runs in its own subprocess (so peak RSS is its own) on the same
generated input, in the same run, rounds interleaved (the machine is shared:
medians are reported):
- llmdata:      the normalization pipeline (pyarrow JSON reader + the converter's columnar twin + Parquet writer,
                rejects, manifest)
- datasets.map: load_dataset("json") + Dataset.map(to the same schema) + to_parquet, what a one-off script does
- limit:        DuckDB `COPY (SELECT * FROM read_json_auto(...)) TO 'x.parquet'`, no conversion at all

Ratios: llmdata / limit (target <= 2) and datasets.map / llmdata (target >= 8).

    python benchmarks/convert_chat.py [--records 500000] [--rounds 3] [--layouts sharegpt,hh-rlhf]
    python benchmarks/convert_chat.py --records 20000 --rounds 1        # a quick look
    python benchmarks/convert_chat.py --memory-gb 3 --methods llmdata   # bounded memory on a 3 GB JSONL
    python benchmarks/convert_chat.py --memory-gb 1 --array --methods llmdata --rounds 1   # ... on a 1 GB JSON array
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LLMDATA = """
from pathlib import Path
from llmdata.normalize.pipeline import FormatSpec, normalize
src = Path(SRC)
normalize({"train": [(src, src.name)]}, FormatSpec("jsonl", CONVERTER), source="bench", out_dir=Path(OUT) / "norm")
"""

DATASETS = {
    "sharegpt": """
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=SRC, split="train", cache_dir=OUT + "/cache")
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
def to_chat(r):
    return {"messages": [{"role": ROLES[t["from"]], "content": t["value"]} for t in r["conversations"]]}
ds = ds.map(to_chat, remove_columns=["conversations"])
ds.to_parquet(OUT + "/chat.parquet")
""",
    "hh-rlhf": """
import re
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=SRC, split="train", cache_dir=OUT + "/cache")
TURN = re.compile(r"\\n\\n(Human|Assistant): ?")
def parse(text):
    marks = list(TURN.finditer(text))
    return [{"role": "user" if m.group(1) == "Human" else "assistant",
             "content": text[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(text))].strip()}
            for i, m in enumerate(marks)]
def to_pref(r):
    c, j = parse(r["chosen"]), parse(r["rejected"])
    n = 0
    while n < min(len(c), len(j)) - 1 and c[n] == j[n]:
        n += 1
    return {"prompt": c[:n], "chosen": c[n:], "rejected": j[n:]}
ds = ds.map(to_pref, remove_columns=["chosen", "rejected"])
ds.to_parquet(OUT + "/pref.parquet")
""",
}

LIMIT = """
import duckdb
duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{SRC}')) TO '{OUT}/copy.parquet' (FORMAT parquet, COMPRESSION zstd)")
"""

CONVERTERS = {"sharegpt": "sharegpt", "hh-rlhf": "hh-rlhf"}
WORDS = ["数据", "模型", "训练", "the", "model", "data", "answer", "question", "医疗", "math", "code", "step", "why",
         "because", "所以", "我们"]


def make_input(path: Path, layout: str, records: int = 0, size: int = 0, array: bool = False) -> int:
    """Generated records in the layout's real raw schema; until ``records`` or ``size`` bytes are written.

    ``array``: one JSON array (the record path, streamed with ijson) instead of JSON Lines.
    """
    rng = random.Random(0)

    def text(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    written = count = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[\n" if array else "")
        while (records and count < records) or (size and written < size):
            if layout == "sharegpt":
                turns = []
                for k in range(rng.randint(1, 4)):
                    turns += [{"from": "human", "value": text(rng.randint(5, 40))},
                              {"from": "gpt", "value": text(rng.randint(20, 120))}]
                rec = {"id": f"{count:08x}_{k}", "conversations": turns}
            else:
                shared = "".join(f"\n\nHuman: {text(rng.randint(5, 30))}\n\nAssistant: {text(rng.randint(10, 60))}"
                                 for _ in range(rng.randint(0, 2))) + f"\n\nHuman: {text(rng.randint(5, 30))}"
                rec = {"chosen": shared + f"\n\nAssistant: {text(rng.randint(10, 80))}",
                       "rejected": shared + f"\n\nAssistant: {text(rng.randint(10, 80))}"}
            line = ("," if array and count else "") + json.dumps(rec, ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            count += 1
        fh.write("]\n" if array else "")
    return count


def run(code: str, src: Path, out: Path, converter: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB) of ``code`` in a fresh interpreter."""
    out.mkdir(parents=True, exist_ok=True)
    script = f"SRC = {str(src)!r}\nOUT = {str(out)!r}\nCONVERTER = {converter!r}\n" + code + (
        "\nimport resource, sys\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
        "sys.stderr.write(f'\\n{u.ru_maxrss} {u.ru_utime + u.ru_stime}')")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
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
    parser.add_argument("--layouts", default="sharegpt,hh-rlhf")
    parser.add_argument("--methods", default="llmdata,datasets.map,limit")
    parser.add_argument("--memory-gb", type=float, default=0, help="instead of --records: a file of this size")
    parser.add_argument("--array", action="store_true", help="the input is one JSON array, not JSON Lines")
    parser.add_argument("--workdir", default=None, help="where the generated input goes (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="llmdata-chat-", dir=args.workdir))
    try:
        for layout in args.layouts.split(","):
            src = work / f"{layout}.{'json' if args.array else 'jsonl'}"
            count = make_input(src, layout, records=0 if args.memory_gb else args.records,
                               size=int(args.memory_gb * 2**30), array=args.array)
            methods = {"llmdata": LLMDATA, "datasets.map": DATASETS[layout], "limit": LIMIT}
            methods = {name: methods[name] for name in args.methods.split(",")}
            print(f"{layout}: {count} records, {'JSON array' if args.array else 'JSONL'} "
                  f"{src.stat().st_size / 2**20:.0f} MiB, {args.rounds} round(s)",
                  flush=True)
            results: dict[str, list] = {name: [] for name in methods}
            for _ in range(args.rounds):
                for name, code in methods.items():
                    results[name].append(run(code, src, work / "out", CONVERTERS[layout]))
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
            src.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
