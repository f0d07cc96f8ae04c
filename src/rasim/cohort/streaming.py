"""Summary-only cohorts: memory that does not grow with the number of patients.

Each chunk is folded into running statistics and dropped:

* exact moments: count, sum and sum of squares per endpoint and day, added
  patient by patient in patient order (``np.cumsum`` is sequential), so the
  result is the same bit for bit whatever the chunk size;
* quantiles from fixed-bin histograms (integer counts, exact to merge): a
  reported percentile is the centre of the bin where the cumulative count
  crosses it, within ``QUANTILE_ERROR[endpoint]`` (half a bin) of the exact
  sample percentile's bin;
* responder counts per criterion and day, and the resolved count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .result import CRITERIA, ENDPOINTS, PERCENTILES

# (low, high, bin width) of each endpoint's histogram; changes use (-span, span).
BINS = {"ESR": (0.0, 200.0, 0.5), "CRP": (0.0, 400.0, 0.25), "DAS28_ESR": (0.0, 10.0, 0.005),
        "DAS28_CRP": (0.0, 10.0, 0.005), "HAQ": (-0.0625, 3.0625, 0.125), "TJC28": (-0.5, 28.5, 1.0),
        "SJC28": (-0.5, 28.5, 1.0)}
QUANTILE_ERROR = {name: w / 2 for name, (_, _, w) in BINS.items()}


def _edges(name: str) -> tuple[float, float, float]:
    base = name.removesuffix("_change")
    lo, hi, w = BINS[base]
    if name.endswith("_change"):
        span = hi - lo
        return -span, span, w
    return lo, hi, w


@dataclass
class StreamingSummary:
    """Running statistics of one arm at ``days``."""

    arm: str
    days: np.ndarray
    n: int = 0
    n_failed: int = 0
    sums: dict = field(default_factory=dict)  # name -> (2, m): sum, sum of squares
    hist: dict = field(default_factory=dict)  # name -> (m, bins) int64
    responders: dict = field(default_factory=dict)  # criterion -> (m,) int64
    resolved: np.ndarray | None = None
    timing: dict = field(default_factory=dict)

    def add(self, values: dict[str, np.ndarray], masks: dict[str, np.ndarray], resolved: np.ndarray,
            ok: np.ndarray) -> None:
        """Fold in one chunk (values and masks of its successful patients, in patient order)."""
        self.n += int(np.sum(ok))
        self.n_failed += int(np.sum(~ok))
        m = len(self.days)
        for name in ENDPOINTS:
            x = values[name][ok]
            for label, data in ((name, x), (f"{name}_change", x - x[:, :1])):
                self._add_moments(label, data, m)
                self._add_hist(label, data, m)
        for c in CRITERIA:
            self.responders[c] = self.responders.get(c, np.zeros(m, np.int64)) + masks[c].sum(axis=0)
        r = resolved[ok].sum(axis=0)
        self.resolved = r if self.resolved is None else self.resolved + r

    def _add_moments(self, label: str, data: np.ndarray, m: int) -> None:
        acc = self.sums.get(label, np.zeros((2, m)))
        for k, values in enumerate((data, data * data)):
            acc[k] = np.cumsum(np.vstack([acc[k][None, :], values]), axis=0)[-1]
        self.sums[label] = acc

    def _add_hist(self, label: str, data: np.ndarray, m: int) -> None:
        lo, hi, w = _edges(label)
        nbins = int(round((hi - lo) / w))
        idx = np.clip(np.floor((data - lo) / w).astype(np.int64), 0, nbins - 1)
        h = self.hist.get(label, np.zeros((m, nbins), np.int64))
        for j in range(m):
            h[j] += np.bincount(idx[:, j], minlength=nbins)
        self.hist[label] = h

    def summary(self) -> list[dict]:
        """Rows arm, day, endpoint, mean, sd, p05..p95, n (as ``CohortResult.summary``)."""
        rows = []
        for label, (s, s2) in self.sums.items():
            n = self.n
            mean = s / n if n else np.full_like(s, np.nan)
            var = (s2 - n * mean * mean) / (n - 1) if n > 1 else np.full_like(s, np.nan)
            q = self._quantiles(label)
            rows += [{"arm": self.arm, "day": float(d), "endpoint": label, "mean": float(mean[j]),
                      "sd": float(np.sqrt(max(var[j], 0.0))),
                      **{f"p{p:02d}": float(q[k, j]) for k, p in enumerate(PERCENTILES)}, "n": n}
                     for j, d in enumerate(self.days)]
        return rows

    def _quantiles(self, label: str) -> np.ndarray:
        lo, _, w = _edges(label)
        cum = np.cumsum(self.hist[label], axis=1)
        out = np.full((len(PERCENTILES), len(self.days)), np.nan)
        if self.n:
            for k, p in enumerate(PERCENTILES):
                first = np.argmax(cum >= p / 100.0 * self.n, axis=1)
                out[k] = lo + (first + 0.5) * w
        return out

    def responder_rows(self) -> list[dict]:
        """Rows arm, day, criterion, rate, n."""
        return [{"arm": self.arm, "day": float(d), "criterion": c,
                 "rate": float(self.responders[c][j] / self.n) if self.n else np.nan, "n": self.n}
                for j, d in enumerate(self.days) for c in CRITERIA]

    def resolved_fraction(self) -> np.ndarray:
        return self.resolved / self.n if self.n else np.full(len(self.days), np.nan)
