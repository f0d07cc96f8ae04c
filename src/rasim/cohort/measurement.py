"""Measurement as a clinic sees it: noisy, rounded items and the scores computed from them.

From the model's expected values (``rasim.model.observables``) and standard
normals drawn per patient and visit:

* joint counts: integers 0-28, 28 * expit(logit(expected / 28) + joint_logit_sd * z);
* ESR: log-normal around the expected value, whole mm/h >= 1;
* CRP: log-normal (day-to-day biological and assay variation), mg/L;
* pain, patient and physician global: expected + vas_sd * z, clipped to 0-100 mm;
* HAQ-DI: expected + haq_sd * z, in steps of 0.125 within 0-3;
* DAS28-ESR and DAS28-CRP from those measured items (published formulas).

Placebo (declared term): after enrolment, patient-reported items (pain,
patient global, HAQ) read lower by a fraction ``placebo_pro`` reached with
time constant ``placebo_onset``; it models expectation and contact effects in
any trial arm and touches no model state.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import _calibrated, clinical
from ..model.parameters import Parameter

ITEMS = ("TJC28", "SJC28", "ESR", "CRP", "pain", "patient_global", "physician_global", "HAQ")
PRO_ITEMS = ("pain", "patient_global", "HAQ")

MEASUREMENT: dict[str, Parameter] = {p.name: p for p in (
    Parameter("joint_logit_sd", 0.45, "logit", 0.2, 1.0,
              "visit-to-visit noise of 28-joint counts (examiner and day-to-day)",
              "literature: TJC28/SJC28 test-retest SD about 2-4 joints"),
    Parameter("esr_log_sd", 0.15, "log", 0.05, 0.3, "ESR measurement and day-to-day variation",
              "assumed: within-patient ESR CV ~15%"),
    Parameter("crp_log_sd", 0.3, "log", 0.1, 0.6, "CRP day-to-day variation",
              "literature: within-subject CRP CV ~30-40%"),
    Parameter("vas_sd", 10.0, "mm", 5.0, 20.0, "VAS test-retest noise (pain, globals)",
              "literature: VAS test-retest SD about 10 mm"),
    Parameter("haq_sd", 0.15, "HAQ units", 0.05, 0.3, "HAQ-DI test-retest noise",
              "literature: HAQ-DI smallest detectable difference ~0.2"),
    Parameter("placebo_pro", 0.1, "-", 0.0, 0.3,
              "fraction by which patient-reported items read lower after enrolment",
              "calibrated: RADIATE placebo + MTX ACR20 10% at 24 weeks"),
    Parameter("placebo_onset", 14.0, "days", 3.0, 60.0, "time constant of the placebo effect",
              "assumed"),
)}


MEASUREMENT.update({name: replace(MEASUREMENT[name], value=value, source=_calibrated.SOURCE)
                    for name, value in _calibrated.fitted("measurement").items()})


def settings(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Measurement settings: defaults with ``overrides`` applied."""
    values = {name: p.value for name, p in MEASUREMENT.items()}
    for name, value in (overrides or {}).items():
        if name not in values:
            from ..errors import ParameterError, unknown_name
            raise ParameterError(unknown_name("measurement setting", name, values))
        values[name] = float(value)
    return values


def measure(expected: dict[str, np.ndarray], z: np.ndarray, days: np.ndarray,
            s: dict[str, float]) -> dict[str, np.ndarray]:
    """Measured items and DAS28s for expected values (n, m) and normals z (n, m, len(ITEMS)).

    ``days`` (m,) since enrolment (<= 0: screening/baseline, no placebo)."""
    zi = {name: z[..., k] for k, name in enumerate(ITEMS)}
    out: dict[str, np.ndarray] = {}
    for name in ("TJC28", "SJC28"):
        frac = np.clip(expected[name] / 28.0, 1e-4, 1.0 - 1e-4)
        logit = np.log(frac / (1.0 - frac)) + s["joint_logit_sd"] * zi[name]
        out[name] = np.rint(28.0 / (1.0 + np.exp(-logit)))
    out["ESR"] = clinical.round_esr(expected["ESR"] * np.exp(s["esr_log_sd"] * zi["ESR"]))
    out["CRP"] = np.maximum(expected["CRP"], 0.1) * np.exp(s["crp_log_sd"] * zi["CRP"])
    placebo = 1.0 - s["placebo_pro"] * (1.0 - np.exp(-np.maximum(days, 0.0) / s["placebo_onset"]))
    for name in ("pain", "patient_global", "physician_global"):
        value = expected[name] * (placebo if name in PRO_ITEMS else 1.0)
        out[name] = np.clip(value + s["vas_sd"] * zi[name], 0.0, 100.0)
    out["HAQ"] = clinical.round_haq(expected["HAQ"] * placebo + s["haq_sd"] * zi["HAQ"])
    out["DAS28_ESR"] = clinical.das28_esr(out["TJC28"], out["SJC28"], out["ESR"], out["patient_global"])
    out["DAS28_CRP"] = clinical.das28_crp(out["TJC28"], out["SJC28"], out["CRP"], out["patient_global"])
    return out


def qualifies(measured: dict[str, np.ndarray], entry) -> np.ndarray:
    """Entry criteria (``arms.Entry``) met by screening measurements (n,)."""
    das = measured["DAS28_ESR"]
    ok = (das > entry.das28_min) & (das <= entry.das28_max)
    ok &= (measured["TJC28"] >= entry.tjc_min) & (measured["SJC28"] >= entry.sjc_min)
    if entry.esr_min > 0 or entry.crp_min > 0:
        ok &= (measured["ESR"] >= entry.esr_min) | (measured["CRP"] >= entry.crp_min)
    return ok
