"""Between-patient variability: log-normal parameters and covariates.

A virtual patient is drawn from standard normals and uniforms (generated per
patient outside compiled code, see ``streams.py``):

* parameter ``k`` = typical value x exp(eta_k), eta ~ N(0, Omega), Omega from
  the SDs of log in ``VARIABILITY`` and the correlations in ``CORRELATIONS``
  (``data/variability.csv``, ``data/correlations.csv``);
  draws are clipped to the parameter's plausible range;
* covariates: age (truncated normal), sex, weight (log-normal), serum
  creatinine (log-normal) giving creatinine clearance by Cockcroft-Gault,
  disease duration (log-normal) and seropositivity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, unknown_name
from ..gate import number
from ..model import PARAMETERS, PINDEX, Parameter, parameter
from ..model.parameters import entries
from .arms import Population


def _spreads() -> dict[str, Parameter]:
    """The entries of data/variability.csv (SD of log), each named for a model parameter."""
    spreads = entries("variability")
    unknown = [name for name in spreads if name not in PINDEX]
    if unknown:
        raise ParameterError(f"data/variability.csv: {', '.join(unknown)} are not model parameters")
    return spreads


def _pair(name: str) -> tuple[str, str]:
    """The parameters ``a`` and ``b`` of a correlations entry ``a:b``."""
    a, _, b = name.partition(":")
    if not (a in VARIABILITY and b in VARIABILITY):
        raise ParameterError(f"data/correlations.csv: {name!r} must be two names of data/variability.csv as a:b")
    return a, b


VARIABILITY: dict[str, Parameter] = _spreads()
# Correlations between log-parameters (data/correlations.csv; the other pairs independent).
CORRELATIONS: dict[tuple[str, str], float] = {_pair(name): p.value for name, p in entries("correlations").items()}

# Covariate effect of disease duration (a power law around DURATION_REF years): more
# disability from deformity and comorbidity in established than in early RA (a declared
# population-model term; data/covariate_effects.csv).  Disease duration also sets the fibroblast
# imprinting and the damage accrued before day 0, through the model's own equations (``day0.replay``).
DURATION_REF = 5.0  # years
MAX_LOG_SD = 5.0  # a between-patient SD of log above this (a 150-fold spread) has no meaning
COVARIATE_EFFECTS: dict[str, Parameter] = entries("covariate_effects")

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
    omega = {name: s.value for name, s in VARIABILITY.items()}
    for name, value in (overrides or {}).items():
        parameter(name)  # unknown names raise with suggestions
        omega[name] = number(f"variability of {name!r} (SD of log)", value, 0.0, MAX_LOG_SD, error=ParameterError)
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
        values[name] = number(f"covariate effect {name}", value, entry.low, entry.high, error=ParameterError)
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
