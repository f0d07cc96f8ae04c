"""Measurement as a clinic sees it: noisy, rounded items and the scores computed from them.

From the model's states read at the visit's joint activity (``rasim.model.observables``
with ``activity = exp(flare_sd * f)``) and standard normals drawn per patient and visit:

* joint counts: integers 0-28, 28 * expit(logit(expected / 28) + joint_logit_sd * z);
* ESR: log-normal around the expected value times exp(flare_apr * flare_sd * f), whole mm/h >= 1;
* CRP: log-normal (day-to-day biological and assay variation) around the same, mg/L;
* pain, patient and physician global: expected + vas_sd * z, clipped to 0-100 mm;
* HAQ-DI: expected + haq_sd * z, in steps of 0.125 within 0-3;
* DAS28-ESR and DAS28-CRP from those measured items (published formulas).

Within-patient fluctuation: joint activity waxes and wanes over weeks (flares)
beyond what the model's systemic state carries.  ``f`` is a stationary
Ornstein-Uhlenbeck path in SD units with correlation time ``flare_days``,
sampled at screening (``screening_days`` before day 0), then daily, and read
at every visit (``visit_noise``: keyed by visit day).  It scales the synovitis every
clinical item reads, so joint counts, pain, the globals and HAQ move together with it,
and the acute-phase reactants follow it by ``flare_apr``; patients who qualify on a flare
at screening drift back afterwards: regression to the mean continues past baseline, in
every item, as in a placebo arm.

Placebo (declared terms): after enrolment, items read lower by a fraction reached with
time constant ``placebo_onset``: ``placebo_pro`` on what the patient reports (pain,
patient global, HAQ), ``placebo_assessor`` on what the assessor examines and judges (tender
and swollen joints, physician global), who knows the patient is treated: the two joint counts
fall alike in every placebo arm that reports both (MOBILITY A -32% and -39%, DE007 -17% and
-14%, RAPID 2 -3.8 and -2.7 joints).  The physician global carries both terms, its factor
(1 - assessor share) (1 - patient's share): the physician examines the joints and hears the
patient, and in every placebo arm that reports all items it falls more than pain or the
patient global (RAPID 2, MOBILITY A, KAKEHASI).  Both terms scale with the patient's own
responsiveness, log-normal with mean 1 and SD of log ``placebo_sd``: placebo responses differ
between patients, and a patient who responds does so on every subjective item at once.  The placebo
acts on what is left to relieve: its share on an item is scaled by the item's expected value
at the visit over its value on day 0 (at most 1), so a patient whose joints a drug has
already calmed gains less from expectation than one on placebo alone: placebo and drug
effects do not add (assumed: a ceiling on the relief, the reading Bechman 2020 gives of
placebo responses that rose over two decades against agents with a ceiling to their effect).
They model expectation and contact effects in any trial arm and touch no model state; the
acute-phase reactants carry none.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import ndtri

from .. import clinical, endpoints
from ..errors import ParameterError, unknown_name
from ..gate import LIMITS, number
from ..model.parameters import Parameter, entries, is_fraction
from . import streams

ITEMS = endpoints.ITEMS  # the order of the noise columns
N_NORMALS = len(ITEMS) + 1  # standard normals per visit: one per item, then the flare innovation
PRO_ITEMS = ("pain", "patient_global", "HAQ")  # placebo_pro
ASSESSOR_ITEMS = ("TJC28", "SJC28", "physician_global")  # placebo_assessor (the physician global: and placebo_pro)

MEASUREMENT: dict[str, Parameter] = entries("measurement")  # data/measurement.csv, calibration applied
_DIVISORS = ("flare_days", "placebo_onset")  # measure() and flare_path divide by them: must be > 0


# What a setting can mean, by unit: a VAS item is on 0-100 mm, HAQ on 0-3, an SD of a log or
# logit beyond 5 (a 150-fold spread) is no measurement noise; days within the horizon ceiling.
MEANING_MAX = {"mm": 100.0, "HAQ units": 3.0, "log": 5.0, "logit": 5.0, "days": LIMITS["days"], "-": 10.0}


def settings(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Measurement settings: defaults with ``overrides`` applied, each a finite number
    >= 0 (> 0 for ``flare_days`` and ``placebo_onset``; a fraction, such as ``placebo_pro``,
    at most 1) within what its unit can mean (``MEANING_MAX``)."""
    values = {name: p.value for name, p in MEASUREMENT.items()}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ParameterError(unknown_name("measurement setting", name, values))
        entry = MEASUREMENT[name]
        high = 1.0 if is_fraction(entry) else MEANING_MAX[entry.unit]
        values[name] = number(
            f"measurement setting {name}",
            value,
            0.0,
            high,
            open_low=name in _DIVISORS,
            unit=f"({entry.unit})",
            error=ParameterError,
        )
    return values


RESPONSIVENESS_CODE = np.uint64(1 << 63)  # the counter of a patient's own normal (no visit day reaches it)


def visit_noise(
    seed: int, key: int, patients: np.ndarray, days: np.ndarray, f_screen: np.ndarray, s: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item noise (n, m, len(ITEMS)), fluctuation (n, m) at visit ``days`` (m,) and placebo
    responsiveness (n,) (a standard normal per patient) of ``patients``.

    Keyed by visit day, so adding or dropping a visit changes nothing at the others: each
    visit's item noise is a function of the patient's key and the day (to 1/1000 day,
    ``keyed_normals``), the fluctuation is one daily path per patient (``flare_path``)
    read at the visit days, and the responsiveness is the patient's own keyed normal."""
    codes = np.rint(np.asarray(days, dtype=np.float64) * 1000).astype(np.uint64)
    keys = streams.seed_words(seed, key, patients, 2, n_words=1)[:, 0]
    steps = int(np.ceil(max(days) + s["screening_days"])) + 1
    innovations = np.array([g.standard_normal(steps) for g in streams.generators(seed, key, patients, 1)]).reshape(
        len(patients), steps
    )
    own = keyed_normals(keys, np.array([RESPONSIVENESS_CODE]), 1)[:, 0, 0]
    return keyed_normals(keys, codes, len(ITEMS)), flare_path(f_screen, innovations, days, s), own


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective 64-bit hash (uint64 arithmetic wraps)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def keyed_normals(keys: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Standard normals (n, m, k), each a function of (keys[i], codes[j], item) only:
    counter-based (splitmix64 hashes of the key and counter, to 53-bit uniforms, inverse
    normal CDF), so any subset of days gets the same values, vectorised."""
    counter = codes[None, :, None] * np.uint64(k + 1) + np.arange(1, k + 1, dtype=np.uint64)[None, None, :]
    bits = _mix(keys[:, None, None] ^ _mix(counter * np.uint64(0x9E3779B97F4A7C15)))
    u = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return ndtri(u)


@njit(cache=True, error_model="numpy")
def _ar1(first, z, rho, gain):
    """path[:, 0] = first, path[:, k] = gain z[:, k] + rho path[:, k - 1] (n, steps)."""
    n, steps = z.shape
    path = np.empty((n, steps))
    for i in range(n):
        path[i, 0] = first[i]
        for k in range(1, steps):
            path[i, k] = gain * z[i, k] + rho * path[i, k - 1]
    return path


def flare_path(f_screen: np.ndarray, z: np.ndarray, days: np.ndarray, s: dict[str, float]) -> np.ndarray:
    """Fluctuation (n, m) at visit ``days`` (m,): a unit Ornstein-Uhlenbeck process with
    correlation time ``flare_days``, ``f_screen`` (n,) at screening (day -screening_days),
    stepped exactly (AR(1)) on a daily grid from there with innovations ``z`` (n, steps),
    and read at the visit days (linear between grid days)."""
    rho = np.exp(-1.0 / s["flare_days"])
    path = _ar1(
        np.ascontiguousarray(f_screen, dtype=np.float64),
        np.ascontiguousarray(z, dtype=np.float64),
        float(rho),
        float(np.sqrt(1.0 - rho * rho)),
    )
    x = np.asarray(days, dtype=np.float64) + s["screening_days"]  # grid position of each visit
    lo = np.minimum(np.floor(x).astype(np.int64), path.shape[1] - 2)
    w = x - lo
    return path[:, lo] * (1.0 - w) + path[:, lo + 1] * w


def activity(flare: np.ndarray, s: dict[str, float]) -> np.ndarray:
    """Joint-activity factor exp(flare_sd * f) of fluctuation ``flare`` (SD units): what
    ``rasim.model.observables(..., activity=...)`` multiplies the synovitis by."""
    return np.exp(s["flare_sd"] * flare)


def placebo_factors(
    days: np.ndarray, s: dict[str, float], responsiveness: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Factor (n, m) on each item at ``days`` (m,) since enrolment: 1 - fraction * (1 -
    exp(-days / placebo_onset)), the fraction ``placebo_pro`` or ``placebo_assessor`` times the
    patient's responsiveness exp(placebo_sd * r - placebo_sd^2 / 2) (mean 1; r (n,) standard
    normals, None: 1), at most 0.95; the physician global's is the product of both factors;
    1 for the acute-phase reactants and at days <= 0."""
    onset = 1.0 - np.exp(-np.maximum(days, 0.0) / s["placebo_onset"])
    if responsiveness is not None:
        sd = s["placebo_sd"]
        onset = onset * np.exp(sd * np.asarray(responsiveness)[:, None] - 0.5 * sd * sd)
    out = {name: 1.0 - np.minimum(s["placebo_pro"] * onset, 0.95) for name in PRO_ITEMS}
    out.update({name: 1.0 - np.minimum(s["placebo_assessor"] * onset, 0.95) for name in ASSESSOR_ITEMS})
    out["physician_global"] = out["physician_global"] * out["pain"]  # the physician hears the patient too
    return out


def _within_room(placebo: dict[str, np.ndarray], expected: dict[str, np.ndarray], days) -> dict[str, np.ndarray]:
    """Placebo factors (n, m) acting on what is left to relieve: each item's placebo share
    times min(1, expected / expected on day 0), 1 - (1 - factor) * room.  Unchanged where
    day 0 is not among ``days`` (room 1)."""
    days = np.asarray(days, dtype=np.float64)
    if not np.any(days == 0.0):
        return placebo
    j0 = int(np.flatnonzero(days == 0.0)[0])
    out = {}
    for name, factor in placebo.items():
        base = expected[name][:, j0 : j0 + 1]
        room = np.clip(np.divide(expected[name], base, out=np.ones_like(expected[name]), where=base > 0), 0.0, 1.0)
        out[name] = 1.0 - (1.0 - factor) * room
    return out


def measure(
    expected: dict[str, np.ndarray],
    z: np.ndarray,
    days: np.ndarray,
    s: dict[str, float],
    flare: np.ndarray,
    responsiveness: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Measured items and DAS28s for expected values (n, m) read at the visits' joint activity
    (``activity``), normals z (n, m, >= len(ITEMS)), the patients' fluctuation ``flare``
    (n, m) (``flare_path``) and placebo responsiveness (n,) (``placebo_factors``).

    ``days`` (m,) since enrolment (<= 0: screening/baseline, no placebo)."""
    zi = {name: z[..., k] for k, name in enumerate(ITEMS)}
    out: dict[str, np.ndarray] = {}
    placebo = _within_room(placebo_factors(days, s, responsiveness), expected, days)
    for name in ("TJC28", "SJC28"):
        frac = np.clip(expected[name] * placebo[name] / 28.0, 1e-4, 1.0 - 1e-4)
        logit = np.log(frac / (1.0 - frac)) + s["joint_logit_sd"] * zi[name]
        out[name] = np.rint(28.0 / (1.0 + np.exp(-logit)))
    apr = np.exp(s["flare_apr"] * s["flare_sd"] * flare)
    out["ESR"] = clinical.round_esr(expected["ESR"] * apr * np.exp(s["esr_log_sd"] * zi["ESR"]))
    out["CRP"] = np.maximum(expected["CRP"], 0.1) * apr * np.exp(s["crp_log_sd"] * zi["CRP"])
    for name in ("pain", "patient_global", "physician_global"):
        out[name] = np.clip(expected[name] * placebo[name] + s["vas_sd"] * zi[name], 0.0, 100.0)
    out["HAQ"] = clinical.round_haq(expected["HAQ"] * placebo["HAQ"] + s["haq_sd"] * zi["HAQ"])
    out["DAS28_ESR"] = clinical.das28_esr(out["TJC28"], out["SJC28"], out["ESR"], out["patient_global"])
    out["DAS28_CRP"] = clinical.das28_crp(out["TJC28"], out["SJC28"], out["CRP"], out["patient_global"])
    return out


def qualifies(measured: dict[str, np.ndarray], entry) -> np.ndarray:
    """Entry criteria (``arms.Entry``) met by screening measurements (n,)."""
    das = measured["DAS28_ESR"]
    ok = (das > entry.das28_min) & (das <= entry.das28_max)
    ok &= (measured["TJC28"] >= entry.tjc_min) & (measured["SJC28"] >= entry.sjc_min)
    esr, crp = measured["ESR"] >= entry.esr_min, measured["CRP"] >= entry.crp_min
    if entry.acute_phase == "esr":
        return ok & esr
    if entry.acute_phase == "crp":
        return ok & crp
    if entry.acute_phase == "both":
        return ok & esr & crp
    return ok & (esr | crp) if entry.esr_min > 0 or entry.crp_min > 0 else ok
