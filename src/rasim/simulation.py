"""``simulate``: one patient, one regimen, from established disease at day 0."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from . import gate, model
from . import lowering
from .day0 import REPLAY, STEADY, Equilibrium, accrue_damage, inflamed_equilibrium, periodic_state, replayed, strategy
from .errors import EquilibriumError, RasimError, RasimWarning, RegimenError, SolverOptionsError, unknown_name
from .integrate import integrate
from .regimen import Regimen, after_horizon
from .solver import SolverOptions, Status
from .solver.options import METHODS

STAT_NAMES = ("accepted_steps", "rejected_steps", "rhs_evaluations", "jacobian_evaluations", "lu_factorisations")
_RUNIN_DAYS = max(STEADY.shooting_runin_days, REPLAY.runin_days)  # what day 0 runs through
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
    exposure: np.ndarray | None = None  # (len(t), n_forcings): each drug's exposure (model.forcing.NAMES)
    observables: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.observables = model.observables(self.states, self.params, exposure=self.exposure)

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
        if self.exposure is not None:
            data.update({f"exposure.{n}": self.exposure[:, i] for i, n in enumerate(model.forcing.NAMES)})
        return pd.DataFrame(data)


def simulate(
    regimen: Regimen | None = None,
    *,
    days: float = 1095.0,
    observe=None,
    params: Mapping[str, float] | None = None,
    covariates: Mapping[str, float] | None = None,
    background: Regimen | None = None,
    history: Regimen | None = None,
    solver: str | SolverOptions = "rodas4",
    rtol: float | None = None,
    atol: float | None = None,
    allow_out_of_range: bool = False,
    day0: str = "steady",
) -> SimulationResult:
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
    problem = prepare(
        regimen,
        days=days,
        observe=observe,
        params=params,
        covariates=covariates,
        background=background,
        history=history,
        allow_out_of_range=allow_out_of_range,
        day0=day0,
    )
    status, y, stats = integrate(options, 0.0, problem.y0, problem.args, problem.t_out, *problem.events)
    mtx = model.pk.amounts(problem.params, *problem.mtx_doses, problem.t_out, pre_dose=True)
    exposure = np.empty((len(problem.t_out), model.forcing.N_FORCINGS))
    model.forcing.exposures_at(problem.args.copy(), problem.t_out, exposure)
    return SimulationResult(
        problem.t_out,
        y,
        problem.params,
        status,
        dict(zip(STAT_NAMES, map(int, stats))),
        problem.regimen,
        problem.day0,
        mtx,
        exposure,
    )


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


def prepare(
    regimen: Regimen | None = None,
    *,
    days: float = 1095.0,
    observe=None,
    params: Mapping[str, float] | None = None,
    covariates: Mapping[str, float] | None = None,
    background: Regimen | None = None,
    history: Regimen | None = None,
    allow_out_of_range: bool = False,
    day0: str = "steady",
) -> Problem:
    """Validate the inputs of :func:`simulate` and find the day-0 state (no solving of the regimen)."""
    strategy(day0)
    regimen = Regimen() if regimen is None else regimen
    for what, r in (("regimen", regimen), ("background", background), ("history", history)):
        if r is not None and not isinstance(r, Regimen):
            raise RegimenError(f"{what} must be a Regimen (e.g. mtx(15)) or None, got {gate.got(r)}")
    gate.flag("allow_out_of_range", allow_out_of_range)
    for what, table in (("params", params), ("covariates", covariates)):
        if table is not None and not isinstance(table, Mapping):
            raise RasimError(f"{what}: expected a mapping of name -> number, got {gate.got(table)}")
    days = lowering.horizon(days)
    t_out = lowering.observation_days(observe, days)
    for note in after_horizon(regimen, days)[1]:
        warnings.warn(f"{note}; simulate longer (days=) to include them", RasimWarning, stacklevel=3)
    p = lowering.parameter_vector(regimen, params, covariates, allow_out_of_range)
    p = lowering.with_comedication(p, lowering.drugs_given(regimen, background))
    duration = lowering.check_covariates(covariates).get("duration")
    if duration is not None:
        p = lowering.with_duration(p, duration)
    dosing = lowering.dosing(regimen, background, days, history=history, runin_days=_RUNIN_DAYS)
    args = model.build_args(p, *dosing.table)
    events = dosing.events(p[model.PINDEX["weight"]])
    if day0 == "replay":
        from .cohort.variability import DURATION_REF  # the cohorts' typical duration (years)

        before = background if history is None else history
        start = replayed(p, DURATION_REF if duration is None else duration, before, args)
        return Problem(regimen, p, args, start, t_out, dosing.mtx, events)
    start = inflamed_equilibrium(p)
    if dosing.period > 0.0:
        start = _periodic(p, args, start, dosing.period, "mtx" in lowering.drugs_given(background))
    if duration is not None:
        start = replace(start, y=accrue_damage(start.y[None, :], p[None, :], np.array([duration]))[0])
    return Problem(regimen, p, args, start, t_out, dosing.mtx, events)


def _periodic(p: np.ndarray, args: np.ndarray, start: Equilibrium, period: float, on_mtx: bool) -> Equilibrium:
    """The periodic day-0 state under the background; on MTX (``on_mtx``) a refusal says what to
    simulate instead (the typical patient remits on it)."""
    try:
        return periodic_state(p, args, start, 0.0, period)
    except EquilibriumError as e:
        if not on_mtx:
            raise
        raise EquilibriumError(
            f"{e}. The typical patient's disease remits on a background of MTX; simulate a patient "
            "whose disease stays active on it, e.g. params=rasim.model.presets.MTX_REFRACTORY "
            "(MTX EC50 at the top of its range), or a cohort of the 'refractory' population"
        ) from None


def _options(solver, rtol, atol) -> SolverOptions:
    """The solver settings, checked: every refusal is a SolverOptionsError (a RasimError)."""
    if isinstance(solver, str):
        method = SOLVER_ALIASES.get(solver.lower(), solver.lower())
        if method not in METHODS:
            raise SolverOptionsError(
                unknown_name("solver", solver, [*METHODS, *SOLVER_ALIASES], f"the methods {', '.join(METHODS)}")
            )
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
