"""Index build, incremental rebuild and warm search on synthetic user catalogs of 10k and 100k entries.

For each size, the entries are split over ``--files`` user catalogs (10 by
default; one catalog file may hold at most 32 MiB, ~70,000 entries). In the
same run, each step in its own process (so its peak RSS is its own):

- build:    the first ``llmdata search`` with the catalogs in LLMDATA_CATALOG (validate + index build);
            peak RSS of the command and of its largest worker process, and the peak memory of all of
            them together (sum of PSS, sampled)
- edit:     one of the files rewritten (every summary changed, one entry added), then ``llmdata search``:
            what an edit costs (only that file is read again)
- warm CLI: ``llmdata search 医疗 --limit 20``, the whole command (start-up included), median of 7
- in-process: ``llmdata.search("医疗", limit=20)`` in a warm process, median of 20 calls
- baselines: a plain sqlite3 FTS5 build of the same documents (every file parsed with PyYAML's C
            loader, no validation, one insert per entry), and ``llmdata --version`` (the CLI start-up
            alone) for the warm search

    python benchmarks/index_scale.py [--sizes 10000 100000] [--files 10]
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

from installed import installed_env

WORDS = ("medical math code law chat preference instruction dialogue finance science history poetry "
         "translation summary reasoning safety").split()
ZH = ("医疗", "数学", "代码", "法律", "对话", "偏好", "指令", "金融", "科学", "历史", "诗歌", "翻译")

ENTRY = """\
- id: synth-{i}
  name: Synthetic dataset {i} {w1} {w2}
  summary:
    en: A synthetic {w1} and {w2} dataset number {i} for the index benchmark{edit}.
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
conn = sqlite3.connect(sys.argv[1])
conn.execute("CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, name, tags, summary, tokenize='unicode61')")
for path in sys.argv[2:]:
    entries = yaml.load(open(path, encoding="utf-8"), Loader=yaml.CSafeLoader)
    conn.executemany("INSERT INTO fts VALUES (?, ?, ?, ?)",
                     ((e["id"], e["name"], " ".join(e.get("tags", [])), e["summary"]["en"] + " " + e["summary"]["zh"])
                      for e in entries))
conn.commit()
"""

IN_PROCESS = r"""
import statistics, sys, time
import llmdata
llmdata.search("医疗", limit=20)  # imports and the fingerprint check's first read
times = []
for _ in range(20):
    started = time.perf_counter()
    llmdata.search("医疗", limit=20)
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""

PEAK = ("import resource, runpy, sys, time; sys.argv = sys.argv[1:]; t = time.perf_counter()\n"
        "code = 0\ntry:\n    runpy.run_module(sys.argv[0], run_name='__main__')\nexcept SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "print(f'@@ {time.perf_counter() - t} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} "
        "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); sys.exit(code)")


# The searches a user types with filters, timed like the plain one: filters alone, and words with filters.
FILTERED = {
    "search --category preference --lang zh": ["--category", "preference", "--lang", "zh", "--limit", "20"],
    "search 医疗 --lang zh --category preference": ["医疗", "--lang", "zh", "--category", "preference", "--limit", "20"],
}


def write_catalog(path: Path, n: int, start: int = 0, edit: str = "") -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            lic, commercial = LICENSES[i % len(LICENSES)]
            fh.write(ENTRY.format(i=i, w1=WORDS[i % len(WORDS)], w2=WORDS[(i * 7 + 1) % len(WORDS)],
                                  z1=ZH[i % len(ZH)], z2=ZH[(i * 5) % len(ZH)],
                                  category=CATEGORIES[i % len(CATEGORIES)], domain=DOMAINS[i % len(DOMAINS)],
                                  lang="zh" if i % 3 else "en", license=lic, commercial=commercial, edit=edit))


def settle() -> None:
    """Let the files' timestamps age past the index's 2-second "just written" window (see index/fingerprint.py),
    so the steps measure what a user sees a moment after saving a file, not the one extra check right after."""
    time.sleep(2.2)


def wall(cmd: list[str], env: dict) -> float:
    """Wall seconds of one whole command (start-up included, as a user waits for it)."""
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def peak_of(cmd: list[str], env: dict) -> tuple[float, float, float, float]:
    """Seconds and peak RSS (MiB) of ``python -m MODULE ARGS``, the largest peak RSS of its worker processes,
    and the peak memory of the whole process tree: the sum of its processes' PSS (pages shared by a forked
    worker and its parent counted once), sampled every 50 ms from /proc (0 where there is no /proc)."""
    proc = subprocess.Popen([sys.executable, "-c", PEAK, *cmd], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    tree_peak = 0
    while proc.poll() is None:
        tree_peak = max(tree_peak, sum(_pss_kib(pid) for pid in _tree(proc.pid)))
        time.sleep(0.05)
    err = proc.stderr.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    line = [x for x in err.splitlines() if x.startswith("@@ ")][-1].split()
    return float(line[1]), int(line[2]) / 1024, int(line[3]) / 1024, tree_peak / 1024


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    found += _tree(int(child))
    except OSError:
        pass
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def baseline(paths: list[Path], root: Path, env: dict) -> float:
    db = root / "baseline.sqlite"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", BASELINE, str(db), *map(str, paths)], check=True, env=env)
    return time.perf_counter() - started


def run_size(n: int, files: int) -> None:
    per_file = -(-n // files)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for k in range(files):
            path = root / f"user-{k:02d}.yaml"
            write_catalog(path, min(per_file, n - k * per_file), start=k * per_file)
            paths.append(path)
        env = installed_env({**os.environ, "LLMDATA_HOME": str(root / "home"),
                             "LLMDATA_CATALOG": os.pathsep.join(map(str, paths))})
        search = ["llmdata", "search", "medical", "--limit", "5"]
        settle()
        build_s, build_mib, build_workers, build_tree = peak_of(search, env)
        base_s = baseline(paths, root, env)
        edited = paths[files // 2]
        first = (files // 2) * per_file
        write_catalog(edited, min(per_file, n - first), start=first, edit=" (edited)")
        with edited.open("a", encoding="utf-8") as fh:
            fh.write(ENTRY.format(i=n + 1, w1="new", w2="entry", z1="新", z2="增", category="sft", domain="general",
                                  lang="zh", license="mit", commercial="true", edit=""))
        settle()
        edit_s, edit_mib, _, _ = peak_of(search, env)
        cli = [sys.executable, "-m", "llmdata", "search", "医疗", "--limit", "20"]
        warm = statistics.median(wall(cli, env) for _ in range(7))
        filtered = {label: statistics.median(wall([sys.executable, "-m", "llmdata", "search", *args], env)
                                             for _ in range(7)) for label, args in FILTERED.items()}
        startup = statistics.median(wall([sys.executable, "-m", "llmdata", "--version"], env) for _ in range(7))
        inproc = float(subprocess.run([sys.executable, "-c", IN_PROCESS], check=True, env=env, capture_output=True,
                                      text=True).stdout.strip())
    workers = f", a worker {build_workers:.0f} MiB" if build_workers else ""
    tree = f", all processes together {build_tree:.0f} MiB PSS" if build_tree else ""
    print(f"{n:>7} entries in {files} files: build {build_s:6.2f} s (peak RSS {build_mib:4.0f} MiB{workers}{tree}) | "
          f"baseline FTS5 build {base_s:5.2f} s (x{build_s / base_s:.2f}) | edit of one file {edit_s:5.2f} s "
          f"(peak {edit_mib:.0f} MiB) | warm CLI search median {warm * 1000:4.0f} ms (CLI start-up alone "
          f"{startup * 1000:.0f} ms, x{warm / startup:.2f}) | in-process search {inproc * 1000:5.1f} ms", flush=True)
    print(" " * 9 + "warm CLI, filters: " + " | ".join(f"{label} {t * 1000:4.0f} ms" for label, t in filtered.items()),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--files", type=int, default=10, help="user catalog files the entries are split over")
    args = parser.parse_args()
    for n in args.sizes:
        run_size(n, args.files)


if __name__ == "__main__":
    main()
