"""Oral prednisolone at low dose: a daily dose, fixed or tapered (a COBRA-like bridge).

``prednisolone()`` builds a regimen of one schedule; ``PrednisoloneDose`` is its record
(checked when built).  Depot code (NONMEM CMT) 5, oral.  With a plasma half-life of 2-4 h
a daily dose reaches the joints as a steady daily exposure: each step of the schedule is
a zero-order input of mg/day (``DoseLine.dur``), and the model reads the effect-site daily
dose through a first-order delay (``rasim.model.pk_rate``).  Glucocorticoids repress the
transcription of inflammatory cytokines (TNF, IL-6) and of T-cell activation (NF-kB,
AP-1), and the induction of cyclo-oxygenase 2, so joints are less tender within days, before
the synovitis shrinks (Gotzsche 1998): three ``Effect`` rows.  Within one regimen, one schedule at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import (
    no_overlap,
    set_window,
    DoseLine,
    Effect,
    Forcing,
    Steps,
    amount,
    blame,
    choose_route,
    day_key,
    fmt,
    register,
    set_field,
    titration,
)

if TYPE_CHECKING:
    from ..regimen import Regimen

PRED_ORAL = 5
DEPOTS = {"prednisolone_oral": PRED_ORAL}
PRED_ROUTES = ("oral",)
MAX_PRED_MG_PER_DAY = 60.0  # COBRA's first week; pulse or high-dose therapy is outside the model
FORCING = Forcing(
    "prednisolone",
    "mg/day",
    "effect_rate",
    (PRED_ORAL,),
    ("prednisolone_ke0",),
    "effect-site daily dose of prednisolone",
)
EFFECTS = (
    Effect("cytokine_production", "prednisolone", "prednisolone_emax_cytokine", "prednisolone_ec50"),
    Effect("t_activation", "prednisolone", "prednisolone_emax_t", "prednisolone_ec50"),
    Effect("nociception", "prednisolone", "prednisolone_emax_nociception", "prednisolone_ec50"),
)
register("prednisolone", {"oral": PRED_ORAL}, forcing=FORCING, effects=EFFECTS)


def _checked(what: str, mg) -> float:
    return amount(what, mg, MAX_PRED_MG_PER_DAY, "mg/day", "pulse and high-dose glucocorticoids are outside the model")


@dataclass(frozen=True)
class PrednisoloneDose:
    """Prednisolone ``mg_per_day`` from day ``start`` until day ``until`` (exclusive, None = open).

    ``mg_per_day`` is mg/day, or taper steps ((day, mg/day), ...): the dose in force from
    that day on (the first on or before ``start``)."""

    mg_per_day: float | Steps
    start: float = 0.0
    until: float | None = None
    route: str = "oral"

    def __post_init__(self):
        set_window(self, "prednisolone")
        with blame("route"):
            set_field(self, "route", choose_route("prednisolone", self.route))
        with blame("mg_per_day"):
            if isinstance(self.mg_per_day, (Mapping, tuple)):
                set_field(self, "mg_per_day", titration("prednisolone", self.mg_per_day, self.start, _checked))
            else:
                set_field(self, "mg_per_day", _checked("prednisolone dose", self.mg_per_day))

    @property
    def end(self) -> float:
        """Day the schedule stops (exclusive); inf if open-ended."""
        return math.inf if self.until is None else self.until

    def steps(self) -> Steps:
        """(day, mg/day) steps; one step at ``start`` for a fixed dose."""
        return self.mg_per_day if isinstance(self.mg_per_day, tuple) else ((self.start, self.mg_per_day),)

    def lines(self) -> tuple[DoseLine, ...]:
        """One zero-order input line per step that is in force for some time."""
        steps = self.steps()
        begins = [max(day, self.start) for day, _ in steps]
        ends = [min(day, self.end) for day, _ in steps[1:]] + [self.end]
        return tuple(
            DoseLine("prednisolone", begin, mg, "mg/day", self.route, 0.0, 0, dur=end - begin)
            for begin, end, (_, mg) in zip(begins, ends, steps)
            if end > begin
        )

    def to_dict(self) -> dict:
        dose = (
            {day_key(day): mg for day, mg in self.mg_per_day} if isinstance(self.mg_per_day, tuple) else self.mg_per_day
        )
        d = {"drug": "prednisolone", "mg_per_day": dose, "start": self.start, "route": self.route}
        if self.until is not None:
            d["until"] = self.until
        return d

    def __repr__(self) -> str:
        dose = (
            "{" + ", ".join(f"{fmt(d)}: {fmt(mg)}" for d, mg in self.mg_per_day) + "}"
            if isinstance(self.mg_per_day, tuple)
            else fmt(self.mg_per_day)
        )
        until = "" if self.until is None else f", until={fmt(self.until)}"
        return f"prednisolone({dose}, start={fmt(self.start)}{until})"

    def after(self, horizon_days: float) -> tuple[list[str], list[str]]:
        """(refused, notes): a schedule starting after the horizon is refused, later taper steps noted."""
        if self.start > horizon_days:
            return [f"prednisolone schedule starting on day {fmt(self.start)}"], []
        late = [fmt(day) for day, _ in self.steps() if day > horizon_days]
        if not late:
            return [], []
        return [], [
            f"prednisolone taper steps on day(s) {', '.join(late)} come after the horizon and are not simulated"
        ]

    @staticmethod
    def check_together(doses: Sequence[PrednisoloneDose]) -> None:
        """Refuse two prednisolone schedules in force at once."""
        no_overlap("prednisolone", doses, "give one schedule at a time (end the first with until= or use a taper dict)")


def prednisolone(mg_per_day, *, start: float = 0, until: float | None = None, route: str = "oral") -> Regimen:
    """Oral prednisolone ``mg_per_day`` (<= 60) from day ``start`` until day ``until`` (exclusive).

    mg_per_day: mg/day, or {day: mg/day} taper steps, e.g. COBRA's bridge
    ``prednisolone({0: 60, 7: 40, 14: 25, 21: 20, 28: 15, 35: 10, 42: 7.5}, until=196)``.
    until=None runs to the simulation horizon."""
    from ..regimen import Regimen  # the regimen module imports the drugs

    return Regimen((PrednisoloneDose(mg_per_day, start, until, route),))
