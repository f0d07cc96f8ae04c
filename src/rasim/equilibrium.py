"""Day 0 as established disease: the inflamed steady state, or the periodic
state under a background regimen.

* ``inflamed_equilibrium``: integrate from the inflamed reference until the
  slow variables settle, polish with Newton's method on f(y) = 0 using the
  analytic Jacobian, check stability (all Jacobian eigenvalues with negative
  real part) and that the state is active disease (DAS28-ESR > 3.2).
* ``periodic_state``: under a background with dosing period T, run in for a
  year, then solve the fixed point of the period map, y(t + T) = y(t), by
  Newton shooting (Jacobian of the period map by finite differences), and
  check the orbit is stable (Floquet multipliers inside the unit circle).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import model
from .clinical import LOW
from .errors import EquilibriumError
from .integrate import integrate
from .solver import SolverOptions, Status

SETTLE_DAYS = 3000.0  # several memory-Treg half-lives
RUNIN_DAYS = 364.0  # run-in under the background before shooting
TIGHT = SolverOptions(rtol=1e-9, atol=1e-11, max_steps=200_000)


@dataclass(frozen=True)
class Equilibrium:
    """A day-0 state and how it was found."""

    y: np.ndarray
    kind: str  # "steady" or "periodic"
    max_growth: float  # largest real eigenvalue (1/day) or |Floquet multiplier|
    das28_esr: float


def _f(y: np.ndarray, args: np.ndarray) -> np.ndarray:
    out = np.zeros(model.N_STATES)
    model.rhs(0.0, y, args, out)
    return out


def _jac(y: np.ndarray, args: np.ndarray) -> np.ndarray:
    out = np.zeros((model.N_STATES, model.N_STATES))
    model.jac(0.0, y, args, out)
    return out


def _run(args, t0, y0, t_end, ev=None):
    ev_t, ev_cmt, ev_amt = ev if ev is not None else (np.empty(0), np.empty(0, np.int64), np.empty(0))
    status, y, _ = integrate(TIGHT, t0, y0, args, np.array([t_end]), ev_t, ev_cmt, ev_amt)
    if status != Status.SUCCESS:
        raise EquilibriumError(f"run-in integration failed: {status.message}")
    return y[-1]


def _das28(y: np.ndarray, p: np.ndarray) -> float:
    return float(model.observables(y, p)["DAS28_ESR"])


def inflamed_equilibrium(p: np.ndarray) -> Equilibrium:
    """The stable inflamed steady state without treatment, for parameters ``p``."""
    args = model.build_args(p, np.empty(0), np.empty(0, np.int64), np.empty(0))
    y = _run(args, 0.0, model.reference_vector(p, "inflamed"), SETTLE_DAYS)
    y = _newton(y, args)
    growth = float(np.max(np.linalg.eigvals(_jac(y, args)).real))
    das = _das28(y, p)
    if growth >= 0.0:
        raise EquilibriumError(f"the inflamed steady state is unstable (eigenvalue {growth:.3g}/day)")
    if das <= LOW:
        raise EquilibriumError(
            f"these parameters have no active disease state: the untreated steady state has "
            f"DAS28-ESR {das:.2f} <= {LOW} (low activity)")
    return Equilibrium(np.maximum(y, 0.0), "steady", growth, das)


def _newton(y: np.ndarray, args: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Polish a near-steady state with Newton's method on f(y) = 0."""
    for _ in range(iterations):
        residual = _f(y, args)
        if np.max(np.abs(residual) / model.STATE_SCALE) < 1e-12:
            return y
        y = y - np.linalg.solve(_jac(y, args), residual)
    if np.max(np.abs(_f(y, args)) / model.STATE_SCALE) > 1e-9 or np.any(y < -1e-9 * model.STATE_SCALE):
        raise EquilibriumError("no inflamed steady state found (Newton's method did not converge)")
    return y


def periodic_state(p: np.ndarray, args: np.ndarray, start: Equilibrium, t_end: float,
                   period: float) -> Equilibrium:
    """The stable periodic state at ``t_end`` under the dosing in ``args`` (period in days).

    ``args`` must carry the background doses from at least RUNIN_DAYS + period
    before ``t_end``; the state is integrated from the untreated equilibrium."""
    t0 = t_end - RUNIN_DAYS - period
    x = _run(args, t0, start.y, t_end - period)

    def period_map(v):
        return _run(args, t_end - period, v, t_end)

    for _ in range(20):
        fx = period_map(x)
        residual = fx - x
        if np.max(np.abs(residual) / model.STATE_SCALE) < 1e-10:
            break
        monodromy = _monodromy(period_map, x, fx)
        x = x - np.linalg.solve(monodromy - np.eye(model.N_STATES), residual)
    else:
        raise EquilibriumError("no periodic state under the background regimen (shooting did not converge)")
    multiplier = float(np.max(np.abs(np.linalg.eigvals(_monodromy(period_map, x, period_map(x))))))
    das = _das28(x, p)
    if multiplier >= 1.0:
        raise EquilibriumError(f"the periodic state is unstable (Floquet multiplier {multiplier:.4f})")
    if das <= LOW:
        raise EquilibriumError(
            f"under the background regimen the disease is no longer active (DAS28-ESR {das:.2f} <= {LOW})")
    return Equilibrium(np.maximum(x, 0.0), "periodic", multiplier, das)


def _monodromy(period_map, x: np.ndarray, fx: np.ndarray) -> np.ndarray:
    """Finite-difference Jacobian of the period map at ``x`` (fx = period_map(x))."""
    n = model.N_STATES
    m = np.empty((n, n))
    for j in range(n):
        h = 1e-6 * model.STATE_SCALE[j]
        xp = x.copy()
        xp[j] += h
        m[:, j] = (period_map(xp) - fx) / h
    return m
