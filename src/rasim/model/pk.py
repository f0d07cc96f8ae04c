"""Methotrexate pharmacokinetics, solved in closed form between doses.

Linear chain (amounts in mg, time in days)::

    gut --ka*F--> central --kin--> polyglutamates (PG) --kout--> eliminated
     \\--ka*(1-F)--> unabsorbed      \\--kel--> eliminated

``kel`` scales with renal function: kel * (1 - fr + fr * CrCl / 100).
Because the chain is linear with constant rates, the amounts at any time
follow from the amounts just after the last dose.  This is the boundary
between model and solver: the ODE solver never sees MTX states, only the
smooth forcing ``u(t)`` = PG amount (mg), so weekly doses cause no solver
restarts.

The table that carries the dose history sits in ``args`` at an offset ``h``
(``rasim.model.forcing`` places it): ``args[h]`` holds the number of doses ``m``, then a
header of ``HEADER - 1`` slots (the row last used, the last forcing evaluated
and the patient's constant exponential coefficients), then ``m`` rows of
``(time, gut, central, pg)`` just after each dose (``table_size(m)`` slots in
all).  A table with ``m = -1`` instead holds one constant PG amount in
``args[h + 1]`` (``constant_table``): the mean polyglutamate level
under a long-running background, used to find a patient's day-0 state quickly.

Between doses PG and central amounts are sums of exponentials in the time
since the dose, exp(-ka dt), exp(-kc dt), exp(-kout dt), with coefficients
linear in the amounts just after it; ``polyglutamate`` evaluates those three
exponentials (or the divided-difference form when two rates are within
``RATE_GAP`` of each other), starts its row search from the row last used and
returns the stored values when called again at the same time (the solver
evaluates rhs, Jacobian and df/dt at one time).  Those slots make ``args``
scratch space: one ``args`` array must not be shared by concurrent solves.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..drugs.mtx import MTX_CENTRAL, MTX_GUT
from .parameters import PINDEX
from .pktable import last_row

N_PK = 5
GUT, CENTRAL, PG, UNABSORBED, ELIMINATED = range(N_PK)
PK_NAMES = ("mtx_gut", "mtx_central", "mtx_pg", "mtx_unabsorbed", "mtx_eliminated")
# header slots after the dose count (offsets from the table's start h)
_HINT, _T_LAST, _U_LAST, _DU_LAST, _EXACT, _RA, _RB, _RC, _KAB, _KAC, _KCB, _KBB = range(1, 13)
HEADER = 13
ROW = 4
_HEADER, _ROW = np.int64(HEADER), np.int64(ROW)  # not literals: one compiled ``last_row`` for every table
RATE_GAP = 1e-2  # relative gap between two rates below which the divided-difference form is used

_KA = PINDEX["mtx_ka"]
_F_ORAL = PINDEX["mtx_f_oral"]
_F_SC = PINDEX["mtx_f_sc"]
_KEL = PINDEX["mtx_kel"]
_FR = PINDEX["mtx_renal_fraction"]
_CRCL = PINDEX["creatinine_clearance"]
_KIN = PINDEX["mtx_k_pg_in"]
_KOUT = PINDEX["mtx_k_pg_out"]

DEPOT_GUT, DEPOT_CENTRAL = MTX_GUT, MTX_CENTRAL  # the depot codes of rasim.drugs.mtx


@njit(cache=True, error_model="numpy")
def _rates(p):
    """(ka, kc = kel + kin, kout, kel, kin, F_oral) in 1/day."""
    kel = p[_KEL] * (1.0 - p[_FR] + p[_FR] * p[_CRCL] / 100.0)
    return p[_KA], kel + p[_KIN], p[_KOUT], kel, p[_KIN], p[_F_ORAL]


@njit(cache=True, error_model="numpy")
def _phi(a, b, t):
    """(exp(-a t) - exp(-b t)) / (b - a), stable as b -> a and for large t.

    Symmetric in (a, b): the slower decay is factored out so nothing overflows."""
    lo, hi = min(a, b), max(a, b)
    d = hi - lo
    if d == 0.0:
        return t * math.exp(-lo * t)
    return math.exp(-lo * t) * (-math.expm1(-d * t)) / d


@njit(cache=True, error_model="numpy")
def _int1(a, t):
    """Integral over [0, t] of exp(-a s): (1 - exp(-a t)) / a."""
    return -math.expm1(-a * t) / a


@njit(cache=True, error_model="numpy", inline="always")
def propagate(p, x0, dt, out):
    """Amounts ``out`` (mg, order GUT..ELIMINATED) ``dt`` days after ``x0``."""
    a, b, c, kel, kin, f = _rates(p)
    g0, c0, q0 = x0[GUT], x0[CENTRAL], x0[PG]
    out[GUT] = g0 * math.exp(-a * dt)
    out[CENTRAL], out[PG] = _central_pg(p, g0, c0, q0, dt)
    out[UNABSORBED] = x0[UNABSORBED] + (1.0 - f) * g0 * (-math.expm1(-a * dt))
    int_c = c0 * _int1(b, dt) + f * a * g0 * (_int1(a, dt) - _int1(b, dt)) / (b - a)
    int_q = (
        q0 * _int1(c, dt)
        + kin * c0 * (_int1(b, dt) - _int1(c, dt)) / (c - b)
        + kin
        * f
        * a
        * g0
        * ((_int1(a, dt) - _int1(c, dt)) / (c - a) - (_int1(b, dt) - _int1(c, dt)) / (c - b))
        / (b - a)
    )
    out[ELIMINATED] = x0[ELIMINATED] + kel * int_c + c * int_q


@njit(cache=True, error_model="numpy", inline="always")
def add_dose(p, x, depot, amount):
    """Give ``amount`` mg into ``depot`` (oral gut or subcutaneous central)."""
    if depot == DEPOT_GUT:
        x[GUT] += amount
    else:
        f_sc = p[_F_SC]
        x[CENTRAL] += f_sc * amount
        x[UNABSORBED] += (1.0 - f_sc) * amount


@njit(cache=True, error_model="numpy", inline="always")
def table_size(m):
    """Slots of a dose table of ``m`` doses (after the parameters in ``args``)."""
    return HEADER + ROW * m


@njit(cache=True, error_model="numpy")
def write_table(args, h, times, depots, amounts):
    """Fill the dose table at ``args[h:]`` for sorted MTX doses."""
    m = times.shape[0]
    args[h] = m
    _write_header(args, h)
    x = np.zeros(N_PK)  # GUT, CENTRAL and PG carried; what leaves them is not tabled
    ka = _rates(args)[0]
    dt_last, e, gut_left = -1.0, _decays(args, 0.0), 1.0
    for k in range(m):
        if k > 0:
            dt = times[k] - times[k - 1]
            if dt != dt_last:  # the exponentials once per distinct dosing interval
                dt_last, e, gut_left = dt, _decays(args, dt), math.exp(-ka * dt)
            x[CENTRAL], x[PG] = _carry(args, x[GUT], x[CENTRAL], x[PG], e)
            x[GUT] = x[GUT] * gut_left
        add_dose(args, x, depots[k], amounts[k])
        r = h + HEADER + ROW * k
        args[r] = times[k]
        args[r + 1] = x[GUT]
        args[r + 2] = x[CENTRAL]
        args[r + 3] = x[PG]


@njit(cache=True, error_model="numpy", inline="always")
def _write_header(args, start):
    """Row hint, empty memo, the rates (1/day) and the coefficient factors of one patient."""
    a, b, c, _, kin, f = _rates(args)
    h = args[start : start + HEADER]
    h[_HINT] = 0.0
    h[_T_LAST] = np.nan
    h[_RA], h[_RB], h[_RC] = a, b, c
    gap = min(abs(b - a) / max(a, b), abs(c - a) / max(a, c), abs(c - b) / max(b, c))
    h[_EXACT] = 1.0 if not gap > RATE_GAP else 0.0
    if h[_EXACT] == 0.0:
        h[_KAB] = f * a / (b - a)
        h[_KAC] = kin * f * a / ((c - a) * (b - a))
        h[_KCB] = kin / (c - b)
        h[_KBB] = kin * f * a / ((c - b) * (b - a))


@njit(cache=True, error_model="numpy", inline="always")
def _decays(p, dt):
    """The exponential terms of ``_central_pg`` over ``dt`` days: (exp(-kc dt), phi(ka, kc),
    exp(-kout dt), phi(kc, kout), phi(ka, kout))."""
    a, b, c, _, _, _ = _rates(p)
    return math.exp(-b * dt), _phi(a, b, dt), math.exp(-c * dt), _phi(b, c, dt), _phi(a, c, dt)


@njit(cache=True, error_model="numpy", inline="always")
def _carry(p, g0, c0, q0, e):
    """Central and PG amounts (mg) from (gut, central, PG) = (g0, c0, q0) under the decay
    terms ``e`` of an interval (``_decays``)."""
    a, b, _, _, kin, f = _rates(p)
    central = c0 * e[0] + f * a * g0 * e[1]
    pg = q0 * e[2] + kin * c0 * e[3] + kin * f * a * g0 * (e[4] - e[3]) / (b - a)
    return central, pg


@njit(cache=True, error_model="numpy")
def _central_pg(p, g0, c0, q0, dt):
    """Central and PG amounts (mg) ``dt`` days after (gut, central, PG) = (g0, c0, q0)."""
    return _carry(p, g0, c0, q0, _decays(p, dt))


@njit(cache=True, error_model="numpy")
def polyglutamate(t, args, h):
    """MTX polyglutamate amount (mg) and its time derivative (mg/day) at ``t``, from the
    table at ``args[h:]``."""
    if args[h] < 0.0:
        return args[h + 1], 0.0
    if t == args[h + _T_LAST]:
        return args[h + _U_LAST], args[h + _DU_LAST]
    k = last_row(args, h, _HEADER, _ROW, t)
    if k < 0:
        central, pg = 0.0, 0.0
    else:
        r = h + HEADER + ROW * k
        g0, c0, q0, dt = args[r + 1], args[r + 2], args[r + 3], t - args[r]
        if args[h + _EXACT] != 0.0:
            central, pg = _central_pg(args, g0, c0, q0, dt)
        else:
            ea = math.exp(-args[h + _RA] * dt)
            eb = math.exp(-args[h + _RB] * dt)
            ec = math.exp(-args[h + _RC] * dt)
            kab, kac, kcb, kbb = args[h + _KAB], args[h + _KAC], args[h + _KCB], args[h + _KBB]
            central = kab * g0 * ea + (c0 - kab * g0) * eb
            pg = kac * g0 * ea + (kcb * c0 - kbb * g0) * eb + (q0 - kcb * c0 + (kbb - kac) * g0) * ec
    du = args[_KIN] * central - args[_KOUT] * pg
    args[h + _T_LAST], args[h + _U_LAST], args[h + _DU_LAST] = t, pg, du
    return pg, du


@njit(cache=True, error_model="numpy", inline="always")
def constant_table(args, h, pg):
    """Make the table at ``args[h:]`` a constant polyglutamate amount ``pg`` (mg)."""
    args[h] = -1.0
    args[h + 1] = pg


def mean_polyglutamate(p: np.ndarray, dose_mg: float, every: float, depot: int) -> np.ndarray:
    """Time-averaged PG amount (mg) under ``dose_mg`` every ``every`` days at steady state.

    Linear chain: mean central = F D / (T (kel + kin)); mean PG = kin * central / kout.
    ``p`` is one parameter vector or a batch (n, n_params)."""
    p = np.asarray(p, dtype=np.float64)
    kel = p[..., _KEL] * (1.0 - p[..., _FR] + p[..., _FR] * p[..., _CRCL] / 100.0)
    f = p[..., _F_ORAL] if depot == DEPOT_GUT else p[..., _F_SC]
    central = f * dose_mg / every / (kel + p[..., _KIN])
    return p[..., _KIN] * central / p[..., _KOUT]


def amounts(
    p: np.ndarray, times: np.ndarray, depots: np.ndarray, doses: np.ndarray, t: np.ndarray, pre_dose: bool = False
) -> np.ndarray:
    """All five MTX amounts (mg) at sorted times ``t``: shape (len(t), 5).

    A dose at exactly ``t`` is included (post-dose amounts), unless ``pre_dose``:
    then it is not yet given, the convention of the solver's observed states."""
    out = np.zeros((len(t), N_PK))
    x = np.zeros(N_PK)
    t_x = -np.inf  # time at which x holds
    k = 0
    for j, tj in enumerate(np.asarray(t, dtype=np.float64)):
        while k < len(times) and (times[k] < tj or (times[k] == tj and not pre_dose)):
            if t_x > -np.inf:
                propagate(p, x.copy(), times[k] - t_x, x)
            add_dose(p, x, int(depots[k]), float(doses[k]))
            t_x = times[k]
            k += 1
        if t_x > -np.inf:
            propagate(p, x, tj - t_x, out[j])
    return out
