"""Peer: numbalsoda's LSODA called from Numba over rasim's compiled RHS.

rasim's ``model.rhs`` is wrapped in a Numba ``cfunc`` with numbalsoda's
signature ``f(t, u*, du*, p*)``.  numbalsoda takes one scalar atol, so the
ODE is integrated in scaled states z = y / s with s = ``model.STATE_SCALE``:
a scalar atol on z is rasim's per-state atol on y.  The data pointer ``p``
carries ``[L, args (L), s (n), y scratch (n), dy/dt scratch (n)]`` per
patient.  MSC bolus events split the integration (one ``lsoda`` call per
segment) inside an ``@njit(parallel=True)`` loop over patients.  LSODA builds
its Jacobian by finite differences (numbalsoda passes none).

numbalsoda has no wheel for every Python: it builds from source and needs
gfortran (``benchmarks/setup.sh`` installs both).
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, njit, prange

from rasim import model

from cases import Problems, atol_vector
from solvers import Method, Missing, Output, segments

N = model.N_STATES
# Restart at rasim's zero-amount breakpoints (MTX kinks) too: as fast as running through them, and
# slightly more accurate at equal rtol (measured).
BREAKPOINTS = True
MXSTEP = 500_000  # LSODA steps allowed between two output times
_rhs = model.rhs


def numbalsoda_method() -> Method:
    """The numbalsoda peer, or ``Missing`` with the reason it cannot run."""
    try:
        import numbalsoda  # noqa: F401
    except Exception as exc:  # noqa: BLE001  (ImportError, or a broken build's OSError)
        return Missing(
            "numbalsoda",
            "numbalsoda LSODA (Numba)",
            f"numbalsoda not importable ({type(exc).__name__}: {exc}); it builds from source "
            f"and needs gfortran: run `bash benchmarks/setup.sh`",
        )
    return Numbalsoda()


@cfunc("void(float64, CPointer(float64), CPointer(float64), CPointer(float64))")
def _lsoda_rhs(t, z, dz, data):
    """dz/dt (scaled states per day) from rasim's rhs; ``data`` as in the module docstring."""
    n_args = int(data[0])
    buf = carray(data, (1 + n_args + 3 * N,))
    args = buf[1 : 1 + n_args]
    scale = buf[1 + n_args : 1 + n_args + N]
    y = buf[1 + n_args + N : 1 + n_args + 2 * N]
    dy = buf[1 + n_args + 2 * N :]
    for i in range(N):
        y[i] = z[i] * scale[i]
    _rhs(t, y, args, dy)
    for i in range(N):
        dz[i] = dy[i] / scale[i]


def _make_batch():
    """The patient-parallel loop (built on first use: importing numbalsoda loads its library)."""
    from numbalsoda import lsoda

    @njit(parallel=True)
    def batch(funcptr, y0, args, scale, t_out, bounds, ev_hi, out_hi, n_pre, ev_cmt, ev_amt, rtol, atol, y_out, status):
        """All patients; the plan (bounds, ev_hi, out_hi, n_pre) is ``solvers.segments``."""
        n_pat, n_args = args.shape
        for i in prange(n_pat):
            data = np.zeros(1 + n_args + 3 * N)
            data[0] = n_args
            data[1 : 1 + n_args] = args[i]
            data[1 + n_args : 1 + n_args + N] = scale
            z = y0[i] / scale
            y_out[i, :n_pre] = y0[i]
            status[i] = 0
            ev_lo, out_lo = 0, n_pre
            for s in range(bounds.shape[0] - 1):
                for e in range(ev_lo, ev_hi[s]):
                    z[ev_cmt[e]] += ev_amt[i, e] / scale[ev_cmt[e]]
                ev_lo = ev_hi[s]
                t_eval = np.empty(out_hi[s] - out_lo + 2)  # start, distinct outputs, stop
                t_eval[0] = bounds[s]
                c = 1
                for k in range(out_lo, out_hi[s]):
                    if t_out[k] > t_eval[c - 1]:
                        t_eval[c] = t_out[k]
                        c += 1
                if t_eval[c - 1] < bounds[s + 1]:
                    t_eval[c] = bounds[s + 1]
                    c += 1
                usol, ok = lsoda(funcptr, z, t_eval[:c].copy(), data, rtol, atol, MXSTEP)
                if not ok:
                    status[i] = 1
                    y_out[i, out_lo:] = np.nan
                    break
                r = 1
                for k in range(out_lo, out_hi[s]):
                    while t_eval[r] < t_out[k]:
                        r += 1
                    y_out[i, k] = usol[r] * scale
                z = usol[c - 1].copy()
                out_lo = out_hi[s]

    return batch


class Numbalsoda(Method):
    """numbalsoda ``lsoda`` over rasim's RHS, patient-parallel over Numba threads."""

    name = "numbalsoda"
    label = "numbalsoda LSODA (Numba, prange)"

    def __init__(self):
        self._batch = None
        self.breakpoints = BREAKPOINTS

    def solve(self, prob: Problems, rtol: float) -> Output:
        if self._batch is None:
            self._batch = _make_batch()
        plan = segments(prob, self.breakpoints)
        y = np.empty((prob.n, prob.t_out.size, N))
        status = np.empty(prob.n, dtype=np.int64)
        atol = float(atol_vector(rtol)[0] / model.STATE_SCALE[0])  # the same factor for every scaled state
        self._batch(
            _lsoda_rhs.address,
            prob.y0,
            prob.args,
            model.STATE_SCALE.astype(np.float64),
            prob.t_out,
            plan.bounds,
            plan.ev_hi,
            plan.out_hi,
            plan.n_pre,
            plan.ev_cmt,
            plan.ev_amt,
            rtol,
            atol,
            y,
            status,
        )
        return Output(y, status)
