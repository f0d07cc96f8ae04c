"""In-place dense LU factorisation for the small (n ~ 20-40) Rosenbrock systems.

Both routines work in place and allocate nothing, so they can be called in
every step of a compiled integrator.
"""

from numba import njit

from ._driver import NO_NRT


@njit(cache=True, error_model="numpy", **NO_NRT)
def lu_factor(a, piv):
    """Factor ``P a = L U`` in place with partial (row) pivoting.

    a:   float64[n, n]; overwritten with U (upper triangle and diagonal) and
         the unit-lower-triangular multipliers of L (below the diagonal).
    piv: int64[n]; row ``k`` was swapped with row ``piv[k]`` at elimination step k.
    Returns 0 on success, or ``k + 1`` if column ``k`` has no nonzero pivot.
    """
    n = a.shape[0]
    for k in range(n):
        p = k
        amax = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > amax:
                amax = v
                p = i
        piv[k] = p
        if amax == 0.0:
            return k + 1
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            lik = a[i, k] * inv
            a[i, k] = lik
            if lik != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= lik * a[k, j]
    return 0


@njit(cache=True, error_model="numpy", **NO_NRT)
def lu_solve(lu, piv, b):
    """Solve ``a x = b`` in place (``b`` becomes ``x``) using ``lu_factor``'s output."""
    n = lu.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= lu[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= lu[i, j] * b[j]
        b[i] = s / lu[i, i]


@njit(cache=True, error_model="numpy", **NO_NRT)
def lu_factor_block(a, piv, nc):
    """Factor a matrix whose trailing states ``nc..n-1`` are sinks.

    Sinks: ``a[:nc, nc:] == 0`` and ``a[nc:, nc:]`` is lower triangular (no state
    depends on a sink but the sink itself and later sinks), so only the leading
    ``nc x nc`` block needs LU; the sinks are solved by forward substitution
    (``lu_solve_block``).
    Returns 0 on success, else the 1-based column with no usable pivot."""
    code = lu_factor(a[:nc, :nc], piv[:nc])
    if code != 0:
        return code
    for i in range(nc, a.shape[0]):
        if a[i, i] == 0.0:
            return i + 1
    return 0


@njit(cache=True, error_model="numpy", **NO_NRT)
def lu_solve_block(lu, piv, b, nc):
    """Solve in place with ``lu_factor_block``'s output: the leading block by LU,
    then each sink in turn from its own row: x_i = (b_i - sum_{j<i} a_ij x_j) / a_ii."""
    lu_solve(lu[:nc, :nc], piv[:nc], b[:nc])
    for i in range(nc, lu.shape[0]):
        s = b[i]
        for j in range(i):
            s -= lu[i, j] * b[j]
        b[i] = s / lu[i, i]


@njit(cache=True, error_model="numpy", **NO_NRT)
def no_sparse_factor(jm, diag, e):
    """Stand-in sparse factor for models without one: always defers to the dense LU."""
    return 1


@njit(cache=True, error_model="numpy", **NO_NRT)
def no_sparse_solve(e, b):
    """Stand-in sparse solve (never called: ``no_sparse_factor`` always fails)."""


def make_dense_lu(n_fixed):
    """``(lu_factor_n, lu_solve_n)`` for n_fixed x n_fixed systems.

    ``lu_factor_n(a, piv)`` factors in place with ``lu_factor``'s pivots and
    multipliers but stores 1 / U[k, k] on the diagonal; ``lu_solve_n(lu, piv, b)``
    solves in place with it.  The size is a compile-time constant, so the
    compiler unrolls the loops of a small system, and the solve has a short
    critical path: both triangular solves go column by column (the updates of the
    entries below or above a solved one are independent of each other, where
    ``lu_solve`` keeps one running sum per row), and multiply by the stored
    reciprocal pivot instead of dividing.  The solution differs from
    ``lu_solve``'s by rounding only.  (Storing the factors transposed, so that
    the column updates read contiguous memory, measured no faster up to n = 20.)"""

    @njit(cache=True, error_model="numpy", **NO_NRT)
    def factor_n(a, piv):
        """``lu_factor`` of an n_fixed x n_fixed matrix, with 1 / U[k, k] stored at a[k, k]."""
        n = n_fixed
        for k in range(n):
            p = k
            amax = abs(a[k, k])
            for i in range(k + 1, n):
                v = abs(a[i, k])
                if v > amax:
                    amax = v
                    p = i
            piv[k] = p
            if amax == 0.0:
                return k + 1
            if p != k:
                for j in range(n):
                    tmp = a[k, j]
                    a[k, j] = a[p, j]
                    a[p, j] = tmp
            inv = 1.0 / a[k, k]
            a[k, k] = inv
            for i in range(k + 1, n):
                lik = a[i, k] * inv
                a[i, k] = lik
                if lik != 0.0:
                    for j in range(k + 1, n):
                        a[i, j] -= lik * a[k, j]
        return 0

    @njit(cache=True, error_model="numpy", **NO_NRT)
    def solve_n(lu, piv, b):
        """Solve in place with ``factor_n``'s output."""
        n = n_fixed
        for k in range(n):
            p = piv[k]
            if p != k:
                tmp = b[k]
                b[k] = b[p]
                b[p] = tmp
        for j in range(n):
            bj = b[j]
            for i in range(j + 1, n):
                b[i] -= lu[i, j] * bj
        for j in range(n - 1, -1, -1):
            bj = b[j] * lu[j, j]
            b[j] = bj
            for i in range(j):
                b[i] -= lu[i, j] * bj

    return factor_n, solve_n
