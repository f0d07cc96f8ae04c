"""RODAS4: L-stable, stiffly accurate Rosenbrock method of order 4(3).

Coefficients: E. Hairer & G. Wanner, *Solving Ordinary Differential Equations
II* (2nd ed., Springer 1996), section IV.7; values of subroutine ROCOE,
METH = 1, in Hairer's Fortran code ``rodas.f``. The stage equations are those
of ``rodas.f``::

    E = I / (h * GAMMA) - J(t, y)
    E k_i = f(t + c_i h, y + sum_j A_ij k_j) + sum_j (C_ij / h) k_j + h D_i df/dt

with ``y_new = y + A51..A54 k + k5 + k6`` (stiffly accurate) and ``k6`` as the
error estimate of the embedded order-3 solution ``y + A5. k + k5``.
"""

from numba import njit

from ._driver import NO_NRT, all_finite, error_norm, make_driver, with_nrt
from .linalg import (
    lu_factor,
    lu_factor_block,
    lu_solve,
    lu_solve_block,
    make_dense_lu,
    no_sparse_factor,
    no_sparse_solve,
)
from .status import Status

_SUCCESS = int(Status.SUCCESS)
_NONFINITE = int(Status.NONFINITE)
_SINGULAR = int(Status.SINGULAR)

GAMMA = 0.25
ORDER = 4  # the step-size controller's exponent is 1 / ORDER (its error estimate is of order 3)
FAC_MAX = 6.0  # largest ratio h_new / h
C2, C3, C4 = 0.386, 0.21, 0.63
D1, D2, D3, D4 = 0.25, -0.1043, 0.1035, -0.3620000000000023e-01
A21 = 0.1544000000000000e01
A31, A32 = 0.9466785280815826e00, 0.2557011698983284e00
A41, A42, A43 = 0.3314825187068521e01, 0.2896124015972201e01, 0.9986419139977817e00
A51, A52, A53, A54 = 0.1221224509226641e01, 0.6019134481288629e01, 0.1253708332932087e02, -0.6878860361058950e00
C21 = -0.5668800000000000e01
C31, C32 = -0.2430093356833875e01, -0.2063599157091915e00
C41, C42, C43 = -0.1073529058151375e00, -0.9594562251023355e01, -0.2047028614809616e02
C51, C52, C53, C54 = 0.7496443313967647e01, -0.1024680431464352e02, -0.3399990352819905e02, 0.1170890893206160e02
C61, C62, C63, C64, C65 = (
    0.8083246795921522e01,
    -0.7981132988064893e01,
    -0.3152159432874371e02,
    0.1631930543123136e02,
    -0.6058818238834054e01,
)

# rows of the work-vector array ws
_F0, _FT, _K1, _DY = 0, 1, 2, 8  # f(t,y), df/dt(t,y), k1..k6 in rows 2..7, scratch
_N_VEC = 9


def make_rodas(rhs, jac, dfdt, n_coupled=-1, sparse_lu=None, step_memory=True, n_states=0, model_nrt=True):
    """Return the compiled RODAS4 ``solve`` kernel for one model.

    rhs(t, y, args, dydt):  writes dy/dt into dydt.
    jac(t, y, args, J):     writes the nonzero entries of df/dy into J (zeroed first).
    dfdt(t, y, args, out):  writes the partial derivative df/dt into out (zeroed first).
    n_coupled:              if >= 0, states n_coupled.. are sinks (no earlier state's
                            derivative depends on them; among them each depends on itself
                            and earlier sinks only): the stage systems then need an LU of the
                            leading block only (``linalg.lu_factor_block``).
    sparse_lu:              optional ``(lu_factor, lu_solve)`` generated for the model's
                            Jacobian pattern by :func:`rasim.solver.sparse.lu_source`; the
                            pivoted dense LU is then used only when it reports a small pivot.
                            ``jac`` must then write the same entries at every call (the
                            generated pattern): J is zeroed once per solve, not per step.
    step_memory:            reuse the previous breakpoint interval's step sizes as a floor
                            (see :mod:`rasim.solver._driver`).
    n_states:               if > 0, the kernel is compiled for this number of states only
                            (another y0 size returns BAD_INPUT): its loops have a constant
                            trip count and, without ``n_coupled``, the dense LU is
                            ``linalg.make_dense_lu``'s (no division in a solve),
                            which makes a step of a small system several times cheaper.  Results differ from
                            those with the default 0 (any size) by rounding only.
    model_nrt:              True: rhs, jac and dfdt are called through ``_driver.with_nrt``
                            wrappers and may allocate.  False: they are compiled like the
                            solver, without reference counting (they must not allocate, else
                            Numba reports a typing error), which saves the increments and
                            decrements of their array arguments' counts (a third of a step of
                            rasim's model).  The same numbers either way.

    The kernel's signature is documented in :mod:`rasim.solver`.
    """
    if model_nrt:
        rhs, jac, dfdt = with_nrt(rhs), with_nrt(jac), with_nrt(dfdt)
    sp_factor, sp_solve = sparse_lu if sparse_lu is not None else (no_sparse_factor, no_sparse_solve)
    zero_jac = sparse_lu is None  # also: no sparse LU to try
    small = n_states > 0 and n_coupled < 0  # a dense LU specialised on the size (linalg.make_dense_lu)
    dense_factor, dense_solve = make_dense_lu(n_states) if small else (lu_factor, lu_solve)

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def factor(jm, diag, e, piv, nc):
        """LU of E = diag I - jm into e: sparse if it can, else pivoted dense.
        Returns (status, sparse used)."""
        n = n_states if n_states > 0 else jm.shape[0]
        if not zero_jac and sp_factor(jm.reshape(n * n), diag, e.reshape(n * n)) == 0:
            return _SUCCESS, True
        for i in range(n):
            for jj in range(n):
                e[i, jj] = -jm[i, jj]
            e[i, i] += diag
        if n_coupled < 0:  # no sinks: the whole matrix (what lu_factor_block does with nc = n)
            return (_SUCCESS if dense_factor(e, piv) == 0 else _SINGULAR), False
        return (_SUCCESS if lu_factor_block(e, piv, nc) == 0 else _SINGULAR), False

    @njit(cache=True, error_model="numpy", **NO_NRT)
    def lin_solve(e, piv, b, nc, sparse):
        """b <- E^-1 b with ``factor``'s output.  Not inlined by Numba: six inlined copies in
        ``attempt`` cost more to compile than one function (LLVM may still inline it)."""
        if sparse:
            sp_solve(e.reshape(e.shape[0] * e.shape[1]), b)
        elif n_coupled < 0:
            dense_solve(e, piv, b)
        else:
            lu_solve_block(e, piv, b, nc)

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def prepare(t, y, args, ws, wm, after_step, stats):
        """Evaluate f, J and df/dt at (t, y) into ws[_F0], wm[0] and ws[_FT]."""
        n = n_states if n_states > 0 else y.shape[0]
        rhs(t, y, args, ws[_F0])
        if zero_jac:
            for i in range(n):
                for j in range(n):
                    wm[0, i, j] = 0.0
        jac(t, y, args, wm[0])
        for i in range(n):
            ws[_FT, i] = 0.0
        dfdt(t, y, args, ws[_FT])
        stats[2] += 1
        stats[3] += 1
        return _SUCCESS if all_finite(ws[_F0]) else _NONFINITE

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def attempt(t, h, y, args, rtol, atol, ws, wm, piv, ynew, stats):
        """One RODAS4 step of size h; returns (status, error norm)."""
        n = n_states if n_states > 0 else y.shape[0]
        nc = n if n_coupled < 0 else n_coupled
        f0, ft, dy = ws[_F0], ws[_FT], ws[_DY]
        k1, k2, k3 = ws[_K1], ws[_K1 + 1], ws[_K1 + 2]
        k4, k5, k6 = ws[_K1 + 3], ws[_K1 + 4], ws[_K1 + 5]
        e = wm[1]
        stats[4] += 1
        code, sparse = factor(wm[0], 1.0 / (h * GAMMA), e, piv, nc)
        if code != _SUCCESS:
            return code, 0.0
        hinv = 1.0 / h

        for i in range(n):
            k1[i] = f0[i] + h * D1 * ft[i]
        lin_solve(e, piv, k1, nc, sparse)

        for i in range(n):
            ynew[i] = y[i] + A21 * k1[i]
        rhs(t + C2 * h, ynew, args, dy)
        for i in range(n):
            k2[i] = dy[i] + hinv * C21 * k1[i] + h * D2 * ft[i]
        lin_solve(e, piv, k2, nc, sparse)

        for i in range(n):
            ynew[i] = y[i] + A31 * k1[i] + A32 * k2[i]
        rhs(t + C3 * h, ynew, args, dy)
        for i in range(n):
            k3[i] = dy[i] + hinv * (C31 * k1[i] + C32 * k2[i]) + h * D3 * ft[i]
        lin_solve(e, piv, k3, nc, sparse)

        for i in range(n):
            ynew[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
        rhs(t + C4 * h, ynew, args, dy)
        for i in range(n):
            k4[i] = dy[i] + hinv * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i]) + h * D4 * ft[i]
        lin_solve(e, piv, k4, nc, sparse)

        for i in range(n):
            ynew[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
        rhs(t + h, ynew, args, dy)
        for i in range(n):
            k5[i] = dy[i] + hinv * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i])
        lin_solve(e, piv, k5, nc, sparse)

        for i in range(n):
            ynew[i] += k5[i]
        rhs(t + h, ynew, args, dy)
        for i in range(n):
            k6[i] = dy[i] + hinv * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i])
        lin_solve(e, piv, k6, nc, sparse)

        for i in range(n):
            ynew[i] += k6[i]
        stats[2] += 5
        return _SUCCESS, error_norm(k6, y, ynew, rtol, atol)

    return make_driver(
        rhs,
        prepare,
        attempt,
        _N_VEC,
        order=ORDER,
        beta=0.0,
        fac_max=FAC_MAX,
        step_memory=step_memory,
        n_states=n_states,
    )
