"""Alpaca-style JSON / JSONL -> chat Parquet: llmdata vs datasets.load_dataset + Dataset.map vs a plain copy.

Each method runs in its own subprocess (so peak RSS is its own) on the same
generated input, in the same run:
- llmdata:  the normalization pipeline (reader + alpaca converter + Parquet writer, rejects, manifest)
- datasets: load_dataset("json") + Dataset.map(to messages) + to_parquet — what a one-off script does
- limit:    the fastest plain copy: pyarrow's JSON reader (JSONL) or orjson (JSON array) straight to
            Parquet, no conversion, no checks

    python benchmarks/convert_alpaca.py [--records 500000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed import installed_env

METHODS = {
    "llmdata": """
from pathlib import Path
from llmdata.normalize.pipeline import FormatSpec, normalize
src = Path(SRC)
normalize({"train": [(src, src.name)]}, FormatSpec("json", "alpaca"), source="bench", out_dir=Path(OUT) / "chat")
""",
    "datasets.map": """
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=SRC, split="train", cache_dir=OUT + "/cache")
def to_chat(r):
    prompt = "\\n\\n".join(p for p in (r["instruction"].strip(), (r["input"] or "").strip()) if p)
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": r["output"]}]}
ds = ds.map(to_chat, remove_columns=ds.column_names)
ds.to_parquet(OUT + "/chat.parquet")
""",
    "limit (read + write, no conversion)": """
import orjson, pyarrow as pa, pyarrow.json as pj, pyarrow.parquet as pq
if SRC.endswith(".jsonl"):
    with pj.open_json(SRC) as reader:
        writer = None
        for batch in reader:
            writer = writer or pq.ParquetWriter(OUT + "/copy.parquet", batch.schema, compression="zstd")
            writer.write_batch(batch)
        writer.close()
else:
    pq.write_table(pa.Table.from_pylist(orjson.loads(open(SRC, "rb").read())), OUT + "/copy.parquet",
                   compression="zstd")
""",
}


def make_input(path: Path, records: int, jsonl: bool) -> None:
    rng = random.Random(0)
    words = ["数据", "模型", "训练", "the", "model", "data", "answer", "question", "医疗", "math", "code", "step"]

    def text(n):
        return " ".join(rng.choice(words) for _ in range(n))

    with open(path, "w", encoding="utf-8") as fh:
        if not jsonl:
            fh.write("[\n")
        for i in range(records):
            rec = {"instruction": text(12), "input": text(6) if i % 3 else "", "output": text(60)}
            line = json.dumps(rec, ensure_ascii=False)
            if jsonl:
                fh.write(line + "\n")
            else:
                fh.write(line + (",\n" if i < records - 1 else "\n"))
        if not jsonl:
            fh.write("]\n")


def run(code: str, src: Path, out: Path) -> tuple[float, float]:
    out.mkdir(parents=True, exist_ok=True)
    script = f"SRC = {str(src)!r}\nOUT = {str(out)!r}\n" + code
    env = installed_env()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script + "\nimport resource, sys\n"
                           "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return elapsed, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--layouts", default="jsonl,json", help="comma-separated: jsonl, json")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of: " + ", ".join(METHODS))
    args = parser.parse_args()
    methods = {name: METHODS[name] for name in args.methods.split(",")}
    work = Path(tempfile.mkdtemp(prefix="llmdata-convert-"))
    try:
        for layout in args.layouts.split(","):
            src = work / f"alpaca.{layout}"
            make_input(src, args.records, jsonl=layout == "jsonl")
            print(f"{args.records} records, {layout} ({src.stat().st_size / 2**20:.0f} MiB):")
            results = {}
            for name, code in methods.items():
                results[name] = run(code, src, work / f"out-{layout}-{len(results)}")
                shutil.rmtree(work / f"out-{layout}-{len(results) - 1}", ignore_errors=True)
            ours = results.get("llmdata", next(iter(results.values())))[0]
            for name, (seconds, rss) in results.items():
                print(f"  {name:38s} {seconds:7.2f} s  peak RSS {rss:7.0f} MiB  x{seconds / ours:5.2f} of llmdata")
            src.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
