"""Generic compiled ODE solvers with bolus events (knows nothing about the model).

Compiled kernels (built per model by the factories)::

    status = solve(t0, y0, args, t_out, ev_t, ev_cmt, ev_amt,
                   rtol, atol, h0, hmax, max_steps, y_out, stats)

* ``t0`` float; ``y0`` float64[n] (not modified); ``args`` float64[:] passed
  unchanged to the model functions ``rhs(t, y, args, dydt)``,
  ``jac(t, y, args, J)`` and ``dfdt(t, y, args, out)``.
* ``t_out`` float64[m] nondecreasing, >= t0; ``y_out`` float64[m, n] receives
  the state at each output time (the pre-event value if an event happens at
  that time); rows not reached because of a failure are NaN.
* Events: at ``ev_t[j]`` (nondecreasing, >= t0) the state jumps,
  ``y[ev_cmt[j]] += ev_amt[j]``; the step-size proposal is kept across it.
  A zero-amount event is a breakpoint (a kink in a forcing the model reads
  from ``args``): the solver stops on it and estimates the next step afresh,
  which avoids a run of rejected steps.  Events after ``t_out[-1]`` are ignored.
* ``rtol`` float; ``atol`` float64[n]; ``h0`` initial step (0 = automatic);
  ``hmax`` maximum step (inf allowed); ``max_steps`` maximum number of
  attempted steps.
* ``stats`` int64[>=5]: accepted steps, rejected steps, rhs evaluations,
  Jacobian evaluations, LU factorisations.
* Returns an int :class:`Status` code (0 = success) and never raises.

``make_rodas(rhs, jac, dfdt, n_coupled, sparse_lu)`` takes an optional
``(lu_factor, lu_solve)`` pair generated for the model's Jacobian pattern by
:func:`rasim.solver.sparse.lu_source` (straight-line sparse LU, pivoted dense
fallback); without it the solver uses its dense LU.  ``n_states=n`` compiles the
kernel for n states only: loops of constant length and, without sinks, a dense
LU laid out for small systems (``linalg.make_dense_lu``), several times cheaper
per step for a small model (results differ by rounding only).
:mod:`rasim.solver.testset` holds the standard stiff problems HIRES, ROBER and
POLLU in this API.
"""

from .dopri import make_dopri5
from .options import SolverOptions
from .rodas import make_rodas
from .scipy_backend import solve_scipy
from .status import Status

__all__ = ["Status", "SolverOptions", "make_rodas", "make_dopri5", "solve_scipy"]
