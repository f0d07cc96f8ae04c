"""Workloads the suite runs in fresh processes; each prints one JSON line.

    python benchmarks/child.py start          # import + first 8-patient cohort run, then a warm one
    python benchmarks/child.py cohort N       # one summary-only run of N patients, with peak memory

``start`` reports ``first_s`` (import + first run) and ``warm_s`` (the same
run again); the suite runs it with an empty and then a filled
``NUMBA_CACHE_DIR``.  ``cohort`` first runs 8 patients (compiles or loads the kernels:
``compile_s``), then reports the N-patient run's wall time, the cohort's own
``run_s``, the time inside the trial integration alone (``trial_s``: the run's
``timing["trial_s"]``, for the solve-only throughput), failures and peak resident
memory (MiB) at its start and its peak.
"""

from __future__ import annotations

import json
import sys
import time

START_PATIENTS = 8


def _peak_mib() -> float:
    """Peak resident memory of this process so far (MiB).

    Linux: VmHWM from /proc/self/status, the high-water mark of this process's own
    address space.  ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used there: across
    fork/vfork + exec it keeps the parent's peak (the suite's, over 1 GiB with JAX
    loaded), which would hide the run's own peak.  Elsewhere ru_maxrss is the fallback."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def start() -> dict:
    """Seconds for import + a first small cohort run, and for a second (warm) run."""
    t0 = time.perf_counter()
    import cases

    res = cases.run_summary(cases.cohort(START_PATIENTS))
    t1 = time.perf_counter()
    cases.run_summary(cases.cohort(START_PATIENTS, seed=1))
    t2 = time.perf_counter()
    return {"first_s": t1 - t0, "warm_s": t2 - t1, "reported_compile_s": res.timing.get("compile_s")}


def _reset_peak() -> None:
    """Restart the peak-memory count from the current resident size (Linux >= 4.0; else no-op)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def cohort(n: int) -> dict:
    """One summary-only run of ``n`` patients, after a small run that compiles or loads the kernels
    (so neither JIT time nor JIT memory is counted in the run's figures)."""
    import cases

    warm = cases.run_summary(cases.cohort(START_PATIENTS, seed=1))
    _reset_peak()
    before = _peak_mib()
    t0 = time.perf_counter()
    c = cases.cohort(n)
    res = cases.run_summary(c)
    wall = time.perf_counter() - t0
    return {
        "patients": n,
        "wall_s": wall,
        "run_s": res.timing.get("run_s", wall),
        "trial_s": res.timing["trial_s"],
        "compile_s": warm.timing.get("compile_s", 0.0),
        "failures": cases.failures(res),
        "peak_mib_before": before,
        "peak_mib": _peak_mib(),
        "chunk_size": getattr(c, "chunk_size", None),
        "source": cases.SOURCE,
    }


if __name__ == "__main__":
    mode = sys.argv[1]
    out = start() if mode == "start" else cohort(int(sys.argv[2]))
    print(json.dumps(out))
