"""Compiled, patient-parallel kernels of the cohort layer.

Only flat float64/int64 arrays cross in; names were lowered to indices by
the caller.  Each patient gets its own ``args`` (parameters + MTX dose table)
and work arrays inside the ``prange`` loop, writes only its own rows of the
outputs, and reports a status code: nothing raises inside the loop, and a
patient's result does not depend on the thread that ran it.

* ``trial``: from the settled state at ``t0`` (< 0 gives the background a
  run-in under its real weekly doses) through the regimen to the last output;
* ``exposures``: every drug's exposure at the output days (what a visit reads of an NSAID).

Call them through ``run_trial`` and ``patient_exposures``: Numba compiles one specialisation
per combination of array layouts and read-only flags, so the wrappers pass every array as a
writable C-contiguous copy, whoever calls (the warm-up, a chunk) and whatever the plan froze,
as the day-0 replay passes its arrays to the same solver.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..model.args import args_size, write_args
from ..model.forcing import exposures_at
from ..solver._driver import pin_uuids


def make_trial(solve):
    """Build ``trial`` around a compiled ``solve`` kernel (rodas4 or dopri5)."""

    @njit(parallel=True, cache=True, error_model="numpy")
    def trial(
        P, y0, t0, dose_t, dose_depot, dose_mg, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y_out, status, stats
    ):
        """Trajectories: y0 (n, ns) at t0; shared table doses (MTX, ...); MSC events with
        per-patient amounts ev_amt (n, k) -> y_out (n, m, ns), status (n,), stats (n, N_STATS)."""
        n = P.shape[0]
        for i in prange(n):
            args = np.empty(args_size(dose_depot))
            write_args(args, P[i], dose_t, dose_depot, dose_mg)
            status[i] = solve(
                t0, y0[i], args, t_out, ev_t, ev_cmt, ev_amt[i], rtol, atol, 0.0, np.inf, max_steps, y_out[i], stats[i]
            )

    pin_uuids(trial)
    return trial


@njit(parallel=True, cache=True, error_model="numpy")
def exposures(P, dose_t, dose_depot, dose_mg, t_out, out):
    """Each patient's forcings at the output days: P (n, n_params) -> out (n, m, n_forcings)."""
    for i in prange(P.shape[0]):
        args = np.empty(args_size(dose_depot))
        write_args(args, P[i], dose_t, dose_depot, dose_mg)
        exposures_at(args, t_out, out[i])


def _inputs(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Writable C-contiguous copies of kernel inputs: one compiled specialisation."""
    return tuple(np.array(a, order="C", copy=True) for a in arrays)


def run_trial(trial, P, y0, t0, dose_t, dose_depot, dose_mg, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps):
    """``trial`` (a ``make_trial`` kernel) on n patients: (status (n,), y (n, m, n_states),
    stats (n, 5)); the inputs as ``trial`` documents them."""
    n, m, ns = P.shape[0], len(t_out), y0.shape[1]
    y = np.empty((n, m, ns))
    status = np.empty(n, dtype=np.int64)
    stats = np.zeros((n, 5), dtype=np.int64)
    fixed = _inputs(P.astype(np.float64), y0.astype(np.float64), dose_t, dose_depot.astype(np.int64), dose_mg, t_out)
    events = _inputs(ev_t, ev_cmt.astype(np.int64), ev_amt, atol)
    trial(*fixed[:2], float(t0), *fixed[2:], *events[:3], float(rtol), events[3], int(max_steps), y, status, stats)
    return status, y, stats


def patient_exposures(P, dose_t, dose_depot, dose_mg, t_out, n_forcings: int) -> np.ndarray:
    """``exposures`` of n patients at ``t_out``: (n, len(t_out), n_forcings)."""
    out = np.zeros((P.shape[0], len(t_out), n_forcings))
    p, t, depot, mg, days = _inputs(P.astype(np.float64), dose_t, dose_depot.astype(np.int64), dose_mg, t_out)
    exposures(p, t, depot, mg, days, out)
    return out
