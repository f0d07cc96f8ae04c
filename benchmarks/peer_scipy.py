"""Peers: scipy ``solve_ivp`` (LSODA, BDF, Radau) and ``odeint`` (the LSODA Fortran
driver, stepping without Python between steps) with rasim's compiled RHS and Jacobian.

``fun`` and ``jac`` call the same Numba-compiled ``model.rhs`` / ``model.jac``
as rasim's solvers; the integration is split at MSC events like every other
method (``solvers.segments``).  scipy steps in Python on one core, so the
patients are spread over a process pool with one worker per core (spawned,
warmed before timing): throughput is compared at the same core count.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from cases import Problems, atol_vector
from solvers import Method, Output, integrate_segments, segments

# Run through rasim's zero-amount breakpoints (MTX kinks) rather than restarting at each: measured
# 1.2-2x faster at equal error for scipy, whose restarts are Python-level.  Bolus events still split.
BREAKPOINTS = False
SCIPY_METHODS = ("LSODA", "BDF", "Radau", "odeint")
ODEINT_MXSTEP = 1_000_000  # LSODA steps allowed per segment
_POOL: list = []  # the shared worker pool, created on first use


def scipy_methods() -> list[Method]:
    """solve_ivp with LSODA, BDF and Radau, and odeint."""
    return [Scipy(m) for m in SCIPY_METHODS]


def solve_serial(method: str, prob: Problems, rtol: float, atol: np.ndarray, breakpoints: bool = BREAKPOINTS) -> Output:
    """Every patient of ``prob`` in this process with ``solve_ivp(method=method)`` or ``odeint``."""
    from scipy.integrate import odeint, solve_ivp

    from rasim import model

    plan = segments(prob, breakpoints)
    n = prob.y0.shape[1]
    y = np.full((prob.n, prob.t_out.size, n), np.nan)
    status = np.zeros(prob.n, dtype=np.int64)
    for i in range(prob.n):
        args = prob.args[i]
        buf = np.empty(n)

        def fun(t, yv):
            model.rhs(t, np.ascontiguousarray(yv, dtype=np.float64), args, buf)
            return buf.copy()

        def jac(t, yv):
            out = np.zeros((n, n))
            model.jac(t, np.ascontiguousarray(yv, dtype=np.float64), args, out)
            return out

        def advance(y0, t0, t1, ts):
            t_eval = np.unique(np.append(ts, t1))
            if method == "odeint":
                ys, info = odeint(
                    fun,
                    y0,
                    np.append(t0, t_eval),
                    Dfun=jac,
                    rtol=rtol,
                    atol=atol,
                    tfirst=True,
                    mxstep=ODEINT_MXSTEP,
                    full_output=True,
                )
                if info["message"] != "Integration successful.":
                    raise ArithmeticError(info["message"])
                return ys[1:][np.searchsorted(t_eval, ts)], ys[-1].copy()
            sol = solve_ivp(fun, (t0, t1), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol, jac=jac)
            if not sol.success:
                raise ArithmeticError(sol.message)
            return sol.y[:, np.searchsorted(t_eval, ts)].T, sol.y[:, -1].copy()

        try:
            y[i] = integrate_segments(plan, prob, i, advance)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            status[i] = 1
    return Output(y, status)


def _pool() -> ProcessPoolExecutor:
    if not _POOL:
        _POOL.append(ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=get_context("spawn")))
    return _POOL[0]


class Scipy(Method):
    """``solve_ivp`` with one scipy method, or ``odeint``; patients split over the worker pool."""

    def __init__(self, method: str):
        self.method = method
        self.breakpoints = BREAKPOINTS
        self.name = f"scipy-{method.lower()}"
        driver = "odeint (LSODA Fortran driver)" if method == "odeint" else f"solve_ivp {method}"
        self.label = f"scipy {driver} (compiled RHS + Jacobian, {os.cpu_count()} processes)"

    def warm(self, prob: Problems) -> None:
        """Start every worker (import rasim, load the compiled RHS) outside the timed runs."""
        one = prob.take(1)
        jobs = [
            _pool().submit(solve_serial, self.method, one, 1e-3, atol_vector(1e-3), self.breakpoints)
            for _ in range(os.cpu_count())
        ]
        for job in jobs:
            job.result()

    def solve(self, prob: Problems, rtol: float) -> Output:
        parts = np.array_split(np.arange(prob.n), min(prob.n, os.cpu_count()))
        jobs = [
            _pool().submit(
                solve_serial,
                self.method,
                prob.rows(int(idx[0]), int(idx[-1]) + 1),
                rtol,
                atol_vector(rtol),
                self.breakpoints,
            )
            for idx in parts
        ]
        outs = [j.result() for j in jobs]
        return Output(np.concatenate([o.y for o in outs]), np.concatenate([o.status for o in outs]))

    def close(self) -> None:
        while _POOL:
            _POOL.pop().shutdown()
