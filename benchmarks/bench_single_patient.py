"""Benchmark: one 3-year patient (UC-MSC day 0 + weekly MTX 15 mg), rasim's
compiled Rosenbrock solver against scipy on the same model and RHS.

Prints a table and the speed ratios measured side by side in this run, with
JIT compile time reported apart from run time:

* cold: first call in a fresh process with an empty Numba cache (compiles);
* cached: first call in a fresh process with the on-disk cache filled;
* run: median of repeated solves once loaded (the day-0 state is found
  once beforehand, so only the 3-year integration is timed).

    python benchmarks/bench_single_patient.py [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = """
import time
t0 = time.perf_counter()
from benchmark_case import problem, solve
solve(problem())
t1 = time.perf_counter()
solve(problem())
t2 = time.perf_counter()
print((t1 - t0) - (t2 - t1))
"""


def first_call_seconds(cache_dir: str | None) -> float:
    """Import + first prepare/solve in a fresh process, minus a warm prepare/solve (s)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    here = os.path.dirname(os.path.abspath(__file__))  # benchmark_case.py lives beside this script
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def time_runs(prob, method: str, repeat: int):
    """Median solve time (s) of ``method`` on the prepared problem, and its last output."""
    from benchmark_case import solve

    solve(prob, method)  # load / compile
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = solve(prob, method)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cold_dir:
        cold = first_call_seconds(cold_dir)
        cached = first_call_seconds(cold_dir)  # same dir, now filled
    figures = {"compile_cold_s": cold, "load_cached_s": cached, "methods": {}}
    from rasim import model
    from benchmark_case import problem

    prob = problem()
    rows = []
    reference = None
    for method, repeat in (("rodas4", args.repeat), ("scipy-lsoda", 2), ("scipy-radau", 2), ("scipy-bdf", 2)):
        seconds, (status, y, stats) = time_runs(prob, method, repeat)
        das = model.observables(y, prob.params)["DAS28_ESR"]
        if reference is None:
            reference = das
        err = float(np.max(np.abs(das - reference)))
        figures["methods"][method] = {
            "seconds": seconds,
            "status": status.name,
            "steps": int(stats[0]),
            "max_das28_diff_vs_rodas4": err,
        }
        rows.append((method, seconds, status.name, int(stats[0]), err))
    base = figures["methods"]["rodas4"]["seconds"]
    print(
        f"one patient, 3 years, UC-MSC day 0 + MTX 15 mg weekly (156 doses), rtol 1e-6; "
        f"python {platform.python_version()}, {os.cpu_count()} cores"
    )
    print(f"{'method':14s} {'run (ms)':>10s} {'x rodas4':>9s} {'steps':>7s} {'|dDAS28|':>9s}  status")
    for method, seconds, status, steps, err in rows:
        print(f"{method:14s} {1e3 * seconds:10.2f} {seconds / base:9.1f} {steps:7d} {err:9.1e}  {status}")
    print(f"JIT: cold compile {cold:.1f} s, cached load {cached:.2f} s (import + first call, minus a warm call)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
