"""Trial populations (who enrols, on what entry criteria) and the built-in arms.

The populations share one parameter distribution (``variability.py``):
their different baselines come from what selects them, as in the trials:
treatment history (a long-running MTX background or none), disease
duration (damage accrued) and entry criteria applied to noisy screening
measurements.  Refractory patients are those still active on MTX, so they
are enriched in poor MTX responders by selection, not by assumption.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..clinical import ESR_CEILING, das28_esr
from ..errors import RasimError, unknown_name
from ..gate import got, number
from ..regimen import Regimen, msc, mtx
from .analysis import Dropout, Rescue, check_analysis

ACUTE_PHASE = ("either", "esr", "crp", "both")
DAS28_HIGHEST = float(das28_esr(28, 28, ESR_CEILING, 100.0))  # the most any patient can score
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*\Z")


@dataclass(frozen=True)
class Entry:
    """Entry criteria on screening measurements (28-joint counts, ESR mm/h, CRP mg/L).

    DAS28-ESR must be > ``das28_min`` and <= ``das28_max``; TJC28 >= ``tjc_min``,
    SJC28 >= ``sjc_min``; ``acute_phase`` says which reactant must reach its
    minimum: "either" (ESR >= esr_min or CRP >= crp_min; no test when both
    minima are 0), "esr", "crp" or "both"."""

    das28_min: float = 3.2
    das28_max: float = math.inf
    tjc_min: int = 0
    sjc_min: int = 0
    esr_min: float = 0.0
    crp_min: float = 0.0
    acute_phase: str = "either"

    def __post_init__(self):
        for name, high in (("das28_min", 10.0), ("das28_max", math.inf)):  # stored as floats
            object.__setattr__(self, name, number(f"entry {name}", getattr(self, name), 0.0, high, inf_ok=True))
        if self.das28_max <= self.das28_min:
            raise RasimError(f"entry das28_max ({self.das28_max:g}) must be above das28_min ({self.das28_min:g})")
        for name in ("tjc_min", "sjc_min"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 28:
                raise RasimError(f"entry {name} must be a whole number of joints in 0..28, got {v!r}")
        object.__setattr__(self, "esr_min", number("entry esr_min (mm/h)", self.esr_min, 0.0, ESR_CEILING))
        object.__setattr__(self, "crp_min", number("entry crp_min (mg/L)", self.crp_min, 0.0, 400.0))
        if self.das28_min >= DAS28_HIGHEST:
            raise RasimError(
                f"entry das28_min = {self.das28_min:g}: nobody can enter; DAS28-ESR is at most {DAS28_HIGHEST:.2f} "
                f"(28 tender and 28 swollen joints, ESR {ESR_CEILING:g} mm/h, patient global 100)"
            )
        if not isinstance(self.acute_phase, str) or self.acute_phase not in ACUTE_PHASE:
            raise RasimError(
                unknown_name("acute_phase", str(self.acute_phase), ACUTE_PHASE) + f" Valid: {', '.join(ACUTE_PHASE)}."
            )


@dataclass(frozen=True)
class Population:
    """Who a trial enrolled: covariate distributions, entry criteria, treatment history.

    age: (mean, SD, min, max) years, truncated normal; female: fraction;
    duration: (median years, SD of log) disease duration; seropositive: fraction;
    weight: (median kg, SD of log); background: the regimen patients were on at
    screening (day 0 settles under it, and it runs until day 0, where the arm's own
    background takes over); None: screened on the arm's background."""

    name: str
    description: str = ""
    source: str = ""
    age: tuple[float, float, float, float] = (53.0, 12.0, 18.0, 80.0)
    female: float = 0.8
    duration: tuple[float, float] = (5.0, 0.6)
    seropositive: float = 0.8
    entry: Entry = field(default_factory=Entry)
    weight: tuple[float, float] = (68.0, 0.18)
    background: Regimen | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise RasimError(f"population name must be letters, digits and _ . + = -, got {self.name!r}")
        if not isinstance(self.age, (tuple, list)) or len(self.age) != 4:
            raise RasimError(f"population age must be (mean, sd, min, max) years, got {self.age!r}")
        mean, sd, lo, hi = (
            number(f"age {k} (years)", v, 18.0, 90.0) if k != "sd" else number("age sd (years)", v, 0.0, 50.0)
            for k, v in zip(("mean", "sd", "min", "max"), self.age)
        )
        if not lo <= mean <= hi or lo >= hi:
            raise RasimError(
                f"population age needs min < max and mean within them, got mean {mean:g}, min {lo:g}, max {hi:g}"
            )
        object.__setattr__(self, "age", (mean, sd, lo, hi))
        for name, (lo_m, hi_m, unit) in {"duration": (0.01, 60.0, "years"), "weight": (35.0, 180.0, "kg")}.items():
            v = getattr(self, name)
            if not isinstance(v, (tuple, list)) or len(v) != 2:
                raise RasimError(f"population {name} must be (median {unit}, sd_log), got {v!r}")
            object.__setattr__(
                self,
                name,
                (
                    number(f"{name} median ({unit})", v[0], lo_m, hi_m),
                    number(f"{name} sd_log", v[1], 0.0, 2.0),
                ),
            )
        number("female (fraction)", self.female, 0.0, 1.0)
        number("seropositive (fraction)", self.seropositive, 0.0, 1.0)
        if not isinstance(self.entry, Entry):
            raise RasimError(f"population entry must be an Entry, got {self.entry!r}")
        if self.background is not None and not isinstance(self.background, Regimen):
            raise RasimError(f"population background must be a Regimen or None, got {self.background!r}")


@dataclass(frozen=True)
class Arm:
    """A regimen given to a population from day 0, on an optional background
    regimen running since long before day 0 (e.g. MTX 15 mg weekly).
    ``population``: a built-in name (``POPULATIONS``) or a ``Population``;
    ``dropout``, ``rescue``: how patients leave the randomised arm, and ``analysis``
    the rule its summaries use by default (``rasim.cohort.analysis``)."""

    name: str
    population: str | Population
    regimen: Regimen = field(default_factory=Regimen)
    background: Regimen | None = None
    description: str = ""
    dropout: Dropout | None = None
    rescue: Rescue | None = None
    analysis: str = "observed"

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise RasimError(f"Arm.name: expected letters, digits and _ . + = -, got {got(self.name)}")
        if isinstance(self.population, str):
            if self.population not in POPULATIONS:
                raise RasimError("Arm.population: " + unknown_name("population", self.population, POPULATIONS))
        elif not isinstance(self.population, Population):
            raise RasimError(f"Arm.population: expected a population name or a Population, got {got(self.population)}")
        for key in ("regimen", "background"):
            value = getattr(self, key)
            if not isinstance(value, Regimen) and not (key == "background" and value is None):
                raise RasimError(f"Arm.{key}: expected a Regimen (e.g. msc(4e7) + mtx(15)), got {got(value)}")
        if not isinstance(self.description, str):
            raise RasimError(f"Arm.description: expected a string, got {got(self.description)}")
        for key, kind in (("dropout", Dropout), ("rescue", Rescue)):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), kind):
                raise RasimError(f"arm {key} must be a {kind.__name__} or None, got {getattr(self, key)!r}")
        check_analysis(self.analysis)

    @property
    def pop(self) -> Population:
        """The ``Population`` (a built-in name looked up)."""
        return self.population if isinstance(self.population, Population) else population(self.population)


POPULATIONS: dict[str, Population] = {
    p.name: p
    for p in (
        Population(
            "refractory",
            "active RA despite DMARDs (MTX), as the MSC trials and RADIATE enrolled",
            "Emery 2008 (RADIATE) entry and baseline; Wang 2019 ages 18-64",
            age=(53.0, 12.0, 18.0, 80.0),
            female=0.8,
            duration=(10.0, 0.6),
            seropositive=0.8,
            entry=Entry(das28_min=5.1, tjc_min=8, sjc_min=6, esr_min=28.0, crp_min=10.0),
        ),
        Population(
            "mtx_inadequate",
            "active RA despite MTX (MTX-inadequate responders), as add-on trials of biologics enrolled",
            "RAPID 2, KAKEHASI, OPTION entry (tender >= 8/68 and swollen >= 6/66 joints, CRP >= 10 mg/L "
            "or ESR >= 28 mm/h, on MTX); disease duration 5-8 years (RAPID 2 5.6, SB5 5.5, MOBILITY A 8.1)",
            age=(52.0, 12.0, 18.0, 80.0),
            female=0.8,
            duration=(6.0, 0.7),
            seropositive=0.8,
            entry=Entry(das28_min=3.2, tjc_min=6, sjc_min=5, esr_min=28.0, crp_min=10.0),
        ),
        Population(
            "moderate_mtx",
            "moderately active RA despite MTX",
            "Park 2018 (CURE-iv): baseline DAS28 4.53, disease duration 9.5 years",
            age=(55.0, 10.0, 18.0, 80.0),
            female=0.8,
            duration=(9.5, 0.5),
            seropositive=0.8,
            entry=Entry(das28_min=3.2, das28_max=5.1),
        ),
        Population(
            "early_mtx_naive",
            "early RA (3 months to 2 years), MTX-naive",
            "COMET entry (DAS28 >= 3.2 with ESR >= 28 or CRP >= 20); SWEFOT duration ~6 months",
            age=(52.0, 14.0, 18.0, 85.0),
            female=0.7,
            duration=(0.5, 0.6),
            seropositive=0.7,
            entry=Entry(das28_min=3.2, esr_min=28.0, crp_min=20.0),
        ),
        Population(
            "early_das28",
            "early RA, MTX-naive, entered on DAS28 alone (no acute-phase minimum)",
            "SWEFOT entry (DAS28 > 3.2, symptoms < 1 year; baseline DAS28 5.7, ESR 56 mm/h) and the "
            "real-world early-RA cohort starting MTX (DAS28 5.7)",
            age=(52.0, 14.0, 18.0, 85.0),
            female=0.7,
            duration=(0.5, 0.6),
            seropositive=0.7,
            entry=Entry(das28_min=3.2),
        ),
    )
}

DMARD = mtx(15, every=7)  # the background of patients on DMARDs: oral MTX 15 mg weekly
MSC_TRIAL = msc(4e7, days=[0])  # Wang 2019: one UC-MSC IV infusion of 4e7 cells
MTX_TITRATION = mtx({0: 7.5, 14: 10, 28: 15, 56: 20}, every=7)  # COMET: 7.5 -> 20 mg/week by week 8

ARMS: dict[str, Arm] = {
    a.name: a
    for a in (
        Arm("dmard", "refractory", Regimen(), DMARD, "continue DMARD (MTX 15 mg weekly) only"),
        Arm("msc+dmard", "refractory", MSC_TRIAL, DMARD, "one UC-MSC 4e7 IV infusion on day 0 on DMARD"),
        Arm(
            "mtx_ir",
            "mtx_inadequate",
            Regimen(),
            DMARD,
            "MTX-inadequate responders continuing MTX 15 mg weekly (placebo + MTX)",
        ),
        Arm(
            "msc_repeat+dmard", "refractory", msc(4e7, days=[0, 120]), DMARD, "UC-MSC 4e7 IV on days 0 and 120 on DMARD"
        ),
        Arm("msc", "refractory", MSC_TRIAL, None, "one UC-MSC 4e7 IV infusion, no DMARD"),
        Arm(
            "mtx_naive",
            "early_mtx_naive",
            MTX_TITRATION,
            None,
            "early RA starting MTX, 7.5 mg/week titrated to 20 mg/week by week 8",
        ),
        Arm(
            "mtx_early",
            "early_das28",
            MTX_TITRATION,
            None,
            "early RA entered on DAS28 alone starting MTX, 7.5 mg/week titrated to 20 mg/week by week 8",
        ),
        Arm(
            "bm_msc+dmard",
            "refractory",
            msc(1e6, per_kg=True, source="bone_marrow", donor="autologous"),
            DMARD,
            "autologous bone-marrow MSC 1e6/kg IV on DMARD (Ghoryani 2019)",
        ),
        Arm(
            "ad_msc+dmard",
            "refractory",
            msc(2e8, source="adipose", donor="autologous"),
            DMARD,
            "autologous adipose MSC 2e8 IV on DMARD (Vij 2022)",
        ),
    )
}


def population(name: str) -> Population:
    """The built-in population ``name`` (unknown names raise with suggestions)."""
    if not isinstance(name, str) or name not in POPULATIONS:
        raise RasimError(unknown_name("population", str(name), POPULATIONS))
    return POPULATIONS[name]


def arm(name: str) -> Arm:
    """The built-in arm ``name`` (unknown names raise with suggestions)."""
    if not isinstance(name, str) or name not in ARMS:
        raise RasimError(unknown_name("arm", str(name), ARMS))
    return ARMS[name]
