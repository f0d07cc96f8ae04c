"""rasim: rheumatoid arthritis under MSC therapy and methotrexate, simulated.

The four nouns: the model (``rasim.model``), the regimen (``Regimen``,
``msc``, ``mtx``, ``prednisolone``, ``adalimumab``, ``nsaid``), the solver (``SolverOptions``, ``Status``) and, joining
them, ``simulate`` for one patient and ``Cohort`` for many (``rasim.cohort``).
"""

from importlib.metadata import PackageNotFoundError, version as _version

from . import _cache

try:
    __version__ = _version("rasim")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

CACHE_DIR = _cache.configure(__version__)  # before any kernel is decorated

# The imports below come after the cache is configured (ruff: E402 ignored for this file).
from . import clinical, model
from .errors import (
    CovariateError,
    EquilibriumError,
    FolderError,
    IncompleteRunError,
    LimitError,
    OutputError,
    ParameterError,
    RasimError,
    RegimenError,
    RasimWarning,
    RunInterrupted,
    ScenarioError,
    SolverOptionsError,
)
from .regimen import Regimen, adalimumab, msc, mtx, nsaid, prednisolone
from .simulation import SimulationResult, simulate
from .solver import SolverOptions, Status
from .cohort import ARMS, POPULATIONS, Cohort, CohortResult, CohortSummary, PatientStatus
from . import endpoints
from . import explore  # rasim.explore(): the explorer (Panel imported on use)


def parameters(search: str | None = None, set: str | None = None, table: str = "params") -> list[model.Parameter]:
    """A parameter table (``table``: "params", the model parameters, or another key of
    ``rasim.model.TABLE_FILES``): value in use (or in parameter set ``set``), start value, unit,
    range, kind and source, optionally filtered by a word (in name, meaning, kind or source)."""
    name = set or model.SET_NAME
    rows = list(
        model.entries(table).values() if name == model.SET_NAME else model.sets.parameter_set(name).table(table)
    )
    if search:
        word = search.lower()
        rows = [p for p in rows if any(word in text.lower() for text in (p.name, p.meaning, p.kind, p.source))]
    return rows


def parameter_sets() -> list[str]:
    """Names of the parameter sets (the one in use first); see :mod:`rasim.model.sets`."""
    return model.sets.names()


def parameter_set(name: str) -> model.sets.ParameterSet:
    """The parameter set ``name``: every table's values, fingerprint, ``overrides()`` for
    ``simulate(params=...)`` and ``cohort_overrides()`` for ``Cohort(...)``."""
    return model.sets.parameter_set(name)


def parameter(name: str) -> model.Parameter:
    """One parameter's table entry; an unknown name raises ParameterError naming the closest."""
    return model.parameter(name)


__all__ = [
    "simulate",
    "SimulationResult",
    "Cohort",
    "CohortResult",
    "CohortSummary",
    "PatientStatus",
    "endpoints",
    "explore",
    "ARMS",
    "POPULATIONS",
    "Regimen",
    "msc",
    "mtx",
    "prednisolone",
    "adalimumab",
    "nsaid",
    "SolverOptions",
    "Status",
    "parameters",
    "parameter",
    "parameter_sets",
    "parameter_set",
    "clinical",
    "model",
    "RasimError",
    "ParameterError",
    "RegimenError",
    "CovariateError",
    "EquilibriumError",
    "ScenarioError",
    "SolverOptionsError",
    "FolderError",
    "IncompleteRunError",
    "LimitError",
    "RunInterrupted",
    "RasimWarning",
    "OutputError",
]
