"""Methotrexate (MTX): low-dose schedules, oral or subcutaneous, with titration steps.

``mtx()`` builds a regimen of one schedule; ``MtxDose`` is its record (checked when built).
Depot codes (NONMEM CMT): 1 gut (oral), 2 central (subcutaneous); the closed-form PK that
takes them is ``rasim.model.pk``.  Within one regimen, one schedule at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import RegimenError
from .base import (
    no_overlap,
    set_window,
    DoseLine,
    Effect,
    Forcing,
    amount,
    blame,
    choose_route,
    day_key,
    fmt,
    positive,
    register,
    set_field,
    titration,
    Steps,
)

if TYPE_CHECKING:
    from ..regimen import Regimen

MTX_GUT = 1  # oral MTX: absorbed from the gut
MTX_CENTRAL = 2  # subcutaneous MTX: input straight into plasma
DEPOTS = {"mtx_gut": MTX_GUT, "mtx_central": MTX_CENTRAL}
MTX_ROUTES = ("oral", "subcutaneous")  # dosing into MTX_GUT, MTX_CENTRAL
MAX_MTX_MG = 30.0  # per dose and per week: low-dose MTX in RA tops out at 25-30 mg/week
_GRID_TOL = 1e-9  # in dosing intervals: rounding slack when placing a day on the MTX grid
FORCING = Forcing(
    "mtx_pg",
    "mg",
    "mtx_chain",
    (MTX_GUT, MTX_CENTRAL),
    (),
    "intracellular MTX polyglutamates (the chain gut -> plasma -> polyglutamates of rasim.model.pk)",
)
EFFECTS = (  # adenosine release: less T-cell and macrophage activation
    Effect("t_activation", "mtx_pg", "mtx_emax_t", "mtx_ec50"),
    Effect("m_activation", "mtx_pg", "mtx_emax_m", "mtx_ec50"),
)
register("mtx", dict(zip(MTX_ROUTES, (MTX_GUT, MTX_CENTRAL))), forcing=FORCING, effects=EFFECTS)


def _checked_mg(what: str, mg, every: float) -> float:
    """One MTX dose, mg; its weekly intensity must stay within low-dose MTX."""
    why = "low-dose MTX in RA tops out at 25-30 mg/week"
    mg = amount(what, mg, MAX_MTX_MG, "mg", why)
    weekly = mg * 7.0 / every
    if weekly > MAX_MTX_MG:
        raise RegimenError.keyed(
            "every",
            f"{what} of {mg:g} mg every {every:g} days is {weekly:g} mg/week; "
            f"the limit is {MAX_MTX_MG:g} mg/week ({why})",
        )
    return mg


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
        with blame("every"):
            set_field(self, "every", positive("MTX interval `every`", self.every, "days"))
        set_window(self, "MTX")
        with blame("route"):
            set_field(self, "route", choose_route("mtx", self.route))
        with blame("dose_mg"):
            if isinstance(self.dose_mg, (Mapping, tuple)):
                check = lambda what, mg: _checked_mg(what, mg, self.every)  # noqa: E731
                set_field(self, "dose_mg", titration("MTX", self.dose_mg, self.start, check))
            else:
                set_field(self, "dose_mg", _checked_mg("MTX dose", self.dose_mg, self.every))

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
        dose = {day_key(day): mg for day, mg in self.dose_mg} if isinstance(self.dose_mg, tuple) else self.dose_mg
        d = {"drug": "mtx", "dose_mg": dose, "every": self.every, "start": self.start, "route": self.route}
        if self.until is not None:
            d["until"] = self.until
        return d

    def __repr__(self) -> str:
        dose = (
            "{" + ", ".join(f"{fmt(d)}: {fmt(mg)}" for d, mg in self.dose_mg) + "}"
            if isinstance(self.dose_mg, tuple)
            else fmt(self.dose_mg)
        )
        until = "" if self.until is None else f", until={fmt(self.until)}"
        return f"mtx({dose}, every={fmt(self.every)}, start={fmt(self.start)}{until}, route={self.route!r})"

    def after(self, horizon_days: float) -> tuple[list[str], list[str]]:
        """(refused, notes) for ``horizon_days``: a schedule starting after it is refused (it
        would silently not be given); titration steps after it, in a schedule that runs on,
        are noted."""
        if self.start > horizon_days:
            return [f"MTX schedule starting on day {fmt(self.start)}"], []
        late = [fmt(day) for day, _ in self.steps() if day > horizon_days]
        if not late:
            return [], []
        return [], [
            f"MTX titration steps on day(s) {', '.join(late)} come after the horizon "
            f"(day {fmt(horizon_days)}) and are not simulated"
        ]

    @staticmethod
    def check_together(doses: Sequence[MtxDose]) -> None:
        """Refuse two MTX schedules active at once."""
        no_overlap("MTX", doses, "give one MTX schedule at a time (end the first with until= or use a titration dict)")


def mtx(dose_mg, *, every: float = 7, start: float = 0, until: float | None = None, route: str = "oral") -> Regimen:
    """Methotrexate every `every` days from day `start` until day `until` (exclusive).

    dose_mg: mg per dose, or {day: mg} titration steps (the dose in force from
    that day on; the first step must be on or before `start`). until=None runs
    to the simulation horizon. route: oral or subcutaneous (sc).
    """
    from ..regimen import Regimen  # the regimen module imports the drugs

    return Regimen((MtxDose(dose_mg, every, start, until, route),))
