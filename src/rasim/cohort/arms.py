"""Trial populations (who enrols, on what entry criteria) and the built-in arms.

The three populations share one parameter distribution (``variability.py``):
their different baselines come from what selects them, as in the trials:
treatment history (a long-running MTX background or none), disease
duration (damage accrued) and entry criteria applied to noisy screening
measurements.  Refractory patients are those still active on MTX, so they
are enriched in poor MTX responders by selection, not by assumption.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import RasimError, unknown_name
from ..regimen import Regimen, msc, mtx


@dataclass(frozen=True)
class Entry:
    """Entry criteria on screening measurements (28-joint counts, mm/h, mg/L).

    DAS28-ESR must be > ``das28_min`` and <= ``das28_max``; TJC28 >= ``tjc_min``,
    SJC28 >= ``sjc_min``; if ``esr_min`` or ``crp_min`` is set, ESR >= esr_min
    or CRP >= crp_min (either acute-phase reactant qualifies)."""

    das28_min: float = 3.2
    das28_max: float = math.inf
    tjc_min: int = 0
    sjc_min: int = 0
    esr_min: float = 0.0
    crp_min: float = 0.0


@dataclass(frozen=True)
class Population:
    """Who a trial enrolled: covariate distributions and entry criteria.

    age: (mean, SD, low, high) years, truncated normal; female: fraction;
    duration: (median years, SD of log) disease duration; seropositive: fraction;
    weight: (median kg, SD of log)."""

    name: str
    description: str
    source: str
    age: tuple[float, float, float, float]
    female: float
    duration: tuple[float, float]
    seropositive: float
    entry: Entry
    weight: tuple[float, float] = (68.0, 0.18)


@dataclass(frozen=True)
class Arm:
    """A regimen given to a population from day 0, on an optional background
    regimen running since long before day 0 (e.g. MTX 15 mg weekly)."""

    name: str
    population: str
    regimen: Regimen = field(default_factory=Regimen)
    background: Regimen | None = None
    description: str = ""


POPULATIONS: dict[str, Population] = {p.name: p for p in (
    Population(
        "refractory", "active RA despite DMARDs (MTX), as the MSC trials and RADIATE enrolled",
        "Emery 2008 (RADIATE) entry and baseline; Wang 2019 ages 18-64",
        age=(53.0, 12.0, 18.0, 80.0), female=0.8, duration=(10.0, 0.6), seropositive=0.8,
        entry=Entry(das28_min=5.1, tjc_min=8, sjc_min=6, esr_min=28.0, crp_min=10.0)),
    Population(
        "moderate_mtx", "moderately active RA despite MTX",
        "Park 2018 (CURE-iv): baseline DAS28 4.53, disease duration 9.5 years",
        age=(55.0, 10.0, 18.0, 80.0), female=0.8, duration=(9.5, 0.5), seropositive=0.8,
        entry=Entry(das28_min=3.2, das28_max=5.1)),
    Population(
        "early_mtx_naive", "early RA (3 months to 2 years), MTX-naive",
        "COMET entry (DAS28 >= 3.2 with ESR >= 28 or CRP >= 20); SWEFOT duration ~6 months",
        age=(52.0, 14.0, 18.0, 85.0), female=0.7, duration=(0.5, 0.6), seropositive=0.7,
        entry=Entry(das28_min=3.2, esr_min=28.0, crp_min=20.0)),
)}

DMARD = mtx(15, every=7)  # the background of patients on DMARDs: oral MTX 15 mg weekly
MSC_TRIAL = msc(4e7, days=[0])  # Wang 2019: one UC-MSC IV infusion of 4e7 cells
MTX_TITRATION = mtx({0: 7.5, 14: 10, 28: 15, 56: 20}, every=7)  # COMET: 7.5 -> 20 mg/week by week 8

ARMS: dict[str, Arm] = {a.name: a for a in (
    Arm("dmard", "refractory", Regimen(), DMARD, "continue DMARD (MTX 15 mg weekly) only"),
    Arm("msc+dmard", "refractory", MSC_TRIAL, DMARD, "one UC-MSC 4e7 IV infusion on day 0 on DMARD"),
    Arm("msc_repeat+dmard", "refractory", msc(4e7, days=[0, 120]), DMARD,
        "UC-MSC 4e7 IV on days 0 and 120 on DMARD"),
    Arm("msc", "refractory", MSC_TRIAL, None, "one UC-MSC 4e7 IV infusion, no DMARD"),
    Arm("mtx_naive", "early_mtx_naive", MTX_TITRATION, None,
        "early RA starting MTX, 7.5 mg/week titrated to 20 mg/week by week 8"),
    Arm("bm_msc+dmard", "refractory",
        msc(1e6, per_kg=True, source="bone_marrow", donor="autologous"), DMARD,
        "autologous bone-marrow MSC 1e6/kg IV on DMARD (Ghoryani 2019)"),
    Arm("ad_msc+dmard", "refractory", msc(2e8, source="adipose", donor="autologous"), DMARD,
        "autologous adipose MSC 2e8 IV on DMARD (Vij 2022)"),
)}


def population(name: str) -> Population:
    """The built-in population ``name`` (unknown names raise with suggestions)."""
    if name not in POPULATIONS:
        raise RasimError(unknown_name("population", name, POPULATIONS))
    return POPULATIONS[name]


def arm(name: str) -> Arm:
    """The built-in arm ``name`` (unknown names raise with suggestions)."""
    if name not in ARMS:
        raise RasimError(unknown_name("arm", name, ARMS))
    return ARMS[name]
