"""NSAIDs (naproxen, celecoxib): symptomatic relief only.

``nsaid()`` builds a regimen of one schedule; ``NsaidDose`` is its record (checked when
built).  Depot codes (NONMEM CMT): 7 naproxen, 8 celecoxib, oral.  Taken once or twice daily
with half-lives of 12-17 h (naproxen) and about 11 h (celecoxib), an NSAID reaches the joint
as a steady daily exposure: like prednisolone, each schedule is a zero-order input of mg/day
read through a first-order delay (``rasim.model.pk_rate``).  Each agent is its own forcing
(its potency is its EC50 in mg/day).  They inhibit cyclo-oxygenase, so prostaglandin E2 no
longer sensitises the joints' nociceptors: the tenderness, pain and patient global the
synovitis causes fall (an ``Effect`` at the observed hook ``nociception``), while the
synovitis itself, CRP, ESR, swelling and damage do not move (Tarp 2012: CRP SMD 0.01 over
19 trials; no structural effect).  Within one regimen, one schedule at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import no_overlap, set_window, DoseLine, Effect, Forcing, amount, blame, choose, fmt, register, set_field

if TYPE_CHECKING:
    from ..regimen import Regimen

NAPROXEN, CELECOXIB = 7, 8
AGENTS = {"naproxen": NAPROXEN, "celecoxib": CELECOXIB}
DEPOTS = {f"{agent}_oral": depot for agent, depot in AGENTS.items()}
MAX_MG_PER_DAY = {"naproxen": 1500.0, "celecoxib": 800.0}  # the labels' maximal daily doses
for _agent, _depot in AGENTS.items():
    register(
        _agent,
        {"oral": _depot},
        forcing=Forcing(
            _agent, "mg/day", "effect_rate", (_depot,), ("nsaid_ke0",), f"effect-site daily dose of {_agent}"
        ),
        effects=(Effect("nociception", _agent, "nsaid_emax_nociception", f"{_agent}_ec50"),),
    )


@dataclass(frozen=True)
class NsaidDose:
    """``agent`` at ``mg_per_day`` from day ``start`` until day ``until`` (exclusive, None = open)."""

    agent: str
    mg_per_day: float
    start: float = 0.0
    until: float | None = None

    def __post_init__(self):
        with blame("agent"):
            set_field(self, "agent", choose("NSAID agent", self.agent, tuple(AGENTS), {}))
        with blame("mg_per_day"):
            limit = MAX_MG_PER_DAY[self.agent]
            mg = amount(f"{self.agent} dose", self.mg_per_day, limit, "mg/day", "the label's maximal daily dose")
            set_field(self, "mg_per_day", mg)
        set_window(self, "NSAID")

    @property
    def end(self) -> float:
        return math.inf if self.until is None else self.until

    def lines(self) -> tuple[DoseLine, ...]:
        return (DoseLine(self.agent, self.start, self.mg_per_day, "mg/day", "oral", 0.0, 0, dur=self.end - self.start),)

    def to_dict(self) -> dict:
        d = {"drug": "nsaid", "agent": self.agent, "mg_per_day": self.mg_per_day, "start": self.start}
        if self.until is not None:
            d["until"] = self.until
        return d

    def __repr__(self) -> str:
        until = "" if self.until is None else f", until={fmt(self.until)}"
        return f"nsaid({self.agent!r}, {fmt(self.mg_per_day)}, start={fmt(self.start)}{until})"

    def after(self, horizon_days: float) -> tuple[list[str], list[str]]:
        """(refused, notes): a schedule starting after the horizon is refused."""
        return ([f"NSAID schedule starting on day {fmt(self.start)}"] if self.start > horizon_days else []), []

    @staticmethod
    def check_together(doses: Sequence[NsaidDose]) -> None:
        """Refuse two NSAID schedules in force at once (NSAIDs are not combined)."""
        no_overlap("NSAID", doses, "NSAIDs are not combined (end the first with until=)")


def nsaid(agent: str, mg_per_day: float, *, start: float = 0, until: float | None = None) -> Regimen:
    """An NSAID, ``agent`` "naproxen" (500 mg twice daily: ``nsaid("naproxen", 1000)``) or
    "celecoxib" (200 mg twice daily: 400), at ``mg_per_day`` from day ``start`` until day
    ``until`` (exclusive; None runs to the simulation horizon)."""
    from ..regimen import Regimen  # the regimen module imports the drugs

    return Regimen((NsaidDose(agent, mg_per_day, start, until),))
