"""Zero-order input through an effect compartment: the PK family ``effect_rate``.

For a drug taken daily whose half-life is hours (prednisolone 2-4 h, naproxen 12-17 h),
the disease, which moves over days to weeks, sees the daily dose, not the peaks within a
day.  Its doses are rates (mg/day) that hold from a day on (a schedule's start adds its
rate, its end removes it), and the exposure the model reads is the effect-site daily dose
``e`` (mg/day), which follows the rate with first-order delay ``ke0`` (1/day)::

    de/dt = ke0 * (R(t) - e)

so between rate changes ``e(t) = R + (e_k - R) * exp(-ke0 * (t - t_k))`` exactly.

Table at ``args[h:]`` (``rasim.model.forcing`` places it): ``m``, the row last used, the
last time evaluated with its value and derivative, ``ke0``; then ``m`` rows
``(time, R from then on, e at that time)``.
"""

from __future__ import annotations

import math

import numpy as np

from numba import njit

from .pktable import last_row

HEADER = 6
ROW = 3
_HEADER, _ROW = np.int64(HEADER), np.int64(ROW)  # not literals: one compiled ``last_row`` for every table
_T_LAST, _U_LAST, _DU_LAST, _KE0 = 2, 3, 4, 5


@njit(cache=True, error_model="numpy", inline="always")
def table_size(m):
    """Slots of a table of ``m`` rate changes."""
    return HEADER + ROW * m


@njit(cache=True, error_model="numpy")
def write_table(args, h, ke0, times, changes):
    """Fill the table at ``args[h:]``: rate ``changes`` (mg/day, + at a start, - at an end)
    at sorted ``times`` (days), effect-site delay ``ke0`` (1/day)."""
    m = times.shape[0]
    args[h] = m
    args[h + 1] = 0.0
    args[h + _T_LAST] = math.nan
    args[h + _KE0] = ke0
    rate, e, t_prev = 0.0, 0.0, 0.0
    for k in range(m):
        if k > 0:
            e = rate + (e - rate) * math.exp(-ke0 * (times[k] - t_prev))
        rate = max(rate + changes[k], 0.0)  # a schedule's end returns the rate to 0 exactly or near it
        t_prev = times[k]
        r = h + HEADER + ROW * k
        args[r], args[r + 1], args[r + 2] = times[k], rate, e


@njit(cache=True, error_model="numpy")
def exposure(t, args, h):
    """Effect-site daily dose (mg/day) and its time derivative (mg/day per day) at ``t``."""
    if t == args[h + _T_LAST]:
        return args[h + _U_LAST], args[h + _DU_LAST]
    k = last_row(args, h, _HEADER, _ROW, t)
    if k < 0:
        return 0.0, 0.0
    r = h + HEADER + ROW * k
    ke0, rate = args[h + _KE0], args[r + 1]
    e = rate + (args[r + 2] - rate) * math.exp(-ke0 * (t - args[r]))
    de = ke0 * (rate - e)
    args[h + _T_LAST], args[h + _U_LAST], args[h + _DU_LAST] = t, e, de
    return e, de
