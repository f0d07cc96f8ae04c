"""Day 0: the state a trial starts from, by one of two named strategies.

* ``"steady"`` (``simulate``'s default): established disease at its long-run
  state. Integrate from the inflamed reference for ``run_days``, polish with
  Newton's method, check stability (eigenvalues) and active disease; under a
  background regimen, solve the periodic state by Newton shooting after a run-in
  of ``shooting_runin_days`` (Floquet multipliers inside the unit circle).
  Fibroblast imprinting is at its steady level.
* ``"replay"`` (the cohorts'): the disease course replayed from onset.
  Fibroblast imprinting starts at 0 and its rates are scaled by duration /
  ``days``, so over ``days`` of integration it accrues as it would over the
  patient's disease duration, along the quasi-steady disease state, under the
  background's mean MTX exposure; the other states are then polished by Newton's
  method to their quasi-steady state at the imprinting reached (imprinting is
  still moving after a short disease), stability is checked on the enrolled
  candidates (``growth``) and a background runs in under its real doses for
  ``runin_days`` before day 0.

Both strategies accrue cartilage loss, erosion and radiographic damage over the
disease duration by one rule (``accrue_damage``); without a duration, ``"steady"``
keeps the long-run limits of cartilage and erosion and starts radiographic damage,
which has no limit but the score's maximum, at 0 (its mTSS then reads damage since day 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from . import model
from .clinical import LOW
from .errors import EquilibriumError, RasimError, unknown_name
from .integrate import in_threads, integrate, integrate_batch, kernel_inputs
from .lowering import background_dose
from .model.args import CONSTANT_SIZE, write_constant_args
from .model.equations import MTSS_EROSION_MAX, MTSS_JSN_MAX, MTSS_MAX
from .regimen import Regimen
from .solver import SolverOptions, Status
from .solver._driver import pin_uuids
from .solver.steady import CONVERGED, largest_real_eigenvalues, make_jacobian_block, make_steady

NOT_SETTLED = 100  # replay status (``rasim.cohort.PatientStatus.NOT_SETTLED``): no stable disease state found
NEWTON_TOL = 1e-10  # max |dy/dt| / scale (1/day) of a polished steady state
NEWTON_ITER = 30
NEWTON_MAX_MOVE = 0.5  # a polish moves no state by more than this fraction of |y| + scale


@dataclass(frozen=True)
class Steady:
    """The ``"steady"`` strategy's settings."""

    run_days: float = 3000.0  # several memory-Treg half-lives before the Newton polish
    shooting_runin_days: float = 364.0  # under the background's real doses, before shooting
    options: SolverOptions = SolverOptions(rtol=1e-9, atol=1e-11, max_steps=200_000)


@dataclass(frozen=True)
class Replay:
    """The ``"replay"`` strategy's settings."""

    days: float = 6000.0  # many memory-Treg half-lives: the replayed disease course
    runin_days: float = 56.0  # real weekly background doses before day 0 (fast states reach their pattern)
    # A contracting run whose end state Newton's method polishes: its tolerance only matters for the
    # imprinting accrued on the way (rtol 1e-3 vs 1e-4: day-0 DAS28-ESR within 7e-4, 1.4x faster).
    options: SolverOptions = SolverOptions(rtol=1e-3, atol=1e-6, max_steps=50_000)


STEADY = Steady()
REPLAY = Replay()
STRATEGIES: dict[str, Steady | Replay] = {"steady": STEADY, "replay": REPLAY}

_ACCRUING = np.zeros(model.N_STATES, dtype=bool)  # no steady state: held by every polish and check
_ACCRUING[list(model.ACCRUING)] = True
_FROZEN = _ACCRUING.copy()  # replay: held during the polish
_FROZEN[model.INDEX["fls_imprint"]] = True
_SETTLING = ~_ACCRUING  # the states a steady or periodic state settles
_STABILITY = np.zeros(model.N_STATES, dtype=bool)  # the coupled block (sinks add their own diagonal)
_STABILITY[: model.N_COUPLED] = True
_IMPRINT_RATES = [model.PINDEX["imprint_rate"], model.PINDEX["imprint_reversal"]]
_newton, _growth = make_steady(model.rhs, model.jac)
_block = make_jacobian_block(model.jac)


def onset(y: np.ndarray) -> np.ndarray:
    """The replay's start: ``y`` (the inflamed reference) without fibroblast imprinting or
    radiographic damage."""
    y = y.copy()
    y[..., model.INDEX["fls_imprint"]] = 0.0
    y[..., model.INDEX["radiographic"]] = 0.0
    return y


REPLAY_START = onset(model.reference_vector(model.DEFAULTS, "inflamed"))  # every replay starts here


@dataclass(frozen=True)
class Equilibrium:
    """A day-0 state and how it was found."""

    y: np.ndarray
    kind: str  # "steady", "periodic" or "replay"
    max_growth: float  # largest real eigenvalue (1/day) or |Floquet multiplier|
    das28_esr: float


def strategy(name: str) -> Steady | Replay:
    """The settings of strategy ``name`` ("steady" or "replay")."""
    if not isinstance(name, str) or name not in STRATEGIES:
        raise RasimError(unknown_name("day-0 strategy", str(name), STRATEGIES) + f" Valid: {', '.join(STRATEGIES)}.")
    return STRATEGIES[name]


# ---- shared rules ---------------------------------------------------------------------------


def accrue_damage(y: np.ndarray, P: np.ndarray, duration_years: np.ndarray) -> np.ndarray:
    """Cartilage loss, erosion and radiographic damage accrued over the disease duration (years),
    for a batch.

    The settled cartilage and erosion values are the long-run limits; both relax linearly toward
    them from a healthy joint at onset, at their own rates at that state, under the settled
    destructive drive. Radiographic damage integrates its formation along that path
    (``accrued_score``)."""
    y = y.copy()
    t = 365.25 * np.asarray(duration_years, dtype=np.float64)
    ic, ie = model.INDEX["cartilage"], model.INDEX["erosion"]
    c_eq = np.clip(y[:, ic], 1e-9, 1.0)
    e_eq = np.clip(y[:, ie], 0.0, 1.0 - 1e-9)
    rate_c = P[:, model.PINDEX["cartilage_repair"]] / c_eq
    rate_e = P[:, model.PINDEX["erosion_repair"]] / (1.0 - e_eq)
    y[:, ic] = 1.0 - (1.0 - c_eq) * -np.expm1(-rate_c * t)
    y[:, ie] = e_eq * -np.expm1(-rate_e * t)
    y[:, model.INDEX["radiographic"]] = accrued_score(y, P, t, c_eq, e_eq)
    return y


def accrued_score(y: np.ndarray, P: np.ndarray, t: np.ndarray, c_eq: np.ndarray, e_eq: np.ndarray) -> np.ndarray:
    """Radiographic damage (mTSS units) accrued over ``t`` days from onset, in closed form, for
    settled states ``y`` whose cartilage and erosion relax from a healthy joint to ``c_eq``,
    ``e_eq`` (``accrue_damage``); the rate law is in ``equations.py``.

    At the settled states loss equals repair, so cartilage_loss x drive = cartilage_repair
    (1 - c_eq) / c_eq and erosion_rate x drive = erosion_repair e_eq / (1 - e_eq); the formation
    integrates c and 1 - e along the relaxation, at the TNF-driven share of the drive, and
    the score saturates toward its maximum: 448 (1 - exp(-yield x formed / 448))."""
    q = {n: P[:, model.PINDEX[n]] for n in ("cartilage_repair", "erosion_repair", "damage_k_tnf", "damage_k_il17")}
    rate_c = q["cartilage_repair"] / c_eq
    rate_e = q["erosion_repair"] / (1.0 - e_eq)
    cartilage_days = t - (1.0 - c_eq) * (t + np.expm1(-rate_c * t) / rate_c)
    intact_bone_days = t - e_eq * (t + np.expm1(-rate_e * t) / rate_e)
    formed = MTSS_JSN_MAX * q["cartilage_repair"] * (1.0 - c_eq) / c_eq * cartilage_days
    formed += MTSS_EROSION_MAX * q["erosion_repair"] * e_eq / (1.0 - e_eq) * intact_bone_days
    tnf, il17 = y[:, model.INDEX["tnf"]], y[:, model.INDEX["il17"]]
    by_tnf = tnf / (tnf + q["damage_k_tnf"])
    tnf_share = by_tnf / (by_tnf + il17 / (il17 + q["damage_k_il17"]))
    yield_ = P[:, model.PINDEX["radiographic_yield"]]
    return MTSS_MAX * -np.expm1(-yield_ * tnf_share * formed / MTSS_MAX)


def _das28(y: np.ndarray, p: np.ndarray) -> float:
    return float(model.observables(y, p)["DAS28_ESR"])


def _require_active(das: float, where: str) -> None:
    if das <= LOW:
        raise EquilibriumError(
            f"{where} the disease is not active (DAS28-ESR {das:.2f} <= {LOW}, "
            f"low activity): these parameters have no active disease state"
        )


# ---- "steady" --------------------------------------------------------------------------------


def _run(args, t0, y0, t_end, options):
    empty = (np.empty(0), np.empty(0, np.int64), np.empty(0))
    status, y, _ = integrate(options, t0, y0, args, np.array([t_end]), *empty)
    if status != Status.SUCCESS:
        raise EquilibriumError(f"run-in integration failed: {status.message}")
    return y[-1]


def inflamed_equilibrium(p: np.ndarray) -> Equilibrium:
    """The stable inflamed steady state without treatment, for parameters ``p``."""
    s = STEADY
    args = model.build_args(p, np.empty(0), np.empty(0, np.int64), np.empty(0))
    y = _run(args, 0.0, model.reference_vector(p, "inflamed"), s.run_days, s.options)
    y[_ACCRUING] = 0.0  # nothing accrued before day 0 without a duration (``accrue_damage`` gives one)
    code = _newton(0.0, y, args, _ACCRUING, model.STATE_SCALE, NEWTON_TOL, NEWTON_ITER, NEWTON_MAX_MOVE)
    if code != CONVERGED or np.any(y < -1e-9 * model.STATE_SCALE):
        raise EquilibriumError("no inflamed steady state found (Newton's method did not converge)")
    growth = float(_growth(0.0, y, args, _SETTLING))
    if growth >= 0.0:
        raise EquilibriumError(f"the inflamed steady state is unstable (eigenvalue {growth:.3g}/day)")
    das = _das28(y, p)
    _require_active(das, "without treatment")
    return Equilibrium(np.maximum(y, 0.0), "steady", growth, das)


def periodic_state(p: np.ndarray, args: np.ndarray, start: Equilibrium, t_end: float, period: float) -> Equilibrium:
    """The stable periodic state at ``t_end`` under the dosing in ``args`` (period in days).

    ``args`` must carry the background doses from at least ``shooting_runin_days``
    + period before ``t_end``; the state is integrated from ``start``."""
    s = STEADY
    x = _run(args, t_end - s.shooting_runin_days - period, start.y, t_end - period, s.options)
    x[_ACCRUING] = start.y[_ACCRUING]  # accruing states are held: they have no period

    def period_map(v):
        """The settling states one period after ``v``."""
        return _run(args, t_end - period, v, t_end, s.options)[_SETTLING]

    fx = period_map(x)
    for _ in range(30):
        residual = fx - x[_SETTLING]
        if np.max(np.abs(residual) / model.STATE_SCALE[_SETTLING]) < 1e-10:
            break
        step = np.zeros(model.N_STATES)
        step[_SETTLING] = np.linalg.solve(_monodromy(period_map, x, fx) - np.eye(len(fx)), residual)
        x, fx = _damped(period_map, x, step, _norm(residual))
    else:
        raise EquilibriumError("no periodic state under the background regimen (shooting did not converge)")
    multiplier = float(np.max(np.abs(np.linalg.eigvals(_monodromy(period_map, x, period_map(x))))))
    if multiplier >= 1.0:
        raise EquilibriumError(f"the periodic state is unstable (Floquet multiplier {multiplier:.4f})")
    das = _das28(x, p)
    _require_active(das, "under the background regimen")
    return Equilibrium(np.maximum(x, 0.0), "periodic", multiplier, das)


def _norm(residual: np.ndarray) -> float:
    """Root-mean-square of a residual of the settling states, scaled by their typical magnitudes."""
    return float(np.sqrt(np.mean((residual / model.STATE_SCALE[_SETTLING]) ** 2)))


def _damped(period_map, x: np.ndarray, step: np.ndarray, worst: float) -> tuple[np.ndarray, np.ndarray]:
    """A shooting step ``x - lam * step`` (lam = 1, 1/2, ...) that keeps the states >= 0 and
    reduces the scaled residual norm ``worst``: (new x, period_map(new x))."""
    lam = 1.0
    for _ in range(12):
        new = x - lam * step
        if np.all(new >= -1e-9 * model.STATE_SCALE):
            try:
                f_new = period_map(new)
            except EquilibriumError:
                f_new = None
            if f_new is not None and _norm(f_new - new[_SETTLING]) < worst:
                return new, f_new
        lam *= 0.5
    raise EquilibriumError(
        "no periodic state under the background regimen (shooting made no progress: "
        "the disease may be leaving its active state under this background)"
    )


def _monodromy(period_map, x: np.ndarray, fx: np.ndarray) -> np.ndarray:
    """Finite-difference Jacobian of the period map over the settling states at ``x``
    (fx = period_map(x))."""
    cols = np.flatnonzero(_SETTLING)
    m = np.empty((len(cols), len(cols)))
    for k, j in enumerate(cols):
        h = 1e-6 * model.STATE_SCALE[j]
        xp = x.copy()
        xp[j] += h
        m[:, k] = (period_map(xp) - fx) / h
    return m


# ---- "replay" --------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy")
def _write_constant_rows(args, P, pg_mean):
    """Row i of ``args`` (n, CONSTANT_SIZE) for parameters ``P[i]`` and polyglutamate ``pg_mean[i]`` (mg)."""
    for i in range(P.shape[0]):
        write_constant_args(args[i], P[i], pg_mean[i])


def _constant_args(P: np.ndarray, pg_mean: np.ndarray) -> np.ndarray:
    """Each patient's ``args`` (n, CONSTANT_SIZE) under its constant mean polyglutamate (mg)."""
    p, pg = kernel_inputs(P, pg_mean)
    args = np.empty((len(p), CONSTANT_SIZE))
    _write_constant_rows(args, p, pg)
    return args


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _polish(y, args, status, days, frozen, scale):
    """Newton's polish, in place, of each replayed end state ``y[i]`` whose integration succeeded
    (status 0); its status becomes NOT_SETTLED if the polish fails or leaves a negative state."""
    for i in range(y.shape[0]):
        if status[i] != 0:
            continue
        if _newton(days, y[i], args[i], frozen, scale, NEWTON_TOL, NEWTON_ITER, NEWTON_MAX_MOVE) != CONVERGED:
            status[i] = NOT_SETTLED
        for j in range(y.shape[1]):
            if y[i, j] < -1e-9 * scale[j]:
                status[i] = NOT_SETTLED


@numba.njit(cache=True, error_model="numpy")
def _growth_blocks(args, y, include, subs, finite):
    """Each patient's Jacobian block ``include`` into ``subs[i]`` (``steady.make_jacobian_block``)
    where its state is finite (``finite[i]``; LAPACK refuses non-finite input).

    Serial: it runs on the few candidates that qualify (about one per enrolled patient), where a
    parallel kernel would cost more to compile than it saves."""
    for i in range(y.shape[0]):
        ok = True
        for j in range(y.shape[1]):
            ok = ok and np.isfinite(y[i, j])
        finite[i] = ok
        if ok:
            _block(0.0, y[i], args[i], include, subs[i])


pin_uuids(_polish)
pin_uuids(_growth_blocks)


def replay_parameters(P: np.ndarray, duration_years: np.ndarray) -> np.ndarray:
    """``P`` (n, N_PARAMS) with the imprinting rates compressed into the replay's ``days``."""
    P = np.array(P, dtype=np.float64)
    P[:, _IMPRINT_RATES] *= (365.25 * np.asarray(duration_years) / REPLAY.days)[:, None]
    return P


def mean_exposure(P: np.ndarray, dose: tuple[float, float, int] | None) -> np.ndarray:
    """Each patient's mean polyglutamate (mg) under a background ``dose`` (``background_dose``)."""
    return np.zeros(len(P)) if dose is None else model.pk.mean_polyglutamate(P, *dose)


def replay(
    P: np.ndarray, pg_mean: np.ndarray, duration_years: np.ndarray, solver: str = "rodas4"
) -> tuple[np.ndarray, np.ndarray]:
    """Replayed, polished day-0 states before damage: (y (n, n_states), status (n,) int64).

    ``P`` are the patients' parameters, ``pg_mean`` their mean MTX exposure (mg,
    ``mean_exposure``), ``duration_years`` their disease duration."""
    n = len(P)
    args = _constant_args(replay_parameters(P, duration_years), pg_mean)
    y0 = np.repeat(REPLAY_START[None, :], n, axis=0)
    o = REPLAY.options
    atol = o.atol_vector(model.N_STATES) * model.STATE_SCALE
    empty = (np.empty(0), np.empty(0, np.int64), np.empty((n, 0)))
    status, y, _ = integrate_batch(solver, 0.0, y0, args, np.array([REPLAY.days]), *empty, o.rtol, atol, o.max_steps)
    y = y.reshape(n, model.N_STATES)
    in_threads(n, lambda r: _polish(y[r], args[r], status[r], REPLAY.days, _FROZEN, model.STATE_SCALE))
    return y, status


def growth(P: np.ndarray, pg_mean: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Largest real eigenvalue (1/day) of each replayed state's coupled Jacobian block
    (imprinting held); < 0: the state is stable."""
    (y,) = kernel_inputs(y)
    include = _STABILITY & ~_FROZEN
    k = int(np.count_nonzero(include))
    subs, finite = np.empty((len(P), k, k)), np.empty(len(P), dtype=bool)
    _growth_blocks(_constant_args(P, pg_mean), y, include, subs, finite)
    out = np.full(len(P), np.inf)  # a non-finite state is not a stable one
    rows = np.flatnonzero(finite)

    def piece(r: slice) -> None:  # NumPy's LAPACK loop releases the GIL: slices run in threads
        out[rows[r]] = largest_real_eigenvalues(subs[rows[r]])

    if rows.size:
        in_threads(rows.size, piece)
    return out


def replayed(
    p: np.ndarray, duration_years: float, before: Regimen | None, args: np.ndarray, solver: str = "rodas4"
) -> Equilibrium:
    """One patient's day 0 by the ``"replay"`` strategy (what a cohort does per candidate).

    ``before`` is the regimen before day 0 (None: untreated); ``args`` carry its doses
    for the run-in (from at least ``runin_days`` before day 0)."""
    P = p[None, :]
    pg = mean_exposure(P, background_dose(before))
    y, status = replay(P, pg, np.array([duration_years]), solver)
    if status[0] != 0:
        why = "the polish did not converge" if status[0] == NOT_SETTLED else Status(int(status[0])).message
        raise EquilibriumError(f"no steady disease state found by the replay: {why}")
    g = float(growth(P, pg, y)[0])
    if g >= 0.0:
        raise EquilibriumError(f"the replayed disease state is unstable (eigenvalue {g:.3g}/day)")
    y = accrue_damage(y, P, np.array([duration_years]))[0]
    _require_active(_das28(y, p), "after the replayed disease course")
    if before is not None and len(before):
        y = _run(args, -REPLAY.runin_days, y, 0.0, STEADY.options)
    return Equilibrium(y, "replay", g, _das28(y, p))
