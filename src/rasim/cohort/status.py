"""What happened to each patient of a cohort: ``PatientStatus``, with a message and a remedy.

The values are the per-patient ``status`` codes of ``CohortResult.status``,
``patients/`` (Parquet) and ``counts.csv``: the solver's own codes
(``rasim.solver.Status``, which knows nothing of patients) by value, and the
cohort's ``NOT_SETTLED`` (no stable day-0 disease state was found for a
candidate by ``rasim.day0.replay``; it is redrawn) and ``NOT_ENROLLED`` (no candidate qualified).
"""

from __future__ import annotations

import enum

import numpy as np

from ..day0 import NOT_SETTLED
from ..solver import Status


class PatientStatus(enum.IntEnum):
    """A patient's outcome; ``.message`` explains it and ``.remedy`` says what to change."""

    SUCCESS = int(Status.SUCCESS)
    MAX_STEPS = int(Status.MAX_STEPS)
    STEP_TOO_SMALL = int(Status.STEP_TOO_SMALL)
    NONFINITE = int(Status.NONFINITE)
    SINGULAR = int(Status.SINGULAR)
    BAD_INPUT = int(Status.BAD_INPUT)
    NOT_SETTLED = NOT_SETTLED
    NOT_ENROLLED = 101

    @property
    def label(self) -> str:
        """The name in ``status_counts()`` and ``counts.csv``: ``success``, ``max_steps``, ..."""
        return self.name.lower()

    @property
    def is_solver_failure(self) -> bool:
        """True for a solver status other than success (counted in ``n_failed``)."""
        return self in SOLVER_FAILURES

    @property
    def message(self) -> str:
        """What happened to the patient and what to change: ``"<explanation>; <remedy>"``."""
        return f"{_EXPLAIN.get(self) or Status(self.value).explanation}; {self.remedy}"

    @property
    def remedy(self) -> str:
        """What to change so that fewer patients end in this status."""
        return _REMEDIES[self]


SOLVER_FAILURES = tuple(PatientStatus(int(s)) for s in Status if s != Status.SUCCESS)

_EXPLAIN = {
    PatientStatus.SUCCESS: "the patient's trial was solved to the last observation day",
    PatientStatus.NOT_SETTLED: "no stable day-0 disease state was found for a candidate (the Newton polish "
    "of its replayed disease course failed, or the state is unstable); it was redrawn",
    PatientStatus.NOT_ENROLLED: "no candidate qualified (active disease and the entry criteria) within "
    "rasim.cohort.cohort.MAX_CANDIDATES draws",
}
_REMEDIES = {
    PatientStatus.SUCCESS: "nothing to change",
    PatientStatus.MAX_STEPS: "raise Cohort(max_steps=...), or check the regimen for very frequent doses",
    PatientStatus.STEP_TOO_SMALL: "check the parameters (params, variability) and doses for a blow-up; "
    "loosen Cohort(rtol=...) or use solver='rodas4'",
    PatientStatus.NONFINITE: "check the parameters (params, variability) and doses for values that overflow; "
    "tighten Cohort(rtol=...)",
    PatientStatus.SINGULAR: "tighten Cohort(rtol=...), or check params for degenerate (zero or huge) rates",
    PatientStatus.BAD_INPUT: "a bug if it reaches a cohort (the inputs are checked first): please report it",
    PatientStatus.NOT_SETTLED: "nothing if rare (counted in not_inflamed); if common, check params and "
    "variability for parameters without a stable disease state",
    PatientStatus.NOT_ENROLLED: "loosen the population's entry criteria (das28_min, tjc_min, esr_min, ...) or "
    "its covariate ranges, or check params for a disease too mild to qualify",
}


def status_name(code: int) -> str:
    """``success``, a solver status (``max_steps`` ...), ``not_settled`` or ``not_enrolled``;
    ``status_<code>`` for a code outside ``PatientStatus``."""
    try:
        return PatientStatus(int(code)).label
    except ValueError:
        return f"status_{int(code)}"


def status_counts(status) -> dict[str, int]:
    """Patients per status name, in code order (``success`` first), from per-patient codes
    (an array) or from a mapping code -> patients."""
    if isinstance(status, dict):
        return {status_name(c): int(status[c]) for c in sorted(status)}
    codes, counts = np.unique(np.asarray(status, dtype=np.int64), return_counts=True)
    return {status_name(c): int(k) for c, k in zip(codes, counts)}


def describe(counts: dict[str, int]) -> list[str]:
    """One line per status other than success in ``status_counts()``: patients, message, remedy."""
    by_label = {s.label: s for s in PatientStatus}
    return [
        f"{k} {name}: {by_label[name].message}" if name in by_label else f"{k} {name}"
        for name, k in counts.items()
        if name != "success"
    ]


__all__ = ["PatientStatus", "SOLVER_FAILURES", "status_name", "status_counts", "describe"]
