"""Mesenchymal stromal cells (MSC): infusions of a product (source, donor) by a route.

``msc()`` builds a regimen of infusions; ``MscDose`` is its record (checked when built).
Depot codes (NONMEM CMT): 3 intravenous, 4 intra-articular; their doses are boluses of
the model's MSC states (lungs, joints) in millions of cells.  Within one regimen, one product and one
dose per route and day.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import gate
from ..errors import RegimenError
from .base import Bolus, DoseLine, as_day, amount, blame, choose, choose_route, fmt, positive, real, register, set_field

if TYPE_CHECKING:
    from ..regimen import Regimen

MSC_IV = 3  # intravenous MSC
MSC_IA = 4  # intra-articular MSC
DEPOTS = {"msc_iv": MSC_IV, "msc_ia": MSC_IA}
MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
MSC_DONORS = ("allogeneic", "autologous")
MSC_ROUTES = ("iv", "intra_articular")  # dosing into MSC_IV, MSC_IA
_SOURCE_ALIASES = {"uc": "umbilical_cord", "bm": "bone_marrow", "ad": "adipose", "adipose_tissue": "adipose"}
MAX_MSC_CELLS = 1e10  # flat dose, cells
MAX_WEIGHT_KG = 200.0  # the heaviest patient (the weight covariate's range)
MAX_MSC_CELLS_PER_KG = MAX_MSC_CELLS / MAX_WEIGHT_KG  # cells/kg: no patient gets more than a flat dose's cap
N_JOINTS = 28  # joints of the DAS28 count
CELLS_PER_UNIT = 1e6  # the MSC states count millions of cells
register(
    "msc",
    dict(zip(MSC_ROUTES, (MSC_IV, MSC_IA))),
    boluses={MSC_IV: Bolus("msc_lung", CELLS_PER_UNIT), MSC_IA: Bolus("msc_ia", CELLS_PER_UNIT)},
)


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
        with blame(f"days[{i}]"):
            out.append(as_day("MSC infusion day", d))
    out.sort()
    if not out:
        raise RegimenError("MSC days is empty: give at least one infusion day")
    for a, b in zip(out, out[1:]):
        if a == b:
            raise RegimenError(f"duplicate MSC infusion day {fmt(a)} in days={list(days)!r}")
    return tuple(out)


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
        set_field(self, "per_kg", bool(self.per_kg))
        limit = MAX_MSC_CELLS_PER_KG if self.per_kg else MAX_MSC_CELLS
        why = (
            f"the flat cap of {MAX_MSC_CELLS:g} cells at {MAX_WEIGHT_KG:g} kg"
            if self.per_kg
            else "beyond any clinical MSC dose"
        )
        with blame("cells"):
            set_field(self, "cells", amount("MSC dose", self.cells, limit, self.unit, why))
        with blame("days"):
            set_field(self, "days", _msc_days(self.days))
        with blame("source"):
            set_field(self, "source", choose("MSC source", self.source, MSC_SOURCES, _SOURCE_ALIASES))
        with blame("donor"):
            set_field(self, "donor", choose("MSC donor", self.donor, MSC_DONORS, {}))
        with blame("route"):
            set_field(self, "route", choose_route("msc", self.route))
        with blame("joints"):
            set_field(self, "joints", _joints(self.route, self.joints))

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
        days = ", ".join(map(fmt, self.days))
        extra = (", per_kg=True" if self.per_kg else "") + (
            f", joints={self.joints}" if self.joints is not None else ""
        )
        return (
            f"msc({fmt(self.cells)}, days=[{days}]{extra}, source={self.source!r}, "
            f"donor={self.donor!r}, route={self.route!r})"
        )

    def after(self, horizon_days: float) -> tuple[list[str], list[str]]:
        """Infusions after ``horizon_days``: (refused, notes); an infusion after it is refused."""
        return [f"MSC infusion on day {fmt(d)}" for d in self.days if d > horizon_days], []

    @staticmethod
    def check_together(doses: Sequence[MscDose]) -> None:
        """Refuse two infusions by the same route on the same day, or two products."""
        seen = set()
        for dose in doses:
            for day in dose.days:
                if (day, dose.route) in seen:
                    raise RegimenError(
                        f"duplicate MSC infusion day {fmt(day)} ({dose.route}): give one dose per route and day"
                    )
                seen.add((day, dose.route))
        product(doses)


def product(doses: Sequence[MscDose]) -> tuple[str, str] | None:
    """(source, donor) of the MSC doses, None without MSC; two products are refused."""
    products = sorted({(d.source, d.donor) for d in doses})
    if len(products) > 1:
        raise RegimenError(
            f"the regimen mixes MSC products {products}: one MSC source and donor per regimen is not supported"
        )
    return products[0] if products else None


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
    from ..regimen import Regimen  # the regimen module imports the drugs

    return Regimen((MscDose(cells, days, per_kg, source, donor, route, joints),))


def _repeated(days, every, until) -> list[float]:
    """Infusion days from the single first day in ``days`` every ``every`` days before ``until``."""
    if every is None or until is None:
        raise RegimenError("repeated MSC infusions need both every= (days) and until= (day)")
    first = _msc_days(days)
    if len(first) != 1:
        raise RegimenError(f"with every=, give one first infusion day in days, got {list(first)}")
    every = positive("MSC interval `every`", every, "days")
    until = real("MSC `until` (days)", until)
    if until <= first[0]:
        raise RegimenError(f"MSC until={fmt(until)} must be after the first infusion on day {fmt(first[0])}")
    count = (until - first[0]) / every  # may overflow to inf: refused by the ceiling
    n = math.ceil(gate.limit("doses", count, "msc every/until"))
    return [first[0] + k * every for k in range(n)]
