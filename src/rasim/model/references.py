"""Reference states as full state vectors (see ``REFERENCE_STATES``)."""
from __future__ import annotations

import numpy as np

from .equations import rates
from .parameters import PINDEX, REFERENCE_STATES
from .states import INDEX, N_STATES


def reference_vector(p: np.ndarray, which: str = "inflamed") -> np.ndarray:
    """State vector of reference ``which``: its levels, memory Treg and M2 at balance.

    Cartilage and erosion (which do not feed back on inflammation) start at 0.5."""
    y = np.zeros(N_STATES)
    for name, value in REFERENCE_STATES[which].items():
        y[INDEX[name]] = value
    y[INDEX["treg_mem"]] = y[INDEX["treg"]] * p[PINDEX["treg_to_memory"]] / p[PINDEX["treg_mem_death"]]
    m2 = INDEX["m2"]
    y[m2] = 0.0
    dy = np.zeros(N_STATES)
    rates(y, p, 0.0, dy)
    y[m2] = dy[m2] / p[PINDEX["mac_death"]]  # production / loss
    y[INDEX["cartilage"]] = 0.5
    y[INDEX["erosion"]] = 0.5
    return y
