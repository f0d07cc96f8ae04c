"""Dosing regimens as data: doses of the drugs in ``rasim.drugs`` (MSC infusions,
methotrexate, prednisolone, adalimumab and NSAID schedules), combined with ``+``::

    reg = msc(4e7, days=[0, 120]) + mtx({0: 7.5, 28: 15}, every=7)

Times are days from the start of the simulation, MTX doses mg, MSC doses
cells (cells/kg with ``per_kg=True``). Everything is validated when the
regimen is built (:class:`~rasim.errors.RegimenError`), never mid-simulation.

A regimen is a tuple of user-level doses (one per :func:`msc`/:func:`mtx`
call, kept for :meth:`Regimen.to_dict`); iterating it yields NONMEM-like
:class:`DoseLine` records (one per MSC infusion day, one per MTX titration step).
Each drug's constructor, checks and event codes live in its module of ``rasim.drugs``;
the names below are re-exported from there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, fields

import numpy as np

from rasim import gate
from rasim.drugs import DEPOTS, DRUGS, DoseLine
from rasim.drugs.base import as_day, fmt, positive, set_field
from rasim.drugs.msc import (
    MAX_MSC_CELLS,
    MscDose,
    msc,
    MAX_MSC_CELLS_PER_KG,
    MAX_WEIGHT_KG,
    MSC_DONORS,
    MSC_IA,
    MSC_IV,
    MSC_ROUTES,
    MSC_SOURCES,
    product,
)
from rasim.drugs.adalimumab import AdalimumabDose, adalimumab
from rasim.drugs.nsaid import NsaidDose, nsaid
from rasim.drugs.mtx import MAX_MTX_MG, MTX_CENTRAL, MTX_GUT, MTX_ROUTES, MtxDose, mtx
from rasim.drugs.prednisolone import PrednisoloneDose, prednisolone
from rasim.errors import RegimenError

Dose = MscDose | MtxDose | PrednisoloneDose | AdalimumabDose | NsaidDose


def after_horizon(regimen: "Regimen", horizon_days: float) -> tuple[list[str], list[str]]:
    """Doses after ``horizon_days``: (refused, notes), each drug's own rule (``after``): a
    dose that would silently not be given is refused, a titration step after it noted."""
    refused: list[str] = []
    notes: list[str] = []
    for dose in regimen.doses:
        r, n = dose.after(horizon_days)
        refused += r
        notes += n
    return refused, notes


# -- regimen -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Events:
    """Expanded dose events sorted by time (read-only arrays of equal length)."""

    time: np.ndarray  # day, float64
    depot: np.ndarray  # dosing compartment code (DEPOTS), int64
    amount: np.ndarray  # mg for MTX, cells for MSC (per-kg doses times weight), float64
    joints: np.ndarray  # injected joints, int64; 0 unless intra-articular
    per_kg: np.ndarray  # bool: the dose is per kg of body weight (``amount`` is per kg without a weight)
    duration: np.ndarray  # days of zero-order input (``amount`` then a rate, mg/day; inf: to the horizon), else 0

    def __len__(self) -> int:
        return self.time.size


@dataclass(frozen=True, repr=False)
class Regimen:
    """Immutable, ordered collection of doses; iterates over its DoseLines."""

    doses: tuple[Dose, ...] = ()

    def __post_init__(self):
        doses = tuple(self.doses)
        kinds = tuple(DRUGS.values())
        for dose in doses:
            if not isinstance(dose, kinds):
                raise RegimenError(
                    f"a Regimen holds doses of rasim.drugs (build with msc(), mtx(), prednisolone(), adalimumab() or nsaid()), got {dose!r}"
                )
        set_field(self, "doses", doses)
        for kind in kinds:  # each drug's rules for its doses within one regimen
            kind.check_together([d for d in doses if isinstance(d, kind)])

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
        return product([d for d in self.doses if isinstance(d, MscDose)])

    def events(self, horizon_days: float, weight_kg: float | None = None) -> Events:
        """Every dose on days 0..horizon_days, sorted by time (stable)."""
        horizon = as_day("horizon_days", horizon_days)
        weight = None if weight_kg is None else positive("weight_kg", weight_kg, "kg")
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
                per_line([line.dur for line in lines], np.float64),
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
        horizon = None if horizon_days is None else as_day("horizon_days", horizon_days)
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
        table["DUR"] = np.array([d.dur for d in lines], dtype=np.float64)
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
        raise RegimenError(f"open-ended MTX from day {fmt(line.time)} (until=None) needs horizon_days to compute ADDL")
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
    cls = DRUGS.get(drug) if isinstance(drug, str) else None  # (an unhashable drug is refused too)
    if cls is None:
        raise RegimenError(f"dose {dict(d)!r} needs 'drug': one of {', '.join(DRUGS)}")
    _check_keys(f"{d['drug']} dose", d, ("drug", *(f.name for f in fields(cls))))
    for f in fields(cls):
        if f.default is MISSING and f.name not in d:
            raise RegimenError(f"{d['drug']} dose needs {f.name!r}, got {dict(d)!r}")
    return cls(**{k: v for k, v in d.items() if k != "drug"})


__all__ = [
    "Regimen",
    "DoseLine",
    "Events",
    "MscDose",
    "MtxDose",
    "msc",
    "mtx",
    "prednisolone",
    "adalimumab",
    "nsaid",
    "PrednisoloneDose",
    "AdalimumabDose",
    "NsaidDose",
    "after_horizon",
    "DEPOTS",
    "MSC_IV",
    "MSC_IA",
    "MTX_GUT",
    "MTX_CENTRAL",
    "MSC_SOURCES",
    "MSC_DONORS",
    "MSC_ROUTES",
    "MTX_ROUTES",
    "MAX_MTX_MG",
    "MAX_MSC_CELLS",
    "MAX_MSC_CELLS_PER_KG",
    "MAX_WEIGHT_KG",
]
