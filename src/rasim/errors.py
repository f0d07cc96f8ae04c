"""Exceptions raised by rasim before any solving starts.

Solver failures are never exceptions: they come back as a status code
(see :mod:`rasim.solver.status`).  Every class here derives from
``RasimError`` and is exported from ``rasim``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RasimError(ValueError):
    """Base class of every input error rasim raises; ``key``: the field it blames, if known
    (a scenario file names it in its key path)."""

    key: str | None = None

    @classmethod
    def keyed(cls, key: str, message: str) -> RasimError:
        """The error ``message`` blaming field ``key``."""
        error = cls(message)
        error.key = key
        return error


class ParameterError(RasimError, KeyError):
    """An unknown parameter name or an invalid parameter value."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class OutputError(RasimError, KeyError):
    """An unknown output or endpoint name (``rasim.endpoints``)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RegimenError(RasimError):
    """A dose or schedule that cannot be given."""


class CovariateError(RasimError):
    """An unknown or out-of-range patient covariate."""


class ScenarioError(RasimError):
    """An invalid scenario file; the message names the file and the key path."""


class SolverOptionsError(RasimError):
    """Solver settings that cannot be used (method, tolerances, step limits)."""


class EquilibriumError(RasimError):
    """The parameters give no stable, active (inflamed) disease state."""


class FolderError(RasimError):
    """An output folder that cannot be used (busy, holding another run, not writable)."""


class IncompleteRunError(FolderError):
    """A run folder whose run did not finish (interrupted): the message says how to finish it."""


class LimitError(RasimError):
    """A size or cost above its ceiling (``rasim.gate.LIMITS``): the message says how to raise it."""


class RunInterrupted(RasimError):
    """Ctrl-C during a run: the committed chunks are kept; the message says how to resume."""


class RasimWarning(UserWarning):
    """Input rasim accepts but the results should carry a note of (e.g. a dose step after the horizon)."""


def unknown_name(kind: str, name: str, valid: Iterable[str], where: str | None = None) -> str:
    """Message for an unknown `name`, naming the closest valid ones (and ``where`` to list them)."""
    valid = list(valid)
    if not isinstance(name, str):  # a number or other non-name: nothing to suggest
        return (
            f"unknown {kind} {name!r}: names are strings ({len(valid)} valid names{'; see ' + where if where else ''})"
        )
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if not close:
        lowered = name.lower()
        close = [v for v in valid if lowered in v.lower()][:3]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = f"; see {where}" if where else ""
    return f"unknown {kind} {name!r}.{hint} ({len(valid)} valid names{listing})"
