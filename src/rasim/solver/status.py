"""Status codes returned by every solver backend.

Compiled kernels return the plain ``int`` value (they run on batches in threads
and must never raise); Python code wraps it as ``Status(code)``.
"""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Outcome of one integration; ``Status.X.message`` explains it and says what to change
    (``.remedy``).  It names solver settings only: a cohort's ``PatientStatus`` has the same
    values and remedies in the cohort's terms."""

    SUCCESS = 0
    MAX_STEPS = 1
    STEP_TOO_SMALL = 2
    NONFINITE = 3
    SINGULAR = 4
    BAD_INPUT = 5

    @property
    def message(self) -> str:
        """What happened and what to change: ``"<explanation>; <remedy>"``."""
        return f"{_MESSAGES[self]}; {_REMEDIES[self]}"

    @property
    def explanation(self) -> str:
        """What happened (the message without the remedy)."""
        return _MESSAGES[self]

    @property
    def remedy(self) -> str:
        """What to change (a solver option, the tolerances, the inputs) to avoid this status."""
        return _REMEDIES[self]


_MESSAGES = {
    Status.SUCCESS: "integration reached the last output time",
    Status.MAX_STEPS: "the maximum number of steps was reached before the last output time",
    Status.STEP_TOO_SMALL: "the step size became too small relative to t (singularity or blow-up?)",
    Status.NONFINITE: "a state, derivative or error estimate became NaN or infinite",
    Status.SINGULAR: "the Newton/Rosenbrock iteration matrix stayed singular after step halving",
    Status.BAD_INPUT: "invalid solver input (shapes, unsorted times, event before t0, tolerances)",
}
_REMEDIES = {
    Status.SUCCESS: "nothing to change",
    Status.MAX_STEPS: "raise max_steps, or use the stiff method (rodas4) if an explicit one was used",
    Status.STEP_TOO_SMALL: "check the inputs for a blow-up (doses, parameter values); loosen rtol/atol, "
    "or use the stiff method (rodas4)",
    Status.NONFINITE: "check the parameters and doses for values that make the model overflow; tighten rtol/atol",
    Status.SINGULAR: "tighten rtol/atol, or check the parameters for degenerate (zero or huge) rates",
    Status.BAD_INPUT: "sort the output times, start every event at or after t0, and give tolerances in (0, 1)",
}
