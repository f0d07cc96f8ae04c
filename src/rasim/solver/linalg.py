"""In-place dense LU factorisation for the small (n ~ 20-40) Rosenbrock systems.

Both routines work in place and allocate nothing, so they can be called in
every step of a compiled integrator.
"""

from numba import njit


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def lu_factor_block(a, piv, nc):
    """Factor a matrix whose trailing states ``nc..n-1`` are sinks.

    Sinks: ``a[:nc, nc:] == 0`` and ``a[nc:, nc:]`` is diagonal (no state
    depends on a sink but the sink itself), so only the leading ``nc x nc``
    block needs LU; the sinks are solved by substitution (``lu_solve_block``).
    Returns 0 on success, else the 1-based column with no usable pivot."""
    code = lu_factor(a[:nc, :nc], piv[:nc])
    if code != 0:
        return code
    for i in range(nc, a.shape[0]):
        if a[i, i] == 0.0:
            return i + 1
    return 0


@njit(cache=True, error_model="numpy")
def lu_solve_block(lu, piv, b, nc):
    """Solve in place with ``lu_factor_block``'s output: the leading block by LU,
    then each sink from its own row: x_i = (b_i - sum_{j<nc} a_ij x_j) / a_ii."""
    lu_solve(lu[:nc, :nc], piv[:nc], b[:nc])
    for i in range(nc, lu.shape[0]):
        s = b[i]
        for j in range(nc):
            s -= lu[i, j] * b[j]
        b[i] = s / lu[i, i]


@njit(cache=True, error_model="numpy")
def no_sparse_factor(jm, diag, e):
    """Stand-in sparse factor for models without one: always defers to the dense LU."""
    return 1


@njit(cache=True, error_model="numpy")
def no_sparse_solve(e, b):
    """Stand-in sparse solve (never called: ``no_sparse_factor`` always fails)."""
