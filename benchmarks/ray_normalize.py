"""Ray normalization of one big sharegpt JSONL with 1 vs 2 CPUs, and the local engine on the same file.

Each method runs in its own interpreter (a fresh `ray.init(num_cpus=N)` per
CPU setting), rounds interleaved, medians reported (the machine is shared):
- local:         normalize.pipeline.normalize (one process: pyarrow JSON reader + sharegpt's columnar twin + Parquet)
- ray-1, ray-2:  ray_engine.normalize.normalize_on_ray on a local Ray with 1 or 2 CPUs
- *-pinned:      the same with the whole process tree held to that many cores (1 for local-pinned)

What "1 CPU" means. Ray's `num_cpus` is a count of task slots, not a limit
on cores: `ray.init(num_cpus=1)` runs one task at a time, but that task's
process has threads (the local engine's: pyarrow parses the next 16 MiB chunk
on one while the main thread converts, and a writer thread compresses
Parquet), and the driver, raylet and GCS run beside it, all on every core of
the machine. So ray-1 may use more than one core, and on a two-core machine
ray-2 / ray-1 then measures "two tasks at a time against one", not "two cores
against one". The pinned runs measure the latter: `os.sched_setaffinity`
before `ray.init` puts the driver on the first N cores, and the raylet, GCS
and workers it starts inherit that, so ray-1-pinned is the whole Ray instance
on one core (on a two-core machine ray-2-pinned is ray-2: both cores). Both
are printed, with the CPU seconds (user + system) of the whole process tree
over the conversion, read from /proc, and the cores that makes on average.

Where a Ray run's time goes: every task logs its wall and CPU time; the
script prints their sums, how many tasks ran at once on average (task walls
over the span from the first task's start to the last one's end), the CPU of
the driver and Ray's own processes (the tree's CPU less the tasks'), and the
time outside the tasks (planning the units, the workers importing the
converters, assembling the shards and the manifest). `--scheduler` also times
40 tasks that sleep 0.25 s on 2 CPUs as a `ray.data` map over a list and as
plain Ray tasks: the scheduling alone, why the engine uses plain tasks.

The Ray engine cuts a plain JSON Lines file into ranges of whole lines
(32 MiB), one task each, so one file keeps every CPU busy; ids (file:line),
row order and counts are those of the local engine (checked here on the row
count; tests/test_ray_engine.py checks rows, ids and rejects).
Ray's start-up is reported apart: `ray.init`, then one short task per CPU
(the worker processes the first conversion would otherwise start). The
ratios use the conversion alone; the end-to-end walls are printed too.

Target: ray-2 / ray-1 conversion throughput >= 1.6. What the machine allows at
the time is measured too: the same fixed CPU work in 1 and in 2 plain
processes (no Ray); on a machine whose cores other work keeps busy that
ratio, and so Ray's, stays near 1: read every figure beside it.

    python benchmarks/ray_normalize.py                       # 2,000,000 rows (about 3.3 GB)
    python benchmarks/ray_normalize.py --records 400000 --rounds 1 --scheduler   # a quicker look
    python benchmarks/ray_normalize.py --methods local,local-pinned,ray-1,ray-1-pinned,ray-2
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from convert_chat import make_input

# CPU seconds (user + system) of this process and every process under it (Ray's raylet, GCS and workers), read
# from /proc: Ray's workers are not children this process waits for, so getrusage(RUSAGE_CHILDREN) misses them
TREE_CPU = """
import os
def tree_cpu():
    tick, parents, cpu = os.sysconf("SC_CLK_TCK"), {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(pid)], cpu[int(pid)] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
    mine, grown = {os.getpid()}, True
    while grown:
        new = {pid for pid, parent in parents.items() if parent in mine} - mine
        mine, grown = mine | new, bool(new)
    return {pid: cpu[pid] for pid in mine}
def cpu_between(before, after):
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())
if PIN:  # this process and all it starts (Ray's raylet, GCS and workers inherit it) on PIN cores
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:PIN])
"""

LOCAL = """
from llmdata.normalize.pipeline import FormatSpec, normalize
t0, c0 = time.perf_counter(), tree_cpu()
src = Path(SRC)
m = normalize({"train": [(src, src.name)]}, FormatSpec("jsonl", "sharegpt"), source="bench", out_dir=Path(OUT) / "n")
result = {"convert": time.perf_counter() - t0, "cpu": cpu_between(c0, tree_cpu()), "rows": m["splits"]["train"]["rows"]}
"""

RAY = """
t0 = time.perf_counter()
import logging
import ray
from llmdata.normalize.pipeline import FormatSpec
from llmdata.ray_engine.normalize import normalize_on_ray
ray.init(num_cpus=CPUS, include_dashboard=False, log_to_driver=False, configure_logging=False)
t1 = time.perf_counter()

@ray.remote(num_cpus=1)
def worker_up():
    time.sleep(0.3)  # long enough for every CPU's worker to start
    return os.getpid()

ray.get([worker_up.remote() for _ in range(CPUS)])
t2 = time.perf_counter()
timings = []

class Timings(logging.Handler):
    def emit(self, record):
        timings.extend(getattr(record, "timings", []))

log = logging.getLogger("llmdata.ray_engine.normalize")
log.setLevel(logging.DEBUG)
log.addHandler(Timings())
c2 = tree_cpu()
src = Path(SRC)
m = normalize_on_ray({"train": [(src, src.name)]}, FormatSpec("jsonl", "sharegpt"), source="bench",
                     out_dir=Path(OUT) / "n")
t3 = time.perf_counter()
span = max(t["end"] for t in timings) - min(t["start"] for t in timings)
result = {"init": t1 - t0, "workers": t2 - t1, "convert": t3 - t2, "cpu": cpu_between(c2, tree_cpu()),
          "rows": m["splits"]["train"]["rows"], "tasks": len(timings),
          "task_wall": sum(t["end"] - t["start"] for t in timings), "task_cpu": sum(t["cpu"] for t in timings),
          "span": span}
ray.shutdown()
"""

# name: (code, CPUs for Ray, cores the whole process tree is pinned to; 0: not pinned)
METHODS = {"local": (LOCAL, 0, 0), "local-pinned": (LOCAL, 0, 1),
           "ray-1": (RAY, 1, 0), "ray-2": (RAY, 2, 0), "ray-1-pinned": (RAY, 1, 1), "ray-2-pinned": (RAY, 2, 2)}


def scheduler_probe(cpus: int = 2, tasks: int = 40, seconds: float = 0.25) -> dict:
    """Wall time of ``tasks`` tasks that each sleep ``seconds`` on a local Ray with ``cpus`` CPUs: as a
    ``ray.data`` map over a list (one item per task, as a list of units would be) and as plain Ray tasks.
    Sleeping tasks need no CPU, so this is the scheduling alone; the ideal is tasks * seconds / cpus."""
    code = f"""
import json, time
import ray
ray.init(num_cpus={cpus}, include_dashboard=False, log_to_driver=False, configure_logging=False)
ray.data.DataContext.get_current().enable_progress_bars = False

def nap(batch):
    time.sleep({seconds})
    return batch

@ray.remote(num_cpus=1)
def nap_task(i):
    time.sleep({seconds})
    return i

ray.get([nap_task.remote(i) for i in range({cpus})])  # workers started
walls = {{}}
for name in ("remote", "data", "remote", "data"):  # each twice, the second figure kept (warm)
    t0 = time.perf_counter()
    if name == "data":
        ray.data.from_items([{{"i": i}} for i in range({tasks})], override_num_blocks={tasks}).map_batches(
            nap, batch_size=1, num_cpus=1).take_all()
    else:
        ray.get([nap_task.remote(i) for i in range({tasks})])
    walls[name] = time.perf_counter() - t0
print("RESULT " + json.dumps(walls))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-4000:])
    walls = json.loads([x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])
    return {**walls, "ideal": tasks * seconds / cpus, "tasks": tasks, "seconds": seconds, "cpus": cpus}


def _spin(seconds: float) -> None:
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def machine_scaling(cpu_seconds: float = 6.0, pieces: int = 24) -> float:
    """Wall time of fixed CPU work in 1 process over the same in 2 (2.0 on two idle cores)."""
    import multiprocessing

    walls = []
    for procs in (1, 2):
        start = time.perf_counter()
        with multiprocessing.Pool(procs) as pool:
            pool.map(_spin, [cpu_seconds / pieces] * pieces, chunksize=1)
        walls.append(time.perf_counter() - start)
    return walls[0] / walls[1]


def run(code: str, cpus: int, pin: int, src: Path, out: Path) -> dict:
    """The method's timings (seconds) from a fresh interpreter, plus its whole wall time."""
    out.mkdir(parents=True, exist_ok=True)
    script = (f"import json, sys, time\nfrom pathlib import Path\nSRC = {str(src)!r}\nOUT = {str(out)!r}\n"
              f"CPUS = {cpus}\nPIN = {pin}\n" + TREE_CPU + code
              + "\nsys.stdout.write('\\nRESULT ' + json.dumps(result))\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    wall = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-4000:])
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return {**json.loads(line[len("RESULT "):]), "wall": wall}


def _ratio_line(label: str, median: dict, one: str, two: str) -> None:
    if one in median and two in median:
        a, b = median[one], median[two]
        print(f"  {label}: {two} / {one} throughput x{a['convert'] / b['convert']:.2f} (target >= 1.6); "
              f"whole runs x{a['wall'] / b['wall']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--methods", default="local,ray-1,ray-2,ray-1-pinned",
                        help=f"comma-separated, of: {', '.join(METHODS)}")
    parser.add_argument("--scheduler", action="store_true",
                        help="also time Ray Data's map_batches against plain Ray tasks on sleeping tasks")
    parser.add_argument("--workdir", default=None, help="where the generated input goes (default: a temp dir)")
    args = parser.parse_args()
    names = args.methods.split(",")
    if unknown := [n for n in names if n not in METHODS]:
        parser.error(f"unknown method(s) {', '.join(unknown)}; methods: {', '.join(METHODS)}")
    work = Path(tempfile.mkdtemp(prefix="llmdata-ray-", dir=args.workdir))
    try:
        src = work / "sharegpt.jsonl"
        count = make_input(src, "sharegpt", records=args.records)
        mib = src.stat().st_size / 2**20
        print(f"sharegpt: {count} records, JSONL {mib:.0f} MiB, {args.rounds} round(s)", flush=True)
        results: dict[str, list[dict]] = {name: [] for name in names}
        control = []
        for _ in range(args.rounds):
            control.append(machine_scaling())
            for name in names:
                code, cpus, pin = METHODS[name]
                results[name].append(run(code, cpus, pin, src, work / "out"))
        median = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in results.items()}
        for name, m in median.items():
            assert m["rows"] == count, f"{name} wrote {m['rows']} rows of {count}"
            start = f"  start-up: ray.init {m['init']:5.2f} s + workers {m['workers']:5.2f} s" if "init" in m else ""
            print(f"  {name:12s} convert {m['convert']:7.2f} s ({mib / m['convert']:6.1f} MiB/s), "
                  f"CPU {m['cpu']:6.1f} s ({m['cpu'] / m['convert']:.2f} cores)  whole run {m['wall']:7.2f} s{start}"
                  f"   (converts: {', '.join('%.2f' % r['convert'] for r in results[name])})", flush=True)
            if "tasks" in m:
                print(f"  {'':12s} {m['tasks']:.0f} tasks: task walls {m['task_wall']:6.1f} s over {m['span']:6.2f} s "
                      f"(x{m['task_wall'] / m['span']:.2f} at once), task CPU {m['task_cpu']:6.1f} s; "
                      f"driver and Ray's own processes {m['cpu'] - m['task_cpu']:5.1f} s CPU; "
                      f"outside the tasks {m['convert'] - m['span']:5.2f} s")
        _ratio_line("not pinned", median, "ray-1", "ray-2")
        _ratio_line("pinned    ", median, "ray-1-pinned", "ray-2-pinned" if "ray-2-pinned" in median else "ray-2")
        print(f"  the machine: 2 / 1 plain processes on fixed CPU work x{statistics.median(control):.2f} "
              f"(2.00 on two idle cores; rounds: {', '.join('%.2f' % c for c in control)})")
        for name in names:
            if name.startswith("ray") and "local" in median:
                print(f"  {name} / local throughput: x{median['local']['convert'] / median[name]['convert']:.2f}; "
                      f"whole runs x{median['local']['wall'] / median[name]['wall']:.2f}")
        if args.scheduler:
            p = scheduler_probe()
            print(f"  scheduling ({p['tasks']} tasks sleeping {p['seconds']} s, {p['cpus']} CPUs, ideal "
                  f"{p['ideal']:.2f} s): ray.data map_batches {p['data']:.2f} s, plain Ray tasks {p['remote']:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
