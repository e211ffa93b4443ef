"""Alpaca-style JSON / JSONL -> chat Parquet: llmdata vs datasets.load_dataset + Dataset.map vs a plain copy.

Each method runs in its own subprocess (so peak RSS is its own) on the same
generated input, in the same run:
- llmdata:  the normalization pipeline (reader + alpaca converter + Parquet writer, rejects, manifest)
- datasets: load_dataset("json") + Dataset.map(to messages) + to_parquet — what a one-off script does
- limit:    parse every record and write the raw columns to Parquet, no conversion

    python benchmarks/convert_alpaca.py [--records 500000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
import orjson, pyarrow as pa, pyarrow.parquet as pq
from llmdata.normalize.readers import read_records
from pathlib import Path
cols = {"instruction": [], "input": [], "output": []}
writer = None
for _, r in read_records(Path(SRC), "json"):
    for k in cols: cols[k].append(r[k])
    if len(cols["output"]) >= 20000:
        t = pa.table(cols); writer = writer or pq.ParquetWriter(OUT + "/copy.parquet", t.schema, compression="zstd")
        writer.write_table(t); cols = {k: [] for k in cols}
if cols["output"]:
    t = pa.table(cols); writer = writer or pq.ParquetWriter(OUT + "/copy.parquet", t.schema, compression="zstd")
    writer.write_table(t)
writer.close()
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
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script + "\nimport resource, sys\n"
                           "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    del before
    return elapsed, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="llmdata-convert-"))
    try:
        for layout in ("jsonl", "json"):
            src = work / f"alpaca.{layout}"
            make_input(src, args.records, jsonl=layout == "jsonl")
            print(f"{args.records} records, {layout} ({src.stat().st_size / 2**20:.0f} MiB):")
            results = {}
            for name, code in METHODS.items():
                results[name] = run(code, src, work / f"out-{layout}-{len(results)}")
                shutil.rmtree(work / f"out-{layout}-{len(results) - 1}", ignore_errors=True)
            ours = results["llmdata"][0]
            for name, (seconds, rss) in results.items():
                print(f"  {name:38s} {seconds:7.2f} s  peak RSS {rss:7.0f} MiB  x{seconds / ours:5.2f} of llmdata")
            src.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
