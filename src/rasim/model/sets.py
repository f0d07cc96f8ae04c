"""Named parameter sets: the literature start and each committed calibration.

A set is a value for every entry of every parameter table (``TABLE_FILES``:
the model parameters, the measurement settings, the between-patient
variability and correlations, the covariate effects).  ``literature`` is the
tables' starting values with the ``balance`` constants computed at them;
``calibrated-<date>`` (the default, ``parameters.SET_NAME``) is the committed
calibration (``data/calibrated.json``): fitted values, and balance constants
recomputed at them.  Select one with ``rasim.simulate(...,
params=parameter_set(name).overrides())`` (a cohort takes every table:
``Cohort(..., **parameter_set(name).cohort_overrides())``, as a scenario's
``parameter_set`` does); compare two with ``diff``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import ParameterError, unknown_name
from .parameters import (
    DEFAULTS,
    IN_USE,
    SET_NAME,
    Parameter,
    entries,
    fingerprint,
    parameter,
    values_in_use,
)
from .parameters import table as parameters_table

LITERATURE = "literature"
COHORT_KEYWORDS = ("params", "measurement", "variability", "covariate_effects")  # the tables Cohort takes


@dataclass(frozen=True)
class ParameterSet:
    """A named value for every entry of every table: ``values[table][name]`` (tables: ``TABLE_FILES``)."""

    name: str
    description: str
    values: Mapping[str, Mapping[str, float]]

    def value(self, name: str, table: str = "params") -> float:
        """The value of entry ``name`` of ``table`` (default: the model parameters) in this set."""
        return self.values[table][parameter(name, table).name]

    def table(self, table: str = "params") -> tuple[Parameter, ...]:
        """Table ``table`` with this set's values in use (sources say where they come from)."""
        starts = {k: p.start for k, p in entries(table).items()}
        values = self.values[table]
        return parameters_table(table, {k: v for k, v in values.items() if v != starts[k]}, self.name)

    def overrides(self, table: str = "params") -> dict[str, float]:
        """The values of ``table`` that differ from the set in use, as overrides (``params=``)."""
        in_use = entries(table)
        return {k: v for k, v in self.values[table].items() if v != in_use[k].value}

    def cohort_overrides(self) -> dict[str, dict[str, float]]:
        """``overrides`` of every table a ``Cohort`` takes, by keyword (``COHORT_KEYWORDS``)."""
        return {table: self.overrides(table) for table in COHORT_KEYWORDS}

    @property
    def fingerprint(self) -> str:
        """Short hash of every table's names and values (``parameters.fingerprint``)."""
        return fingerprint(self.values)


@cache
def _literature() -> ParameterSet:
    from .balance import balanced  # compiles the rate laws on first use

    values = {name: {k: p.start for k, p in rows.items() if p.start is not None} for name, rows in IN_USE.items()}
    vector = np.array([values["params"].get(name, d) for name, d in zip(IN_USE["params"], DEFAULTS)])
    values["params"] = {name: float(v) for name, v in zip(IN_USE["params"], vector)} | balanced(vector)
    return ParameterSet(LITERATURE, "the tables' starting values; balance constants computed at them", values)


def names() -> list[str]:
    """The parameter sets, the one in use first."""
    return [SET_NAME] + ([LITERATURE] if SET_NAME != LITERATURE else [])


def parameter_set(name: str) -> ParameterSet:
    """The set ``name`` (see ``names()``); an unknown name raises ParameterError naming the closest."""
    if name == SET_NAME:
        return ParameterSet(SET_NAME, "in use: the committed calibration (data/calibrated.json)", values_in_use())
    if name == LITERATURE:
        return _literature()
    raise ParameterError(unknown_name("parameter set", name, names(), "rasim.parameter_sets()"))


def diff(a: str, b: str, rtol: float = 0.0) -> list[tuple[str, str, float, float]]:
    """(table, name, value in ``a``, value in ``b``) for each entry that differs by more than ``rtol``."""
    va, vb = parameter_set(a).values, parameter_set(b).values
    return [
        (table, name, x, vb[table][name])
        for table in va
        for name, x in va[table].items()
        if abs(x - vb[table][name]) > rtol * max(abs(x), abs(vb[table][name]))
    ]
