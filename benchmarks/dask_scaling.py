"""The Dask case: a summary-only ``msc+dmard`` cohort in this process and on a LocalCluster of
1 and 2 worker processes, the scheduler's overhead per chunk, and the throughput projected for
more workers.

    python benchmarks/dask_scaling.py [--patients N] [--chunk-size S] [--json FILE]

Per executor: wall time after the kernels are loaded (``Executor.warm_up``), patients per second.
Overhead per chunk: empty tasks through the same windowed ``as_completed`` loop on the 2-worker
cluster (submit, schedule, run nothing, return, release), seconds per task.  Client cost per chunk:
folding one chunk into the streaming summary (serial on the client, like the writers).
Projection for W workers (one core each): chunks per second = min(W / (c + o), 1 / (o + f)), with
c the per-chunk cost on one one-core worker (from the 2-worker run), o the overhead per chunk and f the client's fold, times
patients per chunk; the first term is the workers, the second the client and scheduler, which
handle every chunk one after another.  Needs ``rasim[dask]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rasim.cohort import Cohort
from rasim.cohort.pipeline import ChunkResult, Dask, InProcess
from rasim.cohort.streaming import StreamingSummary

ARM = "msc+dmard"
WORKERS = (1, 2)
PROJECT = (2, 10, 100, 1000)


def timed_run(cohort: Cohort, executor) -> float:
    """Seconds for a summary-only run of ``cohort`` on ``executor`` (kernels already loaded)."""
    executor.warm_up(cohort.solver)
    t0 = time.perf_counter()
    cohort.run(keep="summary", executor=executor)
    return time.perf_counter() - t0


def overhead(executor: Dask, n: int = 200) -> float:
    """Seconds per empty task through ``Dask.map``'s window (the scheduler's cost of a chunk)."""
    client = executor.client
    from distributed import as_completed

    t0 = time.perf_counter()
    futures = [client.submit(int, k, pure=False) for k in range(n)]
    for f in as_completed(futures):
        f.result()
        f.release()
    return (time.perf_counter() - t0) / n


def fold_cost(cohort: Cohort) -> float:
    """Seconds to fold one chunk into a ``StreamingSummary`` (the client's serial share)."""
    task = cohort.chunks()[0]
    result = ChunkResult(task, task.run())
    stream = StreamingSummary(ARM, cohort.plan.t_out)
    t0 = time.perf_counter()
    stream.add(result.part)
    return time.perf_counter() - t0


def project(c: float, o: float, f: float, size: int, workers: int) -> float:
    """Patients per second with ``workers`` one-core workers (see the module's docstring)."""
    return size * min(workers / (c + o), 1.0 / (o + f))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=4000)
    p.add_argument("--chunk-size", type=int, default=500)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    cohort = Cohort(ARM, patients=a.patients, seed=0, chunk_size=a.chunk_size)
    out: dict = {"patients": a.patients, "chunk_size": a.chunk_size, "arm": ARM}
    out["in_process_s"] = timed_run(cohort, InProcess())
    for w in WORKERS:
        with Dask.connect(f"local:{w}") as ex:
            out[f"dask_{w}_s"] = timed_run(cohort, ex)
            if w == max(WORKERS):
                out["overhead_per_chunk_s"] = overhead(ex)
    out["fold_per_chunk_s"] = fold_cost(cohort)
    chunks = -(-a.patients // a.chunk_size)
    w = max(WORKERS)  # one-core workers side by side: a chunk's cost on one core, overhead included
    c = w * out[f"dask_{w}_s"] / chunks
    o, f = out["overhead_per_chunk_s"], out["fold_per_chunk_s"]
    out["per_chunk_s"] = c
    out["projected_patients_per_s"] = {w: project(c - o, o, f, a.chunk_size, w) for w in PROJECT}
    for k in ("in_process", *(f"dask_{w}" for w in WORKERS)):
        print(f"{k:>10}: {out[k + '_s']:7.1f} s, {a.patients / out[k + '_s']:7.1f} patients/s", file=sys.stderr)
    print(
        f"per chunk ({a.chunk_size} patients): {c:.3f} s on one one-core worker; scheduler overhead {o * 1e3:.2f} ms; "
        f"client fold {f * 1e3:.1f} ms",
        file=sys.stderr,
    )
    for w, rate in out["projected_patients_per_s"].items():
        print(f"projected, {w:>4} workers: {rate:9.0f} patients/s", file=sys.stderr)
    text = json.dumps(out)
    print(text)
    if a.json:
        with open(a.json, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
