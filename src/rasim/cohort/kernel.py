"""Compiled, patient-parallel kernels of the cohort layer.

Only flat float64/int64 arrays cross in; names were lowered to indices by
the caller.  Each patient gets its own ``args`` (parameters + MTX dose table)
and work arrays inside the ``prange`` loop, writes only its own rows of the
outputs, and reports a status code: nothing raises inside the loop, and a
patient's result does not depend on the thread that ran it.

* ``settle``: the untreated (or mean-background) steady state, integrated
  from a common inflamed start for ``days`` with the MTX forcing held at each
  patient's mean polyglutamate level; status NOT_SETTLED if f(y) has not
  vanished by then.
* ``trial``: from the settled state at ``t0`` (< 0 gives the background a
  run-in under its real weekly doses) through the regimen to the last output.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..model import pk
from ..model.parameters import N_PARAMS
from ..model.rhs import rhs
from ..solver._driver import N_STATS, pin_uuids
from .status import PatientStatus

SETTLE_TOL = 1e-5  # max |dy/dt| / scale (1/day) accepted as a steady state
NOT_SETTLED = int(PatientStatus.NOT_SETTLED)  # the settle run did not reach a steady state (a plain int)


def make_kernels(solve):
    """Build (settle, trial) around a compiled ``solve`` kernel (rodas4 or dopri5)."""

    @njit(parallel=True, cache=True, error_model="numpy")
    def settle(P, pg_mean, y_start, days, rtol, atol, scale, max_steps, y_out, status):
        """Steady states: P (n, N_PARAMS), pg_mean (n,) mg -> y_out (n, n_states), status (n,).

        ``scale`` (n_states,) is each state's typical magnitude for the steadiness test."""
        n = P.shape[0]
        ns = y_start.shape[0]
        t_end = np.array([days])
        empty_t = np.empty(0)
        empty_i = np.empty(0, dtype=np.int64)
        for i in prange(n):
            args = np.zeros(N_PARAMS + 2)
            args[:N_PARAMS] = P[i]
            pk.constant_table(args, pg_mean[i])
            y = np.empty((1, ns))
            stats = np.zeros(N_STATS, dtype=np.int64)
            code = solve(0.0, y_start, args, t_end, empty_t, empty_i, empty_t,
                         rtol, atol, 0.0, np.inf, max_steps, y, stats)
            y_out[i] = y[0]
            if code == 0:
                dy = np.empty(ns)
                rhs(days, y[0], args, dy)
                for j in range(ns):
                    if not abs(dy[j]) <= SETTLE_TOL * scale[j]:
                        code = NOT_SETTLED
            status[i] = code

    @njit(parallel=True, cache=True, error_model="numpy")
    def trial(P, y0, t0, dose_t, dose_depot, dose_mg, t_out, ev_t, ev_cmt, ev_amt,
              rtol, atol, max_steps, y_out, status, stats):
        """Trajectories: y0 (n, ns) at t0; shared MTX doses; MSC events with
        per-patient amounts ev_amt (n, k) -> y_out (n, m, ns), status (n,), stats (n, N_STATS)."""
        n = P.shape[0]
        for i in prange(n):
            args = np.zeros(N_PARAMS + pk.HEADER + pk.ROW * dose_t.shape[0])
            args[:N_PARAMS] = P[i]
            pk.write_table(args, dose_t, dose_depot, dose_mg)
            status[i] = solve(t0, y0[i], args, t_out, ev_t, ev_cmt, ev_amt[i],
                              rtol, atol, 0.0, np.inf, max_steps, y_out[i], stats[i])

    pin_uuids(settle)
    pin_uuids(trial)
    return settle, trial
