"""rasim's parameter table: every parameter with value, unit, range, meaning and source.

The table is data: ``data/parameters.csv`` holds each parameter's starting
value, unit, plausible range, kind, reference keys and a note; the keys name
rows of ``data/references.csv`` (the citations).  Kinds:

* ``literature``: a published figure (cited);
* ``assumed``: an order-of-magnitude choice with the plausible range given;
* ``balance``: no starting value: computed so that both ``REFERENCE_STATES``
  are steady states (``rasim.model.balance``), at the other values in use;
* ``calibrated``: fitted to the ``targets.csv`` calibrate rows; the table
  holds the starting value of the fit;
* ``preset``: set per MSC product (``rasim.model.presets``);
* ``covariate`` / ``regimen``: set per patient or per regimen.

The values in use (``DEFAULTS``) are the default parameter set
(``rasim.model.sets``): the starting values with the committed calibration,
``data/calibrated.json``, applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .. import _calibrated
from ..errors import ParameterError, unknown_name

KINDS = ("literature", "assumed", "balance", "calibrated", "preset", "covariate", "regimen")
BOUND_SLACK = 0.01  # a fitted value this close to a bound (relative) is flagged


@dataclass(frozen=True)
class Reference:
    """One row of ``data/references.csv``: ``key``, a ``short`` name and the ``citation``."""

    key: str
    short: str
    citation: str


@dataclass(frozen=True)
class Parameter:
    """One model parameter: ``value`` in use, in ``unit``; ``low``-``high`` plausible range.

    ``source`` is the provenance as one line; the table's entries also carry it
    structured: ``kind`` (one of ``KINDS``), ``refs`` (keys of ``REFERENCES``),
    ``note`` and ``start`` (the starting value; None for ``balance``)."""

    name: str
    value: float
    unit: str
    low: float
    high: float
    meaning: str
    source: str
    start: float | None = None
    kind: str = ""
    refs: tuple[str, ...] = ()
    note: str = ""

    @property
    def at_bound(self) -> str:
        """ "low" or "high" if the value lies on or within 1% (relative) of that bound, else "".

        A bound at 0 is reached only by the value 0: a rate of 0.005 is not "near" 0."""
        if self.value <= self.low + BOUND_SLACK * abs(self.low):
            return "low"
        if self.value >= self.high - BOUND_SLACK * abs(self.high):
            return "high"
        return ""


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (resources.files("rasim") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


REFERENCES: dict[str, Reference] = {
    r["key"]: Reference(r["key"], r["short"], r["citation"]) for r in _read_csv("references.csv")
}


def _source(kind: str, note: str, refs: tuple[str, ...], fitted_in: str = "") -> str:
    """The one-line provenance: kind, note, the references' short names and where it was fitted."""
    text = f"{kind}: {note}" if note else kind
    if refs:
        text += f" [{'; '.join(REFERENCES[k].short for k in refs)}]"
    return f"{text} ({fitted_in})" if fitted_in else text


def _entry(row: Mapping[str, str], values: Mapping[str, float], set_name: str) -> Parameter:
    """The table row ``row`` in the parameter set ``set_name`` (``values``: its non-start values)."""
    name, refs = row["name"], tuple(k for k in row["ref"].split(";") if k)
    start = float(row["start"]) if row["start"] else None
    if name in values:
        value, fitted_in = values[name], set_name
    elif start is not None:
        value, fitted_in = start, ""
    else:
        raise RuntimeError(
            f"balance constant {name} missing from parameter set {set_name} "
            "(data/calibrated.json: run tools/calibrate.py --write)"
        )
    return Parameter(
        name,
        value,
        row["unit"],
        float(row["low"]),
        float(row["high"]),
        row["meaning"],
        _source(row["kind"], row["note"], refs, fitted_in),
        start,
        row["kind"],
        refs,
        row["note"],
    )


def table(values: Mapping[str, float], set_name: str) -> tuple[Parameter, ...]:
    """The parameter table with ``values`` (name -> value; the rest at their start values) in use."""
    return tuple(_entry(r, values, set_name) for r in _ROWS)


_ROWS = _read_csv("parameters.csv")
SET_NAME = _calibrated.set_name()  # the parameter set in use (the committed calibration)
PARAMETERS: tuple[Parameter, ...] = table({**_calibrated.fitted("params"), **_calibrated.fitted("balance")}, SET_NAME)

# The two steady states the ``balance`` parameters are derived from
# (rasim.model.balance): untreated established RA and the threshold of
# remission (with the default constants the saddle between the inflamed and the
# remission attractor).  Memory Treg and M2 follow from their own equations.
REFERENCE_STATES: dict[str, dict[str, float]] = {
    "inflamed": {
        "th1": 20.0,  # % CD4 (8-20% in health, higher in RA)
        "th17": 2.0,  # % CD4 (1.5-3% in active RA)
        "tfh": 15.0,  # % CD4 (cTfh expanded in RA)
        "treg": 0.85,  # % CD4 short-lived Treg; total Treg ~3.8% in active RA
        "m1": 5.0,  # relative to healthy synovium
        "fls": 4.0,  # relative to healthy synovium (pannus)
        "tnf": 15.0,  # pg/mL
        "il6": 25.0,  # pg/mL (~20 on DMARDs; kinetics notes)
        "il17": 8.0,  # pg/mL
        "il10": 5.0,  # pg/mL
        "tgfb": 25.0,  # ng/mL
        "crp": 25.0,  # mg/L (untreated typical; trial baselines 33-37 are enriched by entry criteria)
        "fibrinogen": 5.5,  # g/L
        "autoab": 1.0,  # relative
    },
    "resolved": {
        "th1": 5.0,
        "th17": 0.6,
        "tfh": 9.0,
        "treg": 1.6,
        "m1": 0.6,
        "fls": 1.2,
        "tnf": 2.0,
        "il6": 3.0,
        "il17": 2.5,
        "il10": 5.5,
        "tgfb": 28.0,
        "crp": 2.0,
        "fibrinogen": 3.2,
        "autoab": 0.6,
    },
}


PINDEX: dict[str, int] = {p.name: i for i, p in enumerate(PARAMETERS)}
N_PARAMS = len(PARAMETERS)
DEFAULTS = np.array([p.value for p in PARAMETERS], dtype=np.float64)
STARTS = np.array([np.nan if p.start is None else p.start for p in PARAMETERS], dtype=np.float64)


def fingerprint(values: np.ndarray | None = None) -> str:
    """A short hash (12 hex digits) of the parameter names and ``values`` (default: ``DEFAULTS``)."""
    vec = np.ascontiguousarray(DEFAULTS if values is None else values, dtype="<f8")
    digest = hashlib.sha256("\n".join(PINDEX).encode() + vec.tobytes())
    return digest.hexdigest()[:12]


def parameter(name: str) -> Parameter:
    """The table entry of ``name``; unknown names raise, naming the closest ones."""
    try:
        return PARAMETERS[PINDEX[name]]
    except KeyError:
        raise ParameterError(unknown_name("parameter", name, PINDEX, "rasim.parameters()")) from None


def parameter_vector(
    overrides: Mapping[str, float] | None = None, base: np.ndarray | None = None, allow_out_of_range: bool = False
) -> np.ndarray:
    """A float64 parameter vector: ``base`` (defaults) with ``overrides`` applied and checked.

    An override must be a finite number >= 0 (a fraction within [0, 1]) and, unless
    ``allow_out_of_range``, within the parameter's plausible range (``low``-``high``)."""
    vec = (DEFAULTS if base is None else base).astype(np.float64, copy=True)
    for name, value in (overrides or {}).items():
        entry = parameter(name)
        if isinstance(value, (bool, np.bool_, str)):
            raise ParameterError(f"parameter {name!r} must be a number ({entry.unit}); got {value!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0.0:
            raise ParameterError(f"parameter {name!r} must be a finite number >= 0 ({entry.unit}); got {value}")
        if is_fraction(entry) and value > 1.0:
            raise ParameterError(f"parameter {name!r} is a fraction: it must be within [0, 1]; got {value:g}")
        if not allow_out_of_range and not _within(entry, value):
            raise ParameterError(
                f"parameter {name!r} = {value:g} is outside its plausible range "
                f"{entry.low:g}-{entry.high:g} {entry.unit}; to use it anyway: allow_out_of_range "
                "(a scenario key, or rasim run --unsafe-params)"
            )
        vec[PINDEX[name]] = value
    return vec


def _within(entry: Parameter, value: float) -> bool:
    """``value`` in the plausible range, up to rounding (1e-9 relative)."""
    slack = 1e-9 * max(abs(entry.low), abs(entry.high))
    return entry.low - slack <= value <= entry.high + slack


def is_fraction(entry: Parameter) -> bool:
    """A dimensionless parameter whose plausible range lies within [0, 1]."""
    return entry.unit == "-" and 0.0 <= entry.low and entry.high <= 1.0


def out_of_range(overrides: Mapping[str, float]) -> list[str]:
    """Messages for the ``overrides`` outside their plausible range."""
    return [
        f"parameter {name} = {float(v):g} is outside its plausible range {parameter(name).low:g}-"
        f"{parameter(name).high:g} {parameter(name).unit}"
        for name, v in overrides.items()
        if not _within(parameter(name), float(v))
    ]
