"""rasim: rheumatoid arthritis under MSC therapy and methotrexate, simulated.

The four nouns: the model (``rasim.model``), the regimen (``Regimen``,
``msc``, ``mtx``), the solver (``SolverOptions``, ``Status``) and, joining
them, ``simulate`` for one patient and ``Cohort`` for many (``rasim.cohort``).
"""
from importlib.metadata import PackageNotFoundError, version as _version

from . import _cache

try:
    __version__ = _version("rasim")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

CACHE_DIR = _cache.configure(__version__)  # before any kernel is decorated

from . import clinical, model  # noqa: E402
from .equilibrium import EquilibriumError  # noqa: E402
from .errors import CovariateError, ParameterError, RasimError, RegimenError  # noqa: E402
from .regimen import Regimen, msc, mtx  # noqa: E402
from .simulation import SimulationResult, simulate  # noqa: E402
from .solver import SolverOptions, Status  # noqa: E402
from .cohort import ARMS, POPULATIONS, Cohort, CohortResult  # noqa: E402


def parameters(search: str | None = None) -> list[model.Parameter]:
    """The parameter table (name, value, unit, range, meaning, source), optionally filtered by a word."""
    rows = list(model.PARAMETERS)
    if search:
        word = search.lower()
        rows = [p for p in rows if word in p.name.lower() or word in p.meaning.lower()
                or word in p.source.lower()]
    return rows


def parameter(name: str) -> model.Parameter:
    """One parameter's table entry; an unknown name raises ParameterError naming the closest."""
    return model.parameter(name)


__all__ = [
    "simulate", "SimulationResult", "Cohort", "CohortResult", "ARMS", "POPULATIONS", "Regimen", "msc", "mtx", "SolverOptions", "Status",
    "parameters", "parameter", "clinical", "model",
    "RasimError", "ParameterError", "RegimenError", "CovariateError", "EquilibriumError",
]
