"""Dose tables in ``args``: the row lookup every closed-form PK family shares.

A table at offset ``h`` holds its row count ``m`` in ``args[h]`` and the row last used in
``args[h + 1]``; its rows of ``width`` slots start at ``h + header``, the first slot of
each row its time (day), sorted.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy", inline="always")
def row_time(args, h, header, width, k):
    """Time (day) of row ``k`` of the table at ``h``."""
    return args[h + header + width * k]


@njit(cache=True, error_model="numpy")
def last_row(args, h, header, width, t):
    """Index of the last row at or before ``t`` (-1 if none): the row last used or the next
    one, else by bisection; remembers the answer in ``args[h + 1]``."""
    m = int(args[h])
    if m == 0 or row_time(args, h, header, width, 0) > t:
        return -1
    k = int(args[h + 1])
    for j in (k, k + 1):
        if (
            j < m
            and row_time(args, h, header, width, j) <= t
            and (j == m - 1 or row_time(args, h, header, width, j + 1) > t)
        ):
            args[h + 1] = j
            return j
    lo, hi = 0, m - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if row_time(args, h, header, width, mid) <= t:
            lo = mid
        else:
            hi = mid - 1
    args[h + 1] = lo
    return lo
