"""Lockstep lanes (``rasim.lockstep``) against the cohort's scalar kernel, one thread.

    python benchmarks/lockstep.py [--patients 256] [--rounds 3]

The cohort runs RODAS4 in lockstep, ``rasim.lockstep.B`` patients at once, once the lanes are
compiled (``RASIM_LOCKSTEP``); this compares the two paths on the suite's patients: whether every
output, status and count is the same bit for bit, and the time per patient on one thread,
taking turns (the machine's speed drifts).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rasim import lockstep
from rasim.integrate import BATCHES, kernel_inputs, lanes
from rasim.model.states import N_STATES

B = lockstep.B


def _inputs(prob, rtol: float):
    """The problem's arrays as writable C-contiguous copies, as ``integrate_batch`` passes them
    (one compiled specialisation: Numba compiles another for read-only arrays)."""
    import cases

    y0, t_out, ev_t, ev_amt = kernel_inputs(prob.y0, prob.t_out, prob.ev_t, prob.ev_amt)
    (ev_cmt,) = kernel_inputs(prob.ev_cmt, dtype=np.int64)
    return (prob.t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, cases.atol_vector(rtol), 100_000)


def _outputs(k: int, m: int):
    return np.empty((k, m, N_STATES)), np.zeros((k, 5), np.int64), np.empty(k, np.int64)


def solve_scalar(prob, rtol: float):
    """The cohort's scalar kernel (``integrate.BATCHES['rodas4']``): (status, y_out, stats)."""
    t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps = _inputs(prob, rtol)
    y, stats, status = _outputs(len(y0), len(t_out))
    BATCHES["rodas4"](
        t0, y0, prob.args.copy(), t_out, ev_t, ev_cmt, ev_amt, rtol, atol, 0.0, np.inf, max_steps, y, stats, status
    )
    return status, y, stats


def solve_lanes(prob, rtol: float):
    """The lanes, the patients they hand back through the scalar kernel: (status, y_out, stats)."""
    t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps = _inputs(prob, rtol)
    y, stats, status = _outputs(len(y0), len(t_out))
    lockstep.integrate_rows(
        lanes(), BATCHES["rodas4"], t0, y0, prob.args.copy(), prob.args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol,
        max_steps, y, stats, status,
    )  # fmt: skip
    return status, y, stats


def compare(prob, rtol: float = 1e-4) -> dict:
    """Whether the lanes give the scalar kernel's status, outputs and counts bit for bit."""
    a, b = solve_scalar(prob, rtol), solve_lanes(prob, rtol)
    return {"equal": all(np.array_equal(x, z, equal_nan=True) for x, z in zip(a, b))}


def compile_lanes(prob, rtol: float = 1e-4) -> dict:
    """Compile (or load from the cache) the lanes: seconds, and whether the cache had them."""
    cached = lockstep.compiled(lanes())
    t = time.perf_counter()
    solve_lanes(prob.take(2), rtol)
    return {"compile_s": time.perf_counter() - t, "from_cache": cached}


def timed(prob, rtol: float, rounds: int) -> dict:
    """Best of ``rounds`` of each path (one thread: the kernels are called directly), taking turns: seconds."""
    scalar, lanes = [], []
    for _ in range(rounds):
        for runs, solve in ((scalar, solve_scalar), (lanes, solve_lanes)):
            t = time.perf_counter()
            solve(prob, rtol)
            runs.append(time.perf_counter() - t)
    return {"scalar_s": min(scalar), "lanes_s": min(lanes)}


def main() -> None:
    import cases

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    prob = cases.problems(a.patients)
    c = compile_lanes(prob, a.rtol)
    print(f"{B} lanes: {'loaded from the cache' if c['from_cache'] else 'compiled'} in {c['compile_s']:.1f} s")
    check = compare(prob, a.rtol)
    print(f"{a.patients} msc+dmard patients, rtol {a.rtol:g}: bit for bit equal to the scalar kernel: {check['equal']}")
    t = timed(prob, a.rtol, a.rounds)
    s, v = t["scalar_s"], t["lanes_s"]
    print(
        f"one thread: scalar {s / a.patients * 1e3:.3f} ms/patient, lanes {v / a.patients * 1e3:.3f} ms/patient ({s / v:.2f}x)"
    )


if __name__ == "__main__":
    main()
