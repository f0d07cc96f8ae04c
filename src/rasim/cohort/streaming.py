"""Summary-only cohorts: memory that does not grow with the number of patients.

Each chunk is folded into running statistics and dropped:

* exact moments: count, sum and sum of squares per endpoint and day, added
  patient by patient in patient order (``np.cumsum`` is sequential), so the
  result is the same bit for bit whatever the chunk size;
* quantiles from fixed-bin histograms (integer counts, exact to merge): a
  reported percentile is the centre of the bin where the cumulative count
  crosses it, within ``QUANTILE_ERROR[endpoint]`` (half a bin) of the exact
  sample percentile's bin.  Values outside a histogram's range are counted in
  an underflow and an overflow bin (``outside``); a percentile that falls there
  is reported as the range's edge, with a warning that it lies beyond it;
* responder counts per criterion and day, the resolved count, and patients
  per status (``n_failed`` solver failures apart from ``n_not_enrolled``);
* under the arm's analysis rule (``analysis``; ``rasim.cohort.analysis``): the patients
  analysed (``n_analysed``, the denominator of rates) and, per day, those whose levels
  and changes count (``counted``), and the patients who dropped out or were rescued.

``to_arrays``/``from_arrays`` save and restore the exact state, so a run
resumed after an interruption gives the same numbers bit for bit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import endpoints
from ..errors import OutputError, unknown_name
from . import safety
from .result import CRITERIA, ENDPOINTS, NOT_ENROLLED, PERCENTILES, CohortResult, summary_frame
from .status import status_counts

# (low, high, bin width) of each endpoint's histogram; changes use (-span, span).
BINS = {
    "ESR": (0.0, 200.0, 0.5),
    "CRP": (0.0, 400.0, 0.25),
    "DAS28_ESR": (0.0, 10.0, 0.005),
    "DAS28_CRP": (0.0, 10.0, 0.005),
    "HAQ": (-0.0625, 3.0625, 0.125),
    "TJC28": (-0.5, 28.5, 1.0),
    "SJC28": (-0.5, 28.5, 1.0),
    "mTSS": (0.0, 448.0, 0.25),
}
QUANTILE_ERROR = {name: w / 2 for name, (_, _, w) in BINS.items()}
KEEP_HISTOGRAMS = ("DAS28_ESR_change",)  # kept once an arm is finished (``histogram``, figures)


def _edges(name: str) -> tuple[float, float, float]:
    base, suffix = endpoints.split(name)
    if base not in BINS or suffix not in ("", endpoints.CHANGE):
        raise OutputError(unknown_name("summarised output", name, endpoints.names(BINS), "rasim.cohort.ENDPOINTS"))
    lo, hi, w = BINS[base]
    if suffix:
        span = hi - lo
        return -span, span, w
    return lo, hi, w


@dataclass
class StreamingSummary:
    """Running statistics of one arm at ``days`` (a ``CohortSummary`` without patients)."""

    arm: str
    days: np.ndarray
    n: int = 0  # patients whose solve succeeded
    status: dict = field(default_factory=dict)  # status code -> patients
    sums: dict = field(default_factory=dict)  # name -> (2, m): sum, sum of squares
    hist: dict = field(default_factory=dict)  # name -> (m, bins) int64
    responder_counts: dict = field(default_factory=dict)  # criterion -> (m,) int64
    resolved: np.ndarray | None = None
    not_inflamed: int = 0  # candidates redrawn for having no active disease state
    screen_failures: int = 0  # candidates that failed the entry criteria
    timing: dict = field(default_factory=dict)
    analysis: str = "observed"  # the rule of the statistics (``analysis.ANALYSES``)
    n_analysed: int = 0  # patients analysed: the denominator of response rates
    counted: np.ndarray | None = None  # (m,) patients whose levels and changes count per day
    n_dropped_out: int = 0  # successful patients who dropped out of the randomised arm
    n_rescued: int = 0  # successful patients rescued from it
    event_counts: np.ndarray | None = None  # (m, len(safety.EVENTS)) adverse events from day 0 to each day
    at_risk_years: np.ndarray | None = None  # (m,) patient-years at risk from day 0 to each day
    _quantiles_of: dict = field(default_factory=dict, repr=False)  # name -> (5, m) once finished

    keeps_patients = False  # no per-patient values (``CohortSummary``)

    @property
    def n_failed(self) -> int:
        """Enrolled patients whose solve failed."""
        return sum(k for c, k in self.status.items() if c not in (0, NOT_ENROLLED))

    @property
    def n_not_enrolled(self) -> int:
        """Patients for whom no candidate qualified."""
        return self.status.get(NOT_ENROLLED, 0)

    def status_counts(self) -> dict[str, int]:
        """Patients per status name, in code order (``PatientStatus``)."""
        return status_counts(self.status)

    def add(self, part: CohortResult) -> None:
        """Fold in the per-patient results of one chunk (patients in order)."""
        ok = part.ok
        aset = part.analysis_set(self.analysis)
        self.n += int(np.sum(ok))
        self.n_analysed += aset.size
        self.counted = aset.counted() + (0 if self.counted is None else self.counted)
        self.n_dropped_out += part.n_dropped_out
        self.n_rescued += part.n_rescued
        for code, k in zip(*np.unique(part.status, return_counts=True)):
            self.status[int(code)] = self.status.get(int(code), 0) + int(k)
        self.not_inflamed += part.not_inflamed
        self.screen_failures += part.screen_failures
        m = len(self.days)
        for name in ENDPOINTS:
            x = part.values[name][ok]
            for label, data in ((name, x), (endpoints.derived(name), endpoints.derive(x, endpoints.CHANGE))):
                analysed = aset.values(data)
                self._add_moments(label, analysed, aset.seen, m)
                self._add_hist(label, analysed, aset.seen, m)
        masks = part.responder_masks(self.analysis)
        for c in CRITERIA:
            self.responder_counts[c] = self.responder_counts.get(c, np.zeros(m, np.int64)) + masks[c].sum(axis=0)
        r = part.resolved[ok].sum(axis=0)
        self.resolved = r if self.resolved is None else self.resolved + r
        if part.events is not None:
            counts, years = safety.cumulative(part.events, self.days)
            self.event_counts = counts if self.event_counts is None else self.event_counts + counts
            self.at_risk_years = years if self.at_risk_years is None else self.at_risk_years + years

    def safety(self) -> list[dict]:
        """safety.csv rows: adverse events per 100 patient-years from day 0 to each visit."""
        if self.event_counts is None or self.at_risk_years is None:
            return []
        return safety.table(self.arm, self.days, self.event_counts, self.at_risk_years)

    def _add_moments(self, label: str, data: np.ndarray, seen: np.ndarray | None, m: int) -> None:
        """Fold ``data`` (n, m) into the sums (where ``seen`` (n, m) is False: not counted, adds 0)."""
        acc = self.sums.get(label, np.zeros((2, m)))
        data = data if seen is None else np.where(seen, data, 0.0)
        for k, values in enumerate((data, data * data)):
            acc[k] = np.cumsum(np.vstack([acc[k][None, :], values]), axis=0)[-1]
        self.sums[label] = acc

    def _add_hist(self, label: str, data: np.ndarray, seen: np.ndarray | None, m: int) -> None:
        """Fold ``data`` (n, m) into the histogram: bin 0 counts values below the range, the
        last bin values at or above its top, the bins between the range in steps of its width
        (where ``seen`` (n, m) is False: not counted)."""
        lo, hi, w = _edges(label)
        nbins = int(round((hi - lo) / w)) + 2
        if seen is not None:
            data = np.where(seen, data, lo)
        idx = np.clip(np.floor((data - lo) / w).astype(np.int64) + 1, 0, nbins - 1)
        if seen is not None:
            idx[~seen] = nbins  # a bin past the last, dropped below
        h = self.hist.get(label, np.zeros((m, nbins), np.int64))
        for j in range(m):
            h[j] += np.bincount(idx[:, j], minlength=nbins + 1)[:nbins]
        self.hist[label] = h

    def finish(self) -> None:
        """Keep the percentiles and drop the histograms but ``KEEP_HISTOGRAMS`` (the arm is complete)."""
        self._quantiles_of = {label: self.percentiles(label) for label in self.hist}
        self.hist = {k: v for k, v in self.hist.items() if k in KEEP_HISTOGRAMS}

    # ---- results
    def summary(self) -> list[dict]:
        """Rows arm, day, endpoint, mean, sd, p05..p95, n (as ``CohortResult.summary``)."""
        rows = []
        n = self._per_day()
        for label in self.sums:
            mean, var = self._moments(label)
            q = self.percentiles(label)
            rows += [
                {
                    "arm": self.arm,
                    "day": float(d),
                    "endpoint": label,
                    "mean": float(mean[j]),
                    "sd": float(np.sqrt(max(var[j], 0.0))),
                    **{f"p{p:02d}": float(q[k, j]) for k, p in enumerate(PERCENTILES)},
                    "n": int(n[j]),
                }
                for j, d in enumerate(self.days)
            ]
        return rows

    def _per_day(self) -> np.ndarray:
        """(m,) patients whose levels and changes count per day."""
        return np.zeros(len(self.days), np.int64) if self.counted is None else self.counted

    def _moments(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance) per day of ``label`` (NaN where too few patients count)."""
        s, s2 = self.sums[label]
        n = self._per_day()
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, s / n, np.nan)
            return mean, np.where(n > 1, (s2 - n * mean * mean) / (n - 1), np.nan)

    def mean(self, name: str) -> np.ndarray:
        """(m,) mean of endpoint ``name`` (or ``<name>_change``)."""
        self._check(name, self.sums)
        return self._moments(name)[0]

    def percentiles(self, name: str) -> np.ndarray:
        """(len(PERCENTILES), m): each the centre of the histogram bin where the count crosses it
        (the range's edge, with a warning, where it crosses in the underflow or overflow bin)."""
        if name in self._quantiles_of:
            return self._quantiles_of[name]
        self._check(name, self.hist)
        lo, hi, w = _edges(name)
        out = np.full((len(PERCENTILES), len(self.days)), np.nan)
        n = self._per_day()
        if np.any(n):
            cum = np.cumsum(self.hist[name], axis=1)
            last = cum.shape[1] - 1
            for k, p in enumerate(PERCENTILES):
                first = np.argmax(cum >= p / 100.0 * n[:, None], axis=1)
                at = np.where(first == 0, lo, np.where(first == last, hi, lo + (first - 0.5) * w))
                out[k] = np.where(n > 0, at, np.nan)
                beyond = ((first == 0) | (first == last)) & (n > 0)
                if np.any(beyond):
                    warnings.warn(
                        f"{self.arm}: the {p}th percentile of {name} on day(s) "
                        f"{self.days[beyond].tolist()} lies outside its histogram's range "
                        f"[{lo:g}, {hi:g}); reported as the range's edge",
                        RuntimeWarning,
                        stacklevel=2,
                    )
        return out

    def outside(self, name: str) -> np.ndarray:
        """(2, m): patients below and at or above the histogram range of ``name`` per day."""
        self._check(name, self.hist)
        h = self.hist[name]
        return np.stack([h[:, 0], h[:, -1]])

    def rate(self, criterion: str) -> np.ndarray:
        """(m,) fraction of the patients analysed meeting ``criterion``."""
        endpoints.output(criterion, CRITERIA, "responder criterion")
        n = self.n_analysed
        return self.responder_counts[criterion] / n if n else np.full(len(self.days), np.nan)

    def responders(self) -> list[dict]:
        """Rows arm, day, criterion, rate, n (patients analysed)."""
        n = self.n_analysed
        return [
            {
                "arm": self.arm,
                "day": float(d),
                "criterion": c,
                "rate": float(self.responder_counts[c][j] / n) if n else np.nan,
                "n": n,
            }
            for j, d in enumerate(self.days)
            for c in CRITERIA
        ]

    def _check(self, name: str, kept: dict) -> None:
        """Refuse a name that is not summarised (``OutputError`` naming the closest)."""
        if name in kept:
            return
        if name not in endpoints.names(ENDPOINTS):
            raise OutputError(
                unknown_name(
                    "summarised output",
                    name,
                    endpoints.names(ENDPOINTS),
                    "rasim.cohort.ENDPOINTS; other outputs need keep='patients'",
                )
            )
        if self.n:
            raise OutputError(f"no running statistics of {name!r} are kept (kept: {', '.join(kept) or 'none'})")

    def resolved_fraction(self) -> np.ndarray:
        """(m,) fraction of the successful patients past the saddle toward remission."""
        if not self.n or self.resolved is None:
            return np.full(len(self.days), np.nan)
        return self.resolved / self.n

    def histogram(self, name: str, day: float, edges: np.ndarray) -> np.ndarray:
        """Patients per bin of ``edges`` of ``name`` at ``day``, from the fine histogram
        (each fine bin counted at its centre; values beyond ``edges`` in the end bins)."""
        hits = np.flatnonzero(self.days == day)
        if hits.size == 0:
            raise KeyError(f"day {day:g} was not observed; observation days: {self.days.tolist()}")
        if name not in self.hist:
            raise OutputError(f"no histogram of {name!r} is kept (kept: {', '.join(self.hist) or 'none'})")
        lo, _, w = _edges(name)
        counts = self.hist[name][hits[0]]
        centres = np.clip(lo + (np.arange(counts.size) - 0.5) * w, edges[0], edges[-1])
        return np.histogram(centres, edges, weights=counts)[0].astype(np.int64)

    def to_frame(self, kind: str = "summary"):
        """pandas DataFrame of ``summary`` or ``responders`` (no ``patients``: none were kept)."""
        if kind == "patients":
            raise ValueError(
                "a summary-only run keeps no patients: run with keep='patients' "
                "(rasim run --keep patients) for per-patient frames"
            )
        return summary_frame(self, kind)

    def trajectories(self, kind: str = "auto"):
        """Not available: a summary-only run keeps no states (``CohortResult.trajectories``)."""
        raise ValueError(
            "a summary-only run keeps no trajectories: run with keep='patients' and Cohort(..., dense=True)"
        )

    # ---- saving and restoring (resumable runs)
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The exact running state as named arrays (``from_arrays`` inverts it)."""
        out = {
            "arm": np.array(self.arm),
            "days": self.days,
            "n": np.array(self.n),
            "status": np.array(sorted(self.status.items()), dtype=np.int64).reshape(-1, 2),
            "candidates": np.array([self.not_inflamed, self.screen_failures]),
            "analysis": np.array(self.analysis),
            "analysed": np.array([self.n_analysed, self.n_dropped_out, self.n_rescued]),
        }
        if self.counted is not None:
            out["counted"] = self.counted
        for prefix, d in (
            ("sums", self.sums),
            ("hist", self.hist),
            ("responders", self.responder_counts),
            ("quantiles", self._quantiles_of),
        ):
            out.update({f"{prefix}/{k}": v for k, v in d.items()})
        if self.resolved is not None:
            out["resolved"] = self.resolved
        if self.event_counts is not None and self.at_risk_years is not None:
            out["event_counts"], out["at_risk_years"] = self.event_counts, self.at_risk_years
        return out

    @classmethod
    def from_arrays(cls, a) -> "StreamingSummary":
        """The summary saved by ``to_arrays`` (a mapping such as an ``np.load`` of it)."""
        group = {
            p: {k.split("/", 1)[1]: a[k] for k in a if k.startswith(p + "/")}
            for p in ("sums", "hist", "responders", "quantiles")
        }
        not_inflamed, screen_failures = (int(k) for k in a["candidates"])
        n_analysed, n_dropped_out, n_rescued = (int(k) for k in a["analysed"])
        return cls(
            str(a["arm"]),
            a["days"],
            int(a["n"]),
            {int(c): int(k) for c, k in a["status"]},
            group["sums"],
            group["hist"],
            group["responders"],
            a["resolved"] if "resolved" in a else None,
            not_inflamed,
            screen_failures,
            analysis=str(a["analysis"]),
            n_analysed=n_analysed,
            counted=a["counted"] if "counted" in a else None,
            n_dropped_out=n_dropped_out,
            n_rescued=n_rescued,
            event_counts=a["event_counts"] if "event_counts" in a else None,
            at_risk_years=a["at_risk_years"] if "at_risk_years" in a else None,
            _quantiles_of=group["quantiles"],
        )
