"""Reference states as full state vectors (see ``REFERENCE_STATES``)."""

from __future__ import annotations

import numpy as np

from .equations import rates
from .forcing import NO_DRUGS
from .parameters import REFERENCE_STATES
from .states import INDEX, N_STATES

# States not listed in REFERENCE_STATES: each set at the steady state of its own
# equation given the listed levels (each is linear in itself), in this order.
DERIVED = ("treg_mem", "m2", "fls_imprint", "synovitis")


def reference_vector(p: np.ndarray, which: str = "inflamed") -> np.ndarray:
    """State vector of reference ``which``: its listed levels, and the ``DERIVED`` states
    (memory Treg, M2, fibroblast imprinting, clinical synovitis) at their own balance.

    Cartilage and erosion (which do not feed back on inflammation) start at 0.5."""
    y = np.zeros(N_STATES)
    for name, value in REFERENCE_STATES[which].items():
        y[INDEX[name]] = value
    for name in DERIVED:
        y[INDEX[name]] = _own_steady_state(y, p, INDEX[name])
    y[INDEX["cartilage"]] = 0.5
    y[INDEX["erosion"]] = 0.5
    return y


def _own_steady_state(y: np.ndarray, p: np.ndarray, i: int) -> float:
    """The value of state ``i`` that zeroes its own rate, the others held (rate linear in y[i])."""
    dy = np.zeros(N_STATES)
    at = []
    for value in (0.0, 1.0):
        z = y.copy()
        z[i] = value
        rates(z, p, NO_DRUGS, dy)
        at.append(dy[i])
    return at[0] / (at[0] - at[1])
