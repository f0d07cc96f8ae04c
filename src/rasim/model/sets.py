"""Named parameter sets: the literature start and each committed calibration.

A set is a full parameter vector.  ``literature`` is the table's starting
values with the ``balance`` constants computed at them; ``calibrated-<date>``
(the default, ``parameters.SET_NAME``) is the committed calibration
(``data/calibrated.json``): fitted values, and balance constants recomputed at
them.  Select one with ``rasim.simulate(..., params=parameter_set(name).overrides())``
(or ``Cohort(..., params=...)``); compare two with ``diff``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import ParameterError, unknown_name
from .parameters import DEFAULTS, PARAMETERS, PINDEX, SET_NAME, STARTS, Parameter, fingerprint
from .parameters import table as parameters_table

LITERATURE = "literature"


@dataclass(frozen=True)
class ParameterSet:
    """A named parameter vector (``values``, in the order of ``PARAMETERS``)."""

    name: str
    description: str
    values: np.ndarray

    def value(self, name: str) -> float:
        """The value of parameter ``name`` in this set."""
        return float(self.values[PINDEX[name]])

    def table(self) -> tuple[Parameter, ...]:
        """The parameter table with this set's values in use (sources say where they come from)."""
        return parameters_table(
            {p.name: float(v) for p, v in zip(PARAMETERS, self.values) if p.start is None or v != p.start}, self.name
        )

    def overrides(self) -> dict[str, float]:
        """The values that differ from the set in use, as ``params=`` overrides."""
        return {p.name: float(v) for p, v, d in zip(PARAMETERS, self.values, DEFAULTS) if v != d}

    @property
    def fingerprint(self) -> str:
        """Short hash of the names and values (``parameters.fingerprint``)."""
        return fingerprint(self.values)


@cache
def _literature() -> ParameterSet:
    from .balance import balanced  # compiles the rate laws on first use

    values = np.where(np.isnan(STARTS), DEFAULTS, STARTS)
    for name, v in balanced(values).items():
        values[PINDEX[name]] = v
    return ParameterSet(LITERATURE, "the table's starting values; balance constants computed at them", values)


def names() -> list[str]:
    """The parameter sets, the one in use first."""
    return [SET_NAME] + ([LITERATURE] if SET_NAME != LITERATURE else [])


def parameter_set(name: str) -> ParameterSet:
    """The set ``name`` (see ``names()``); an unknown name raises ParameterError naming the closest."""
    if name == SET_NAME:
        return ParameterSet(SET_NAME, "in use: the committed calibration (data/calibrated.json)", DEFAULTS.copy())
    if name == LITERATURE:
        return _literature()
    raise ParameterError(unknown_name("parameter set", name, names(), "rasim.parameter_sets()"))


def diff(a: str, b: str, rtol: float = 0.0) -> list[tuple[str, float, float]]:
    """(name, value in ``a``, value in ``b``) for each parameter that differs by more than ``rtol``."""
    va, vb = parameter_set(a).values, parameter_set(b).values
    return [
        (p.name, float(x), float(y)) for p, x, y in zip(PARAMETERS, va, vb) if abs(x - y) > rtol * max(abs(x), abs(y))
    ]
