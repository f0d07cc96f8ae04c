"""Status codes returned by every solver backend.

Compiled kernels return the plain ``int`` value (they run inside ``prange``
loops and must never raise); Python code wraps it as ``Status(code)``.
"""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Outcome of one integration; ``Status.X.message`` explains it."""

    SUCCESS = 0
    MAX_STEPS = 1
    STEP_TOO_SMALL = 2
    NONFINITE = 3
    SINGULAR = 4
    BAD_INPUT = 5

    @property
    def message(self) -> str:
        """One-line human-readable explanation of the status."""
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "integration reached the last output time",
    Status.MAX_STEPS: "the maximum number of steps was reached before the last output time",
    Status.STEP_TOO_SMALL: "the step size became too small relative to t (singularity or blow-up?)",
    Status.NONFINITE: "a state, derivative or error estimate became NaN or infinite",
    Status.SINGULAR: "the Newton/Rosenbrock iteration matrix stayed singular after step halving",
    Status.BAD_INPUT: "invalid solver input (shapes, unsorted times, event before t0, tolerances)",
}
