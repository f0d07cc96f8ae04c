"""The RA model: named states, annotated parameters, compiled right-hand side, observables.

It knows nothing of numerics: a solver receives ``rhs``, ``jac`` and ``dfdt``
(compiled, flat float64 arrays only) and the argument vector whose layout
``args`` writes (``build_args``, and compiled ``args.write_args``).
"""

from __future__ import annotations

import numpy as np

from . import forcing, pk
from .args import build_args, constant_args
from .observables import OBSERVABLES, observables
from . import sets
from .parameters import (
    DEFAULTS,
    N_PARAMS,
    PARAMETERS,
    PINDEX,
    REFERENCES,
    SET_NAME,
    TABLE_FILES,
    Parameter,
    entries,
    fingerprint,
    parameter,
    parameter_vector,
)
from .presets import msc_overrides
from .references import reference_vector
from .rhs import dfdt, jac, rhs
from .states import ACCRUING, INDEX, N_COUPLED, N_STATES, NAMES, STATES

# Typical magnitude of each state (inflamed reference; 1 for MSC compartments,
# the fractions and the antibody level): absolute tolerances are relative to it.
STATE_SCALE = np.maximum(np.abs(reference_vector(DEFAULTS, "inflamed")), 1.0)


__all__ = [
    "STATES",
    "NAMES",
    "INDEX",
    "N_STATES",
    "N_COUPLED",
    "ACCRUING",
    "PARAMETERS",
    "PINDEX",
    "N_PARAMS",
    "DEFAULTS",
    "Parameter",
    "parameter",
    "parameter_vector",
    "REFERENCES",
    "SET_NAME",
    "TABLE_FILES",
    "entries",
    "fingerprint",
    "sets",
    "msc_overrides",
    "reference_vector",
    "OBSERVABLES",
    "observables",
    "rhs",
    "jac",
    "dfdt",
    "build_args",
    "constant_args",
    "pk",
    "forcing",
    "STATE_SCALE",
]
