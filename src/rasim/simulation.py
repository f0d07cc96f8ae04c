"""``simulate``: one patient, one regimen, from established disease at day 0."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from . import model
from .day0 import STRATEGIES, Equilibrium, accrue_damage, inflamed_equilibrium, periodic_state, replayed, strategy
from .errors import CovariateError, RasimError, RegimenError, SolverOptionsError, unknown_name
from .integrate import integrate
from .regimen import Regimen, after_horizon
from .solver import SolverOptions, Status
from .solver.options import METHODS

COVARIATES = ("age", "female", "weight", "creatinine_clearance", "seropositive", "duration")
DURATION_RANGE = (0.01, 60.0)  # years of disease: the ``duration`` covariate's range
STAT_NAMES = ("accepted_steps", "rejected_steps", "rhs_evaluations", "jacobian_evaluations",
              "lu_factorisations")
PK_HISTORY_DAYS = 1500.0  # background doses before day 0: > 40 polyglutamate half-lives, so PK is periodic
_RUNIN_DAYS = max(STRATEGIES["steady"].shooting_runin_days, STRATEGIES["replay"].runin_days)
SOLVER_ALIASES = {"scipy": "scipy-radau", "radau": "scipy-radau", "lsoda": "scipy-lsoda", "bdf": "scipy-bdf"}


@dataclass
class SimulationResult:
    """Trajectory of one patient: times (days), states, observables and the solver's status."""

    t: np.ndarray
    states: np.ndarray  # (len(t), n_states)
    params: np.ndarray
    status: Status
    stats: dict[str, int]
    regimen: Regimen
    day0: Equilibrium
    mtx: np.ndarray  # (len(t), 5) MTX amounts (mg): gut, central, PG, unabsorbed, eliminated
    observables: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.observables = model.observables(self.states, self.params)

    @property
    def ok(self) -> bool:
        """True when the solver reached the last day."""
        return self.status == Status.SUCCESS

    def state(self, name: str) -> np.ndarray:
        """Trajectory of state ``name``."""
        if name not in model.INDEX:
            raise KeyError(unknown_name("state", name, model.NAMES))
        return self.states[:, model.INDEX[name]]

    def __getitem__(self, name: str) -> np.ndarray:
        """An observable (``result["DAS28_ESR"]``) or, failing that, a state."""
        if name in self.observables:
            return self.observables[name]
        return self.state(name)

    def to_frame(self):
        """A pandas DataFrame: one row per day, columns day, observables, states (pandas needed)."""
        import pandas as pd

        data = {"day": self.t, **self.observables}
        data.update({f"state.{n}": self.states[:, i] for i, n in enumerate(model.NAMES)})
        data.update({f"pk.{n}": self.mtx[:, i] for i, n in enumerate(model.pk.PK_NAMES)})
        return pd.DataFrame(data)


def simulate(regimen: Regimen | None = None, *, days: float = 1095.0, observe=None,
             params: Mapping[str, float] | None = None, covariates: Mapping[str, float] | None = None,
             background: Regimen | None = None, history: Regimen | None = None,
             solver: str | SolverOptions = "rodas4", rtol: float | None = None, atol: float | None = None,
             allow_out_of_range: bool = False, day0: str = "steady") -> SimulationResult:
    """Simulate one patient for ``days`` days under ``regimen``.

    Day 0 is established disease: the inflamed steady state, or the periodic
    state under ``background`` (a regimen already running long before day 0
    and continuing, e.g. ``mtx(15)`` for patients on MTX); ``history``, if
    given, is what ran before day 0 instead (day 0 is its periodic state, and
    ``background`` takes over at day 0: a dose change or stop, ``Regimen()``
    for none).  ``observe`` are
    the output days (default: every day); an observation at a dose time reads
    the pre-dose value.  ``params`` override parameters by name, ``covariates``
    set age (years), female (0/1), weight (kg), creatinine_clearance (mL/min),
    seropositive (0/1) and duration (years of disease: the damage accrued by
    day 0 and the disability covariate effect of the cohorts); overrides outside a parameter's plausible range are
    refused unless ``allow_out_of_range``.  ``solver`` is "rodas4" (default), "dopri5", "scipy"
    (Radau), "scipy-lsoda", "scipy-bdf" or a :class:`SolverOptions`; ``atol``
    is relative to each state's typical magnitude.  Input errors raise before
    any solving; solver failures come back as ``result.status``.

    ``day0`` is how day 0 is found (``rasim.day0``): "steady" (default; fibroblast
    imprinting at its long-run level) or "replay" (as in the cohorts: the disease course
    replayed over ``duration``, default 5 years, so imprinting is what that duration accrued).
    """
    options = _options(solver, rtol, atol)
    problem = prepare(regimen, days=days, observe=observe, params=params, covariates=covariates,
                      background=background, history=history, allow_out_of_range=allow_out_of_range,
                      day0=day0)
    status, y, stats = integrate(options, 0.0, problem.y0, problem.args, problem.t_out, *problem.events)
    mtx = model.pk.amounts(problem.params, *problem.mtx_doses, problem.t_out, pre_dose=True)
    return SimulationResult(problem.t_out, y, problem.params, status, dict(zip(STAT_NAMES, map(int, stats))),
                            problem.regimen, problem.day0, mtx)


@dataclass(frozen=True)
class Problem:
    """Everything a solver needs for one patient, checked: parameters, the
    solver's args (with the MTX dose table), the day-0 state, output days and
    solver events (times, state indices, amounts): MSC boluses (1e6 cells) and
    zero-amount breakpoints at MTX dose times."""

    regimen: Regimen
    params: np.ndarray
    args: np.ndarray
    day0: Equilibrium
    t_out: np.ndarray
    mtx_doses: tuple[np.ndarray, np.ndarray, np.ndarray]
    events: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def y0(self) -> np.ndarray:
        return self.day0.y


def prepare(regimen: Regimen | None = None, *, days: float = 1095.0, observe=None,
            params: Mapping[str, float] | None = None, covariates: Mapping[str, float] | None = None,
            background: Regimen | None = None, history: Regimen | None = None,
            allow_out_of_range: bool = False, day0: str = "steady") -> Problem:
    """Validate the inputs of :func:`simulate` and find the day-0 state (no solving of the regimen)."""
    strategy(day0)
    regimen = Regimen() if regimen is None else regimen
    for what, r in (("background", background), ("history", history)):
        if r is not None and not isinstance(r, Regimen):
            raise RasimError(f"{what} must be a Regimen (e.g. mtx(15)) or None, got {r!r}")
    days = _horizon(days)
    t_out = _observation_days(observe, days)
    p = _parameter_vector(regimen, params, covariates, allow_out_of_range)
    duration = _covariates(covariates).get("duration")
    if duration is not None:
        p = _with_duration(p, duration)
    dosing = _dosing(regimen, background, days, p, history=history)
    args = model.build_args(p, *dosing["mtx"])
    if day0 == "replay":
        from .cohort.variability import DURATION_REF  # the cohorts' typical duration (years)

        before = background if history is None else history
        start = replayed(p, DURATION_REF if duration is None else duration, before, args)
        return Problem(regimen, p, args, start, t_out, dosing["mtx"], dosing["events"])
    start = inflamed_equilibrium(p)
    if dosing["period"] > 0.0:
        start = periodic_state(p, args, start, 0.0, dosing["period"])
    if duration is not None:
        start = replace(start, y=accrue_damage(start.y[None, :], p[None, :], np.array([duration]))[0])
    return Problem(regimen, p, args, start, t_out, dosing["mtx"], dosing["events"])


def _with_duration(p: np.ndarray, years: float) -> np.ndarray:
    """Parameters with the cohorts' disease-duration covariate effect on ``haq_floor``."""
    from .cohort.variability import DURATION_REF, covariate_effects

    p = p.copy()
    p[model.PINDEX["haq_floor"]] *= (years / DURATION_REF) ** covariate_effects()["duration_on_haq_floor"]
    return p


def _options(solver, rtol, atol) -> SolverOptions:
    """The solver settings, checked: every refusal is a SolverOptionsError (a RasimError)."""
    if isinstance(solver, str):
        method = SOLVER_ALIASES.get(solver.lower(), solver.lower())
        if method not in METHODS:
            raise SolverOptionsError(unknown_name("solver", solver, [*METHODS, *SOLVER_ALIASES],
                                                  f"the methods {', '.join(METHODS)}"))
        solver = SolverOptions(method=method)
    if not isinstance(solver, SolverOptions):
        raise SolverOptionsError(f"solver must be a method name or SolverOptions, got {solver!r}")
    changes = {k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None}
    try:
        options = SolverOptions(**{**solver.__dict__, **changes}) if changes else solver
        options.atol_vector(model.N_STATES)
    except (TypeError, ValueError) as e:
        raise SolverOptionsError(str(e)) from e
    return options


def _horizon(days) -> float:
    if isinstance(days, (bool, np.bool_)) or not isinstance(days, (int, float, np.integer, np.floating)):
        raise RasimError(f"days must be a number of days, got {days!r}")
    days = float(days)
    if not math.isfinite(days) or days <= 0.0:
        raise RasimError(f"days must be a finite number > 0, got {days}")
    return days


def _observation_days(observe, days: float) -> np.ndarray:
    if observe is None:
        return np.arange(0.0, math.floor(days) + 1.0)
    t = np.asarray(observe, dtype=np.float64).ravel()
    if t.size == 0 or not np.all(np.isfinite(t)):
        raise RasimError("observe must be a non-empty list of finite days")
    if np.any(np.diff(t) <= 0) or t[0] < 0 or t[-1] > days:
        raise RasimError(f"observe days must be sorted, without duplicates, within [0, {days:g}]")
    return t


def _parameter_vector(regimen: Regimen, params, covariates, allow_out_of_range: bool = False) -> np.ndarray:
    """Presets of the MSC product and route, then covariates and ``params`` (checked; a
    covariate set through ``params`` is checked as a covariate)."""
    overrides: dict[str, float] = {}
    product = regimen.msc_product()
    if product is not None:
        overrides.update(model.msc_overrides(*product))
    ia_joints = {int(line.joints) for line in regimen.lines if line.route == "intra_articular"}
    if len(ia_joints) > 1:
        raise RegimenError("intra-articular injections into different numbers of joints are not supported "
                           "in one regimen")
    if ia_joints:
        overrides["ia_joint_fraction"] = ia_joints.pop() / 28.0
    params = dict(params or {})
    given = _covariates({**(covariates or {}), **{k: v for k, v in params.items() if k in COVARIATES}})
    overrides.update({k: v for k, v in given.items() if k != "duration"})
    base = model.parameter_vector(overrides, allow_out_of_range=True)  # presets: the product's own values
    return model.parameter_vector({k: v for k, v in params.items() if k not in COVARIATES}, base,
                                  allow_out_of_range)


def _covariates(covariates) -> dict[str, float]:
    out = {}
    for name, value in (covariates or {}).items():
        if name not in COVARIATES:
            raise CovariateError(unknown_name("covariate", str(name), COVARIATES)
                                 + f" Valid covariates: {', '.join(COVARIATES)}.")
        low, high, unit = (*DURATION_RANGE, "years") if name == "duration" else \
            (model.parameter(name).low, model.parameter(name).high, model.parameter(name).unit)
        if isinstance(value, (bool, np.bool_, str)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CovariateError(f"covariate {name} must be a number ({unit}), got {value!r}")
        value = float(value)
        if not (low <= value <= high):
            raise CovariateError(f"covariate {name} = {value:g} is outside its range [{low:g}, {high:g}] {unit}")
        out[name] = value
    return out


def _dosing(regimen: Regimen, background: Regimen | None, days: float, p: np.ndarray,
            t_start: float = 0.0, history: Regimen | None = None) -> dict:
    """MTX dose table arrays, solver events and the dosing period before day 0.

    Before day 0 the doses are ``history``'s (default: ``background``'s), from
    day 0 on the background's.  Solver events are the MSC boluses plus every
    MTX dose time from ``t_start`` on as a zero-amount breakpoint: the
    polyglutamate forcing has a kink there, and stopping on it (with a fresh
    step-size estimate) saves rejected steps."""
    refused = after_horizon(regimen, days)[0]
    if refused:
        raise RegimenError(f"{refused[0]} is after the last day simulated (day {days:g}) and would not be "
                           "given: drop it or simulate longer")
    weight = p[model.PINDEX["weight"]]
    ev = regimen.events(days, weight_kg=weight)
    times, depots, amounts = [ev.time], [ev.depot], [ev.amount]
    period = 0.0
    before = background if history is None else history
    if before is not None and len(before):
        period = _background_period(before)
        lead = period * math.ceil(max(PK_HISTORY_DAYS, _RUNIN_DAYS + 2 * period) / period)
        bg = before.events(days + lead if history is None else lead, weight_kg=weight)
        keep = slice(None) if history is None else bg.time - lead < 0.0
        times.insert(0, bg.time[keep] - lead)
        depots.insert(0, bg.depot[keep])
        amounts.insert(0, bg.amount[keep])
    if history is not None and background is not None and len(background):
        _background_period(background)
        after = background.events(days, weight_kg=weight)
        times.append(after.time)
        depots.append(after.depot)
        amounts.append(after.amount)
    if background is not None and len(background):
        _check_combinable(regimen, background)
    t, d, a = (np.concatenate(x) for x in (times, depots, amounts))
    order = np.argsort(t, kind="stable")
    t, d, a = t[order], d[order], a[order]
    is_mtx = np.isin(d, model.MTX_DEPOTS)
    msc_cmt = np.array([model.MSC_DEPOT_STATE[int(k)] for k in d[~is_mtx]], dtype=np.int64)
    kinks = np.unique(t[is_mtx & (t >= t_start) & (t <= days)])
    ev_t = np.concatenate([t[~is_mtx], kinks])
    ev_cmt = np.concatenate([msc_cmt, np.zeros(kinks.size, np.int64)])
    ev_amt = np.concatenate([a[~is_mtx] / model.CELLS_PER_UNIT, np.zeros(kinks.size)])
    ev_order = np.argsort(ev_t, kind="stable")
    return {
        "mtx": (t[is_mtx], d[is_mtx], a[is_mtx]),
        "events": (ev_t[ev_order], ev_cmt[ev_order], ev_amt[ev_order]),
        "period": period,
    }


def _check_combinable(regimen: Regimen, background: Regimen) -> None:
    """Refuse a regimen whose MTX overlaps the background's (Regimen's own check)."""
    regimen + background  # noqa: B018  (raises RegimenError on overlapping MTX schedules)


def _background_period(background: Regimen) -> float:
    """The dosing interval of a background: one constant-dose repeating MTX line."""
    lines = background.lines
    if background.msc_product() is not None or len(lines) != 1 or lines[0].ii <= 0:
        raise RegimenError("a background must be one repeating MTX schedule at a constant dose, "
                           "e.g. mtx(15, every=7)")
    if lines[0].addl is not None or lines[0].time != 0.0:
        raise RegimenError("a background runs from before day 0 and does not stop: "
                           "give it no start and no until")
    return float(lines[0].ii)
