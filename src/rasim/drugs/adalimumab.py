"""Adalimumab, an anti-TNF monoclonal antibody given subcutaneously (40 mg every other week).

``adalimumab()`` builds a regimen of one schedule; ``AdalimumabDose`` is its record (checked
when built).  Depot code (NONMEM CMT) 6, subcutaneous.  PK: first-order absorption into one
compartment (``rasim.model.pk_sc``; Ternant 2015: ka 0.28/day, CL/F 0.32 L/day, V/F 10.8 L),
clearance raised ``adalimumab_ada_cl_factor``-fold from the day a patient forms anti-drug
antibodies (``adalimumab_ada_day``: never by default; cohorts draw it per patient,
``patient_pk``, with each patient's own CL/F and V/F, from the patient's own stream:
Ternant 2015, Bartelds 2007/2011).  MTX given with it
lowers its clearance (label: CL/F 29-44% lower) and the share who form antibodies.  It
neutralises TNF: free TNF is cleared faster, an ``Effect`` at ``tnf_clearance``.  Within one
regimen, one schedule at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

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
    fmt,
    positive,
    register,
    set_field,
)

if TYPE_CHECKING:
    from ..regimen import Regimen

ADALIMUMAB_SC = 6
DEPOTS = {"adalimumab_sc": ADALIMUMAB_SC}
ADALIMUMAB_ROUTES = ("subcutaneous",)
MAX_ADALIMUMAB_MG = 80.0  # per dose: the highest dose studied in RA (ARMADA's 80 mg every other week)
MIN_INTERVAL_DAYS = 7.0  # weekly is the most frequent labelled schedule
FORCING = Forcing(
    "adalimumab",
    "mg/L",
    "sc_one_compartment",
    (ADALIMUMAB_SC,),
    ("adalimumab_ka", "adalimumab_cl", "adalimumab_v", "adalimumab_ada_day", "adalimumab_ada_cl_factor"),
    "serum adalimumab concentration",
)
EFFECTS = (Effect("tnf_clearance", "adalimumab", "adalimumab_emax_tnf", "adalimumab_ec50", sign=+1),)
NEVER = 1e9  # adalimumab_ada_day of a patient who never forms antibodies


def _index(name: str) -> int:
    from ..model.parameters import PINDEX  # the model imports the drugs

    return PINDEX[name]


def with_mtx(p: np.ndarray, given: frozenset[str]) -> None:
    """Lower the clearance (in place, ``p`` one vector or rows) when MTX is given too."""
    if "mtx" in given:
        p[..., _index("adalimumab_cl")] *= p[..., _index("adalimumab_cl_mtx_factor")]


def patient_pk(u: np.ndarray, P: np.ndarray, given: frozenset[str]) -> None:
    """Each patient's own adalimumab PK and sensitivity (in place) from five uniforms per
    patient ``u``: log-normal CL/F, V/F and EC50 (SD of log ``adalimumab_cl_sd``,
    ``adalimumab_v_sd``, ``adalimumab_ec50_sd``: Ternant 2015's between-patient variability),
    and the day antibodies form: with probability
    ``adalimumab_ada_fraction`` (times ``adalimumab_ada_mtx_rr`` on MTX), on an exponential
    day with mean ``adalimumab_ada_onset`` (days); else ``NEVER``."""
    z = ndtri(u[:, 2:5])
    for k, name in enumerate(("adalimumab_cl", "adalimumab_v", "adalimumab_ec50")):
        P[:, _index(name)] *= np.exp(P[:, _index(name + "_sd")] * z[:, k])
    share = P[:, _index("adalimumab_ada_fraction")] * (P[:, _index("adalimumab_ada_mtx_rr")] if "mtx" in given else 1.0)
    day = -P[:, _index("adalimumab_ada_onset")] * np.log1p(-u[:, 1])
    P[:, _index("adalimumab_ada_day")] = np.where(u[:, 0] < share, day, NEVER)


register(
    "adalimumab",
    {"subcutaneous": ADALIMUMAB_SC},
    forcing=FORCING,
    effects=EFFECTS,
    comedication=with_mtx,
    patient_draw=(5, patient_pk),
    events={"anti_drug_antibodies": "adalimumab_ada_day"},
)


@dataclass(frozen=True)
class AdalimumabDose:
    """``dose_mg`` every ``every`` days from day ``start`` until day ``until`` (exclusive, None = open)."""

    dose_mg: float = 40.0
    every: float = 14.0
    start: float = 0.0
    until: float | None = None
    route: str = "subcutaneous"

    def __post_init__(self):
        with blame("dose_mg"):
            why = "80 mg is the highest dose studied in RA"
            set_field(self, "dose_mg", amount("adalimumab dose", self.dose_mg, MAX_ADALIMUMAB_MG, "mg", why))
        with blame("every"):
            every = positive("adalimumab interval `every`", self.every, "days")
            if every < MIN_INTERVAL_DAYS:
                raise RegimenError(f"adalimumab every={fmt(every)} days: the most frequent schedule is weekly (7)")
            set_field(self, "every", every)
        set_window(self, "adalimumab")
        with blame("route"):
            set_field(self, "route", choose_route("adalimumab", self.route))

    @property
    def end(self) -> float:
        return math.inf if self.until is None else self.until

    def lines(self) -> tuple[DoseLine, ...]:
        addl = None if self.until is None else math.ceil((self.until - self.start) / self.every - 1e-9) - 1
        return (DoseLine("adalimumab", self.start, self.dose_mg, "mg", self.route, self.every, addl),)

    def to_dict(self) -> dict:
        d = {"drug": "adalimumab", "dose_mg": self.dose_mg, "every": self.every, "start": self.start}
        d["route"] = self.route
        if self.until is not None:
            d["until"] = self.until
        return d

    def __repr__(self) -> str:
        until = "" if self.until is None else f", until={fmt(self.until)}"
        return f"adalimumab({fmt(self.dose_mg)}, every={fmt(self.every)}, start={fmt(self.start)}{until})"

    def after(self, horizon_days: float) -> tuple[list[str], list[str]]:
        """(refused, notes): a schedule starting after the horizon is refused."""
        return ([f"adalimumab schedule starting on day {fmt(self.start)}"] if self.start > horizon_days else []), []

    @staticmethod
    def check_together(doses: Sequence[AdalimumabDose]) -> None:
        """Refuse two adalimumab schedules in force at once."""
        no_overlap("adalimumab", doses, "end the first with until=")


def adalimumab(
    dose_mg: float = 40.0, *, every: float = 14, start: float = 0, until: float | None = None, route="subcutaneous"
) -> Regimen:
    """Adalimumab ``dose_mg`` (<= 80) subcutaneously every ``every`` days (>= 7) from day
    ``start`` until day ``until`` (exclusive; None runs to the simulation horizon)."""
    from ..regimen import Regimen  # the regimen module imports the drugs

    return Regimen((AdalimumabDose(dose_mg, every, start, until, route),))
