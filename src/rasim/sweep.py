"""An endpoint over a grid of parameter values and regimen settings.

    sweep({"msc_cells": [1e7, 4e7, 1e8], "msc_interval": [0, 90, 180]})

Grid keys are parameter names (``rasim params``) or the regimen settings
``msc_cells`` (cells per infusion, cells/kg for per-kg arms; 0: no MSC),
``msc_interval`` (days from the first infusion to a second one; 0: one
infusion) and ``mtx_dose`` (oral MTX, mg weekly; 0: none).  Every
combination is run.  MSC product and route come from the base arm.

Every grid point starts from the same day 0: patients on the arm's own
background (its treatment history), who switch to the point's ``mtx_dose``
(and start its MSC) on day 0.

``patients=0`` runs the typical patient (``rasim.simulate``) of the arm:
on an MTX background, a patient whose disease stays active on it
(``rasim.model.presets.MTX_REFRACTORY``, unless the grid or ``params`` set
``mtx_ec50``), at the periodic state under that background; without one,
at the untreated steady state.  ``patients=N`` runs a cohort of the arm's
population per grid point: the patients are enrolled once (screened on
the arm's own background, ``Cohort(enrolments=...)``) and every point runs them,
so the differences between points are the settings' effects.  Swept model
parameters change the disease itself, so each value enrols anew (with
common random numbers).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import endpoints, gate, plots
from .cohort import CRITERIA, Arm, Cohort
from .cohort import arm as builtin_arm
from .errors import EquilibriumError, RasimError, unknown_name
from .model import OBSERVABLES, PINDEX, parameter, parameter_vector
from .model.presets import MTX_REFRACTORY
from .regimen import MscDose, Regimen, msc, mtx
from .simulation import simulate

SETTINGS = {
    "msc_cells": "cells per infusion (cells/kg for per-kg arms); 0: no MSC",
    "msc_interval": "days from the first MSC infusion to a second; 0: one infusion",
    "mtx_dose": "oral MTX, mg weekly; 0: none",
}
COHORT_NAMES = endpoints.COHORT
STATS = ("mean", "sd", "p05", "p25", "p50", "p75", "p95")
SECONDS_PER_TYPICAL = 0.06  # one typical-patient simulation (day-0 state and the regimen), one core
ENROLMENT_BYTES = 1300  # an enrolled patient kept for the other grid points (parameters, day-0 state)
ROW_BYTES = 200  # a row of sweep.csv
POINT_BYTES = 2000  # memory of a grid point: its values, settings, regimen and row (1.0-1.4 kB measured)
log = logging.getLogger(__name__)  # the cost estimate of a large sweep (INFO)
SETTING_UNITS = {
    "msc_cells": "cells per infusion",
    "msc_interval": "days to a 2nd infusion",
    "mtx_dose": "mg/week from day 0",
}


@dataclass
class SweepResult:
    """One row per grid point: the settings, endpoint, day and the endpoint's statistics."""

    names: tuple[str, ...]
    endpoint: str
    day: float
    arm: str
    patients: int
    rows: list[dict]
    seed: int = 0

    def column(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows])

    def to_frame(self):
        """pandas DataFrame of ``rows``."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def to_csv(self, path) -> Path:
        from .output import write_csv

        return write_csv(path, list(self.rows[0]), self.rows)

    @property
    def title(self) -> str:
        who = "typical patient" if self.patients == 0 else f"mean of {self.patients} patients"
        return f"{self.endpoint} at day {self.day:g}, {self.arm} ({who})"

    @property
    def caption(self) -> str:
        """The figure title: ``title``, then what was run (seed for cohorts, rasim version)."""
        from .output import version

        seed = f"seed {self.seed} | " if self.patients else ""
        return f"{self.title}\n{seed}day 0 on the arm's own background | rasim {version()}"

    @property
    def unit(self) -> str:
        """The endpoint's unit ("fraction" for responder rates)."""
        return endpoint_unit(self.endpoint)

    def _select(self, keep: tuple[str, ...], where: Mapping | None) -> list[dict]:
        for name in (*keep, *(where or {})):
            if name not in self.names:
                raise RasimError(unknown_name("swept name", name, self.names))
        where = dict(where or {})
        for name in self.names:
            values = sorted(set(self.column(name)))
            if name not in keep and name not in where and len(values) > 1:
                raise RasimError(f"{name} takes {len(values)} values: fix one with where={{{name!r}: value}}")
        return [r for r in self.rows if all(r[k] == v for k, v in where.items())]

    def heatmap(self, x: str, y: str, path, where: Mapping | None = None) -> Path:
        """Heat map of the mean over grid names ``x`` and ``y`` (other names fixed by ``where``)."""
        rows = self._select((x, y), where)
        xs, ys = sorted({r[x] for r in rows}), sorted({r[y] for r in rows})
        z = np.full((len(ys), len(xs)), np.nan)
        for r in rows:
            z[ys.index(r[y]), xs.index(r[x])] = r["mean"]
        fixed = "".join(f"; {k}={v:g}" for k, v in (where or {}).items())
        return plots.heatmap(
            z,
            xs,
            ys,
            path,
            axis_label(x),
            axis_label(y),
            self.caption + fixed,
            f"{'mean ' if self.patients else ''}{self.endpoint} ({self.unit})",
            tick_labels(x, xs),
            tick_labels(y, ys),
        )

    def plot(self, x: str, path) -> Path:
        """The mean over ``x`` (p25-p75 shaded for cohorts), one line per combination of the other names."""
        if x not in self.names:
            raise RasimError(unknown_name("swept name", x, self.names))
        others = [n for n in self.names if n != x]
        xs = sorted(set(self.column(x)))
        lines, bands = {}, {}
        for combo in sorted({tuple(r[n] for n in others) for r in self.rows}):
            label = ", ".join(f"{n}={v:g}" for n, v in zip(others, combo))
            by_x = {r[x]: r for r in self.rows if tuple(r[n] for n in others) == combo}
            get = lambda key: [by_x[v][key] if v in by_x else np.nan for v in xs]  # noqa: E731
            lines[label] = get("mean")
            if self.patients and self.endpoint not in CRITERIA:
                bands[label] = (get("p25"), get("p75"))
        what = "mean" if self.patients else "typical patient"
        return plots.lines(
            xs, lines, path, axis_label(x), f"{self.endpoint} ({self.unit}), {what}", self.caption, bands
        )


def axis_label(name: str) -> str:
    """Axis label of a grid name with its unit."""
    if name in SETTING_UNITS:
        return f"{name} ({SETTING_UNITS[name]})"
    return f"{name} ({parameter(name).unit})" if name in PINDEX else name


def tick_labels(name: str, values) -> list[str]:
    """Tick labels of a grid name's values, saying what 0 means for the regimen settings."""
    zero = {"msc_cells": "no MSC", "msc_interval": "one infusion", "mtx_dose": "no MTX"}
    return [zero[name] if name in zero and v == 0 else f"{v:g}" for v in values]


def sweep(
    grid: Mapping[str, list],
    base_arm: str | Arm = "msc+dmard",
    patients: int = 0,
    day: float = 365,
    endpoint: str = "DAS28_ESR",
    seed: int = 0,
    threads: int | None = None,
) -> SweepResult:
    """Run ``endpoint`` at ``day`` for every combination of ``grid`` (see the module doc).

    endpoint: an observable (``DAS28_ESR``, ``CRP`` mg/L, ...), its ``*_change``
    from day 0, or (cohorts) a responder criterion (rate).  Every input is
    checked before anything runs (types through :mod:`rasim.gate`), and so is the size: the
    grid points (the product over the axes), the patients per point and patients x points x
    2 observation days x ``day`` against ``rasim.gate.LIMITS`` (``LimitError``), and the
    estimated memory (:func:`cost`) against its ceiling; a large estimate is logged."""
    arm = builtin_arm(base_arm) if isinstance(base_arm, str) else base_arm
    if not isinstance(arm, Arm):
        raise RasimError(f"base_arm must be a built-in arm name or an Arm, got {base_arm!r}")
    patients = int(gate.limit("patients", gate.integer("sweep: patients", patients, 0), "sweep: patients"))
    day = gate.limit("days", gate.number("sweep: day", day, 0.0, open_low=True), "sweep: day")
    seed = gate.integer("sweep: seed", seed, 0)
    if threads is not None:
        gate.integer("sweep: threads", threads, 1)
    names, points, lines = _check_grid(grid, patients, day)
    _check_endpoint(endpoint, patients)
    for line in lines:
        log.info(line)
    inputs = [(settings, *_point(arm, settings)) for settings in points]  # validates every point
    history = screened_on(arm)
    pop = replace(arm.pop, background=history)
    enrolments: dict = {}
    rows = []
    for settings, params, regimen, background in inputs:
        if patients == 0:
            value, status = typical_value(
                regimen, {**typical_patient(arm), **params}, day, endpoint, background, history
            )
            stats = {"mean": value, "status": status}
        else:
            cohort = Cohort(
                Arm(arm.name, pop, regimen, background),
                patients=int(patients),
                seed=seed,
                observe=(0.0, day),
                params=params,
                enrolments=enrolments,  # the points of a regimen setting share one enrolment
            )
            stats = _cohort(cohort.run(threads=threads), endpoint)
        rows.append({**settings, "endpoint": endpoint, "day": day, **stats})
    return SweepResult(names, endpoint, day, arm.name, int(patients), rows, int(seed))


def screened_on(arm: Arm) -> Regimen:
    """The treatment an arm's patients are on before day 0 (``Regimen()``: none)."""
    history = arm.pop.background if arm.pop.background is not None else arm.background
    return history if history is not None else Regimen()


def typical_patient(arm: Arm) -> dict[str, float]:
    """Parameter overrides of an arm's typical patient: active on its MTX history (refractory)."""
    return dict(MTX_REFRACTORY) if len(screened_on(arm)) else {}


def endpoint_unit(endpoint: str) -> str:
    """Unit of an endpoint (``DAS28_ESR``, ``CRP_change``, ``ACR20``, ...)."""
    if endpoint in CRITERIA:
        return "fraction"
    return OBSERVABLES.get(endpoints.split(endpoint)[0], "")


# ---- validation ----------------------------------------------------------------------------------


def check_size(axes: Mapping[str, int], patients: int, day: float) -> list[str]:
    """Refuse, before any grid is built, a sweep over ``axes`` (name -> number of values) whose
    grid points (the product) are above the ceiling ``points``, whose patients x points x 2
    observation days x ``day`` are above ``size`` (``rasim.gate.LIMITS``), or whose estimated
    memory (:func:`cost`) is above its ceiling; the estimate as text lines if worth printing."""
    lengths = [int(n) for n in axes.values()]
    points = math.prod(lengths)
    gate.limit("points", points, f"sweep: grid ({' x '.join(map(str, lengths))} values)")
    gate.limit("size", max(patients, 1) * points * 2 * day, f"sweep: {max(patients, 1)} patients x {points} points")
    parameter_sets = math.prod(n for name, n in zip(axes, lengths) if name in PINDEX)
    return cost(points, patients, day, parameter_sets).check("sweep")


def cost(points: int, patients: int, day: float, parameter_sets: int = 1) -> gate.Cost:
    """What a sweep will take: ``points`` typical patients (``patients=0``), or a cohort of
    ``patients`` per point, one point at a time, its enrolments kept for the points of the
    same ``parameter_sets`` (combinations of swept model parameters); and the grid itself."""
    grid = points * POINT_BYTES
    if patients == 0:
        c = gate.cost(1, 1, 2, day)
        return gate.Cost(c.memory + grid, points * ROW_BYTES, points * SECONDS_PER_TYPICAL)
    c = gate.cost(patients, points, 2, day, in_memory=False, chunk_size=patients)
    enrolments = patients * parameter_sets * ENROLMENT_BYTES
    return replace(c, memory=c.memory + grid + enrolments, disk=points * ROW_BYTES)


def _check_grid(grid, patients: int = 0, day: float = 365.0) -> tuple[tuple[str, ...], list[dict], list[str]]:
    """(names, points, the cost estimate's lines) of a grid, its size checked before its values."""
    if not isinstance(grid, Mapping) or not grid:
        raise RasimError(f"grid must be a non-empty dict of name -> list of values, got {gate.got(grid)}")
    for name, values in grid.items():
        if name not in PINDEX and name not in SETTINGS:
            raise RasimError(
                unknown_name(
                    "parameter or regimen setting",
                    str(name),
                    [*SETTINGS, *PINDEX],
                    "rasim.parameters() and rasim.sweep.SETTINGS",
                )
            )
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__") or len(values) == 0:
            raise RasimError(f"grid[{name!r}] must be a non-empty list of values, got {gate.got(values)}")
    lines = check_size({name: len(v) for name, v in grid.items()}, patients, day)
    for name, values in grid.items():
        for i, v in enumerate(values):
            gate.number(f"grid[{name!r}][{i}]", v, 0.0)
    names = tuple(grid)
    return names, [dict(zip(names, map(float, combo))) for combo in itertools.product(*grid.values())], lines


def _check_endpoint(endpoint: str, patients: int) -> None:
    names = OBSERVABLES if patients == 0 else COHORT_NAMES
    base, suffix = endpoints.split(endpoint)
    if (base in names and suffix in ("", endpoints.CHANGE)) or (patients > 0 and endpoint in CRITERIA):
        return
    if patients == 0 and endpoint in CRITERIA:
        raise RasimError(f"endpoint {endpoint!r} is a responder rate: it needs a cohort (patients > 0)")
    valid = [*endpoints.names(names), *(CRITERIA if patients else ())]
    raise RasimError(unknown_name("endpoint", endpoint, valid))


def _point(arm: Arm, s: dict) -> tuple[dict, Regimen, Regimen | None]:
    """(parameter overrides, regimen, background) of one grid point, validated."""
    params = {k: v for k, v in s.items() if k in PINDEX}
    parameter_vector(params, remedy="a sweep takes values within it (`rasim params` lists the ranges)")
    doses = arm.regimen.doses
    template = next((d for d in doses if isinstance(d, MscDose)), None)
    regimen = arm.regimen
    if "msc_cells" in s or "msc_interval" in s:
        if template is None and "msc_cells" not in s:
            raise RasimError(f"arm {arm.name!r} gives no MSC: add msc_cells to the grid to sweep msc_interval")
        t = template or MscDose(4e7)
        cells = s.get("msc_cells", t.cells)
        interval = s.get("msc_interval")
        days = t.days if interval is None else ((0.0,) if interval == 0 else (0.0, interval))
        new = (
            msc(cells, days=days, per_kg=t.per_kg, source=t.source, donor=t.donor, route=t.route, joints=t.joints)
            if cells > 0
            else Regimen()
        )
        regimen = Regimen(tuple(d for d in doses if not isinstance(d, MscDose))) + new
    background = arm.background
    if "mtx_dose" in s:
        background = mtx(s["mtx_dose"], every=7) if s["mtx_dose"] > 0 else None
    if background is not None:
        regimen + background  # noqa: B018  (raises RegimenError if the MTX schedules overlap)
    return params, regimen, background


# ---- evaluation ----------------------------------------------------------------------------------


def typical_value(
    regimen: Regimen,
    params: Mapping[str, float],
    day: float,
    endpoint: str,
    background: Regimen | None = None,
    history: Regimen | None = None,
) -> tuple[float, str]:
    """(endpoint at ``day``, status) of one patient under ``regimen`` from day 0, on
    ``background`` (after ``history`` before day 0: ``rasim.simulate``); NaN with the
    reason when the parameters give no active disease or the solver fails."""
    base, suffix = endpoints.split(endpoint)
    try:
        r = simulate(regimen, days=day, observe=[0.0, day], params=params, background=background, history=history)
    except EquilibriumError:
        return math.nan, "no active disease"
    if not r.ok:
        return math.nan, r.status.name
    return float(endpoints.derive(r[base], suffix)[-1]), "ok"


def _cohort(res, endpoint: str) -> dict:
    n = int(res.ok.sum())
    if endpoint in CRITERIA:
        rate = float(res.responder_masks()[endpoint][:, -1].mean()) if n else math.nan
        return {"mean": rate, **dict.fromkeys(STATS[1:], math.nan), "n": n, "failed": res.n_failed}
    x = res[endpoint][:, -1]
    q = np.percentile(x, (5, 25, 50, 75, 95)) if n else np.full(5, np.nan)
    return {
        "mean": float(np.mean(x)) if n else math.nan,
        "sd": float(np.std(x, ddof=1)) if n > 1 else math.nan,
        **{k: float(v) for k, v in zip(STATS[2:], q)},
        "n": n,
        "failed": res.n_failed,
    }
