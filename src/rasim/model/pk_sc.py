"""First-order absorption into one compartment, with a clearance that may rise once: the PK
family ``sc_one_compartment`` (a monoclonal antibody given subcutaneously).

Amounts in mg, time in days; apparent parameters (CL/F, V/F), so each dose enters the depot
whole::

    depot --ka--> central --CL/V--> eliminated

From day ``switch`` on (anti-drug antibodies formed) the clearance is ``factor`` times as
high; before it, and for a patient who never forms them (``switch`` beyond the horizon), it
is CL.  Between rows the amounts are exact: depot ``a0 exp(-ka dt)``, central
``c0 exp(-k dt) + ka a0 (exp(-k dt) - exp(-ka dt)) / (ka - k)``.  The exposure the model
reads is the serum concentration central / V (mg/L, = ug/mL).

Table at ``args[h:]`` (``rasim.model.forcing`` places it): ``m``, the row last used, the
last time evaluated with its value and derivative, ka, V; then ``m`` rows
``(time, depot, central, k)`` just after each dose (a row without a dose at ``switch``).
"""

from __future__ import annotations

import math

import numpy as np

from numba import njit

from .pk import _phi
from .pktable import last_row

HEADER = 7
ROW = 4
_HEADER, _ROW = np.int64(HEADER), np.int64(ROW)  # not literals: one compiled ``last_row`` for every table
_T_LAST, _U_LAST, _DU_LAST, _KA, _V = 2, 3, 4, 5, 6


@njit(cache=True, error_model="numpy", inline="always")
def table_size(m):
    """Slots of a table of ``m`` doses (one row more for the clearance switch)."""
    return HEADER + ROW * (m + 1)


@njit(cache=True, error_model="numpy")
def _advance(ka, k, a0, c0, dt):
    """(depot, central) amounts (mg) ``dt`` days after (a0, c0)."""
    return a0 * math.exp(-ka * dt), c0 * math.exp(-k * dt) + ka * a0 * _phi(ka, k, dt)


@njit(cache=True, error_model="numpy")
def write_table(args, h, ka, cl, v, switch, factor, times, doses):
    """Fill the table at ``args[h:]`` for ``doses`` (mg) at sorted ``times`` (days): ka (1/day),
    CL (L/day), V (L); clearance times ``factor`` from day ``switch`` on."""
    args[h + 1] = 0.0
    args[h + _T_LAST] = math.nan
    args[h + _KA], args[h + _V] = ka, v
    a, c, t_prev, rows, k_now = 0.0, 0.0, 0.0, 0, cl / v
    switched = False
    for j in range(times.shape[0]):
        if not switched and switch <= times[j]:  # antibodies formed before this dose
            if rows > 0:
                a, c = _advance(ka, k_now, a, c, switch - t_prev)
            t_prev, switched, k_now = switch, True, cl * factor / v
            rows = _row(args, h, rows, switch, a, c, k_now)
        if rows > 0:
            a, c = _advance(ka, k_now, a, c, times[j] - t_prev)
        a += doses[j]
        t_prev = times[j]
        rows = _row(args, h, rows, times[j], a, c, k_now)
    if not switched and switch < math.inf and rows > 0:
        a, c = _advance(ka, k_now, a, c, switch - t_prev)
        rows = _row(args, h, rows, switch, a, c, cl * factor / v)
    args[h] = rows


@njit(cache=True, error_model="numpy", inline="always")
def _row(args, h, rows, t, a, c, k):
    r = h + HEADER + ROW * rows
    args[r], args[r + 1], args[r + 2], args[r + 3] = t, a, c, k
    return rows + 1


@njit(cache=True, error_model="numpy")
def concentration(t, args, h):
    """Serum concentration (mg/L) and its time derivative (mg/L per day) at ``t``."""
    if t == args[h + _T_LAST]:
        return args[h + _U_LAST], args[h + _DU_LAST]
    j = last_row(args, h, _HEADER, _ROW, t)
    if j < 0:
        return 0.0, 0.0
    r = h + HEADER + ROW * j
    ka, v, k = args[h + _KA], args[h + _V], args[r + 3]
    a, c = _advance(ka, k, args[r + 1], args[r + 2], t - args[r])
    u, du = c / v, (ka * a - k * c) / v
    args[h + _T_LAST], args[h + _U_LAST], args[h + _DU_LAST] = t, u, du
    return u, du
