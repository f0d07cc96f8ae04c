"""What a cohort run returns: per-patient values, and summaries reduced in patient order.

Summaries leave out patients whose solve failed (``n_failed``, solver status
codes) and candidates never enrolled (``n_not_enrolled``): ``status_counts``
names every status (``PatientStatus``).  ``CohortSummary`` is the interface that
both per-patient results (``CohortResult``) and summary-only runs
(``StreamingSummary``, ``Cohort.run(keep="summary")``) offer, and all that
tables, figures and ``rasim.files.write_results`` use; ``keeps_patients`` tells
them apart.  Output names are ``rasim.endpoints``'; ``res[name]`` also takes a
change from day 0 (``DAS28_ESR_change``, ``CRP_pct_change``).
Summaries, rates and ``analysed`` values take an analysis rule (``analysis``:
observed, completers, nri, locf; ``rasim.cohort.analysis``), by default the arm's.
Responder criteria compare each visit with the day-0 (baseline) visit:
EULAR response, DAS28 remission (< 2.6) and low activity (<= 3.2) on
DAS28-ESR; ACR20/50/70 on the 28-joint counts, pain, patient and physician
global, HAQ and CRP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .. import clinical, endpoints
from ..errors import OutputError, unknown_name
from . import safety
from .analysis import DROPPED_OUT, RESCUED, AnalysisSet, analysis_set
from .status import PatientStatus, status_counts, status_name  # noqa: F401  (status_name: re-exported)

ENDPOINTS = (*endpoints.SUMMARY, "mTSS")  # summarised (levels and changes from day 0)
CRITERIA = endpoints.CRITERIA
PERCENTILES = (5, 25, 50, 75, 95)
NOT_ENROLLED = int(PatientStatus.NOT_ENROLLED)  # no candidate qualified (``cohort.MAX_CANDIDATES``)
_ACR_KEYS = {
    "tjc": "TJC28",
    "sjc": "SJC28",
    "pain": "pain",
    "patient_global": "patient_global",
    "physician_global": "physician_global",
    "haq": "HAQ",
    "crp": "CRP",
}


@runtime_checkable
class CohortSummary(Protocol):
    """What one arm's results offer, per patient or streamed: counts, summary rows,
    responder rows, frames, and per-day curves for tables and figures."""

    arm: str
    days: np.ndarray
    not_inflamed: int  # candidates redrawn for having no active disease state
    screen_failures: int  # candidates that failed the entry criteria
    timing: dict  # seconds (compile_s, run_s) when run by ``Cohort.run``
    analysis: str  # the rule summaries and rates use (``analysis.ANALYSES``)

    @property
    def keeps_patients(self) -> bool: ...  # per-patient values kept (patients/, dataset.csv, trajectories)
    @property
    def n(self) -> int: ...  # patients whose solve succeeded
    @property
    def n_failed(self) -> int: ...  # enrolled patients whose solve failed
    @property
    def n_not_enrolled(self) -> int: ...  # patients with no qualifying candidate
    @property
    def n_dropped_out(self) -> int: ...  # successful patients who dropped out of the arm
    @property
    def n_rescued(self) -> int: ...  # successful patients rescued (escaped) from the arm
    def status_counts(self) -> dict[str, int]: ...
    def summary(self) -> list[dict]: ...
    def responders(self) -> list[dict]: ...
    def safety(self) -> list[dict]: ...  # safety.csv rows (``safety.table``)
    def mean(self, name: str) -> np.ndarray: ...  # (m,)
    def percentiles(self, name: str) -> np.ndarray: ...  # (len(PERCENTILES), m)
    def rate(self, criterion: str) -> np.ndarray: ...  # (m,) fraction
    def resolved_fraction(self) -> np.ndarray: ...  # (m,)
    def histogram(self, name: str, day: float, edges: np.ndarray) -> np.ndarray: ...  # (len(edges) - 1,)
    def to_frame(self, kind: str = "summary"): ...  # pandas DataFrame: "summary", "responders"


ArmSummary = CohortSummary  # the former name


@dataclass
class CohortResult:
    """Per-patient results of one arm: ``values[name]`` (n, m) at ``days``."""

    arm: str
    population: str
    days: np.ndarray
    status: np.ndarray
    values: dict[str, np.ndarray]
    expected_das28: np.ndarray
    resolved: np.ndarray
    covariates: dict[str, np.ndarray]
    not_inflamed: int
    screen_failures: int
    steps: np.ndarray
    timing: dict[str, float]
    states: np.ndarray | None = None  # (n, m, n_states) with Cohort(dense=True)
    first_id: int = 1  # the dataset.csv ID of patient 0 (arm index * patients + 1 in a scenario)
    exit_visit: np.ndarray | None = None  # (n,) last visit in the randomised arm (None: the last day)
    exit_reason: np.ndarray | None = None  # (n,) analysis.EXITS code (None: every patient completed)
    analysis: str = "observed"  # the default rule of summaries and rates (the arm's)
    events: safety.Events | None = None  # adverse events over each patient's follow-up in the arm

    @classmethod
    def from_chunks(cls, cohort, chunks, timing) -> "CohortResult":
        """Concatenate chunks (in patient order)."""

        def cat(get):
            return np.concatenate([get(ch) for ch in chunks])

        values = {k: cat(lambda ch, k=k: ch.values[k]) for k in chunks[0].values}
        cov = {k: cat(lambda ch, k=k: ch.covariates[k]) for k in chunks[0].covariates}
        dense = cat(lambda ch: ch.states) if cohort.dense else None
        return cls(
            cohort.arm.name,
            cohort.plan.pop.name,
            cohort.plan.t_out,
            cat(lambda ch: ch.status),
            values,
            cat(lambda ch: ch.expected_das28),
            cat(lambda ch: ch.resolved),
            cov,
            sum(ch.not_inflamed for ch in chunks),
            sum(ch.screen_failures for ch in chunks),
            cat(lambda ch: ch.steps),
            timing,
            dense,
            exit_visit=cat(lambda ch: ch.exit_visit),
            exit_reason=cat(lambda ch: ch.exit_reason),
            analysis=cohort.arm.analysis,
            events=safety.Events(
                cat(lambda ch: ch.events.patient + (ch.start - chunks[0].start)),
                cat(lambda ch: ch.events.kind),
                cat(lambda ch: ch.events.day),
                cat(lambda ch: ch.events.at_risk),
            ),
        )

    def safety(self) -> list[dict]:
        """safety.csv rows: adverse events per 100 patient-years from day 0 to each visit."""
        if self.events is None:
            return []
        return safety.table(self.arm, self.days, *safety.cumulative(self.events, self.days))

    # ---- bookkeeping
    keeps_patients = True  # per-patient values (``CohortSummary``)

    @property
    def ok(self) -> np.ndarray:
        """(n,) True for patients whose solve succeeded."""
        return self.status == 0

    @property
    def n(self) -> int:
        """Patients whose solve succeeded."""
        return int(np.sum(self.ok))

    @property
    def n_failed(self) -> int:
        """Enrolled patients whose solve failed (a solver status)."""
        return int(np.sum((self.status != 0) & (self.status != NOT_ENROLLED)))

    @property
    def n_not_enrolled(self) -> int:
        """Patients for whom no candidate qualified."""
        return int(np.sum(self.status == NOT_ENROLLED))

    def status_counts(self) -> dict[str, int]:
        """Patients per status name."""
        return status_counts(self.status)

    @property
    def n_dropped_out(self) -> int:
        """Successful patients who dropped out of the randomised arm."""
        return self._exits(DROPPED_OUT)

    @property
    def n_rescued(self) -> int:
        """Successful patients rescued (escaped) from the randomised arm."""
        return self._exits(RESCUED)

    def _exits(self, code: int) -> int:
        return 0 if self.exit_reason is None else int(np.sum(self.exit_reason[self.ok] == code))

    def analysis_set(self, analysis: str | None = None) -> AnalysisSet:
        """The successful patients as rule ``analysis`` analyses them (None: ``self.analysis``)."""
        m = len(self.days)
        last = np.full(self.n, m - 1) if self.exit_visit is None else self.exit_visit[self.ok]
        return analysis_set(self.analysis if analysis is None else analysis, last, m)

    def analysed(self, name: str, analysis: str | None = None) -> np.ndarray:
        """Values of ``name`` (as ``res[name]``) under rule ``analysis`` (None: ``self.analysis``):
        (patients analysed, m), NaN where a patient's value does not count ("nri": out of the arm)."""
        return self.analysis_set(analysis).values(self[name])

    def __getitem__(self, name: str) -> np.ndarray:
        """Values of ``name`` (n, m) for the successful patients; ``<name>_change`` and
        ``<name>_pct_change`` from day 0 too.  An unknown name raises ``OutputError``."""
        if name in self.values:
            return self.values[name][self.ok]
        base, suffix = endpoints.split(name)
        if suffix and base in self.values:
            return endpoints.derive(self.values[base][self.ok], suffix)
        raise OutputError(unknown_name("output", name, endpoints.names(self.values), "rasim.endpoints"))

    def day_index(self, day: float) -> int:
        """Column of observation ``day`` (must be one of ``days``)."""
        hits = np.flatnonzero(self.days == day)
        if hits.size == 0:
            raise KeyError(f"day {day:g} was not observed; observation days: {self.days.tolist()}")
        return int(hits[0])

    # ---- responders
    def responder_masks(self, analysis: str | None = None) -> dict[str, np.ndarray]:
        """(patients analysed, m) booleans per criterion, against the day-0 visit, under rule
        ``analysis`` (None: ``self.analysis``; "observed": every successful patient)."""
        return self.analysis_set(analysis).masks(responder_masks({k: self[k] for k in self.values}))

    def responders(self, analysis: str | None = None) -> list[dict]:
        """Rows arm, day, criterion, rate, n (patients analysed) under rule ``analysis``."""
        masks = self.responder_masks(analysis)
        n = masks[CRITERIA[0]].shape[0]
        return [
            {
                "arm": self.arm,
                "day": float(d),
                "criterion": c,
                "rate": float(np.mean(masks[c][:, j])) if n else np.nan,
                "n": n,
            }
            for j, d in enumerate(self.days)
            for c in CRITERIA
        ]

    # ---- summaries
    def summary(self, names=ENDPOINTS, analysis: str | None = None) -> list[dict]:
        """Rows arm, day, endpoint, mean, sd, p05, p25, p50, p75, p95, n (levels and *_change)
        under rule ``analysis`` (None: ``self.analysis``; n: the patients counted that day)."""
        aset = self.analysis_set(analysis)
        rows = []
        for name in names:
            x = self[name]
            for suffix in ("", endpoints.CHANGE):
                rows.extend(self._describe(name + suffix, aset.values(endpoints.derive(x, suffix)), aset.seen))
        return rows

    def _describe(self, label: str, data: np.ndarray, seen: np.ndarray | None) -> list[dict]:
        mean, sd, q, n = _stats(data, seen)
        return [
            {
                "arm": self.arm,
                "day": float(d),
                "endpoint": label,
                "mean": float(mean[j]),
                "sd": float(sd[j]),
                **{f"p{p:02d}": float(q[k, j]) for k, p in enumerate(PERCENTILES)},
                "n": int(n[j]),
            }
            for j, d in enumerate(self.days)
        ]

    def resolved_fraction(self) -> np.ndarray:
        """(m,) fraction of the successful patients whose state is past the saddle toward
        remission (the model's state: every successful patient, whatever the analysis rule)."""
        return self.resolved[self.ok].mean(axis=0) if self.n else np.full(len(self.days), np.nan)

    def mean(self, name: str, analysis: str | None = None) -> np.ndarray:
        """(m,) mean of ``name`` over the patients analysed (rule ``analysis``, None: ``self.analysis``)."""
        aset = self.analysis_set(analysis)
        return _stats(aset.values(self[name]), aset.seen)[0]

    def percentiles(self, name: str, analysis: str | None = None) -> np.ndarray:
        """(len(PERCENTILES), m) percentiles of ``name`` over the patients analysed (rule ``analysis``)."""
        aset = self.analysis_set(analysis)
        return _stats(aset.values(self[name]), aset.seen)[2]

    def rate(self, criterion: str, analysis: str | None = None) -> np.ndarray:
        """(m,) fraction of the patients analysed meeting ``criterion`` (rule ``analysis``)."""
        endpoints.output(criterion, CRITERIA, "responder criterion")
        mask = self.responder_masks(analysis)[criterion]
        return mask.mean(axis=0) if mask.shape[0] else np.full(len(self.days), np.nan)

    def histogram(self, name: str, day: float, edges: np.ndarray, analysis: str | None = None) -> np.ndarray:
        """Patients analysed (rule ``analysis``) per bin of ``edges`` of ``name`` (or
        ``<name>_change``) at ``day`` (values beyond the edges counted in the end bins)."""
        aset, j = self.analysis_set(analysis), self.day_index(day)
        v = aset.values(self[name])[:, j]
        v = v if aset.seen is None else v[aset.seen[:, j]]
        return np.histogram(np.clip(v, edges[0], edges[-1]), edges)[0]

    @property
    def ids(self) -> np.ndarray:
        """(n,) patient IDs, as ``ID`` in ``dataset.csv`` and ``id`` in ``patients/``."""
        return np.arange(self.first_id, self.first_id + self.status.shape[0])

    def to_frame(self, kind: str = "summary"):
        """pandas DataFrame of ``summary``, ``responders`` or ``patients``: one row per patient
        and day with id (as in dataset.csv), patient (index), arm, day, status, resolved, the
        measured items and biomarkers, and the covariates (age years, female, weight kg,
        creatinine_clearance mL/min, duration years, seropositive)."""
        import pandas as pd

        if kind != "patients":
            return summary_frame(self, kind)
        n, m = self.status.shape[0], len(self.days)
        data = {
            "id": np.repeat(self.ids, m),
            "patient": np.repeat(np.arange(n), m),
            "arm": np.repeat(self.arm, n * m),
            "day": np.tile(self.days, n),
            "status": np.repeat(self.status, m),
            "resolved": self.resolved.reshape(-1),
        }
        data.update({k: v.reshape(-1) for k, v in self.values.items()})
        data.update({k: np.repeat(v, m) for k, v in self.covariates.items()})
        return pd.DataFrame(data)

    def trajectories(self, kind: str = "auto"):
        """The model states at the observation days by name (``Cohort(dense=True)``).

        kind="xarray" (the default when xarray is installed): a Dataset with one variable
        per state (``rasim.model.STATES``, dims id, day) and the covariates, arm and status
        (dim id); kind="frame": a long pandas DataFrame id, arm, day, state, value."""
        from .. import model

        if self.states is None:
            raise ValueError("no trajectories kept: run the cohort with Cohort(..., dense=True)")
        if kind not in ("auto", "xarray", "frame"):
            raise ValueError(f"kind must be 'auto', 'xarray' or 'frame', got {kind!r}")
        if kind != "frame":
            try:
                import xarray as xr
            except ImportError:
                if kind == "xarray":
                    raise ImportError("trajectories as a Dataset need xarray: pip install rasim[xarray]") from None
            else:
                coords = {"id": self.ids, "day": self.days}
                data: dict[str, tuple[str | tuple[str, str], np.ndarray]] = {
                    name: (("id", "day"), self.states[..., i]) for i, name in enumerate(model.NAMES)
                }
                data.update({k: ("id", v) for k, v in self.covariates.items()})
                data["status"] = ("id", self.status)
                return xr.Dataset(data, coords=coords, attrs={"arm": self.arm, "population": self.population})
        import pandas as pd

        n, m, k = self.states.shape
        return pd.DataFrame(
            {
                "id": np.repeat(self.ids, m * k),
                "arm": np.repeat(self.arm, n * m * k),
                "day": np.tile(np.repeat(self.days, k), n),
                "state": np.tile(np.array(model.NAMES), n * m),
                "value": self.states.reshape(-1),
            }
        )


def responder_masks(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(n, m) booleans per criterion of ``CRITERIA`` from measured ``values`` (n, m; day 0
    first), each visit against the day-0 visit."""
    das, base = values["DAS28_ESR"], values["DAS28_ESR"][:, :1]
    eular = clinical.eular_response(base, das)
    out = {
        "EULAR_good": eular == clinical.EULAR_GOOD,
        "EULAR_moderate": eular == clinical.EULAR_MODERATE,
        "EULAR_none": eular == clinical.EULAR_NONE,
    }
    out["EULAR_response"] = out["EULAR_good"] | out["EULAR_moderate"]
    baseline = {k: values[name][:, :1] for k, name in _ACR_KEYS.items()}
    now = {k: values[name] for k, name in _ACR_KEYS.items()}
    for level in (20, 50, 70):
        out[f"ACR{level}"] = clinical.acr_response(baseline, now, level, apr="crp")
    out["DAS28_remission"] = clinical.in_remission(das)
    out["DAS28_LDA"] = clinical.low_activity(das)
    return out


def _stats(data: np.ndarray, seen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, sd, percentiles (len(PERCENTILES), m), n) per column of ``data`` (n, m) over the
    patients ``seen`` (n, m) counts that day (None: all); NaN statistics where too few."""
    if seen is not None and not seen.all():
        parts = [_stats(data[seen[:, j], j : j + 1]) for j in range(data.shape[1])]
        mean, sd, q, n = (np.concatenate(p, axis=-1) for p in zip(*parts))
        return mean, sd, q, n
    n, m = data.shape
    mean = data.mean(axis=0) if n else np.full(m, np.nan)
    sd = data.std(axis=0, ddof=1) if n > 1 else np.full(m, np.nan)
    q = np.percentile(data, PERCENTILES, axis=0) if n else np.full((len(PERCENTILES), m), np.nan)
    return mean, sd, q, np.full(m, n)


def summary_frame(res: CohortSummary, kind: str):
    """pandas DataFrame of ``res.summary()`` (kind "summary") or ``res.responders()``."""
    import pandas as pd

    if kind == "summary":
        return pd.DataFrame(res.summary())
    if kind == "responders":
        return pd.DataFrame(res.responders())
    raise ValueError(f"kind must be 'summary', 'responders' or 'patients', got {kind!r}")


PAIRED_TESTS = ("t", "log-t", "wilcoxon")  # trial_replicates' analyses of change from baseline


def trial_replicates(
    res: CohortResult,
    trials: int = 1000,
    size: int = 64,
    days=(365, 1095),
    markers=("ESR", "CRP", "DAS28_ESR", "HAQ", "RF", "anti_CCP"),
    alpha: float = 0.05,
    seed: int = 0,
    test: str = "t",
) -> dict[str, dict[float, float]]:
    """Virtual trials of ``size`` patients drawn from the cohort (without replacement):
    for each marker and day, the fraction of trials in which a two-sided paired test
    against baseline gives p < alpha with the marker below baseline (the 3-year trial's claim).

    ``test``: "t", Student's paired t-test on the values (below: the mean); "log-t", on their
    logarithms (the geometric mean; markers must be positive); "wilcoxon", the signed-rank test
    (the median change)."""
    from scipy.stats import ttest_rel, wilcoxon

    if test not in PAIRED_TESTS:
        raise ValueError(unknown_name("paired test", str(test), PAIRED_TESTS))
    ok = np.flatnonzero(res.ok)
    if ok.size < size:
        raise ValueError(f"the cohort has {ok.size} successful patients, fewer than a trial of {size}")
    rng = np.random.default_rng(seed)
    picks = np.stack([rng.choice(ok, size=size, replace=False) for _ in range(trials)])
    out: dict[str, dict[float, float]] = {}
    for name in markers:
        x = res.values[name]
        if test == "log-t" and np.any(x[ok] <= 0):
            raise ValueError(f"the log-t test needs positive values; {name} has values <= 0")
        out[name] = {}
        for day in days:
            j = res.day_index(day)
            base, now = x[picks, 0], x[picks, j]
            if test == "wilcoxon":
                change = now - base
                p = wilcoxon(change, axis=1).pvalue
                below = (p < alpha) & (np.median(change, axis=1) < 0)
            else:
                if test == "log-t":
                    base, now = np.log(base), np.log(now)
                p = ttest_rel(now, base, axis=1).pvalue
                below = (p < alpha) & (now.mean(axis=1) < base.mean(axis=1))
            out[name][float(day)] = float(np.mean(below))
    return out
