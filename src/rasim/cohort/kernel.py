"""Compiled row-wise kernels of the cohort layer, run on slices of the patients in threads
(``integrate.in_threads``).

Only flat float64/int64 arrays cross in; names were lowered to indices by
the caller.  Each patient has its own row of ``args`` (parameters + dose tables,
``patient_args``) and of every output, and a status code: nothing raises inside
the kernels, and a patient's result does not depend on the thread that ran it.

* ``patient_args``: each patient's ``args`` row (parameters and dose tables), built once per
  chunk and shared by the trial, the visits' exposures and the adverse events;
* ``run_trial``: from the settled state at ``t0`` (< 0 gives the background a
  run-in under its real weekly doses) through the regimen to the last output, in
  the solver's batch kernel (``integrate.integrate_batch``, shared with the day-0 replay);
* ``patient_exposures``: every drug's exposure at the output days (what a visit reads of an NSAID).

Numba compiles one specialisation per combination of array layouts and read-only flags:
the wrappers pass every array as a writable C-contiguous copy, whoever calls (the warm-up,
a chunk) and whatever the plan froze.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..integrate import in_threads, integrate_batch, kernel_inputs
from ..model.args import args_size, write_args
from ..model.forcing import exposures_at


@njit(cache=True, error_model="numpy", nogil=True)
def _write_rows(args, P, dose_t, dose_depot, dose_mg):
    """Row i of ``args`` (n, args_size) for parameters ``P[i]`` and the shared table doses."""
    for i in range(P.shape[0]):
        write_args(args[i], P[i], dose_t, dose_depot, dose_mg)


@njit(cache=True, error_model="numpy", nogil=True)
def exposures(args, t_out, out):
    """Each patient's forcings at the output days: args (n, L) -> out (n, m, n_forcings)."""
    for i in range(args.shape[0]):
        exposures_at(args[i], t_out, out[i])


def patient_args(P, dose_t, dose_depot, dose_mg) -> np.ndarray:
    """Each patient's ``args`` (n, args_size): parameters ``P`` (n, n_params) and the table doses
    (days, depot codes, amounts)."""
    p, t, mg = kernel_inputs(P, dose_t, dose_mg)
    (depot,) = kernel_inputs(dose_depot, dtype=np.int64)
    args = np.empty((p.shape[0], args_size(depot)))
    in_threads(len(p), lambda r: _write_rows(args[r], p[r], t, depot, mg))
    return args


def run_trial(solver, args, y0, t0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps):
    """The trial of n patients with ``solver`` ("rodas4" or "dopri5"): (status (n,),
    y (n, m, n_states), stats (n, 5)).  ``args`` (n, L) from ``patient_args`` (the solver
    works on a copy); y0 (n, n_states) at t0; MSC events at ev_t into ev_cmt with per-patient
    amounts ev_amt (n, k)."""
    return integrate_batch(solver, t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps)


def patient_exposures(args, t_out, n_forcings: int) -> np.ndarray:
    """``exposures`` of n patients at ``t_out``: (n, len(t_out), n_forcings).  ``args`` (n, L)
    from ``patient_args``: its scratch slots (the forcing at the last day read, the table row
    last used) are overwritten, which no result depends on."""
    out = np.zeros((args.shape[0], len(t_out), n_forcings))
    (days,) = kernel_inputs(t_out)
    in_threads(len(args), lambda r: exposures(args[r], days, out[r]))
    return out
