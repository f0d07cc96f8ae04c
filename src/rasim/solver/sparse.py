"""Code generator: straight-line sparse LU of E = d I - J for a fixed pattern of J.

``lu_source(pattern, n)`` returns Numba source text of two functions, to be
written into a model's generated module (``tools/generate_jacobian.py`` does
this for rasim's model; a user model can do the same)::

    code = lu_factor(J, d, e)   # J: Jacobian, flat row-major (n * n,); d = 1 / (h gamma) (1/time);
                                # e: flat (>= number of LU entries) out
    lu_solve(e, b)              # b (n,) <- E^-1 b in place

The pivots are the diagonal entries, taken in a fill-reducing (Markowitz)
order fixed at generation time, so there is no pivot search at run time and
only the pattern's entries (plus fill) are touched, each held in a local
variable and read or written once (straight-line scalar code on flat arrays
compiles several times faster than repeated 2-D indexing).  ``lu_factor``
stores the multipliers of L and the entries of U in ``e``, row by row, with
1 / pivot on the diagonal, and returns 0, or the 1-based
state index of the first pivot that is zero, not finite or below ``PIVOT_TOL`` times
the largest entry under it in its column (threshold pivoting): the solver
then factors E with its pivoted dense LU instead, and ``e`` holds no factors.
The pivot tests set flags and the elimination runs on to the end, where the
first failed test (in pivot order) is reported: one basic block of elimination
compiles in about half the time of one block per pivot test (Numba's SSA and
lowering passes), and ``max`` of two arguments only is one Numba specialisation
instead of one per column length (nested, it makes the same comparisons in the
same order).  The factors of a successful factorisation are the same, bit for bit.  Sinks (states nothing else
depends on) cost no fill: their column is empty, so they are eliminated first.
"""

from __future__ import annotations

PIVOT_TOL = 1e-4  # threshold-pivoting ratio |pivot| / max |entry below it|


def markowitz_order(pattern, n):
    """Diagonal pivot order and the filled pattern: (order, set of (row, col))."""
    filled = set(pattern) | {(i, i) for i in range(n)}
    left = set(range(n))
    order = []
    while left:

        def cost(k):
            r = sum((k, j) in filled for j in left) - 1
            c = sum((i, k) in filled for i in left) - 1
            return r * c, k

        k = min(left, key=cost)
        order.append(k)
        left.remove(k)
        for i in sorted(left):
            if (i, k) in filled:
                filled.update((i, j) for j in left if (k, j) in filled)
    return order, filled


def lu_source(pattern, n):
    """Numba source of ``lu_factor`` and ``lu_solve`` for Jacobian nonzeros ``pattern``."""
    order, filled = markowitz_order(pattern, n)
    pos = {k: s for s, k in enumerate(order)}
    jac = set(pattern)
    fill = len(filled - jac - {(i, i) for i in range(n)})
    slot = {ij: q for q, ij in enumerate(sorted(filled))}
    lines = [
        "",
        "",
        '@njit(cache=True, error_model="numpy")',
        "def lu_factor(J, d, e):",
        f'    """Factor E = d I - J into e ({len(filled)} entries, {fill} of them fill); 0, or the '
        f'1-based index of a pivot below the threshold."""',
    ]
    for i, j in sorted(filled):
        if (i, j) in jac:
            lines.append(f"    a_{i}_{j} = {'d - ' if i == j else '-'}J[{i * n + j}]")
        else:
            lines.append(f"    a_{i}_{j} = {'d' if i == j else '0.0'}")
    for k in order:
        below = [i for i in sorted(filled_col(filled, k)) if pos[i] > pos[k]]
        right = [j for j in sorted(filled_row(filled, k)) if pos[j] > pos[k]]
        test = f"abs(a_{k}_{k}) > 0.0"
        if below:
            col = f"abs(a_{below[0]}_{k})"
            for i in below[1:] or [None]:  # max(x, y, z) as max(max(x, y), z): the same comparisons
                col = f"max({col}, {'0.0' if i is None else f'abs(a_{i}_{k})'})"
            test = f"({test}) & (abs(a_{k}_{k}) >= {PIVOT_TOL!r} * {col})"
        lines += [f"    bad_{k + 1} = not ({test})", f"    a_{k}_{k} = 1.0 / a_{k}_{k}"]
        for i in below:
            lines.append(f"    a_{i}_{k} = a_{i}_{k} * a_{k}_{k}")
            lines += [f"    a_{i}_{j} = a_{i}_{j} - a_{i}_{k} * a_{k}_{j}" for j in right]
    lines += [f"    e[{slot[ij]}] = a_{ij[0]}_{ij[1]}" for ij in sorted(filled)]
    for k in order:
        lines += [f"    if bad_{k + 1}:", f"        return {k + 1}"]
    lines += [
        "    return 0",
        "",
        "",
        '@njit(cache=True, error_model="numpy")',
        "def lu_solve(e, b):",
        '    """Solve E x = b in place with lu_factor\'s e."""',
    ]
    lines += [f"    x_{k} = b[{k}]" for k in range(n)]
    for k in order:
        terms = "".join(f" - e[{slot[k, j]}] * x_{j}" for j in sorted(filled_row(filled, k)) if pos[j] < pos[k])
        if terms:
            lines.append(f"    x_{k} = x_{k}{terms}")
    for k in reversed(order):
        terms = "".join(f" - e[{slot[k, j]}] * x_{j}" for j in sorted(filled_row(filled, k)) if pos[j] > pos[k])
        lines.append(f"    x_{k} = (x_{k}{terms}) * e[{slot[k, k]}]")
    lines += [f"    b[{k}] = x_{k}" for k in range(n)]
    return "\n".join(lines)


def filled_row(filled, k):
    """Columns of row k in the filled pattern."""
    return {j for i, j in filled if i == k}


def filled_col(filled, k):
    """Rows of column k in the filled pattern."""
    return {i for i, j in filled if j == k}
