"""Clinical observables computed from model states (vectorised numpy).

Mappings (all monotone in inflammation and damage):

* synovitis = the clinical synovitis state, (FLS - 1)+ + (M1 - 1)+ remodelled over weeks;
* damage = (1 - cartilage) + erosion, in [0, 2];
* SJC28 = 28 s^2 / (s^2 + sjc_k^2), s = synovitis;
* TJC28 = 28 d^2 / (d^2 + tjc_k^2), d = synovitis + damage_weight * damage;
* pain, patient global (0-100 mm) = 100 x / (x + k), x = d + pain_floor;
* physician global = 100 s / (s + physician_k);
* HAQ-DI = 3 h / (h + haq_k), h = d + haq_floor (continuous; clinics round it);
* ESR = healthy median (age, sex) * (fibrinogen / esr_fib_ref)^esr_fib_exponent
  * (1 + esr_ig_gain * (autoab - autoab_basal)+): fibrinogen (days) and
  immunoglobulins (months; the autoantibody state stands for them), bounded smoothly by the
  Westergren column (``clinical.ESR_CEILING``, 150 mm/h) and floored at 1 mm/h;
* DAS28-ESR and DAS28-CRP by the published formulas (``rasim.clinical``)
  on these expected values.
"""

from __future__ import annotations

import numpy as np

from .. import clinical
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


def observables(states: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """All observables for ``states`` (..., n_states) under parameters ``p``.

    ``p`` is one parameter vector or one per leading index of ``states``
    (e.g. patients x times x states with p of shape patients x params)."""
    y = np.asarray(states, dtype=np.float64)
    nd = y.ndim

    def s(name):
        return y[..., INDEX[name]]

    def q(name):
        return _param(p, name, nd)

    synovitis = np.maximum(s("synovitis"), 0.0)
    damage = np.clip(1.0 - s("cartilage"), 0.0, 1.0) + np.clip(s("erosion"), 0.0, 1.0)
    drive = synovitis + q("damage_weight") * damage
    sjc = 28.0 * synovitis**2 / (synovitis**2 + q("sjc_k") ** 2)
    tjc = 28.0 * drive**2 / (drive**2 + q("tjc_k") ** 2)
    pain_drive = drive + q("pain_floor")
    pain = 100.0 * pain_drive / (pain_drive + q("pain_k"))
    gh = 100.0 * pain_drive / (pain_drive + q("global_k"))
    haq_drive = drive + q("haq_floor")
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
        "physician_global": 100.0 * synovitis / (synovitis + q("physician_k")),
        "HAQ": 3.0 * haq_drive / (haq_drive + q("haq_k")),
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
    }
