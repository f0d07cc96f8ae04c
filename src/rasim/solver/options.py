"""User-facing solver settings; a refusal is a ``SolverOptionsError`` (a ``ValueError`` and a
``rasim.RasimError``: ``rasim.errors`` is a leaf module of exception types, nothing of the model)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SolverOptionsError

METHODS = ("rodas4", "dopri5", "scipy-radau", "scipy-lsoda", "scipy-bdf")


@dataclass(frozen=True)
class SolverOptions:
    """Settings of one integration.

    method:    one of ``METHODS``: "rodas4" (compiled, stiff), "dopri5"
               (compiled, non-stiff) or a scipy reference backend.
    rtol:      relative tolerance (> 0).
    atol:      absolute tolerance, a positive float or one positive value per
               state (stored as a tuple so the options stay hashable).
    max_steps: maximum number of attempted steps over the whole integration.
    h0:        initial step size in time units; 0 means automatic.
    hmax:      maximum step size in time units (inf allowed).
    """

    method: str = "rodas4"
    rtol: float = 1e-6
    atol: float | tuple[float, ...] = 1e-9
    max_steps: int = 100_000
    h0: float = 0.0
    hmax: float = math.inf

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SolverOptionsError(f"unknown solver method {self.method!r}; choose one of {', '.join(METHODS)}")
        rtol = self.rtol
        if isinstance(rtol, bool) or not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and 0 < rtol < 1):
            raise SolverOptionsError(f"rtol must be a finite number > 0 and < 1, got {rtol!r}")
        object.__setattr__(self, "atol", _checked_atol(self.atol))
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, (int, np.integer)) or self.max_steps < 1:
            raise SolverOptionsError(f"max_steps must be an integer >= 1, got {self.max_steps!r}")
        if isinstance(self.h0, bool) or not (
            isinstance(self.h0, (int, float)) and math.isfinite(self.h0) and self.h0 >= 0
        ):
            raise SolverOptionsError(f"h0 must be a finite number >= 0 (0 = automatic), got {self.h0!r}")
        if isinstance(self.hmax, bool) or not (isinstance(self.hmax, (int, float)) and self.hmax > 0):
            raise SolverOptionsError(f"hmax must be > 0 (inf allowed), got {self.hmax!r}")

    def atol_vector(self, n: int) -> np.ndarray:
        """Absolute tolerance as a float64 array of length ``n`` (one per state)."""
        if isinstance(self.atol, tuple):
            if len(self.atol) != n:
                raise SolverOptionsError(f"atol has {len(self.atol)} entries but the model has {n} states")
            return np.array(self.atol, dtype=np.float64)
        return np.full(n, self.atol, dtype=np.float64)


def _checked_atol(atol) -> float | tuple[float, ...]:
    """Validate ``atol``; return a float or a tuple of floats."""
    try:
        bad = isinstance(atol, (str, bytes, bool)) or np.asarray(atol).dtype.kind not in "iuf"
        arr = None if bad else np.asarray(atol, dtype=np.float64)
    except (TypeError, ValueError):  # ragged nesting, objects
        arr = None
    if arr is None or arr.ndim > 1 or arr.size == 0:
        raise SolverOptionsError(f"atol must be a positive number or a 1-D array of positive numbers, got {atol!r}")
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise SolverOptionsError(f"atol values must be finite and > 0, got {atol!r}")
    return float(arr) if arr.ndim == 0 else tuple(float(v) for v in arr)
