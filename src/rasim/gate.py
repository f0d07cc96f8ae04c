"""The gate every input passes before any work starts: types, ranges and size ceilings.

Every entry point (the dose constructors, ``simulate``, ``Cohort``, scenario files, the
command line, sweeps and sensitivity analyses) checks what it is given with these
functions, so a value is refused the same way wherever it arrives: a boolean or a
string is never a number, a number is finite and within its meaning, a list of days is
one-dimensional and increasing, and a size is below its ceiling.  Each refusal is a
:class:`~rasim.errors.RasimError` subclass whose message starts with the key path
(``Cohort.patients``, ``trial.toml: arms[0].regimen``), then what was expected, the value
given and, for a ceiling, the limit and how to raise it.

Ceilings (``LIMITS``) keep a run from taking the machine down: each can be raised with
the environment variable ``RASIM_MAX_<NAME>`` (a finite number > 0).  ``Cost`` estimates the
memory, disk and time of a cohort run before it starts (``cost``), refused above the
memory and disk ceilings.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import LimitError, RasimError, unknown_name

GIB = 2.0**30
LIMITS: dict[str, float] = {
    "patients": 10_000_000,  # patients per arm
    "arms": 100,  # arms of a scenario
    "observe": 1000,  # observation days of a cohort
    "days": 36525.0,  # horizon, days (100 years)
    "size": 1e12,  # patients x arms x observation days x horizon days
    "outputs": 100_000,  # output days of one simulate() call
    "doses": 100_000,  # dose events of one regimen over its horizon
    "points": 10_000,  # grid points of a sweep (the product over its axes)
    "samples": 1_000_000,  # parameter sets a sensitivity analysis evaluates
    "memory_gib": 8.0,  # estimated resident memory of one run, GiB
    "disk_gib": 100.0,  # estimated disk of one run's folder, GiB
    "workers": 256,  # worker processes of a local Dask cluster (--dask local:N)
}
_WHAT = {
    "patients": "patients per arm",
    "arms": "arms",
    "observe": "observation days",
    "days": "days of horizon (100 years)",
    "size": "patients x arms x observation days x horizon days",
    "outputs": "output days of one simulation",
    "doses": "dose events",
    "points": "grid points",
    "samples": "parameter sets to evaluate",
    "memory_gib": "GiB of memory (estimated)",
    "disk_gib": "GiB of disk (estimated)",
    "workers": "local Dask worker processes",
}
WARN_FRACTION = 0.1  # a cost above this share of its ceiling is printed before the run


def ceiling(key: str) -> float:
    """The ceiling of ``key`` (a name of ``LIMITS``): ``RASIM_MAX_<KEY>`` if set, else the default."""
    env = f"RASIM_MAX_{key.upper()}"
    text = os.environ.get(env)
    if text is None:
        return float(LIMITS[key])
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise LimitError(f"environment variable {env} must be a finite number > 0, got {text!r}")
    return value


def limit(key: str, value: float, path: str | None = None, error: type[RasimError] = LimitError) -> float:
    """``value`` (a size of kind ``key``), refused above its ceiling with how to raise it."""
    top = ceiling(key)
    if value > top:
        where = f"{path}: " if path else ""
        raise error(
            f"{where}{_float(value):g} {_WHAT[key]} is above the limit of {top:g}; if this machine can take it, "
            f"raise the limit with the environment variable RASIM_MAX_{key.upper()}"
        )
    return value


def got(v) -> str:
    """A value and its kind, for a refusal: ``'0.5' (a string)``."""
    kinds = {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    kind = kinds.get(type(v)) or ("a table" if isinstance(v, Mapping) else type(v).__name__)
    try:
        text = repr(v)
    except RecursionError:
        text = f"<a {type(v).__name__} nested too deeply to show>"
    return f"{text[:80]}{'...' if len(text) > 80 else ''} ({kind})"


def is_number(v) -> bool:
    """A real number that is not a boolean (numpy scalars included)."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def number(
    path: str,
    v,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
    inf_ok: bool = False,
    unit: str = "",
    error: type[RasimError] = RasimError,
) -> float:
    """``v`` as a float: finite (or +inf if ``inf_ok``), in [low, high] (an end excluded if
    ``open_low``/``open_high``)."""
    ok = (
        is_number(v)
        and (math.isfinite(_float(v)) or (inf_ok and v == math.inf))
        and (v > low if open_low else v >= low)
        and (v < high if open_high else v <= high)
    )
    if not ok:
        raise error(f"{path}: expected {_rule(low, high, open_low, open_high, unit)}, got {got(v)}")
    return float(v)


def _rule(low: float, high: float, open_low: bool, open_high: bool, unit: str) -> str:
    bound = [f"{'>' if open_low else '>='} {low:g}"] if low > -math.inf else []
    bound += [f"{'<' if open_high else '<='} {high:g}"] if high < math.inf else []
    return f"a finite number{' ' + ' and '.join(bound) if bound else ''}{' ' + unit if unit else ''}"


def _float(v) -> float:
    """``v`` as a float; an integer too large for one is infinite."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def integer(path: str, v, low: int = 0, high: float = math.inf, *, error: type[RasimError] = RasimError) -> int:
    """``v`` as an int (a Python or numpy integer, not a boolean or a float) in [low, high]."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or not low <= int(v) <= high:
        rule = f"an integer >= {low}" + (f" and <= {high:g}" if high < math.inf else "")
        raise error(f"{path}: expected {rule}, got {got(v)}")
    return int(v)


def flag(path: str, v, *, error: type[RasimError] = RasimError) -> bool:
    """``v`` as a bool: True or False only (not 'no', not 0)."""
    if not isinstance(v, (bool, np.bool_)):
        raise error(f"{path}: expected True or False, got {got(v)}")
    return bool(v)


def text(path: str, v, *, error: type[RasimError] = RasimError) -> str:
    """``v`` if it is a string."""
    if not isinstance(v, str):
        raise error(f"{path}: expected a string, got {got(v)}")
    return v


DASK_LOCAL = re.compile(r"local(?::(\d+))?")
DASK_ADDRESS = re.compile(r"(?:[a-z]+://)?[\w.\-]+:\d+|[a-z]+://\S+")


def dask(path: str, v) -> tuple[str, str]:
    """A Dask cluster to run on: ("local", N) for ``local[:N]`` (a LocalCluster of N worker
    processes, 1 <= N <= the ``workers`` ceiling; default the cores) or ("address", ``v``)
    for a scheduler address (``tcp://host:8786``, ``host:8786``, ``tls://...``)."""
    spec = text(path, v).strip()
    if m := DASK_LOCAL.fullmatch(spec):
        n = int(m.group(1)) if m.group(1) else os.cpu_count() or 1
        return "local", str(int(limit("workers", integer(path, n, 1), path)))
    if DASK_ADDRESS.fullmatch(spec):
        return "address", spec
    raise RasimError(
        f"{path}: expected a Dask scheduler address (tcp://host:8786, host:8786) or local[:N] "
        f"(a LocalCluster of N worker processes), got {got(v)}"
    )


def days(path: str, v, horizon: float = math.inf, *, ceiling_key: str = "observe", error=RasimError) -> np.ndarray:
    """A non-empty, one-dimensional, strictly increasing list of days in [0, horizon], no
    longer than the ceiling ``ceiling_key``, as float64."""
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Iterable, np.ndarray)):
        raise error(f"{path}: expected a list of days, got {got(v)}")
    if isinstance(v, np.ndarray) and v.ndim != 1:
        raise error(f"{path}: expected a one-dimensional list of days, got an array of shape {v.shape}")
    top = ceiling(ceiling_key)
    # the length is refused before a long sequence (or a generator) is read into memory
    items: Any = v if isinstance(v, Sized) else list(itertools.islice(v, int(top) + 1))
    if len(items) == 0:
        raise error(f"{path}: expected at least one day, got an empty list")
    limit(ceiling_key, len(items), path)
    out = np.empty(len(items))
    for i, t in enumerate(items):
        out[i] = number(f"{path}[{i}]", t, 0.0, error=error)
        if out[i] > horizon:
            raise error(f"{path}[{i}]: day {out[i]:g} is after the horizon (day {horizon:g})")
        if i and out[i] <= out[i - 1]:
            raise error(f"{path}[{i}]: days must increase: {out[i]:g} follows {out[i - 1]:g}")
    return out


def table(
    path: str,
    v,
    valid: Iterable[str] | None,
    kind: str = "key",
    *,
    where: str | None = None,
    error: type[RasimError] = RasimError,
) -> dict[str, float]:
    """A mapping of names (of ``valid``, with "did you mean") to numbers, as a dict of floats
    (ranges are the caller's)."""
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise error(f"{path}: expected a table of {kind} = number, got {got(v)}")
    names = None if valid is None else list(valid)
    out = {}
    for name, x in v.items():
        if not isinstance(name, str) or (names is not None and name not in names):
            raise error(f"{path}: " + unknown_name(kind, str(name), names or (), where))
        out[name] = number(f"{path}.{name}", x, error=error)
    return out


# -- costs -------------------------------------------------------------------------------------

BYTES_PER_VISIT = 8 * 40  # float64 outputs a patient keeps per visit (items, scores, biomarkers; 193 measured)
CSV_BYTES_PER_VISIT = 870  # dataset.csv per patient visit: a row (~85 bytes) per measured item, and doses
PATIENTS_PER_SECOND = 200.0  # end to end on one core, a 3-year patient (measured 150-250, issue 21)


@dataclass(frozen=True)
class Cost:
    """What a run will take: resident memory and disk (bytes) and time (seconds on this machine)."""

    memory: float
    disk: float
    seconds: float

    def lines(self) -> list[str]:
        """The estimate as text lines (for the terminal and the manifest)."""
        return [
            f"estimated memory {self.memory / GIB:.2g} GiB, disk {self.disk / GIB:.2g} GiB, "
            f"time {_duration(self.seconds)} on {os.cpu_count() or 1} cores"
        ]

    def check(self, path: str = "run") -> list[str]:
        """Refuse a memory or disk estimate above its ceiling; the estimate as text if it is
        large enough to mention (above ``WARN_FRACTION`` of a ceiling or a minute)."""
        limit("memory_gib", self.memory / GIB, path)
        limit("disk_gib", self.disk / GIB, path)
        big = (
            self.memory / GIB > WARN_FRACTION * ceiling("memory_gib")
            or self.disk / GIB > WARN_FRACTION * ceiling("disk_gib")
            or self.seconds > 60.0
        )
        return self.lines() if big else []


def cost(
    patients: int,
    arms: int,
    visits: int,
    days: float,
    *,
    in_memory: bool = True,
    states: int = 0,
    chunk_size: int = 2000,
    csv: bool = False,
) -> Cost:
    """The cost of ``arms`` cohorts of ``patients`` each, ``visits`` observation days over
    ``days``: in memory (every patient's values kept, and ``states`` model states if dense)
    or streamed (a chunk at a time); ``csv``: a long-format dataset written to disk."""
    per_patient = visits * (BYTES_PER_VISIT + 8 * states)
    held = patients * arms if in_memory else min(patients, chunk_size)
    memory = held * per_patient + 200e6  # the interpreter, Numba and the compiled kernels
    disk = patients * arms * visits * (CSV_BYTES_PER_VISIT if csv else 0)
    cores = os.cpu_count() or 1
    seconds = patients * arms * max(days, 1.0) / 1095.0 / (PATIENTS_PER_SECOND * cores)
    return Cost(memory, disk, seconds)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
