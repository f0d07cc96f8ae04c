"""Dosing regimens as data: MSC infusions and methotrexate (MTX) schedules.

Build regimens with :func:`msc` and :func:`mtx` and combine them with ``+``::

    reg = msc(4e7, days=[0, 120]) + mtx({0: 7.5, 28: 15}, every=7)

Times are days from the start of the simulation, MTX doses mg, MSC doses
cells (cells/kg with ``per_kg=True``). Everything is validated when the
regimen is built (:class:`~rasim.errors.RegimenError`), never mid-simulation.

A regimen is a tuple of user-level doses (one per :func:`msc`/:func:`mtx`
call, kept for :meth:`Regimen.to_dict`); iterating it yields NONMEM-like
:class:`DoseLine` records (one per MSC infusion day, one per MTX titration step).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
import numpy as np

from rasim import gate
from rasim.errors import RegimenError, unknown_name

# Dosing compartments; the codes are also the NONMEM CMT numbers.
MTX_GUT = 1  # oral MTX: absorbed from the gut
MTX_CENTRAL = 2  # subcutaneous MTX: input straight into plasma
MSC_IV = 3  # intravenous MSC
MSC_IA = 4  # intra-articular MSC
DEPOTS = {"mtx_gut": MTX_GUT, "mtx_central": MTX_CENTRAL, "msc_iv": MSC_IV, "msc_ia": MSC_IA}

MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
MSC_DONORS = ("allogeneic", "autologous")
MSC_ROUTES = ("iv", "intra_articular")
MTX_ROUTES = ("oral", "subcutaneous")
_SOURCE_ALIASES = {"uc": "umbilical_cord", "bm": "bone_marrow", "ad": "adipose", "adipose_tissue": "adipose"}
_ROUTE_ALIASES = {"ia": "intra_articular", "sc": "subcutaneous"}
_DEPOT_OF_ROUTE = {"oral": MTX_GUT, "subcutaneous": MTX_CENTRAL, "iv": MSC_IV, "intra_articular": MSC_IA}

MAX_MTX_MG = 30.0  # per dose and per week: low-dose MTX in RA tops out at 25-30 mg/week
MAX_MSC_CELLS = 1e10  # flat dose, cells
MAX_WEIGHT_KG = 200.0  # the heaviest patient (the weight covariate's range)
MAX_MSC_CELLS_PER_KG = MAX_MSC_CELLS / MAX_WEIGHT_KG  # cells/kg: no patient gets more than a flat dose's cap
N_JOINTS = 28  # joints of the DAS28 count
_GRID_TOL = 1e-9  # in dosing intervals: rounding slack when placing a day on the MTX grid


# -- validation helpers ------------------------------------------------------


def _real(what: str, x) -> float:
    """`x` as a finite float, or RegimenError."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise RegimenError(f"{what} must be a number, got {x!r}")
    try:
        x = float(x)
    except OverflowError:  # an integer beyond any float
        x = math.inf
    if not math.isfinite(x):
        raise RegimenError(f"{what} must be finite, got {x!r}")
    return x


def _positive(what: str, x, unit: str) -> float:
    """`x` as a finite float > 0."""
    x = _real(what, x)
    if x <= 0:
        raise RegimenError(f"{what} must be > 0 {unit}, got {_fmt(x)}")
    return x


def _day(what: str, x, key: bool = False) -> float:
    """`x` as a day >= 0 (a string only as a table ``key``: TOML/JSON keys are strings)."""
    if isinstance(x, str) and key:
        try:
            x = float(x)
        except ValueError:
            raise RegimenError(f"{what} must be a number of days, got {x!r}") from None
    x = _real(what, x)
    if x < 0:
        raise RegimenError(f"{what} must be >= 0 days (from the simulation start), got {_fmt(x)}")
    return x


def _amount(what: str, x, limit: float, unit: str, why: str) -> float:
    """`x` as an amount in (0, limit] `unit`."""
    x = _real(what, x)
    if not 0 < x <= limit:
        raise RegimenError(f"{what} must be > 0 and <= {limit:g} {unit} ({why}), got {_fmt(x)}")
    return x


def _mtx_mg(what: str, mg, every: float) -> float:
    """One MTX dose, mg; its weekly intensity must stay within low-dose MTX."""
    why = "low-dose MTX in RA tops out at 25-30 mg/week"
    mg = _amount(what, mg, MAX_MTX_MG, "mg", why)
    weekly = mg * 7.0 / every
    if weekly > MAX_MTX_MG:
        raise RegimenError.keyed(
            "every",
            f"{what} of {mg:g} mg every {every:g} days is {weekly:g} mg/week; "
            f"the limit is {MAX_MTX_MG:g} mg/week ({why})",
        )
    return mg


@contextmanager
def _blame(key: str) -> Iterator[None]:
    """Tag a RegimenError raised inside with the dose field ``key`` it concerns (if untagged)."""
    try:
        yield
    except RegimenError as e:
        e.key = e.key or key
        raise


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _choose(kind: str, name, valid: tuple[str, ...], aliases: Mapping[str, str]) -> str:
    """Full name of `name` among `valid` (case-insensitive, aliases resolved)."""
    if not isinstance(name, str):
        raise RegimenError(f"{kind} must be a string, got {name!r}")
    key = aliases.get(_normal(name), _normal(name))
    if key not in valid:
        raise RegimenError(f"{unknown_name(kind, name, valid)} Valid {kind}s: {', '.join(valid)}.")
    return key


def _route(drug: str, route) -> str:
    """Route of `drug` ("msc"|"mtx"); refuses the other drug's routes by name."""
    own, other, other_drug = (MSC_ROUTES, MTX_ROUTES, "MTX") if drug == "msc" else (MTX_ROUTES, MSC_ROUTES, "MSC")
    if isinstance(route, str) and _ROUTE_ALIASES.get(_normal(route), _normal(route)) in other:
        raise RegimenError(f"route {route!r} is an {other_drug} route; {drug.upper()} routes are: {', '.join(own)}")
    return _choose(f"{drug.upper()} route", route, own, _ROUTE_ALIASES)


def _joints(route: str, joints) -> int | None:
    """Number of injected joints: 1..28 for intra-articular MSC, None for IV."""
    if route == "iv":
        if joints is not None:
            raise RegimenError(f"joints={joints!r} is only for intra-articular MSC; leave it out (None) for route='iv'")
        return None
    if (
        isinstance(joints, (bool, np.bool_))
        or not isinstance(joints, numbers.Integral)
        or not 1 <= int(joints) <= N_JOINTS
    ):
        raise RegimenError(
            f"intra-articular MSC needs joints = the number of injected joints, "
            f"an integer in 1..{N_JOINTS}, got {joints!r}"
        )
    return int(joints)


def _msc_days(days) -> tuple[float, ...]:
    """Sorted infusion days; a single day may be given as a number."""
    days = days.tolist() if isinstance(days, np.ndarray) else days  # 0-d: a number; 2-d: refused below
    days = (days,) if isinstance(days, numbers.Real) else days
    if isinstance(days, (str, Mapping)) or not hasattr(days, "__iter__"):
        raise RegimenError(f"MSC days must be a list of days, got {days!r}")
    out = []
    for i, d in enumerate(days):
        with _blame(f"days[{i}]"):
            out.append(_day("MSC infusion day", d))
    out.sort()
    if not out:
        raise RegimenError("MSC days is empty: give at least one infusion day")
    for a, b in zip(out, out[1:]):
        if a == b:
            raise RegimenError(f"duplicate MSC infusion day {_fmt(a)} in days={list(days)!r}")
    return tuple(out)


def after_horizon(regimen: "Regimen", horizon_days: float) -> tuple[list[str], list[str]]:
    """Doses after ``horizon_days``: (refused, notes).  An MSC infusion or an MTX schedule
    starting after it is refused (it would silently not be given); MTX titration steps
    after it, in a schedule that runs on, are noted."""
    refused, notes = [], []
    for dose in regimen.doses:
        if isinstance(dose, MscDose):
            refused += [f"MSC infusion on day {_fmt(d)}" for d in dose.days if d > horizon_days]
        elif dose.start > horizon_days:
            refused.append(f"MTX schedule starting on day {_fmt(dose.start)}")
        else:
            late = [_fmt(day) for day, _ in dose.steps() if day > horizon_days]
            if late:
                notes.append(
                    f"MTX titration steps on day(s) {', '.join(late)} come after the horizon "
                    f"(day {_fmt(horizon_days)}) and are not simulated"
                )
    return refused, notes


def _fmt(x: float) -> str:
    """Short exact text of a float: 4e+07, 120, 7.5."""
    short = f"{x:.6g}"
    return short if float(short) == x else repr(x)


def _day_key(day: float) -> str:
    """TOML/JSON table key of a day: "28" or "3.5"."""
    return str(int(day)) if day.is_integer() else repr(day)


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)  # normalise a field of a frozen dataclass


# -- dose records ------------------------------------------------------------


@dataclass(frozen=True)
class DoseLine:
    """One NONMEM-like dose record: addl + 1 doses of `amount` every `ii` days from `time`."""

    drug: str  # "msc" | "mtx"
    time: float  # day of the first dose
    amount: float  # in `unit`
    unit: str  # "mg", "cells" or "cells/kg"
    route: str
    ii: float  # interdose interval, days; 0 for a single dose
    addl: int | None  # number of additional doses; None = repeated up to the horizon
    source: str = ""  # MSC only
    donor: str = ""  # MSC only
    joints: int = 0  # injected joints; intra-articular MSC only

    @property
    def depot(self) -> int:
        """Dosing compartment code (NONMEM CMT), see DEPOTS."""
        return _DEPOT_OF_ROUTE[self.route]

    def count(self, horizon: float) -> int:
        """Doses to compute up to `horizon` (days): at most one more than are given by then."""
        if self.addl is None:
            return max(0, math.floor((horizon - self.time) / self.ii) + 2)
        return self.addl + 1

    def times(self, horizon: float) -> np.ndarray:
        """Dose days (float64) up to and including `horizon` (days)."""
        t = self.time + self.ii * np.arange(self.count(horizon), dtype=np.float64)
        return t[t <= horizon]


@dataclass(frozen=True)
class MscDose:
    """MSC infusions of `cells` (cells, or cells/kg if `per_kg`) on each of `days`."""

    cells: float
    days: tuple[float, ...] = (0.0,)
    per_kg: bool = False
    source: str = "umbilical_cord"
    donor: str = "allogeneic"
    route: str = "iv"
    joints: int | None = None  # injected joints (1..28), intra-articular only

    def __post_init__(self):
        if not isinstance(self.per_kg, (bool, np.bool_)):
            raise RegimenError.keyed("per_kg", f"per_kg must be True or False, got {self.per_kg!r}")
        _set(self, "per_kg", bool(self.per_kg))
        limit = MAX_MSC_CELLS_PER_KG if self.per_kg else MAX_MSC_CELLS
        why = (
            f"the flat cap of {MAX_MSC_CELLS:g} cells at {MAX_WEIGHT_KG:g} kg"
            if self.per_kg
            else "beyond any clinical MSC dose"
        )
        with _blame("cells"):
            _set(self, "cells", _amount("MSC dose", self.cells, limit, self.unit, why))
        with _blame("days"):
            _set(self, "days", _msc_days(self.days))
        with _blame("source"):
            _set(self, "source", _choose("MSC source", self.source, MSC_SOURCES, _SOURCE_ALIASES))
        with _blame("donor"):
            _set(self, "donor", _choose("MSC donor", self.donor, MSC_DONORS, {}))
        with _blame("route"):
            _set(self, "route", _route("msc", self.route))
        with _blame("joints"):
            _set(self, "joints", _joints(self.route, self.joints))

    @property
    def unit(self) -> str:
        return "cells/kg" if self.per_kg else "cells"

    def lines(self) -> tuple[DoseLine, ...]:
        """One single-dose line per infusion day."""
        return tuple(
            DoseLine("msc", day, self.cells, self.unit, self.route, 0.0, 0, self.source, self.donor, self.joints or 0)
            for day in self.days
        )

    def to_dict(self) -> dict:
        d = {
            "drug": "msc",
            "cells": self.cells,
            "days": list(self.days),
            "per_kg": self.per_kg,
            "source": self.source,
            "donor": self.donor,
            "route": self.route,
        }
        if self.joints is not None:
            d["joints"] = self.joints
        return d

    def __repr__(self) -> str:
        days = ", ".join(map(_fmt, self.days))
        extra = (", per_kg=True" if self.per_kg else "") + (
            f", joints={self.joints}" if self.joints is not None else ""
        )
        return (
            f"msc({_fmt(self.cells)}, days=[{days}]{extra}, source={self.source!r}, "
            f"donor={self.donor!r}, route={self.route!r})"
        )


Steps = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MtxDose:
    """MTX every `every` days from day `start` until day `until` (exclusive, None = open).

    `dose_mg` is mg per dose, or titration steps ((day, mg), ...): the dose in
    force from that day on.
    """

    dose_mg: float | Steps
    every: float = 7.0
    start: float = 0.0
    until: float | None = None
    route: str = "oral"

    def __post_init__(self):
        with _blame("every"):
            _set(self, "every", _positive("MTX interval `every`", self.every, "days"))
        with _blame("start"):
            _set(self, "start", _day("MTX start", self.start))
        with _blame("until"):
            if self.until is not None:
                until = _real("MTX `until` (days)", self.until)
                if until <= self.start:
                    raise RegimenError(f"MTX until={_fmt(until)} must be after start={_fmt(self.start)}")
                _set(self, "until", until)
        with _blame("route"):
            _set(self, "route", _route("mtx", self.route))
        with _blame("dose_mg"):
            if isinstance(self.dose_mg, (Mapping, tuple)):
                _set(self, "dose_mg", self._steps(self.dose_mg))
            else:
                _set(self, "dose_mg", _mtx_mg("MTX dose", self.dose_mg, self.every))

    def _steps(self, dose_mg) -> Steps:
        """Sorted, validated titration steps."""
        try:
            pairs = [(day, mg) for day, mg in (dose_mg.items() if isinstance(dose_mg, Mapping) else dose_mg)]
        except (TypeError, ValueError):
            raise RegimenError(f"MTX titration must be a dict {{day: mg}}, got {dose_mg!r}") from None
        steps = sorted(
            (_day("MTX titration day", day, key=True), _mtx_mg(f"MTX dose from day {day}", mg, self.every))
            for day, mg in pairs
        )
        if not steps:
            raise RegimenError("MTX titration dict is empty: give {day: mg, ...}")
        for (a, _), (b, _) in zip(steps, steps[1:]):
            if a == b:
                raise RegimenError(f"MTX titration day {_fmt(a)} is given twice")
        if steps[0][0] > self.start:
            raise RegimenError(
                f"MTX titration starts on day {_fmt(steps[0][0])} but start="
                f"{_fmt(self.start)}: no dose is defined at the first dose; "
                f"pass start={_fmt(steps[0][0])}"
            )
        return tuple(steps)

    @property
    def end(self) -> float:
        """Day the schedule stops (exclusive); inf if open-ended."""
        return math.inf if self.until is None else self.until

    def steps(self) -> Steps:
        """(day, mg) titration steps; one step at `start` for a fixed dose."""
        return self.dose_mg if isinstance(self.dose_mg, tuple) else ((self.start, self.dose_mg),)

    def _grid_index(self, day: float) -> int:
        """n of the first dose day start + n * every at or after `day`."""
        return math.ceil((day - self.start) / self.every - _GRID_TOL)

    def lines(self) -> tuple[DoseLine, ...]:
        """One repeated-dose line per titration step that gives at least one dose."""
        steps = self.steps()
        ends = [min(day, self.end) for day, _ in steps[1:]] + [self.end]
        out = []
        for (day, mg), end in zip(steps, ends):
            first = max(0, self._grid_index(day))
            addl = None if end == math.inf else self._grid_index(end) - first - 1
            if addl is None or addl >= 0:
                out.append(DoseLine("mtx", self.start + first * self.every, mg, "mg", self.route, self.every, addl))
        return tuple(out)

    def to_dict(self) -> dict:
        dose = {_day_key(day): mg for day, mg in self.dose_mg} if isinstance(self.dose_mg, tuple) else self.dose_mg
        d = {"drug": "mtx", "dose_mg": dose, "every": self.every, "start": self.start, "route": self.route}
        if self.until is not None:
            d["until"] = self.until
        return d

    def __repr__(self) -> str:
        dose = (
            "{" + ", ".join(f"{_fmt(d)}: {_fmt(mg)}" for d, mg in self.dose_mg) + "}"
            if isinstance(self.dose_mg, tuple)
            else _fmt(self.dose_mg)
        )
        until = "" if self.until is None else f", until={_fmt(self.until)}"
        return f"mtx({dose}, every={_fmt(self.every)}, start={_fmt(self.start)}{until}, route={self.route!r})"


Dose = MscDose | MtxDose
_DOSE_TYPES = {"msc": MscDose, "mtx": MtxDose}


# -- regimen -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Events:
    """Expanded dose events sorted by time (read-only arrays of equal length)."""

    time: np.ndarray  # day, float64
    depot: np.ndarray  # dosing compartment code (DEPOTS), int64
    amount: np.ndarray  # mg for MTX, cells for MSC (per-kg doses times weight), float64
    joints: np.ndarray  # injected joints, int64; 0 unless intra-articular
    per_kg: np.ndarray  # bool: the dose is per kg of body weight (``amount`` is per kg without a weight)

    def __len__(self) -> int:
        return self.time.size


@dataclass(frozen=True, repr=False)
class Regimen:
    """Immutable, ordered collection of doses; iterates over its DoseLines."""

    doses: tuple[Dose, ...] = ()

    def __post_init__(self):
        doses = tuple(self.doses)
        for dose in doses:
            if not isinstance(dose, (MscDose, MtxDose)):
                raise RegimenError(f"a Regimen holds MscDose/MtxDose (build with msc() or mtx()), got {dose!r}")
        _set(self, "doses", doses)
        _check_msc_days(doses)
        _check_mtx_overlap(doses)
        self.msc_product()

    def __add__(self, other: Regimen) -> Regimen:
        if not isinstance(other, Regimen):
            return NotImplemented
        return Regimen(self.doses + other.doses)

    @property
    def lines(self) -> tuple[DoseLine, ...]:
        return tuple(line for dose in self.doses for line in dose.lines())

    def __iter__(self) -> Iterator[DoseLine]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.doses)) or "Regimen()"

    def msc_product(self) -> tuple[str, str] | None:
        """(source, donor) of the MSC doses, None without MSC."""
        products = sorted({(d.source, d.donor) for d in self.doses if isinstance(d, MscDose)})
        if len(products) > 1:
            raise RegimenError(
                f"the regimen mixes MSC products {products}: one MSC source and donor per regimen is not supported"
            )
        return products[0] if products else None

    def events(self, horizon_days: float, weight_kg: float | None = None) -> Events:
        """Every dose on days 0..horizon_days, sorted by time (stable)."""
        horizon = _day("horizon_days", horizon_days)
        weight = None if weight_kg is None else _positive("weight_kg", weight_kg, "kg")
        lines = self.lines
        _check_count(lines, horizon)
        times = [line.times(horizon) for line in lines]
        counts = np.array([t.size for t in times], dtype=np.int64)

        def per_line(values, dtype) -> np.ndarray:
            return np.repeat(np.array(values, dtype=dtype), counts)

        time = np.concatenate([np.empty(0), *times])
        order = np.argsort(time, kind="stable")
        columns = tuple(
            c[order]
            for c in (
                time,
                per_line([line.depot for line in lines], np.int64),
                per_line([_cells_or_mg(line, weight) for line in lines], np.float64),
                per_line([line.joints for line in lines], np.int64),
                per_line([line.unit == "cells/kg" for line in lines], np.bool_),
            )
        )
        for c in columns:
            c.setflags(write=False)
        return Events(*columns)

    def event_table(self, horizon_days: float | None = None) -> dict[str, np.ndarray]:
        """NONMEM-style dose records, one row per DoseLine.

        With `horizon_days`, doses after it are cut (ADDL shortened, empty rows
        dropped), matching :meth:`events`; without it, open-ended MTX is an error.
        """
        horizon = None if horizon_days is None else _day("horizon_days", horizon_days)
        if horizon is not None:
            _check_count(self.lines, horizon)
        rows = [(line, _addl(line, horizon)) for line in self.lines]
        lines = [line for line, addl in rows if addl >= 0]
        table = {
            "TIME": np.array([d.time for d in lines], dtype=np.float64),
            "AMT": np.array([d.amount for d in lines], dtype=np.float64),
            "CMT": np.array([d.depot for d in lines], dtype=np.int64),
            "EVID": np.ones(len(lines), dtype=np.int64),
            "II": np.array([d.ii for d in lines], dtype=np.float64),
            "ADDL": np.array([addl for _, addl in rows if addl >= 0], dtype=np.int64),
        }
        for name in ("drug", "route", "unit", "source", "donor"):
            table[name.upper()] = np.array([getattr(d, name) for d in lines], dtype=str)
        table["JOINTS"] = np.array([d.joints for d in lines], dtype=np.int64)
        return table

    def to_dict(self) -> dict:
        """Plain JSON/TOML-friendly dict; Regimen.from_dict inverts it exactly."""
        return {"doses": [dose.to_dict() for dose in self.doses]}

    @classmethod
    def from_dict(cls, data: Mapping) -> Regimen:
        """Regimen from the output of to_dict (or the same written by hand in TOML/JSON)."""
        _check_keys("regimen", data, ("doses",))
        doses = data.get("doses", [])
        if not isinstance(doses, (list, tuple)):
            raise RegimenError(f"regimen 'doses' must be a list of dose tables, got {doses!r}")
        return cls(tuple(_dose_from_dict(d) for d in doses))


def _check_count(lines, horizon: float) -> None:
    """Refuse more dose events up to ``horizon`` than the ``doses`` ceiling, before building them."""
    gate.limit("doses", sum(min(line.count(horizon), 1e18) for line in lines), "regimen")


def _cells_or_mg(line: DoseLine, weight: float | None) -> float:
    """Amount of one dose in mg or cells; per-kg doses need the weight."""
    if line.unit != "cells/kg":
        return line.amount
    if weight is None:
        raise RegimenError("the regimen doses MSC per kg: pass weight_kg to events()")
    return line.amount * weight


def _addl(line: DoseLine, horizon: float | None) -> int:
    """ADDL of `line`, cut at `horizon` if given (-1: no dose by then)."""
    if horizon is not None:
        return line.times(horizon).size - 1
    if line.addl is None:
        raise RegimenError(f"open-ended MTX from day {_fmt(line.time)} (until=None) needs horizon_days to compute ADDL")
    return line.addl


def _check_keys(what: str, data, valid: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise RegimenError(f"{what} must be a dict, got {data!r}")
    for key in data:
        if key not in valid:
            raise RegimenError(f"unknown key {key!r} in {what}; valid keys: {', '.join(valid)}")


def _dose_from_dict(d: Mapping) -> Dose:
    if not isinstance(d, Mapping):
        raise RegimenError(f"a dose must be a dict, got {d!r}")
    drug = d.get("drug")
    cls = _DOSE_TYPES.get(drug) if isinstance(drug, str) else None  # (an unhashable drug is refused too)
    if cls is None:
        raise RegimenError(f"dose {dict(d)!r} needs 'drug': one of {', '.join(_DOSE_TYPES)}")
    _check_keys(f"{d['drug']} dose", d, ("drug", *(f.name for f in fields(cls))))
    for f in fields(cls):
        if f.default is MISSING and f.name not in d:
            raise RegimenError(f"{d['drug']} dose needs {f.name!r}, got {dict(d)!r}")
    return cls(**{k: v for k, v in d.items() if k != "drug"})


def _check_msc_days(doses: tuple[Dose, ...]) -> None:
    """Refuse two MSC infusions by the same route on the same day."""
    seen = set()
    for dose in doses:
        if isinstance(dose, MscDose):
            for day in dose.days:
                if (day, dose.route) in seen:
                    raise RegimenError(
                        f"duplicate MSC infusion day {_fmt(day)} ({dose.route}): give one dose per route and day"
                    )
                seen.add((day, dose.route))


def _check_mtx_overlap(doses: tuple[Dose, ...]) -> None:
    """Refuse two MTX schedules active at once."""
    mtx = sorted((d for d in doses if isinstance(d, MtxDose)), key=lambda d: d.start)
    for a, b in zip(mtx, mtx[1:]):
        if b.start < a.end:
            raise RegimenError(
                f"MTX schedules overlap: {a!r} is still running on day "
                f"{_fmt(b.start)} when {b!r} starts; give one MTX schedule at a "
                "time (end the first with until= or use a titration dict)"
            )


# -- constructors ------------------------------------------------------------


def msc(
    cells: float,
    *,
    days=(0,),
    every: float | None = None,
    until: float | None = None,
    per_kg: bool = False,
    source: str = "umbilical_cord",
    donor: str = "allogeneic",
    route: str = "iv",
    joints: int | None = None,
) -> Regimen:
    """MSC infusions of `cells` (cells, or cells/kg if `per_kg`) on each of `days`, or
    repeated: from the one day in `days` every `every` days before day `until` (exclusive),
    e.g. ``msc(4e7, every=91, until=730)``: days 0, 91, ..., 728.

    source: umbilical_cord (uc), bone_marrow (bm), adipose (ad, adipose_tissue);
    donor: allogeneic, autologous; route: iv or intra_articular (ia), which needs
    `joints`, the number of injected joints (1..28).
    """
    if every is not None or until is not None:
        days = _repeated(days, every, until)
    return Regimen((MscDose(cells, days, per_kg, source, donor, route, joints),))


def _repeated(days, every, until) -> list[float]:
    """Infusion days from the single first day in ``days`` every ``every`` days before ``until``."""
    if every is None or until is None:
        raise RegimenError("repeated MSC infusions need both every= (days) and until= (day)")
    first = _msc_days(days)
    if len(first) != 1:
        raise RegimenError(f"with every=, give one first infusion day in days, got {list(first)}")
    every = _positive("MSC interval `every`", every, "days")
    until = _real("MSC `until` (days)", until)
    if until <= first[0]:
        raise RegimenError(f"MSC until={_fmt(until)} must be after the first infusion on day {_fmt(first[0])}")
    gate.limit("doses", math.ceil((until - first[0]) / every), "msc every/until")
    return [first[0] + k * every for k in range(int(math.ceil((until - first[0]) / every)))]


def mtx(dose_mg, *, every: float = 7, start: float = 0, until: float | None = None, route: str = "oral") -> Regimen:
    """Methotrexate every `every` days from day `start` until day `until` (exclusive).

    dose_mg: mg per dose, or {day: mg} titration steps (the dose in force from
    that day on; the first step must be on or before `start`). until=None runs
    to the simulation horizon. route: oral or subcutaneous (sc).
    """
    return Regimen((MtxDose(dose_mg, every, start, until, route),))
