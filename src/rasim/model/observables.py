"""Clinical observables computed from model states (vectorised numpy).

Mappings (all monotone in inflammation and damage):

* synovitis s = the clinical synovitis state, (FLS - 1)+ + (M1 - 1)+ remodelled over weeks,
  times the visit's ``activity`` factor (the within-patient fluctuation of joint activity,
  ``rasim.cohort.measurement``; 1 without it);
* damage = (1 - cartilage) + erosion, in [0, 2];
* SJC28 = 28 s^2 / (s^2 + sjc_k^2);
* TJC28 = 28 d^2 / (d^2 + tjc_k^2), d = s (1 + damage_weight * damage) + tender_floor: inflamed
  joints are more tender in a sensitised patient, and sensitisation grows with structural damage
  (TJC28 > SJC28, more so in long disease, and both fall together when synovitis does);
  ``tender_floor`` is tenderness without synovitis (fibromyalgia overlap);
* pain, patient global (0-100 mm) = floor + gain * s, capped at 100: a part that does not follow
  synovitis (``pain_floor``, ``global_floor``: sensitisation, comorbidity) and one that does;
* physician global = 100 (1 - exp(-s / physician_k)) (the physician rates the joints);
* HAQ-DI = haq_floor + haq_gain * s, capped at 3 (continuous; clinics round it);
* ESR = healthy median (age, sex) * (fibrinogen / esr_fib_ref)^esr_fib_exponent
  * (1 + esr_ig_gain * (autoab - autoab_basal)+): fibrinogen (days) and
  immunoglobulins (months; the autoantibody state stands for them), bounded smoothly by the
  Westergren column (``clinical.ESR_CEILING``, 150 mm/h) and floored at 1 mm/h;
* DAS28-ESR and DAS28-CRP by the published formulas (``rasim.clinical``)
  on these expected values;
* mTSS, the modified total Sharp/van der Heijde score (0-448: erosions 0-280 plus joint
  space narrowing 0-168) = the ``radiographic`` state, which accrues with damage formation and
  is never repaired (``equations.py``; docs/radiographic.md).
"""

from __future__ import annotations

import numpy as np

from .. import clinical
from . import forcing
from ..endpoints import MODEL, REGISTRY
from .parameters import PINDEX
from .states import INDEX

OBSERVABLES: dict[str, str] = {name: REGISTRY[name].expected_unit for name in MODEL}  # name -> unit


def _param(p: np.ndarray, name: str, state_ndim: int) -> np.ndarray | float:
    """Parameter ``name`` from a vector (n_params,) or a batch (n, n_params), broadcast over time."""
    value = p[..., PINDEX[name]]
    if np.ndim(value) == 0:
        return float(value)
    return value.reshape(value.shape + (1,) * (state_ndim - 1 - value.ndim))


def esr_healthy(age, female):
    """Healthy median ESR (mm/h): a fraction of Miller's upper limit age/2 ((age + 10)/2 for women)."""
    return (age + 10.0 * female) / 2.0


def _bounded_esr(raw: np.ndarray) -> np.ndarray:
    """ESR (mm/h) within the Westergren column: a smooth minimum of ``raw`` and
    ``clinical.ESR_CEILING`` (within 1% of raw below 60% of the ceiling), >= ESR_FLOOR."""
    ratio = raw / clinical.ESR_CEILING
    return np.maximum(raw / (1.0 + ratio**6) ** (1.0 / 6.0), clinical.ESR_FLOOR)


def observables(
    states: np.ndarray, p: np.ndarray, activity: np.ndarray | None = None, exposure: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """All observables for ``states`` (..., n_states) under parameters ``p``.

    ``p`` is one parameter vector or one per leading index of ``states``
    (e.g. patients x times x states with p of shape patients x params);
    ``activity`` (broadcast to ``states.shape[:-1]``) multiplies the synovitis the
    clinical items read (a visit's joint-activity fluctuation; None: 1); ``exposure``
    (..., n_forcings), the drugs' exposures at the same times (``forcing.exposures_at``),
    scales the tenderness, pain and patient global synovitis causes by the drugs acting at
    ``nociception`` (NSAIDs; None: no drug)."""
    y = np.asarray(states, dtype=np.float64)
    nd = y.ndim

    def s(name):
        return y[..., INDEX[name]]

    def q(name):
        return _param(p, name, nd)

    synovitis = np.maximum(s("synovitis"), 0.0) * (1.0 if activity is None else activity)
    damage = np.clip(1.0 - s("cartilage"), 0.0, 1.0) + np.clip(s("erosion"), 0.0, 1.0)
    felt = synovitis * (1.0 if exposure is None else forcing.observed_factor(p, exposure, forcing.H_NOCICEPTION))
    tender = felt * (1.0 + q("damage_weight") * damage) + q("tender_floor")
    sjc = 28.0 * synovitis**2 / (synovitis**2 + q("sjc_k") ** 2)
    tjc = 28.0 * tender**2 / (tender**2 + q("tjc_k") ** 2)
    pain = np.minimum(q("pain_floor") + q("pain_gain") * felt, 100.0)
    gh = np.minimum(q("global_floor") + q("global_gain") * felt, 100.0)
    esr_median = q("esr_healthy_fraction") * esr_healthy(q("age"), q("female"))
    fib = np.maximum(s("fibrinogen"), 0.0)
    ig = 1.0 + q("esr_ig_gain") * np.maximum(s("autoab") - q("autoab_basal"), 0.0)
    esr = _bounded_esr(esr_median * (fib / q("esr_fib_ref")) ** q("esr_fib_exponent") * ig)
    crp = np.maximum(s("crp"), 0.0)
    return {
        "CRP": crp,
        "ESR": esr,
        "TJC28": tjc,
        "SJC28": sjc,
        "pain": pain,
        "patient_global": gh,
        "physician_global": 100.0 * (1.0 - np.exp(-synovitis / q("physician_k"))),
        "HAQ": np.minimum(q("haq_floor") + q("haq_gain") * synovitis, 3.0),
        "DAS28_ESR": clinical.das28_esr(tjc, sjc, esr, gh),
        "DAS28_CRP": clinical.das28_crp(tjc, sjc, crp, gh),
        "RF": q("rf_scale") * s("autoab"),
        "anti_CCP": q("ccp_scale") * s("autoab"),
        "Treg_pct": s("treg") + s("treg_mem"),
        "Th17_pct": s("th17"),
        "TNF": s("tnf"),
        "IL6": s("il6"),
        "IL17": s("il17"),
        "IL10": s("il10"),
        "TGFb": s("tgfb"),
        "cartilage": s("cartilage"),
        "erosion": s("erosion"),
        "mTSS": np.maximum(s("radiographic"), 0.0),
    }
