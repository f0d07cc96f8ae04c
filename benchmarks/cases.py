"""The patients every benchmark solves: the ``msc+dmard`` cohort arm.

``problems(n)`` returns per-patient prepared problems in the layout of
``rasim.cohort.Cohort(...).problems()``; ``cohort(n)`` returns an object with
``.run(threads=None, keep="summary")``.  Both come from ``rasim.cohort``; when
it cannot be imported a stand-in is used instead: the single-patient benchmark
case (UC-MSC 4e7 IV on day 0 + oral MTX 15 mg weekly, 3 years) copied ``n``
times with every parameter multiplied by exp(0.02 z), z ~ N(0, 1), and the MTX
dose table rebuilt per patient; day 0 is the unperturbed patient's state.
``SOURCE`` says which one is in use; the environment variable
``RASIM_BENCH_STANDIN=1`` forces the stand-in.

Units: time in days, states in the model's units (``rasim.model.STATES``).
"""
from __future__ import annotations

import functools
import inspect
import os
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from rasim import model
from rasim.benchmark_case import problem as single_patient_problem

ARM = "msc+dmard"
STANDIN_SIGMA = 0.02  # log-normal spread of the stand-in's parameter perturbation
CHUNK = 2048  # patients prepared and solved at a time by the stand-in's run()

try:
    if os.environ.get("RASIM_BENCH_STANDIN"):
        raise ImportError("RASIM_BENCH_STANDIN is set")
    from rasim.cohort import Cohort
    SOURCE = f"rasim.cohort.Cohort({ARM!r})"
except Exception as exc:  # noqa: BLE001  (not landed yet, or broken mid-edit: say which)
    Cohort = None
    SOURCE = f"stand-in: the single-patient case x N, parameters perturbed ({type(exc).__name__}: {exc})"


@dataclass(frozen=True)
class Problems:
    """Per-patient prepared problems (float64 C-contiguous arrays).

    args (N, L) solver args; y0 (N, n) states at day t0 (t0 < 0: background run-in);
    t_out (m,) output days; bolus events at shared days ev_t (k,) into states ev_cmt (k,)
    with per-patient amounts ev_amt (N, k) (state units).
    """

    args: np.ndarray
    y0: np.ndarray
    t0: float
    t_out: np.ndarray
    ev_t: np.ndarray
    ev_cmt: np.ndarray
    ev_amt: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return self.args.shape[0]

    def take(self, count: int) -> "Problems":
        """The first ``count`` patients."""
        return self.rows(0, count)

    def rows(self, start: int, stop: int) -> "Problems":
        """Patients ``start`` .. ``stop - 1``."""
        sl = slice(start, stop)
        return Problems(self.args[sl], self.y0[sl], self.t0, self.t_out, self.ev_t, self.ev_cmt, self.ev_amt[sl])


def atol_vector(rtol: float) -> np.ndarray:
    """Absolute tolerance per state used with ``rtol`` in every benchmark:
    1e-3 * rtol times the state's typical magnitude (``model.STATE_SCALE``),
    i.e. rasim's default atol 1e-9 at its default rtol 1e-6."""
    return 1e-3 * rtol * model.STATE_SCALE


def problems(n: int, seed: int = 0) -> Problems:
    """``n`` patients of the ``msc+dmard`` arm, prepared (day-0 state found)."""
    if Cohort is not None:
        return _as_problems(Cohort(ARM, patients=n, seed=seed).problems())
    parts = [_standin_chunk(seed, first, min(CHUNK, n - first)) for first in range(0, n, CHUNK)]
    p0 = parts[0]
    return Problems(np.concatenate([p.args for p in parts]), np.concatenate([p.y0 for p in parts]), p0.t0,
                    p0.t_out, p0.ev_t, p0.ev_cmt, np.concatenate([p.ev_amt for p in parts]))


def cohort(n: int, seed: int = 0):
    """The cohort object whose ``run(threads=None, keep="summary")`` is benchmarked."""
    return Cohort(ARM, patients=n, seed=seed) if Cohort is not None else StandinCohort(n, seed)


def run_summary(c, threads=None):
    """``c.run(threads=threads, keep="summary")``; ``keep`` is left out where ``run`` has no such
    argument (a cohort that keeps only summaries unless asked for states)."""
    if "keep" in inspect.signature(c.run).parameters:
        return c.run(threads=threads, keep="summary")
    return c.run(threads=threads)


def failures(res) -> int:
    """Patients of a cohort run that did not succeed (``n_failed`` of a streaming summary, else
    nonzero ``status``)."""
    if hasattr(res, "n_failed") and not callable(res.n_failed):
        return int(res.n_failed)
    return int(np.count_nonzero(np.asarray(res.status)))


def _as_problems(raw) -> Problems:
    """Normalise the cohort's problems (event amounts shared (k,) or per patient (N, k))."""
    f64 = functools.partial(np.ascontiguousarray, dtype=np.float64)
    n, k = raw.args.shape[0], len(raw.ev_t)
    return Problems(f64(raw.args), f64(raw.y0), float(getattr(raw, "t0", 0.0)), f64(raw.t_out), f64(raw.ev_t),
                    np.ascontiguousarray(raw.ev_cmt, dtype=np.int64),
                    f64(np.broadcast_to(np.asarray(raw.ev_amt, dtype=np.float64), (n, k))))


@functools.cache
def _base():
    """The single-patient benchmark problem, prepared once per process."""
    return single_patient_problem()


@njit(cache=True)
def _fill_args(params, mtx_t, mtx_depot, mtx_mg, out):
    """Row i of ``out``: parameters ``params[i]`` followed by their MTX dose table."""
    n_params = params.shape[1]
    for i in range(params.shape[0]):
        out[i, :n_params] = params[i]
        model.pk.write_table(out[i], mtx_t, mtx_depot, mtx_mg)


def _standin_chunk(seed: int, first: int, count: int) -> Problems:
    """Stand-in patients ``first`` .. ``first + count - 1`` (deterministic per chunk)."""
    base = _base()
    rng = np.random.default_rng((seed, first))
    params = base.params * np.exp(STANDIN_SIGMA * rng.standard_normal((count, base.params.size)))
    args = np.empty((count, base.args.size))
    mtx_t, mtx_d, mtx_a = (np.ascontiguousarray(a) for a in base.mtx_doses)
    _fill_args(params, mtx_t, mtx_d.astype(np.int64), mtx_a, args)
    y0 = np.tile(base.y0, (count, 1))
    ev_t, ev_cmt, ev_amt = base.events
    return Problems(args, y0, 0.0, np.ascontiguousarray(base.t_out, dtype=np.float64), np.ascontiguousarray(ev_t),
                    np.ascontiguousarray(ev_cmt, dtype=np.int64), np.tile(ev_amt, (count, 1)))


@dataclass
class StandinResult:
    """What the stand-in run keeps: status per patient, mean states at the output days, timing (s)."""

    status: np.ndarray
    mean_states: np.ndarray
    timing: dict


class StandinCohort:
    """Stand-in for ``rasim.cohort.Cohort`` until it lands: summary-only runs in chunks of
    ``CHUNK`` patients, so memory does not grow with the number of patients."""

    chunk_size = CHUNK

    def __init__(self, patients: int, seed: int = 0):
        self.patients, self.seed = patients, seed

    def problems(self) -> Problems:
        """All patients' prepared problems."""
        return problems(self.patients, self.seed)

    def run(self, threads=None, keep: str = "summary", rtol: float = 1e-6) -> StandinResult:
        """Solve every patient with rasim's rodas4 (all cores); keep only a summary."""
        from solvers import solve_rasim  # benchmarks/ sibling, imported late (compiles kernels)

        t0 = time.perf_counter()
        solve_rasim("rodas4", _standin_chunk(self.seed, 0, 1), rtol)  # compile / load
        t1 = time.perf_counter()
        status = np.empty(self.patients, dtype=np.int8)
        total = 0.0
        for first in range(0, self.patients, CHUNK):
            chunk = _standin_chunk(self.seed, first, min(CHUNK, self.patients - first))
            out = solve_rasim("rodas4", chunk, rtol)
            status[first:first + chunk.n] = out.status
            total = total + np.nansum(out.y, axis=0)
        t2 = time.perf_counter()
        return StandinResult(status, total / self.patients, {"compile_s": t1 - t0, "run_s": t2 - t1})
