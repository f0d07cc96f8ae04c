"""The patients every benchmark solves: the ``msc+dmard`` cohort arm.

``problems(n)`` returns per-patient prepared problems from
``rasim.cohort.Cohort(...).problems()`` in the benchmarks' own layout
(``Problems``: per-patient event amounts, slicing helpers); ``cohort(n)``
returns the ``Cohort`` whose summary-only run is benchmarked.

Units: time in days, states in the model's units (``rasim.model.STATES``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rasim import model
from rasim.cohort import Cohort

ARM = "msc+dmard"
SOURCE = f"rasim.cohort.Cohort({ARM!r})"


@dataclass(frozen=True)
class Problems:
    """Per-patient prepared problems (float64 C-contiguous arrays).

    args (N, L) solver args; y0 (N, n) states at day t0 (t0 < 0: background run-in);
    t_out (m,) output days; bolus events at shared days ev_t (k,) into states ev_cmt (k,)
    with per-patient amounts ev_amt (N, k) (state units).
    """

    args: np.ndarray
    y0: np.ndarray
    t0: float
    t_out: np.ndarray
    ev_t: np.ndarray
    ev_cmt: np.ndarray
    ev_amt: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return self.args.shape[0]

    def take(self, count: int) -> "Problems":
        """The first ``count`` patients."""
        return self.rows(0, count)

    def rows(self, start: int, stop: int) -> "Problems":
        """Patients ``start`` .. ``stop - 1``."""
        sl = slice(start, stop)
        return Problems(self.args[sl], self.y0[sl], self.t0, self.t_out, self.ev_t, self.ev_cmt, self.ev_amt[sl])


def atol_vector(rtol: float) -> np.ndarray:
    """Absolute tolerance per state used with ``rtol`` in every benchmark:
    1e-3 * rtol times the state's typical magnitude (``model.STATE_SCALE``),
    i.e. rasim's default atol 1e-9 at its default rtol 1e-6."""
    return 1e-3 * rtol * model.STATE_SCALE


def problems(n: int, seed: int = 0) -> Problems:
    """``n`` patients of the ``msc+dmard`` arm, prepared (day-0 state found)."""
    return _as_problems(Cohort(ARM, patients=n, seed=seed).problems())


def cohort(n: int, seed: int = 0):
    """The cohort object whose ``run(threads=None, keep="summary")`` is benchmarked."""
    return Cohort(ARM, patients=n, seed=seed)


def run_summary(c, threads=None):
    """The cohort's summary-only run (``StreamingSummary``)."""
    return c.run(threads=threads, keep="summary")


def failures(res) -> int:
    """Patients of a summary-only run whose solve did not succeed."""
    return int(res.n_failed)


def _as_problems(raw) -> Problems:
    """Normalise the cohort's problems (event amounts shared (k,) or per patient (N, k))."""
    f64 = functools.partial(np.ascontiguousarray, dtype=np.float64)
    n, k = raw.args.shape[0], len(raw.ev_t)
    return Problems(
        f64(raw.args),
        f64(raw.y0),
        float(getattr(raw, "t0", 0.0)),
        f64(raw.t_out),
        f64(raw.ev_t),
        np.ascontiguousarray(raw.ev_cmt, dtype=np.int64),
        f64(np.broadcast_to(np.asarray(raw.ev_amt, dtype=np.float64), (n, k))),
    )
