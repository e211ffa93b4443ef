"""Wall time of `llmdata search` as a whole command, against the bare interpreter in the same run.

The figure that matters to a user is the complete command: interpreter start,
imports, index freshness check, query and rendering. The baseline
(`python -c pass`) shows how much of it is Python itself.

    python benchmarks/search_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from installed import installed_env

COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "llmdata search 医疗": [sys.executable, "-m", "llmdata", "search", "医疗"],
    "llmdata search --category preference --lang zh": [
        sys.executable, "-m", "llmdata", "search", "--category", "preference", "--lang", "zh"],
    "llmdata search alpaca --json": [sys.executable, "-m", "llmdata", "search", "alpaca", "--json"],
    "llmdata info gsm8k": [sys.executable, "-m", "llmdata", "info", "gsm8k"],
}


def time_command(cmd: list[str], runs: int, env: dict) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = installed_env({**os.environ, "LLMDATA_HOME": home, "COLUMNS": "160"})
        env.pop("LLMDATA_CATALOG", None)
        first = time_command(COMMANDS["llmdata search 医疗"], 1, env)[0]
        print(f"first call (builds the index): {first * 1000:.0f} ms")
        baseline = None
        for label, cmd in COMMANDS.items():
            samples = time_command(cmd, args.runs, env)
            median = statistics.median(samples)
            baseline = baseline or median
            print(f"{label:50s} median {median * 1000:6.0f} ms  p90 {sorted(samples)[int(0.9 * len(samples)) - 1] * 1000:6.0f} ms"
                  f"  x{median / baseline:5.1f} baseline")


if __name__ == "__main__":
    main()
