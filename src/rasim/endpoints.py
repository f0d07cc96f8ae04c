"""Every output name rasim reports, declared once: kind, display label and unit.

Kinds (``Output.kind``):

* ``ITEM``, a measured item: what a clinic measures at a visit (joint counts,
  ESR, CRP, pain and global VAS, HAQ-DI); in a cohort with measurement error,
  in ``rasim.simulate`` the model's expected value (``Output.model_unit``);
* ``SCORE``, a clinical score computed from items (DAS28-ESR, DAS28-CRP);
* ``BIOMARKER``, a biomarker or expected state: the model's noise-free value;
* ``CRITERION``, a response category, reported as a rate (fraction of patients).

A change from the day-0 (baseline) visit is named by a suffix: ``<name>_change``
(same unit) or ``<name>_pct_change`` (percent); :func:`split` parses it,
:func:`derived` builds it and :func:`derive` computes it, everywhere.

The groups below are ordered views of the registry; each order is meaningful
(measurement-noise columns, file rows, dataset DVIDs) and fixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import OutputError, unknown_name

ITEM, SCORE, BIOMARKER, CRITERION = "measured item", "clinical score", "biomarker", "response category"
CHANGE, PCT_CHANGE = "_change", "_pct_change"
SUFFIXES = (PCT_CHANGE, CHANGE)  # longest first: "CRP_pct_change" is a percent change of CRP


@dataclass(frozen=True)
class Output:
    """One output: ``name`` (as in files and ``res[name]``), ``kind``, display ``label``,
    ``unit``; ``model_unit`` if the noise-free model value reads otherwise (expected joint
    counts, continuous HAQ), ``change_unit`` if a change reads otherwise (score points)."""

    name: str
    kind: str
    label: str
    unit: str
    model_unit: str = ""
    change_unit: str = ""

    @property
    def expected_unit(self) -> str:
        """Unit of the model's expected value (``rasim.model.OBSERVABLES``)."""
        return self.model_unit or self.unit


_VAS = "mm VAS (0-100)"
REGISTRY: dict[str, Output] = {
    o.name: o
    for o in (
        Output("CRP", ITEM, "CRP", "mg/L"),
        Output("ESR", ITEM, "ESR", "mm/h"),
        Output("TJC28", ITEM, "TJC28", "joints (0-28)", "joints (expected, 0-28)"),
        Output("SJC28", ITEM, "SJC28", "joints (0-28)", "joints (expected, 0-28)"),
        Output("pain", ITEM, "pain", _VAS),
        Output("patient_global", ITEM, "patient global", _VAS),
        Output("physician_global", ITEM, "physician global", _VAS),
        Output("HAQ", ITEM, "HAQ-DI", "score 0-3", "HAQ-DI (0-3, continuous)", "points"),
        Output("DAS28_ESR", SCORE, "DAS28-ESR", "score", change_unit="points"),
        Output("DAS28_CRP", SCORE, "DAS28-CRP", "score", change_unit="points"),
        Output("RF", BIOMARKER, "RF", "IU/mL"),
        Output("anti_CCP", BIOMARKER, "anti-CCP", "U/mL"),
        Output("Treg_pct", BIOMARKER, "Treg", "% of CD4+"),
        Output("Th17_pct", BIOMARKER, "Th17", "% of CD4+"),
        Output("TNF", BIOMARKER, "TNF", "pg/mL"),
        Output("IL6", BIOMARKER, "IL-6", "pg/mL"),
        Output("IL17", BIOMARKER, "IL-17", "pg/mL"),
        Output("IL10", BIOMARKER, "IL-10", "pg/mL"),
        Output("TGFb", BIOMARKER, "TGF-b", "ng/mL"),
        Output("cartilage", BIOMARKER, "cartilage", "fraction intact"),
        Output("erosion", BIOMARKER, "erosion", "fraction of bone surface"),
        Output("mTSS", BIOMARKER, "mTSS", "mTSS units (0-448)"),
        Output("EULAR_good", CRITERION, "EULAR good", "fraction"),
        Output("EULAR_moderate", CRITERION, "EULAR moderate", "fraction"),
        Output("EULAR_none", CRITERION, "EULAR no response", "fraction"),
        Output("EULAR_response", CRITERION, "EULAR good or moderate", "fraction"),
        Output("ACR20", CRITERION, "ACR20", "fraction"),
        Output("ACR50", CRITERION, "ACR50", "fraction"),
        Output("ACR70", CRITERION, "ACR70", "fraction"),
        Output("DAS28_remission", CRITERION, "DAS28-ESR < 2.6", "fraction"),
        Output("DAS28_LDA", CRITERION, "DAS28-ESR <= 3.2", "fraction"),
    )
}

# ---- ordered groups (each a view of REGISTRY) ----
MODEL = tuple(n for n, o in REGISTRY.items() if o.kind != CRITERION)  # rasim.model.observables, in order
ITEMS = ("TJC28", "SJC28", "ESR", "CRP", "pain", "patient_global", "physician_global", "HAQ")  # noise columns
SCORES = ("DAS28_ESR", "DAS28_CRP")
BIOMARKERS = (
    "Treg_pct",
    "Th17_pct",
    "TNF",
    "IL6",
    "IL17",
    "IL10",
    "TGFb",
    "RF",
    "anti_CCP",
    "cartilage",
    "erosion",
    "mTSS",
)  # kept per patient beside the measured items and scores
COHORT = (*ITEMS, *SCORES, *BIOMARKERS)  # a cohort's per-patient values
SUMMARY = ("ESR", "CRP", "DAS28_ESR", "DAS28_CRP", "HAQ", "TJC28", "SJC28")  # summary.csv (levels and changes)
DATASET = (*SUMMARY, "pain", "patient_global", "physician_global")  # dataset.csv DV names, DVID = index + 1
CRITERIA = tuple(n for n, o in REGISTRY.items() if o.kind == CRITERION)


def split(name: str) -> tuple[str, str]:
    """(base name, suffix): ``"CRP_pct_change"`` -> ``("CRP", "_pct_change")``, ``"ESR"`` -> ``("ESR", "")``."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def derived(name: str, suffix: str = CHANGE) -> str:
    """The name of ``name``'s change from day 0 (``suffix`` ``_change`` or ``_pct_change``)."""
    if suffix not in SUFFIXES:
        raise OutputError(f"suffix must be one of {', '.join(SUFFIXES)}, got {suffix!r}")
    return name + suffix


def derive(x: np.ndarray, suffix: str) -> np.ndarray:
    """Values of ``x`` (..., days; day 0 first) as named by ``suffix``: ``""`` the levels,
    ``_change`` minus day 0, ``_pct_change`` 100 * change / day 0."""
    if suffix == "":
        return x
    if suffix == CHANGE:
        return x - x[..., :1]
    if suffix == PCT_CHANGE:
        return 100.0 * (x - x[..., :1]) / x[..., :1]
    raise OutputError(f"suffix must be '', {', '.join(repr(s) for s in SUFFIXES)}, got {suffix!r}")


def names(bases: Iterable[str] = MODEL, suffixes: Iterable[str] = ("", CHANGE)) -> list[str]:
    """Every ``base + suffix`` (levels and changes of ``bases`` by default)."""
    return [b + s for b in bases for s in suffixes]


def output(name: str, valid: Iterable[str] | None = None, kind: str = "output") -> Output:
    """The registry entry of ``name`` or of its base for a derived name; an unknown name, or one
    outside ``valid`` (names, derived names included), raises ``OutputError`` naming the closest."""
    base, _ = split(name)
    if name not in REGISTRY and (base not in REGISTRY or REGISTRY[base].kind == CRITERION):
        raise OutputError(
            unknown_name(kind, name, names(REGISTRY) if valid is None else valid, "rasim.endpoints.REGISTRY")
        )
    if valid is not None and name not in set(valid):
        raise OutputError(unknown_name(kind, name, valid, "rasim.endpoints.REGISTRY"))
    return REGISTRY[name] if name in REGISTRY else REGISTRY[base]


def unit(name: str) -> str:
    """Unit of an output or of its change (``DAS28_ESR_change``: points; ``CRP_pct_change``: %)."""
    o = output(name)
    suffix = split(name)[1] if name not in REGISTRY else ""
    return {"": o.unit, CHANGE: o.change_unit or o.unit, PCT_CHANGE: "%"}[suffix]


def label(name: str) -> str:
    """Display label: ``DAS28-ESR``, ``change in DAS28-ESR from day 0``, ..."""
    o = output(name)
    suffix = split(name)[1] if name not in REGISTRY else ""
    return {
        "": o.label,
        CHANGE: f"change in {o.label} from day 0",
        PCT_CHANGE: f"percent change in {o.label} from day 0",
    }[suffix]


def axis_label(name: str) -> str:
    """``label (unit)``: an axis label such as ``DAS28-ESR (score)``."""
    return f"{label(name)} ({unit(name)})"


def _check() -> None:
    groups = {
        "ITEMS": (ITEMS, ITEM),
        "SCORES": (SCORES, SCORE),
        "BIOMARKERS": (BIOMARKERS, BIOMARKER),
        "SUMMARY": (SUMMARY, None),
        "DATASET": (DATASET, None),
        "COHORT": (COHORT, None),
    }
    for group, (members, kind) in groups.items():
        for n in members:
            if n not in REGISTRY or REGISTRY[n].kind == CRITERION or (kind and REGISTRY[n].kind != kind):
                raise AssertionError(f"endpoints.{group}: {n!r} is not a registered {kind or 'output'}")
    if set(COHORT) != set(MODEL):
        raise AssertionError("endpoints.COHORT must hold every model output")


_check()

__all__ = [
    "Output",
    "REGISTRY",
    "ITEM",
    "SCORE",
    "BIOMARKER",
    "CRITERION",
    "CHANGE",
    "PCT_CHANGE",
    "SUFFIXES",
    "MODEL",
    "ITEMS",
    "SCORES",
    "BIOMARKERS",
    "COHORT",
    "SUMMARY",
    "DATASET",
    "CRITERIA",
    "split",
    "derived",
    "derive",
    "names",
    "output",
    "unit",
    "label",
    "axis_label",
]
