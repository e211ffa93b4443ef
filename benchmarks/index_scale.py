"""Index build and warm search on synthetic user catalogs of 10k and 100k entries.

For each size, in the same run and each step in its own process (so peak RSS is its own):
- build:    the first ``llmdata search`` with the catalog in LLMDATA_CATALOG (validate + index build)
- edit:     append one entry to a second, small user catalog and search again (what an edit costs)
- search:   a warm ``llmdata search`` (median of 5 whole commands)
- baseline: a plain sqlite3 FTS5 build of the same documents (parse YAML with the C loader, insert)

    python benchmarks/index_scale.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("medical math code law chat preference instruction dialogue finance science history poetry "
         "translation summary reasoning safety").split()
ZH = ("医疗", "数学", "代码", "法律", "对话", "偏好", "指令", "金融", "科学", "历史", "诗歌", "翻译")

ENTRY = """\
- id: synth-{i}
  name: Synthetic dataset {i} {w1} {w2}
  summary:
    en: A synthetic {w1} and {w2} dataset number {i} for the index benchmark.
    zh: 第{i}个合成{z1}{z2}数据集，用于索引基准测试。
  category: {category}
  domains: [{domain}]
  languages: [{lang}]
  tags: [{w1}, {w2}]
  license: {license}
  commercial: {commercial}
  access: public
  sources:
    - kind: url
      url: https://example.org/synth/{i}.jsonl
"""

CATEGORIES = ("sft", "preference", "eval", "pretrain", "multiturn")
DOMAINS = ("general", "medical", "math", "code", "law")
LICENSES = (("mit", "true"), ("cc-by-nc-4.0", "false"), ("apache-2.0", "true"), ("unknown", "null"))

BASELINE = r"""
import sqlite3, sys, yaml
entries = yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=yaml.CSafeLoader)
conn = sqlite3.connect(sys.argv[2])
conn.execute("CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, name, tags, summary, tokenize='unicode61')")
conn.executemany("INSERT INTO fts VALUES (?, ?, ?, ?)",
                 ((e["id"], e["name"], " ".join(e.get("tags", [])), e["summary"]["en"] + " " + e["summary"]["zh"])
                  for e in entries))
conn.commit()
"""


def write_catalog(path: Path, n: int, start: int = 0) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            lic, commercial = LICENSES[i % len(LICENSES)]
            fh.write(ENTRY.format(i=i, w1=WORDS[i % len(WORDS)], w2=WORDS[(i * 7 + 1) % len(WORDS)],
                                  z1=ZH[i % len(ZH)], z2=ZH[(i * 5) % len(ZH)],
                                  category=CATEGORIES[i % len(CATEGORIES)], domain=DOMAINS[i % len(DOMAINS)],
                                  lang="zh" if i % 3 else "en", license=lic, commercial=commercial))


def wall(cmd: list[str], env: dict) -> float:
    """Wall seconds of one whole command (start-up included, as a user waits for it)."""
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def peak_of(cmd: list[str], env: dict) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``python -m MODULE ARGS`` run in a child that reports its own RSS."""
    wrapper = ("import resource, runpy, sys, time; sys.argv = sys.argv[1:]; t = time.perf_counter()\n"
               "code = 0\ntry:\n    runpy.run_module(sys.argv[0], run_name='__main__')\nexcept SystemExit as exc:\n"
               "    code = exc.code or 0\n"
               "print(f'@@ {time.perf_counter() - t} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}',"
               " file=sys.stderr); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    line = [x for x in out.stderr.splitlines() if x.startswith("@@ ")][-1].split()
    return float(line[1]), int(line[2]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            big, small = root / "big.yaml", root / "small.yaml"
            write_catalog(big, n)
            write_catalog(small, 1, start=n)
            env = {**os.environ, "LLMDATA_HOME": str(root / "home"),
                   "LLMDATA_CATALOG": os.pathsep.join([str(big), str(small)])}
            build_s, build_mib = peak_of(["llmdata", "search", "medical", "--limit", "5"], env)
            write_catalog(small, 2, start=n)  # an edit of the small user catalog
            edit_s, edit_mib = peak_of(["llmdata", "search", "medical", "--limit", "5"], env)
            warm = [wall([sys.executable, "-m", "llmdata", "search", "医疗", "--limit", "20"], env) for _ in range(5)]
            base_s, _ = _baseline(big, root, env)
        print(f"{n:>7} entries: build {build_s:6.2f} s (peak {build_mib:6.0f} MiB) | baseline FTS5 build "
              f"{base_s:5.2f} s (x{build_s / base_s:.1f}) | edit of another catalog {edit_s:5.2f} s "
              f"(peak {edit_mib:.0f} MiB) | warm search median {statistics.median(warm) * 1000:5.0f} ms")


def _baseline(catalog: Path, root: Path, env: dict) -> tuple[float, float]:
    script = root / "baseline.py"
    script.write_text(BASELINE, encoding="utf-8")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c",
                          "import resource, runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0]);"
                          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)",
                          str(script), str(catalog), str(root / "baseline.sqlite")],
                         check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, int(out.stderr.split()[-1]) / 1024


if __name__ == "__main__":
    main()
