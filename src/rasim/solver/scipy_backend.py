"""Reference backend: scipy's ODE solvers with the compiled solvers' semantics.

Slow (Python stepping loop) but independent of rasim's own integrators, so it
is used to cross-check them. It steps the scipy ``OdeSolver`` classes (the ones
behind ``scipy.integrate.solve_ivp``) directly, piecewise between events, which
lets it enforce ``max_steps`` and turn every failure into a :class:`Status`.
"""

from __future__ import annotations

import numpy as np

from ._driver import N_STATS, all_finite, check_inputs
from .status import Status

_SOLVERS = ("Radau", "BDF", "LSODA", "RK45", "DOP853")  # scipy.integrate classes, imported when used
_ALIASES = {"scipy-radau": "Radau", "scipy-bdf": "BDF", "scipy-lsoda": "LSODA"}
_USES_JAC = {"Radau", "BDF", "LSODA"}


def solve_scipy(rhs, t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, method="Radau", jac=None):
    """Integrate like the compiled ``solve`` kernels, with a scipy method.

    rhs, jac:  the compiled model functions ``rhs(t, y, args, dydt)`` and
               ``jac(t, y, args, J)`` (jac optional; used by Radau, BDF, LSODA).
    t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol: as for the compiled kernels.
    atol:      float or float64[n].
    max_steps: maximum number of scipy steps (each may hide rejected attempts).
    method:    "Radau", "BDF", "LSODA", "RK45", "DOP853" or an alias
               "scipy-radau" / "scipy-bdf" / "scipy-lsoda".

    Returns ``(status, y_out, stats)``: an int :class:`Status` code, float64[m, n]
    outputs (NaN rows where not reached) and int64[5] stats (accepted steps, 0
    rejected steps as scipy does not report them, rhs evaluations, Jacobian
    evaluations, LU factorisations). Never raises on solver failure.
    """
    stats = np.zeros(N_STATS, dtype=np.int64)
    try:
        t0, rtol, max_steps = float(t0), float(rtol), int(max_steps)
        y0 = np.array(y0, dtype=np.float64)
        args = np.asarray(args, dtype=np.float64)
        t_out, ev_t, ev_amt = (np.asarray(a, dtype=np.float64) for a in (t_out, ev_t, ev_amt))
        ev_cmt = np.asarray(ev_cmt, dtype=np.int64)
        atol = np.broadcast_to(np.asarray(atol, dtype=np.float64), y0.shape).copy()
    except (TypeError, ValueError):
        return int(Status.BAD_INPUT), np.full((0, 0), np.nan), stats
    if any(a.ndim != 1 for a in (y0, t_out, ev_t, ev_amt, ev_cmt, atol)):
        return int(Status.BAD_INPUT), np.full((0, 0), np.nan), stats
    y_out = np.full((t_out.shape[0], y0.shape[0]), np.nan)
    method = _ALIASES.get(method, method)
    code = check_inputs(t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, 0.0, np.inf, max_steps, y_out, stats)
    if code != Status.SUCCESS or method not in _SOLVERS:
        return int(Status.BAD_INPUT), y_out, stats
    with np.errstate(all="ignore"):
        code = _run(rhs, jac, method, t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y_out, stats)
    return code, y_out, stats


def _run(rhs, jac, method, t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y_out, stats):
    """Event loop of :func:`solve_scipy` (validated inputs); returns an int status."""
    import scipy.integrate  # about 0.3 s: imported on the first scipy solve, not with rasim

    n, m, ne = y0.shape[0], t_out.shape[0], ev_t.shape[0]
    buf = np.empty(n)

    def fun(t, y):
        rhs(t, np.ascontiguousarray(y, dtype=np.float64), args, buf)
        return buf.copy()

    def jacobian(t, y):
        jm = np.zeros((n, n))
        jac(t, np.ascontiguousarray(y, dtype=np.float64), args, jm)
        return jm

    options = {"rtol": rtol, "atol": atol}
    if jac is not None and method in _USES_JAC:
        options["jac"] = jacobian
    t, y, k, j = t0, y0.copy(), 0, 0
    while True:
        while k < m and t_out[k] == t:  # pre-event value at event times
            y_out[k] = y
            k += 1
        if k == m:
            return int(Status.SUCCESS)
        while j < ne and ev_t[j] == t:
            y[ev_cmt[j]] += ev_amt[j]
            j += 1
        t_stop = min(ev_t[j], t_out[-1]) if j < ne else t_out[-1]
        solver = None
        try:
            solver = getattr(scipy.integrate, method)(fun, t, y, t_stop, **options)
            while solver.status == "running":
                if stats[0] >= max_steps:
                    return int(Status.MAX_STEPS)
                solver.step()
                if solver.status == "failed":
                    return int(Status.STEP_TOO_SMALL if all_finite(solver.y) else Status.NONFINITE)
                stats[0] += 1
                if k < m and t_out[k] < min(solver.t, t_stop):
                    dense = solver.dense_output()
                    while k < m and t_out[k] < min(solver.t, t_stop):
                        y_out[k] = dense(t_out[k])
                        k += 1
        except np.linalg.LinAlgError:
            return int(Status.SINGULAR)
        except (ArithmeticError, ValueError):
            return int(Status.NONFINITE)
        finally:
            if solver is not None:
                stats[2] += solver.nfev
                stats[3] += solver.njev
                stats[4] += solver.nlu
        t, y = t_stop, solver.y.copy()
        if not all_finite(y):
            return int(Status.NONFINITE)
