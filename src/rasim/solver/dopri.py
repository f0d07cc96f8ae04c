"""DOPRI5: explicit Dormand-Prince 5(4) Runge-Kutta method for non-stiff problems.

Coefficients: J. R. Dormand & P. J. Prince (1980), as in Hairer's ``dopri5.f``
(Hairer, Norsett & Wanner, *Solving ODEs I*, section II.5). First-same-as-last
(FSAL): the last stage f(t+h, y_new) is the first stage of the next step.
Step-size control is Hairer's PI controller (beta = 0.04).
"""

from numba import njit

from ._driver import NO_NRT, all_finite, error_norm, make_driver, with_nrt
from .status import Status

_SUCCESS = int(Status.SUCCESS)
_NONFINITE = int(Status.NONFINITE)

C2, C3, C4, C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
A21 = 1.0 / 5.0
A31, A32 = 3.0 / 40.0, 9.0 / 40.0
A41, A42, A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
A51, A52, A53, A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
A61, A62, A63, A64, A65 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0
A71, A73, A74, A75, A76 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
# error coefficients: 5th-order weights minus embedded 4th-order weights
E1, E3, E4, E5, E6, E7 = (
    71.0 / 57600.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
)

_N_VEC = 8  # rows 0..6: stages k1..k7, row 7: scratch


def make_dopri5(rhs):
    """Return the compiled DOPRI5 ``solve`` kernel for one model.

    rhs(t, y, args, dydt) writes dy/dt into dydt. The kernel has the same
    signature as the one of :func:`rasim.solver.make_rodas` (no Jacobian used;
    stats[3] and stats[4] stay 0).
    """
    rhs = with_nrt(rhs)

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def prepare(t, y, args, ws, wm, after_step, stats):
        """Put f(t, y) in ws[0]: re-use the FSAL stage after an accepted step."""
        if after_step:
            for i in range(ws.shape[1]):
                ws[0, i] = ws[6, i]
        else:
            rhs(t, y, args, ws[0])
            stats[2] += 1
        return _SUCCESS if all_finite(ws[0]) else _NONFINITE

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def attempt(t, h, y, args, rtol, atol, ws, wm, piv, ynew, stats):
        """One DOPRI5 step of size h; returns (status, error norm)."""
        n = y.shape[0]
        k1, k2, k3, k4, k5, k6, k7, tmp = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7]
        for i in range(n):
            tmp[i] = y[i] + h * A21 * k1[i]
        rhs(t + C2 * h, tmp, args, k2)
        for i in range(n):
            tmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i])
        rhs(t + C3 * h, tmp, args, k3)
        for i in range(n):
            tmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i])
        rhs(t + C4 * h, tmp, args, k4)
        for i in range(n):
            tmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i])
        rhs(t + C5 * h, tmp, args, k5)
        for i in range(n):
            tmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i])
        rhs(t + h, tmp, args, k6)
        for i in range(n):
            ynew[i] = y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i])
        rhs(t + h, ynew, args, k7)
        for i in range(n):
            tmp[i] = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i])
        stats[2] += 6
        return _SUCCESS, error_norm(tmp, y, ynew, rtol, atol)

    return make_driver(rhs, prepare, attempt, _N_VEC, order=5, beta=0.04, fac_max=10.0)
