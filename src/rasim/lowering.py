"""Lowering: what a user writes (regimens, named parameters, covariates, observation
days) to the flat arrays the compiled kernels take, checked, in one place.

``simulate`` and ``Cohort`` lower through here; names become indices once, here
and in ``model.parameter_vector``; the ``args`` layout itself is ``model.args``.

* ``horizon``, ``observation_days``: the simulated span and output days (checked);
* ``parameter_vector``: a regimen's MSC product presets, covariates and ``params``
  overrides as one parameter vector (``check_covariates``: the covariate checks;
  ``with_duration``: the disease-duration covariate effect);
* ``dosing``: a regimen with its background (and history before day 0) as a
  ``Dosing``: the MTX dose table, and the solver events (MSC boluses split into
  flat and per-kg amounts, zero-amount breakpoints at MTX doses);
* ``background_period``, ``check_combinable``: what a background must be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import gate, model
from .drugs.base import BOLUSES, COMEDICATION, TABLE_DEPOTS
from .drugs.mtx import FORCING as MTX_FORCING
from .errors import CovariateError, RegimenError, unknown_name
from .regimen import Regimen, after_horizon

COVARIATES = ("age", "female", "weight", "creatinine_clearance", "seropositive", "duration")
FLAGS = {"female": "1 female, 0 male", "seropositive": "1 seropositive, 0 seronegative"}  # 0/1 covariates
DURATION_RANGE = (0.01, 60.0)  # years of disease: the ``duration`` covariate's range
PK_HISTORY_DAYS = 1500.0  # background doses before day 0: > 40 polyglutamate half-lives, so PK is periodic


@dataclass(frozen=True)
class Dosing:
    """A regimen lowered for the solver.

    Drugs with a forcing (``rasim.model.forcing``: MTX, prednisolone, adalimumab): the dose
    table (``table_t`` days, ``table_depot`` codes, ``table_amount``: mg, or changes of a
    daily rate in mg/day) the forcings read from ``args``.  Solver events at ``ev_t`` on states
    ``ev_cmt``: MSC boluses of ``ev_flat + weight * ev_per_kg`` (1e6 cells; a
    dose is either flat or per kg, the other part is 0) and zero-amount
    breakpoints at the table's dose times.  ``period``: the dosing interval before day 0
    (days; 0 without a background)."""

    table_t: np.ndarray
    table_depot: np.ndarray
    table_amount: np.ndarray
    ev_t: np.ndarray
    ev_cmt: np.ndarray
    ev_flat: np.ndarray
    ev_per_kg: np.ndarray
    period: float

    def __post_init__(self) -> None:
        for name in ("table_t", "table_depot", "table_amount", "ev_t", "ev_cmt", "ev_flat", "ev_per_kg"):
            getattr(self, name).setflags(write=False)

    @property
    def table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, depots, amounts) of the doses the forcings read."""
        return self.table_t, self.table_depot, self.table_amount

    @property
    def mtx(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, depots, mg) of the MTX doses."""
        mine = np.isin(self.table_depot, MTX_FORCING.depots)
        return self.table_t[mine], self.table_depot[mine], self.table_amount[mine]

    def amounts(self, weight_kg) -> np.ndarray:
        """Event amounts (1e6 cells) for a body weight (kg): (k,), or (n, k) for n weights."""
        return self.ev_flat + np.multiply.outer(np.asarray(weight_kg, dtype=np.float64), self.ev_per_kg)

    def events(self, weight_kg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, states, amounts) of the solver events for one patient of ``weight_kg``."""
        return self.ev_t, self.ev_cmt, self.amounts(weight_kg)


def dosing(
    regimen: Regimen,
    background: Regimen | None,
    days: float,
    t_start: float = 0.0,
    history: Regimen | None = None,
    runin_days: float = 0.0,
) -> Dosing:
    """``regimen`` on ``background`` lowered to a ``Dosing``, for a solve from ``t_start`` to ``days``.

    Before day 0 the doses are ``history``'s (default: ``background``'s), from
    day 0 on the background's, for at least ``PK_HISTORY_DAYS`` and ``runin_days``
    (what the day-0 strategy integrates through) + 2 periods.  Solver events are the MSC boluses plus every
    MTX dose time from ``t_start`` on as a zero-amount breakpoint: the
    polyglutamate forcing has a kink there, and stopping on it (with a fresh
    step-size estimate) saves rejected steps."""
    refused = after_horizon(regimen, days)[0]
    if refused:
        raise RegimenError(
            f"{refused[0]} is after the last day simulated (day {days:g}) and would not be "
            "given: drop it or simulate longer"
        )
    parts = [_per_kg_events(regimen, days)]
    period = 0.0
    before = background if history is None else history
    if before is not None and len(before):
        period = background_period(before)
        lead = period * math.ceil(max(PK_HISTORY_DAYS, runin_days + 2 * period) / period)
        t, d, a, kg = _per_kg_events(before, days + lead if history is None else lead)
        keep = slice(None) if history is None else t - lead < 0.0
        parts.insert(0, (t[keep] - lead, d[keep], a[keep], kg[keep]))
    if history is not None and background is not None and len(background):
        background_period(background)
        parts.append(_per_kg_events(background, days))
    if background is not None and len(background):
        check_combinable(regimen, background)
    t, d, a, kg = (np.concatenate(x) for x in zip(*parts))
    order = np.argsort(t, kind="stable")
    t, d, a, kg = t[order], d[order], a[order], kg[order]
    in_table = np.isin(d, sorted(TABLE_DEPOTS))  # the PK table's doses; the others are state boluses
    if np.any(kg[in_table]):
        raise RegimenError("only MSC doses may be per kg")
    bolus = [BOLUSES[int(k)] for k in d[~in_table]]
    msc_cmt = np.array([model.INDEX[b.state] for b in bolus], dtype=np.int64)
    cells = a[~in_table] / np.array([b.per_unit for b in bolus])
    kinks = np.unique(t[in_table & (t >= t_start) & (t <= days)])
    none = np.zeros(kinks.size)
    ev_t = np.concatenate([t[~in_table], kinks])
    ev_order = np.argsort(ev_t, kind="stable")
    flat = np.concatenate([np.where(kg[~in_table], 0.0, cells), none])
    per_kg = np.concatenate([np.where(kg[~in_table], cells, 0.0), none])
    return Dosing(
        t[in_table],
        d[in_table],
        a[in_table],
        ev_t[ev_order],
        np.concatenate([msc_cmt, np.zeros(kinks.size, np.int64)])[ev_order],
        flat[ev_order],
        per_kg[ev_order],
        period,
    )


def _per_kg_events(regimen: Regimen, horizon: float):
    """(times, depots, amounts, per_kg) of ``regimen``'s doses; per-kg amounts per kg.  A
    zero-order input (``duration`` > 0, amount a rate in mg/day) is a rate change at its start
    and the opposite change at its end (if by ``horizon``)."""
    ev = regimen.events(horizon, weight_kg=1.0)  # at 1 kg a per-kg amount is itself, exactly
    ends = (ev.duration > 0.0) & (ev.time + ev.duration <= horizon)
    return (
        np.concatenate([ev.time, ev.time[ends] + ev.duration[ends]]),
        np.concatenate([ev.depot, ev.depot[ends]]),
        np.concatenate([ev.amount, -ev.amount[ends]]),
        np.concatenate([ev.per_kg, ev.per_kg[ends]]),
    )


def horizon(days) -> float:
    """The simulated span (days), checked: a finite number > 0, within the ``days`` ceiling."""
    return gate.limit("days", gate.number("days", days, 0.0, open_low=True, unit="days"), "days")


def observation_days(observe, days: float) -> np.ndarray:
    """Output days: every day by default, else ``observe`` checked (a non-empty, increasing
    list within [0, days], no longer than the ``outputs`` ceiling)."""
    if observe is None:
        return np.arange(0.0, math.floor(days) + 1.0)
    return gate.days("observe", observe, days, ceiling_key="outputs")


def parameter_vector(regimen: Regimen, params, covariates, allow_out_of_range: bool = False) -> np.ndarray:
    """Presets of the MSC product and route, then covariates and ``params`` (checked; a
    covariate set through ``params`` is checked as a covariate)."""
    overrides: dict[str, float] = {}
    product = regimen.msc_product()
    if product is not None:
        overrides.update(model.msc_overrides(*product))
    ia_joints = {int(line.joints) for line in regimen.lines if line.route == "intra_articular"}
    if len(ia_joints) > 1:
        raise RegimenError(
            "intra-articular injections into different numbers of joints are not supported in one regimen"
        )
    if ia_joints:
        overrides["ia_joint_fraction"] = ia_joints.pop() / 28.0
    params = dict(params or {})
    given = check_covariates({**(covariates or {}), **{k: v for k, v in params.items() if k in COVARIATES}})
    overrides.update({k: v for k, v in given.items() if k != "duration"})
    base = model.parameter_vector(overrides, allow_out_of_range=True)  # presets: the product's own values
    return model.parameter_vector({k: v for k, v in params.items() if k not in COVARIATES}, base, allow_out_of_range)


def drugs_given(*regimens: Regimen | None) -> frozenset[str]:
    """The drugs the regimens (e.g. an arm's regimen and its background) give."""
    return frozenset(line.drug for r in regimens if r is not None for line in r.lines)


def with_comedication(p: np.ndarray, given: frozenset[str]) -> np.ndarray:
    """Parameters (one vector or rows) adjusted for the drugs ``given`` together (each drug's
    ``comedication`` rule, e.g. MTX lowers adalimumab's clearance)."""
    p = p.copy()
    for drug in sorted(given & COMEDICATION.keys()):
        COMEDICATION[drug](p, given)
    return p


def check_covariates(values) -> dict[str, float]:
    """Covariate values by name, checked against ``COVARIATES`` and their ranges."""
    out = {}
    for name, value in (values or {}).items():
        if name not in COVARIATES:
            raise CovariateError(
                unknown_name("covariate", str(name), COVARIATES) + f" Valid covariates: {', '.join(COVARIATES)}."
            )
        low, high, unit = (
            (*DURATION_RANGE, "years")
            if name == "duration"
            else (model.parameter(name).low, model.parameter(name).high, model.parameter(name).unit)
        )
        if not gate.is_number(value):
            raise CovariateError(f"covariate {name} must be a number ({unit}), got {gate.got(value)}")
        value = float(value)
        if not (low <= value <= high):
            raise CovariateError(f"covariate {name} = {value:g} is outside its range [{low:g}, {high:g}] {unit}")
        if name in FLAGS and value not in (0.0, 1.0):
            raise CovariateError(f"covariate {name} is a flag: 0 or 1, got {value:g} ({FLAGS[name]})")
        out[name] = value
    return out


def with_duration(p: np.ndarray, years: float) -> np.ndarray:
    """Parameters with the cohorts' disease-duration covariate effect on ``haq_floor``."""
    from .cohort.variability import DURATION_REF, covariate_effects

    p = p.copy()
    p[model.PINDEX["haq_floor"]] *= (years / DURATION_REF) ** covariate_effects()["duration_on_haq_floor"]
    return p


def background_dose(background: Regimen | None) -> tuple[float, float, int] | None:
    """(mg, every days, depot) of a background MTX line, or None."""
    if background is None or not len(background):
        return None
    line = background.lines[0]
    ev = background.events(line.ii, weight_kg=1.0)
    return float(ev.amount[0]), float(line.ii), int(ev.depot[0])


def check_combinable(regimen: Regimen, background: Regimen) -> None:
    """Refuse a regimen whose MTX overlaps the background's (Regimen's own check)."""
    regimen + background  # noqa: B018  (raises RegimenError on overlapping MTX schedules)


def background_period(background: Regimen) -> float:
    """The dosing interval of a background: one constant-dose repeating MTX line."""
    lines = background.lines
    if background.msc_product() is not None or len(lines) != 1 or lines[0].ii <= 0:
        raise RegimenError("a background must be one repeating MTX schedule at a constant dose, e.g. mtx(15, every=7)")
    if lines[0].addl is not None or lines[0].time != 0.0:
        raise RegimenError("a background runs from before day 0 and does not stop: give it no start and no until")
    return float(lines[0].ii)
