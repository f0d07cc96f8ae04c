"""Calibration targets (``data/targets.csv``, copied from the evidence with sources)
and the simulated value of each in its own population and arm.

Each row names the analysis population its trial reported on (``analysis``:
``rasim.cohort.analysis.ANALYSES``; empty: ``observed``, every patient at every
visit).  Only the rows with ``use == "calibrate"`` are fitted; ``check`` rows are
qualitative findings tested in ``tests/test_calibration.py``; ``context``
rows are reported, not fitted.  Tolerances: DAS28 levels and
changes 0.3, HAQ 0.15, other levels (ESR, CRP, joint counts, VAS) and between-patient
SDs (statistic ``sd``) 15 %, responder rates 10 percentage points; each widened to twice
the target's standard error where that is larger.  A rate's standard error is Agresti and
Coull's (``rate_se``): the Wald error sqrt(p (1 - p) / n) is 0 at 0 % or 100 % however small
the arm (0 of 7 would be exact), and too small near them.  ``tools/calibrate.py`` fits ``FITTED``
and writes ``data/calibrated.json``, which the parameter tables (``rasim.model.parameters``)
read at import.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np

from . import endpoints
from .cohort import ARMS, CRITERIA, Arm, Cohort
from .cohort.analysis import Dropout, Rescue, check_analysis
from .cohort.arms import DMARD
from .errors import RasimError
from .model import parameter_vector
from .model.balance import balanced
from .regimen import msc

# Arms the targets are simulated in: the built-in arms, Park 2018's moderate population
# (cord-blood MSC 2.5e7-1e8 pooled: the middle dose, 5e7), and the trials whose conduct after
# randomisation shapes their figures, each with its published rule (``DESIGNS``).
ESCAPE_WEEK16 = Rescue(112.0, 112.0)  # < 20% better in both TJC and SJC at week 16
# Scheduled visits of a trial arm with dropout (days apart): a patient's last visit before
# withdrawing is what LOCF carries forward (RA trials visit every 4 weeks, e.g. TEMPO to week 16).
VISIT_EVERY = 28.0
DESIGNS: dict[str, Arm] = {
    # RAPID 1/2: ACR20 non-responders at week 16 withdrawn (counted as non-responders);
    # "either count short of 20%" stands for ACR20 non-response
    "mtx_ir+withdraw16": replace(
        ARMS["mtx_ir"], name="mtx_ir+withdraw16", rescue=Rescue(112.0, 112.0, short_in="either")
    ),
    # OPTION, LITHE, TOWARD: tocilizumab escape from week 16 for < 20% improvement in SJC and TJC;
    # GO-FORWARD: early escape at week 16 on the same rule
    "mtx_ir+escape16": replace(ARMS["mtx_ir"], name="mtx_ir+escape16", rescue=ESCAPE_WEEK16),
    # GO-AFTER: early escape at week 16 (week-16 values carried forward)
    "dmard+escape16": replace(ARMS["dmard"], name="dmard+escape16", rescue=ESCAPE_WEEK16),
    # MTX arms of early-RA trials analysed by intention to treat with non-responder imputation;
    # withdrawal as in TEMPO's MTX arm (48% by 2 years: hazard -ln(0.52) / 2 y), the one sourced rate
    "mtx_naive+itt": replace(ARMS["mtx_naive"], name="mtx_naive+itt", dropout=Dropout(0.327)),
    # He 2020: 30 of 32 completed 48 weeks (hazard -ln(30/32) / (336 / 365.25 y))
    "msc+dmard+he": replace(ARMS["msc+dmard"], name="msc+dmard+he", dropout=Dropout(0.070)),
}
TARGET_ARMS: dict[str, Arm] = {
    "dmard": ARMS["dmard"],
    "mtx_naive": ARMS["mtx_naive"],
    "msc+dmard": ARMS["msc+dmard"],
    "mtx_ir": ARMS["mtx_ir"],
    "mtx_early": ARMS["mtx_early"],
    "park": Arm("msc+dmard", "moderate_mtx", msc(5e7), DMARD, "Park 2018: cord-blood MSC on MTX"),
    **DESIGNS,
}
# The arm of each trial run under its own design (the rows' ``analysis`` says how it reported).
ARM_OF_TRIAL = {
    "rapid1": "mtx_ir+withdraw16",
    "rapid2": "mtx_ir+withdraw16",
    "option": "mtx_ir+escape16",
    "lithe": "mtx_ir+escape16",
    "toward": "mtx_ir+escape16",
    "goforward": "mtx_ir+escape16",
    "goafter": "dmard+escape16",
    "he": "msc+dmard+he",
    "premier": "mtx_naive+itt",
    "aspire": "mtx_naive+itt",
    # MTX arms reported at 1-2 years by intention to treat (NRI or LOCF), withdrawal rate unpublished
    "tempo": "mtx_naive+itt",
    "era": "mtx_naive+itt",
    "us301": "mtx_naive+itt",
    "mn302": "mtx_naive+itt",
    # MTX arms of early-RA trials analysed by non-responder imputation (rows' analysis "nri"),
    # at TEMPO's withdrawal rate (SELECT-EARLY: 89% completed 24 weeks, about the same)
    "rabegin": "mtx_naive+itt",
    "selearly": "mtx_naive+itt",
}
ARM_OF_TARGET = {"park-das": "park", "park-esr": "park"}

# The fitted subset: (table, name).  Everything else keeps its literature or assumed value.
FITTED: tuple[tuple[str, str], ...] = (
    ("params", "mtx_ec50"),
    ("params", "mtx_emax_m"),
    ("params", "fls_autonomy"),
    ("params", "esr_healthy_fraction"),
    ("params", "tjc_k"),
    ("params", "damage_weight"),
    ("params", "haq_floor"),
    ("params", "haq_gain"),
    ("measurement", "flare_sd"),
    ("measurement", "placebo_pro"),
    ("measurement", "placebo_assessor"),
    ("measurement", "placebo_sd"),
    ("variability", "mtx_emax_m"),
    ("params", "msc_fls_reprogramming"),
    ("covariate_effects", "duration_on_haq_floor"),
)


@dataclass(frozen=True)
class Target:
    """One row of targets.csv with its tolerance."""

    id: str
    source: str
    arm: str
    endpoint: str
    day: float
    statistic: str
    value: float
    spread: float
    n: float
    use: str
    note: str
    analysis: str = "observed"  # the analysis population reported on (``analysis.ANALYSES``)

    def __post_init__(self):
        try:
            check_analysis(self.analysis)
        except RasimError as e:
            raise RasimError(f"target {self.id}: analysis: {e}") from None

    @property
    def is_rate(self) -> bool:
        return self.endpoint in CRITERIA

    @property
    def tolerance(self) -> float:
        """The row's tolerance (see the module docstring), widened to 2 standard errors of the target where larger."""
        if self.is_rate or endpoints.split(self.endpoint)[1] == endpoints.PCT_CHANGE:
            base = 0.10 if self.is_rate else 10.0
            se = rate_se(self.value, self.n) if self.is_rate and self.n > 0 else 0.0
        elif self.statistic == "sd":  # a between-patient SD: 15 % of it, as for levels
            base, se = 0.15 * abs(self.value), self.value / math.sqrt(2.0 * (self.n - 1)) if self.n > 1 else 0.0
        elif self.endpoint.startswith("DAS28"):
            base, se = 0.3, self._se()
        elif self.endpoint.startswith("HAQ"):
            base, se = 0.15, self._se()
        else:  # ESR, CRP levels and changes: 15 % of the level
            base, se = 0.15 * abs(self.value), self._se()
        return max(base, 2.0 * se)

    def _se(self) -> float:
        return self.spread / math.sqrt(self.n) if self.spread > 0 and self.n > 0 else 0.0


def rate_se(p: float, n: float) -> float:
    """Standard error of a proportion ``p`` of ``n`` patients by Agresti and Coull (1998, Am Stat
    52:119): the Wald error at p~ = (x + 2) / (n + 4) with n + 4 patients (x = p n), the
    interval that keeps its 95 % coverage for small arms and rates near 0 or 1."""
    x, m = p * n + 2.0, n + 4.0
    return math.sqrt(x / m * (1.0 - x / m) / m)


def _float(text: str) -> float:
    return float(text) if text.strip() else math.nan


def targets(use: str | None = "calibrate", path=None) -> list[Target]:
    """Rows of the package's targets.csv, or of another file with its columns
    at ``path`` (all rows if ``use`` is None)."""
    path = path or resources.files("rasim") / "data" / "targets.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = [
        Target(
            r["id"],
            r["source"],
            ARM_OF_TARGET.get(r["id"], ARM_OF_TRIAL.get(r["id"].split("-")[0], r["arm"])),
            r["endpoint"],
            _float(r["day"]),
            r["statistic"],
            _float(r["value"]),
            _float(r["spread"]),
            _float(r["n"]),
            r["use"],
            r["note"],
            r.get("analysis") or "observed",
        )
        for r in rows
    ]
    return [t for t in out if use is None or t.use == use]


def overrides_from(x: np.ndarray) -> dict[str, dict[str, float]]:
    """Calibration tables (params / balance / variability / measurement / covariate_effects)
    from a FITTED vector; "balance" holds the production constants recomputed at the
    fitted parameters (``rasim.model.balance``), so both reference states stay steady."""
    out: dict[str, dict[str, float]] = {"params": {}, "variability": {}, "measurement": {}, "covariate_effects": {}}
    for (table, name), value in zip(FITTED, x):
        out[table][name] = float(value)
    out["balance"] = balanced(parameter_vector(out["params"]))
    return out


def simulate_targets(
    tlist: list[Target],
    overrides: dict | None = None,
    patients: int = 300,
    seed: int = 2026,
    threads: int | None = None,
    rtol: float = 1e-4,
    arms: dict[str, Arm] | None = None,
) -> list[tuple[Target, float, float]]:
    """(target, simulated value, Monte Carlo standard error) for each target.

    ``overrides``: Cohort keyword tables (params, variability, measurement,
    covariate_effects), optionally with "balance" (merged into params);
    ``arms``: the arm of each target's ``arm`` key (default ``TARGET_ARMS``).  An arm is observed
    on its targets' days, its rescue day and, with dropout, every ``VISIT_EVERY`` days."""
    arms = TARGET_ARMS if arms is None else arms
    overrides = dict(overrides or {})
    if "balance" in overrides:
        overrides["params"] = {**overrides.pop("balance"), **overrides.get("params", {})}
    results = {}
    for key in sorted({t.arm for t in tlist}):
        rescue = arms[key].rescue
        days = sorted({0.0, *(t.day for t in tlist if t.arm == key), *([rescue.start] if rescue else [])})
        if arms[key].dropout is not None:  # the trial's visits: LOCF carries the last before withdrawal
            days = sorted({*days, *np.arange(VISIT_EVERY, days[-1], VISIT_EVERY).tolist()})
        days += [1.0] if days == [0.0] else []  # a cohort runs for at least a day
        cohort = Cohort(arms[key], patients=patients, seed=seed, observe=tuple(days), rtol=rtol, **overrides)
        results[key] = cohort.run(threads=threads)
    return [(t, *_simulated(results[t.arm], t)) for t in tlist]


def _simulated(res, t: Target) -> tuple[float, float]:
    """Mean (or median) of a level, change or percent change, or a responder rate, at t.day, on
    the target's analysis population (completers: in the arm at the cohort's last day, the
    arm's last target day)."""
    j = res.day_index(t.day)
    if t.is_rate:
        hits = res.responder_masks(t.analysis)[t.endpoint][:, j]
        p = float(np.mean(hits))
        return p, math.sqrt(max(p * (1 - p), 1e-12) / max(hits.size, 1))
    aset = res.analysis_set(t.analysis)
    data = aset.values(res[t.endpoint])[:, j]  # a level, or its change or percent change from day 0
    data = data[aset.in_arm[:, j]] if t.analysis == "nri" else data  # "nri": the observed cases
    sd = float(np.std(data, ddof=1)) if len(data) > 1 else math.nan
    if t.statistic == "sd":  # the between-patient SD; its standard error for a normal sample
        return sd, sd / math.sqrt(2.0 * (len(data) - 1)) if len(data) > 1 else math.nan
    value = float(np.median(data)) if t.statistic == "median" else float(np.mean(data))
    return value, sd / math.sqrt(len(data))


def markdown_table(rows: list[tuple[Target, float, float]]) -> tuple[list[str], int]:
    """Markdown rows (published, simulated +/- MC error, tolerance, pass/fail) and the pass count."""
    lines = [
        "| target | source | arm | endpoint | day | published | simulated | tolerance | result |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    n_pass = 0
    for t, sim, se in rows:
        ok = abs(sim - t.value) <= t.tolerance
        n_pass += ok
        lines.append(
            f"| {t.id} | {t.source} | {t.arm} | {t.endpoint} | {t.day:g} | {t.value:g} | "
            f"{sim:.3g} +/- {se:.2g} | {t.tolerance:.3g} | {'pass' if ok else '**fail**'} |"
        )
    return lines, n_pass


ACR = ("ACR20", "ACR50", "ACR70")


def staircase_table(fits: list[tuple[Target, float, float]]) -> list[str]:
    """Markdown rows: per trial, arm and day with an ACR rate, the ACR20/50/70 staircase
    published against simulated (in %; "-" where the trial's rate is not a row)."""
    steps: dict[tuple[str, str, float], dict[str, tuple[float, float]]] = {}
    for t, sim, _ in fits:
        if t.endpoint in ACR:
            steps.setdefault((trial_of(t), t.arm, t.day), {})[t.endpoint] = (t.value, sim)
    lines = [
        "| trial | arm | day | published ACR20 / 50 / 70 (%) | simulated ACR20 / 50 / 70 (%) |",
        "|---|---|---:|---|---|",
    ]
    for (trial, arm, day), got in sorted(steps.items()):
        pub, simulated = (" / ".join(f"{100 * got[k][i]:.0f}" if k in got else "-" for k in ACR) for i in (0, 1))
        lines.append(f"| {trial} | {arm} | {day:g} | {pub} | {simulated} |")
    return lines


def residuals(fits: list[tuple[Target, float, float]]) -> np.ndarray:
    """(simulated - published) / tolerance per target."""
    return np.array([(sim - t.value) / t.tolerance for t, sim, _ in fits])


def trial_of(t: Target) -> str:
    """The trial a target row belongs to: the prefix of its id (``he-das-30`` -> ``he``)."""
    return t.id.split("-")[0]


@dataclass(frozen=True)
class Uncertainty:
    """Approximate parameter uncertainty from the residual Jacobian at the optimum.

    ``se_log``: standard errors of log(parameter) (about the relative SE);
    ``correlation``: their correlation matrix; ``s2``: residual variance
    SSR / (m - p) that scales the covariance (1 when m <= p)."""

    se_log: np.ndarray
    correlation: np.ndarray
    s2: float

    def flagged_pairs(self, threshold: float = 0.9) -> list[tuple[int, int, float]]:
        """(i, j, r) for every pair with |r| > threshold, strongest first."""
        n = len(self.se_log)
        pairs = [
            (i, j, float(self.correlation[i, j]))
            for i in range(n)
            for j in range(i + 1, n)
            if abs(self.correlation[i, j]) > threshold
        ]
        return sorted(pairs, key=lambda x: -abs(x[2]))


def uncertainty(jac: np.ndarray, resid: np.ndarray) -> Uncertainty:
    """Gauss-Newton covariance s2 (J^T J)^-1 of the fitted log-parameters.

    ``jac`` (m, p): d residual / d log(parameter); ``resid`` (m,).  A parameter
    with a component along a direction the targets cannot see (a singular value
    below 1e-8 of the largest) gets an infinite SE and NaN correlations."""
    m, p = jac.shape
    s2 = float(resid @ resid) / (m - p) if m > p else 1.0
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    seen = sv > sv[0] * 1e-8
    cov = (vt[seen].T / sv[seen] ** 2) @ vt[seen] * s2
    blind = np.any(np.abs(vt[~seen]) > 1e-6, axis=0)
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    sd[blind] = np.inf
    corr[blind, :] = np.nan
    corr[:, blind] = np.nan
    return Uncertainty(sd, corr, s2)


def refit_step(
    jac: np.ndarray, resid: np.ndarray, logx: np.ndarray, lo: np.ndarray, hi: np.ndarray, damping: float = 1.0
) -> np.ndarray:
    """One damped Gauss-Newton (Levenberg-Marquardt) refit from log-parameters ``logx``.

    Minimises |resid + jac d|^2 + damping^2 |d|^2 over the step d (log units), with
    ``jac`` (m, p) and ``resid`` (m,) the rows kept in the refit; the result is
    clipped to the log bounds ``lo``, ``hi``.  ``damping`` (residual/tolerance per
    log unit) keeps directions the kept rows barely see near the full fit."""
    p = jac.shape[1]
    a = np.vstack([jac, damping * np.eye(p)])
    b = np.concatenate([-resid, np.zeros(p)])
    step = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.clip(logx + step, lo, hi)


def load_calibrated() -> dict:
    """The committed calibration (``data/calibrated.json``), or empty tables."""
    path = resources.files("rasim") / "data" / "calibrated.json"
    if not path.is_file():
        return {"params": {}, "variability": {}, "measurement": {}, "covariate_effects": {}}
    return json.loads(path.read_text())
