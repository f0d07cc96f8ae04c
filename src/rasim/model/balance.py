"""The ``balance`` production constants, derived from the two reference states.

Each state equation has a pair of production constants (a basal source and a
stimulated production) that enter it linearly.  For every pair we solve the
2x2 linear system that makes both ``REFERENCE_STATES`` (inflamed and
resolved) steady states, given the other parameters (literature loss rates,
assumed half-saturation constants, calibrated values).  Both references are
then equilibria by construction; their stability (and the saddle between
them) is checked by the tests.
"""

from __future__ import annotations

import numpy as np

from .equations import rates
from .forcing import NO_DRUGS
from .parameters import PINDEX
from .references import reference_vector
from .states import INDEX, N_STATES

# state -> (basal source, stimulated production): the unknowns solved for.
PAIRS: dict[str, tuple[str, str]] = {
    "th1": ("th1_source", "th1_activation"),
    "th17": ("th17_source", "th17_activation"),
    "tfh": ("tfh_source", "tfh_activation"),
    "treg": ("treg_source", "treg_induction"),
    "m1": ("m1_source", "m1_activation"),
    "fls": ("fls_source", "fls_activation"),
    "tnf": ("tnf_basal", "tnf_m1"),
    "il6": ("il6_basal", "il6_fls"),
    "il17": ("il17_basal", "il17_th17"),
    "il10": ("il10_basal", "il10_treg"),
    "tgfb": ("tgfb_basal", "tgfb_treg"),
    "crp": ("crp_basal", "crp_max"),
    "fibrinogen": ("fib_basal", "fib_max"),
    "autoab": ("autoab_basal", "autoab_max"),
}
BALANCED: frozenset[str] = frozenset(name for pair in PAIRS.values() for name in pair)
BASAL: frozenset[str] = frozenset(basal for basal, _ in PAIRS.values())  # never set by hand


def _derivative(y: np.ndarray, p: np.ndarray, i: int) -> float:
    out = np.zeros(N_STATES)
    rates(y, p, NO_DRUGS, out)
    return out[i]


def balanced(p: np.ndarray) -> dict[str, float]:
    """The production constants that make both references steady states of ``p``."""
    p = p.copy()
    refs = [reference_vector(p, k) for k in ("inflamed", "resolved")]
    out = {}
    for state, (basal, stimulated) in PAIRS.items():
        i, ja, jb = INDEX[state], PINDEX[basal], PINDEX[stimulated]
        rows, rhs = [], []
        for y in refs:
            coef = []
            for j in (ja, jb):
                q = p.copy()
                q[ja] = q[jb] = 0.0
                base = _derivative(y, q, i)
                q[j] = 1.0
                coef.append(_derivative(y, q, i) - base)
            rows.append(coef)
            rhs.append(-base)
        out[basal], out[stimulated] = (float(v) for v in np.linalg.solve(np.array(rows), np.array(rhs)))
    return out
