"""Bind the RA model to the generic solvers: one call, any backend.

The compiled kernels are built once here (closures over the model's compiled
functions, cached on disk by Numba); the scipy backends call the same
compiled right-hand side and Jacobian.
"""

from __future__ import annotations

import numpy as np

from . import model
from .model import jacobian
from .solver import SolverOptions, Status, make_dopri5, make_rodas, solve_scipy

KERNELS = {
    "rodas4": make_rodas(
        model.rhs,
        model.jac,
        model.dfdt,
        model.N_COUPLED,
        (jacobian.lu_factor, jacobian.lu_solve),
        model_nrt=False,  # the model never allocates: no reference counting on its calls
    ),
    "dopri5": make_dopri5(model.rhs),
}
N_STATS = 5


def integrate(
    options: SolverOptions,
    t0: float,
    y0: np.ndarray,
    args: np.ndarray,
    t_out: np.ndarray,
    ev_t: np.ndarray,
    ev_cmt: np.ndarray,
    ev_amt: np.ndarray,
) -> tuple[Status, np.ndarray, np.ndarray]:
    """Integrate the model; returns (status, states at t_out (m, n), stats int64[5]).

    ``options.atol`` is relative to each state's typical magnitude
    (``model.STATE_SCALE``)."""
    atol = options.atol_vector(model.N_STATES) * model.STATE_SCALE
    t_out = np.ascontiguousarray(t_out, dtype=np.float64)
    ev_t = np.ascontiguousarray(ev_t, dtype=np.float64)
    ev_cmt = np.ascontiguousarray(ev_cmt, dtype=np.int64)
    ev_amt = np.ascontiguousarray(ev_amt, dtype=np.float64)
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if options.method in KERNELS:
        y_out = np.empty((len(t_out), model.N_STATES))
        stats = np.zeros(N_STATS, dtype=np.int64)
        code = KERNELS[options.method](
            float(t0),
            y0,
            args,
            t_out,
            ev_t,
            ev_cmt,
            ev_amt,
            float(options.rtol),
            atol,
            float(options.h0),
            float(options.hmax),
            int(options.max_steps),
            y_out,
            stats,
        )
    else:
        code, y_out, stats = solve_scipy(
            model.rhs,
            t0,
            y0,
            args,
            t_out,
            ev_t,
            ev_cmt,
            ev_amt,
            options.rtol,
            atol,
            options.max_steps,
            method=options.method,
            jac=model.jac,
        )
    return Status(code), y_out, stats
