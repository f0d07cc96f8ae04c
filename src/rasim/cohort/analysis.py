"""After randomisation: dropout, rescue (escape) and the population a trial analyses.

Post-processing of the simulated visits: the model runs every patient on the arm's
regimen to the last visit, whatever happens here.  An arm's ``Dropout`` and ``Rescue``
(``Arm.dropout``, ``Arm.rescue``) decide the last visit each patient spends in the
randomised arm (``exits``); an analysis rule (``ANALYSES``) decides whose values, and
which visit's, each visit's endpoints use (``analysis_set``).

Leaving the arm, at visits d_0 = 0 < d_1 < ... < d_{m-1} (days):

* rescue (escape): at each visit j with ``start`` <= d_j <= ``until``, a patient whose
  TJC28 and SJC28 both improved by less than ``improvement`` % from day 0
  (``short_in="either"``: either of them) is rescued: visit j is the patient's last in
  the arm (measured there, switched after it);
* dropout: a hazard h_j (per year) on each interval (d_{j-1}, d_j], ``rate`` times
  ``nonresponder_factor`` if the patient was not an ACR20 responder at visit j-1 (j >= 2;
  before the first visit after day 0 there is no response to judge).  The patient drops
  out at the time T where H(T) = sum_j h_j (d_j - d_{j-1}) / 365.25 reaches E, a standard
  exponential drawn once per patient (random stream ``STREAM``); the last visit in the
  arm is the last before T.

Whichever comes first ends the patient's randomised observations (a dropout between
visits j-1 and j comes before a rescue at visit j).  Analysis rules, at each visit, over
the successful patients:

* ``"observed"``: everyone at every visit, as simulated (the treatment continued);
* ``"completers"``: the patients still in the arm at the last visit (the end of the
  trial), at every visit: He 2020's "completers of 48 weeks";
* ``"nri"``: response rates over everyone, a patient out of the arm counting as a
  non-responder (``EULAR_none``, no other criterion); levels and changes over the
  patients still in the arm at that visit (observed cases);
* ``"locf"``: everyone, the values of the last visit in the arm carried forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import clinical
from ..errors import RasimError, unknown_name
from ..gate import number

RULES = {
    "observed": "everyone at every visit",
    "completers": "the patients in the arm at the last visit",
    "nri": "leavers count as non-responders; levels and changes of those still in the arm",
    "locf": "the last visit in the arm carried forward",
}
ANALYSES = tuple(RULES)
COMPLETED, DROPPED_OUT, RESCUED = 0, 1, 2  # exit reason codes
EXITS = ("completed", "dropped_out", "rescued")  # their names
SHORT_IN = ("both", "either")
STREAM = 3  # a patient's random stream of dropout (``cohort.patient_rng``: 0 candidates, 1 and 2 visits)
DAYS_PER_YEAR = 365.25
NON_RESPONSE = "EULAR_none"  # the one criterion met by a patient out of the arm under "nri"


def check_analysis(rule: str) -> str:
    """``rule`` if it is one of ``ANALYSES``, else ``RasimError`` naming the closest."""
    if not isinstance(rule, str) or rule not in ANALYSES:
        raise RasimError(unknown_name("analysis rule", str(rule), ANALYSES) + f" Rules: {', '.join(ANALYSES)}.")
    return rule


@dataclass(frozen=True)
class Dropout:
    """Withdrawal from the arm: a hazard ``rate`` (per year), multiplied by
    ``nonresponder_factor`` (>= 0; > 1: more dropout without response) while the patient
    is not an ACR20 responder at the latest visit after day 0."""

    rate: float
    nonresponder_factor: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "rate", number("dropout rate (per year)", self.rate, 0.0))
        factor = number("dropout nonresponder_factor", self.nonresponder_factor, 0.0)
        object.__setattr__(self, "nonresponder_factor", factor)

    def cumulative(self, days: np.ndarray, nonresponder: np.ndarray) -> np.ndarray:
        """(n, m) cumulative hazard (dimensionless) at each visit ``days`` (m,) from day 0, given
        ``nonresponder`` (n, m): not an ACR20 responder at each visit."""
        factor = np.where(nonresponder[:, :-1], self.nonresponder_factor, 1.0)
        factor[:, :1] = 1.0  # from day 0 to the first visit: no response to judge yet
        step = self.rate / DAYS_PER_YEAR * factor * np.diff(days)
        return np.concatenate([np.zeros((len(step), 1)), np.cumsum(step, axis=1)], axis=1)


@dataclass(frozen=True)
class Rescue:
    """Escape to other treatment: from day ``start`` to day ``until`` (> 0; no end by default),
    a patient whose TJC28 and SJC28 improved by less than ``improvement`` % from day 0 at a
    visit (in both counts, ``short_in="both"``, or in either, ``"either"``) leaves the arm
    after it.  A count of 0 at day 0 cannot improve (as in ACR)."""

    start: float
    until: float = math.inf
    improvement: float = 20.0
    short_in: str = "both"

    def __post_init__(self):
        start = number("rescue start (day)", self.start, 0.0)
        if start == 0.0:
            raise RasimError("rescue start (day) must be > 0: day 0 is the baseline visit")
        until = number("rescue until (day)", self.until, 0.0, inf_ok=True)
        if until < start:
            raise RasimError(f"rescue until (day {until:g}) must not be before start (day {start:g})")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "until", until)
        object.__setattr__(self, "improvement", number("rescue improvement (%)", self.improvement, 0.0, 100.0))
        if self.improvement == 0.0:
            raise RasimError("rescue improvement (%) must be > 0: every count improves by at least 0 %")
        if self.short_in not in SHORT_IN:
            raise RasimError(unknown_name("short_in", str(self.short_in), SHORT_IN) + f" Valid: {', '.join(SHORT_IN)}.")

    def check_visits(self, days) -> None:
        """Refuse visit ``days`` of which none falls between ``start`` and ``until`` (no one is assessed)."""
        if not any(self.start <= d <= self.until for d in days):
            window = f"on day {self.start:g}" if self.until == self.start else f"from day {self.start:g}"
            window += "" if self.until in (self.start, math.inf) else f" to day {self.until:g}"
            raise RasimError(
                f"rescue {window}: no visit falls there (visits: {', '.join(f'{d:g}' for d in days)}); "
                "observe a day within start and until"
            )

    def fails(self, days: np.ndarray, tjc: np.ndarray, sjc: np.ndarray) -> np.ndarray:
        """(n, m) True at the visits ``days`` (m,) where a patient with counts ``tjc``, ``sjc``
        (n, m; day 0 first) is assessed and short of the improvement."""
        short = [~clinical.improved(x[:, :1], x, self.improvement) for x in (tjc, sjc)]
        fail = short[0] & short[1] if self.short_in == "both" else short[0] | short[1]
        return fail & (days >= self.start) & (days <= self.until)


def exits(
    days: np.ndarray,
    tjc: np.ndarray,
    sjc: np.ndarray,
    acr20: np.ndarray,
    e: np.ndarray | None,
    dropout: Dropout | None,
    rescue: Rescue | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(last visit in the arm (n,) int64, an index of ``days``; exit reason (n,) int8: ``COMPLETED``,
    ``DROPPED_OUT`` or ``RESCUED``) from the measured counts (n, m), ACR20 response (n, m) and
    standard exponentials ``e`` (n,) (needed with ``dropout``)."""
    n, m = tjc.shape
    last = np.full(n, m - 1, dtype=np.int64)
    reason = np.full(n, COMPLETED, dtype=np.int8)
    if rescue is not None:
        fail = rescue.fails(days, tjc, sjc)
        hit = fail.any(axis=1)
        last[hit], reason[hit] = fail.argmax(axis=1)[hit], RESCUED
    if dropout is not None:
        assert e is not None
        gone = dropout.cumulative(days, ~acr20) > e[:, None]  # dropped out before each visit
        before = gone.argmax(axis=1) - 1
        first = gone.any(axis=1) & (before < last)
        last[first], reason[first] = before[first], DROPPED_OUT
    return last, reason


@dataclass(frozen=True)
class AnalysisSet:
    """Who and what a rule analyses among n patients at m visits: ``rows`` (n,) the patients in
    the analysis population; ``visit`` (n_a, m) the visit whose values stand at each visit
    (LOCF carries the last in the arm); ``in_arm`` (n_a, m) still in the randomised arm."""

    rule: str
    rows: np.ndarray
    visit: np.ndarray
    in_arm: np.ndarray

    @property
    def size(self) -> int:
        """Patients in the analysis population (the denominator of response rates)."""
        return int(self.in_arm.shape[0])

    @property
    def seen(self) -> np.ndarray | None:
        """(n_a, m) True where a patient's levels and changes count ("nri": in the arm); None: everywhere."""
        return self.in_arm if self.rule == "nri" else None

    def counted(self) -> np.ndarray:
        """(m,) patients whose levels and changes count at each visit."""
        return np.full(self.in_arm.shape[1], self.size) if self.seen is None else self.seen.sum(axis=0)

    def values(self, x: np.ndarray) -> np.ndarray:
        """Values ``x`` (n, m) as analysed (n_a, m): NaN where not counted ("nri": out of the arm)."""
        if self.rule == "observed":
            return x
        y = np.take_along_axis(x[self.rows], self.visit, axis=1)
        return np.where(self.in_arm, y, np.nan) if self.rule == "nri" else y

    def masks(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Responder masks (n, m) per criterion as analysed (n_a, m)."""
        if self.rule == "observed":
            return masks
        out = {c: np.take_along_axis(v[self.rows], self.visit, axis=1) for c, v in masks.items()}
        if self.rule == "nri":
            out = {c: v | ~self.in_arm if c == NON_RESPONSE else v & self.in_arm for c, v in out.items()}
        return out


def analysis_set(rule: str, last: np.ndarray, m: int) -> AnalysisSet:
    """The ``AnalysisSet`` of ``rule`` for patients whose last visit in the arm is ``last`` (n,)
    of ``m`` visits."""
    check_analysis(rule)
    visits = np.arange(m)
    rows = last == m - 1 if rule == "completers" else np.ones(len(last), dtype=bool)
    kept = last[rows, None]
    visit = np.minimum(visits, kept) if rule == "locf" else np.broadcast_to(visits, (len(kept), m))
    return AnalysisSet(rule, rows, visit, visits <= kept)
