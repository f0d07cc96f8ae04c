"""Between-patient variability: log-normal parameters and covariates.

A virtual patient is drawn from standard normals and uniforms (generated per
patient outside compiled code, see ``streams.py``):

* parameter ``k`` = typical value x exp(eta_k), eta ~ N(0, Omega), Omega from
  the SDs of log in ``VARIABILITY`` and the correlations in ``CORRELATIONS``;
  draws are clipped to the parameter's plausible range;
* covariates: age (truncated normal), sex, weight (log-normal), serum
  creatinine (log-normal) giving creatinine clearance by Cockcroft-Gault,
  disease duration (log-normal) and seropositivity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .. import _calibrated
from ..errors import ParameterError, unknown_name
from ..model import PARAMETERS, PINDEX, Parameter, parameter
from .arms import Population


@dataclass(frozen=True)
class Spread:
    """Between-patient SD of log(parameter) and where it comes from."""

    omega: float
    source: str


_DRIVE = "assumed: spread of disease activity between patients (RADIATE DAS28 SD 1.06)"
VARIABILITY: dict[str, Spread] = {
    "th1_activation": Spread(0.25, _DRIVE),
    "m1_activation": Spread(0.25, _DRIVE),
    "fls_activation": Spread(0.25, _DRIVE),
    "il6_fls": Spread(0.35, "assumed: IL-6 spread; with crp_max gives the CRP spread (RADIATE SD 41 mg/L)"),
    "crp_max": Spread(0.5, "assumed: CRP genotype and hepatic response (RADIATE CRP CV ~110%)"),
    "fib_max": Spread(0.2, "assumed: fibrinogen response (RADIATE ESR CV ~60%)"),
    "esr_healthy_fraction": Spread(0.3, "literature: healthy ESR varies about 2-fold (Miller 1983)"),
    "treg_induction": Spread(0.25, "assumed"),
    "treg_mem_death": Spread(0.4, "assumed: durability differs between patients (Liang 2012, Yang 2017)"),
    "mtx_ec50": Spread(0.8, "literature: CV 86% of the csDMARD response rate (Wojciechowski 2015)"),
    "msc_k_immune": Spread(0.5, "assumed: responders and non-responders to MSCs (Yang 2017: 60%)"),
    "msc_homing_max": Spread(
        1.0,
        "assumed: no human fraction of MSCs homing to joints was found (kinetics "
        "notes, data/references.csv), so a wide between-patient spread; fixed at the top of the SD range "
        "where a fit that included it put it (docs/calibration.md)",
    ),
    "msc_fls_reprogramming": Spread(
        2.5,
        "assumed: fibroblast subsets and their response to MSC "
        "secretome differ between patients (Zhang 2019 Nat Immunol 20:928); "
        "makes durable responders a minority (Yang 2017, Liang 2012)",
    ),
    "tjc_k": Spread(0.3, "assumed: tenderness threshold"),
    "sjc_k": Spread(0.3, "assumed"),
    "tender_floor": Spread(
        0.8, "assumed: pain sensitisation and fibromyalgia overlap in 13-35% of RA (Ranzolin 2009; ACR core-set notes)"
    ),
    "pain_floor": Spread(0.5, "assumed: non-inflammatory pain; discordant high-PRO classes in 12-40% (McWilliams 2016)"),
    "pain_gain": Spread(0.2, "assumed: baseline pain SD 19-22 mm in trials (ACR core-set notes)"),
    "global_floor": Spread(0.5, "assumed: as pain_floor"),
    "global_gain": Spread(0.2, "assumed: baseline patient global SD 18-22 mm"),
    "physician_k": Spread(0.1, "assumed: baseline physician global SD 13-19 mm, smaller than the PROs'"),
    "haq_floor": Spread(0.6, "assumed: disability from deformity and comorbidity (baseline HAQ-DI SD 0.6-0.8)"),
    "haq_gain": Spread(0.35, "assumed"),
    "autoab_max": Spread(0.4, "assumed: RF / anti-CCP titres vary widely"),
}

VARIABILITY.update(
    {name: Spread(value, _calibrated.SOURCE) for name, value in _calibrated.fitted("variability").items()}
)

# Correlations between log-parameters (pairs; the rest independent).
CORRELATIONS: dict[tuple[str, str], float] = {
    ("th1_activation", "m1_activation"): 0.4,
    ("th1_activation", "fls_activation"): 0.4,
    ("m1_activation", "fls_activation"): 0.4,
    # one sensitisation and comorbidity trait raises every non-inflammatory floor; pain and the
    # patient global share most of it (pain explains 76% of PtGA variance, Studenic 2012)
    ("tender_floor", "pain_floor"): 0.6,
    ("tender_floor", "global_floor"): 0.6,
    ("pain_floor", "global_floor"): 0.8,
    ("pain_floor", "haq_floor"): 0.5,
    ("global_floor", "haq_floor"): 0.5,
    ("pain_gain", "global_gain"): 0.8,
    ("pain_gain", "haq_gain"): 0.5,
    ("global_gain", "haq_gain"): 0.5,
}

# Covariate effect of disease duration (a power law around DURATION_REF years): more
# disability from deformity and comorbidity in established than in early RA (a declared
# population-model term).  Disease duration also sets the fibroblast imprinting and the
# damage accrued before day 0, through the model's own equations (``day0.replay``).
DURATION_REF = 5.0  # years
COVARIATE_EFFECTS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter(
            "duration_on_haq_floor",
            0.2,
            "-",
            0.0,
            1.0,
            "exponent of (duration / 5 y) on non-inflammatory disability",
            "assumed: HAQ rises with deformity and comorbidity over the years (RADIATE HAQ 1.7 vs early 1.0)",
        ),
    )
}
COVARIATE_EFFECTS.update(
    {
        name: replace(COVARIATE_EFFECTS[name], value=value, source=_calibrated.SOURCE)
        for name, value in _calibrated.fitted("covariate_effects").items()
    }
)

COVARIATE_NORMALS = ("age", "weight", "creatinine", "duration")
COVARIATE_UNIFORMS = ("female", "seropositive")
SERUM_CREATININE = (0.8, 0.2)  # mg/dL median and SD of log (assumed, normal adult range)


@dataclass(frozen=True)
class Variability:
    """The parameter distribution: names varied, typical values and Cholesky factor."""

    names: tuple[str, ...]
    index: np.ndarray  # parameter indices of names
    chol: np.ndarray  # (k, k) lower Cholesky factor of Omega
    low: np.ndarray
    high: np.ndarray

    @property
    def size(self) -> int:
        return len(self.names)


def variability(overrides: Mapping[str, float] | None = None) -> Variability:
    """The default spreads with ``overrides`` (name -> SD of log, >= 0) applied."""
    omega = {name: s.omega for name, s in VARIABILITY.items()}
    for name, value in (overrides or {}).items():
        parameter(name)  # unknown names raise with suggestions
        value = float(value)
        if not np.isfinite(value) or value < 0.0:
            raise ParameterError(f"variability of {name!r} must be an SD of log >= 0, got {value}")
        omega[name] = value
    names = tuple(omega)
    sd = np.array([omega[n] for n in names])
    corr = np.eye(len(names))
    for (a, b), rho in CORRELATIONS.items():
        if a in omega and b in omega:
            i, j = names.index(a), names.index(b)
            corr[i, j] = corr[j, i] = rho
    chol = np.linalg.cholesky(corr * np.outer(sd, sd) + 1e-300 * np.eye(len(names)))
    idx = np.array([PINDEX[n] for n in names], dtype=np.int64)
    low = np.array([PARAMETERS[i].low for i in idx])
    high = np.array([PARAMETERS[i].high for i in idx])
    return Variability(names, idx, chol, low, high)


def draws_per_candidate(var: Variability) -> int:
    """Standard normals one candidate patient consumes (etas, then covariates)."""
    return var.size + len(COVARIATE_NORMALS)


def covariate_effects(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Covariate-effect exponents: defaults with ``overrides`` applied (checked)."""
    values = {name: p.value for name, p in COVARIATE_EFFECTS.items()}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ParameterError(unknown_name("covariate effect", name, values))
        entry = COVARIATE_EFFECTS[name]
        if not entry.low <= float(value) <= entry.high:
            raise ParameterError(f"covariate effect {name} = {value} is outside [{entry.low}, {entry.high}]")
        values[name] = float(value)
    return values


def sample(
    base: np.ndarray, var: Variability, pop: Population, z: np.ndarray, u: np.ndarray, effects: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Parameter matrix (n, n_params) and covariates for normals ``z`` and uniforms ``u``.

    ``base`` holds the typical values (defaults + overrides); ``z`` (n, >=
    draws_per_candidate) and ``u`` (n, 2) come from the patients' own streams;
    ``effects`` are the covariate-effect exponents (``covariate_effects``)."""
    n = z.shape[0]
    P = np.repeat(base[None, :], n, axis=0)
    cov = _covariates(pop, z[:, var.size : var.size + len(COVARIATE_NORMALS)], u)
    P[:, PINDEX["haq_floor"]] *= (cov["duration"] / DURATION_REF) ** effects["duration_on_haq_floor"]
    # eta = z @ chol.T, written out so that each patient's sum runs in the same order
    # whatever the batch size (BLAS kernels may not: bit-for-bit across chunk sizes)
    eta = (z[:, None, : var.size] * var.chol[None, :, :]).sum(axis=2)
    P[:, var.index] = np.clip(P[:, var.index] * np.exp(eta), var.low, var.high)
    for name in ("age", "female", "weight", "creatinine_clearance", "seropositive"):
        P[:, PINDEX[name]] = cov[name]
    return P, cov


def _covariates(pop: Population, z: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    mean, sd, lo, hi = pop.age
    age = np.clip(mean + sd * z[:, 0], lo, hi)
    female = (u[:, 0] < pop.female).astype(np.float64)
    weight = np.clip(pop.weight[0] * np.exp(pop.weight[1] * z[:, 1]), 35.0, 180.0)
    scr = SERUM_CREATININE[0] * np.exp(SERUM_CREATININE[1] * z[:, 2])
    crcl = (140.0 - age) * weight / (72.0 * scr) * np.where(female > 0, 0.85, 1.0)  # Cockcroft-Gault
    return {
        "age": age,
        "female": female,
        "weight": weight,
        "creatinine_clearance": np.clip(crcl, 15.0, 150.0),
        "duration": pop.duration[0] * np.exp(pop.duration[1] * z[:, 3]),
        "seropositive": (u[:, 1] < pop.seropositive).astype(np.float64),
    }
