"""Steady states of dy/dt = f(t, y, args): Newton's method and a stability test.

Generic and compiled (the factory closes over a model's ``rhs`` and ``jac``, as
``make_rodas`` does); nothing here knows the model.  Typical use: integrate
until the transient has died out, then polish the end state with ``newton``
and accept it if ``growth`` (the largest real part of the Jacobian's
eigenvalues) is negative.

States flagged in ``frozen`` are held at their value: their rows of the
Newton system are the identity and their own derivative is ignored.  That
gives the quasi-steady state of the other states at a fixed value of slow
ones (e.g. a slowly accruing variable that is still moving).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._driver import pin_uuids
from .linalg import lu_factor, lu_solve

CONVERGED = 0
NOT_CONVERGED = 1  # max_iter reached, or a step left the neighbourhood (max_move)
SINGULAR = 2
NONFINITE = 3
# A full Newton step may raise the residual before quadratic convergence sets in (seen: 40x on the
# first step from the end of an integration); steps are halved only if it grows more than this.
GROWTH_LIMIT = 1e3


def make_jacobian_block(jac):
    """Compiled ``block(t, y, args, include, sub)``: df/dy at (t, y) restricted to the states
    flagged in ``include`` (bool[n]) into ``sub`` (float64[k, k], k of them flagged), for
    ``largest_real_eigenvalues``; inlined by Numba into a caller's batch kernel."""

    @njit(cache=True, error_model="numpy", inline="always")
    def block(t, y, args, include, sub):
        n = y.shape[0]
        a = np.zeros((n, n))
        jac(t, y, args, a)
        free = np.empty(n, dtype=np.int64)
        k = 0
        for i in range(n):
            if include[i]:
                free[k] = i
                k += 1
        for i in range(k):
            for j in range(k):
                sub[i, j] = a[free[i], free[j]]

    pin_uuids(block)  # cached across processes although it closes over ``jac``
    return block


def largest_real_eigenvalues(subs):
    """The largest real part of the eigenvalues of each matrix of ``subs`` (float64[m, k, k]),
    (m,); NaN where an eigenvalue is NaN.

    NumPy's stacked ``eigvals``: LAPACK's real dgeev looped over the stack in C, nothing
    compiled (Numba's ``eigvals`` cost about 1.5 s of a cold start, and took real matrices
    only when every eigenvalue is real, so the blocks were complex and zgeev 2.8x slower).
    Raises LinAlgError on a non-finite entry, ValueError for an empty block."""
    if subs.shape[1] == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    re = np.linalg.eigvals(subs).real
    return np.where(np.isnan(re).any(axis=1), np.nan, re.max(axis=1, initial=-np.inf))


def make_steady(rhs, jac):
    """Return ``(newton, growth)`` for one model: newton compiled, growth in Python around a
    compiled Jacobian block (``make_jacobian_block``, ``largest_real_eigenvalues``).

    ``newton(t, y, args, frozen, scale, tol, max_iter, max_move) -> code`` polishes
    ``y`` (float64[n]) in place until max |f_i| / scale_i <= tol (1/time) over the
    free states; ``frozen`` is bool[n]; a full Newton step is taken, halved up to 10
    times while it raises the scaled residual more than ``GROWTH_LIMIT``-fold; ``max_move`` bounds the
    total change of any state relative to |y_i| + scale_i (a guard against jumping
    to another steady state).  Returns ``CONVERGED`` (0) or a failure code.

    ``growth(t, y, args, include) -> float``: the largest real part of the
    eigenvalues of df/dy restricted to the states flagged in ``include`` (bool[n];
    1/time); < 0 means stable.  Leave out frozen states, and sinks (states no earlier
    state depends on: a triangular block, whose eigenvalues are its diagonal entries) to save time.
    """

    @njit(cache=True, error_model="numpy", inline="always")
    def _residual(t, y, args, frozen, scale, f):
        rhs(t, y, args, f)
        worst = 0.0
        for i in range(y.shape[0]):
            if frozen[i]:
                f[i] = 0.0
            r = abs(f[i]) / scale[i]
            if not r <= 1e300:
                return np.inf
            worst = max(worst, r)
        return worst

    @njit(cache=True, error_model="numpy", inline="always")
    def newton(t, y, args, frozen, scale, tol, max_iter, max_move):
        n = y.shape[0]
        start = y.copy()
        f = np.empty(n)
        trial = np.empty(n)
        step = np.empty(n)
        a = np.empty((n, n))
        piv = np.empty(n, dtype=np.int64)
        worst = _residual(t, y, args, frozen, scale, f)
        for _ in range(max_iter):
            if worst <= tol:
                return CONVERGED
            if not worst < np.inf:
                return NONFINITE
            a[:] = 0.0
            jac(t, y, args, a)
            for i in range(n):
                if frozen[i]:
                    a[i, :] = 0.0
                    a[i, i] = 1.0
                step[i] = f[i]
            # a[:, :]: typed like the slices the solver's dense LU gets (one specialisation)
            if lu_factor(a[:, :], piv) != 0:
                return SINGULAR
            lu_solve(a[:, :], piv, step)
            lam = 1.0
            for _halving in range(11):
                for i in range(n):
                    trial[i] = y[i] - lam * step[i]
                new = _residual(t, trial, args, frozen, scale, f)
                if new < GROWTH_LIMIT * worst:
                    break
                lam *= 0.5
            else:
                return NOT_CONVERGED
            for i in range(n):
                y[i] = trial[i]
                if abs(y[i] - start[i]) > max_move * (abs(start[i]) + scale[i]):
                    return NOT_CONVERGED
            worst = new
        return CONVERGED if worst <= tol else NOT_CONVERGED

    block = make_jacobian_block(jac)

    def growth(t, y, args, include):
        sub = np.empty((int(np.count_nonzero(include)),) * 2)
        block(float(t), y, args, include, sub)
        return float(largest_real_eigenvalues(sub[None])[0])

    return newton, growth
