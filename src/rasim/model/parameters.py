"""rasim's parameter tables: every entry with value, unit, range, meaning and source.

The tables are data, one CSV file each in ``data/`` (``TABLE_FILES``), with
the columns ``COLUMNS``: each entry's starting value, unit, plausible range,
kind, reference keys (rows of ``data/references.csv``, the citations), meaning
and a note.  ``params`` (``parameters.csv``) are the model's parameters; the
cohort tables are the measurement settings, the between-patient variability
(SD of log per parameter), the correlations of those log-parameters and the
covariate effects.  Kinds:

* ``literature``: a published figure (cited);
* ``assumed``: an order-of-magnitude choice with the plausible range given;
* ``balance``: no starting value: computed so that both ``REFERENCE_STATES``
  are steady states (``rasim.model.balance``), at the other values in use;
* ``calibrated``: fitted to the ``targets.csv`` calibrate rows; the table
  holds the starting value of the fit;
* ``preset``: set per MSC product (``rasim.model.presets``);
* ``covariate`` / ``regimen``: set per patient or per regimen.

The values in use (``IN_USE``; ``DEFAULTS`` the parameter vector) are the
default parameter set (``rasim.model.sets``): the starting values with the
committed calibration, ``data/calibrated.json``, applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import numpy as np

from .. import _calibrated, gate
from ..errors import ParameterError, unknown_name

KINDS = ("literature", "assumed", "balance", "calibrated", "preset", "covariate", "regimen")
COLUMNS = ("name", "start", "unit", "low", "high", "kind", "ref", "meaning", "note")
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


class TableFile(NamedTuple):
    """A parameter table's data file (in ``data/``) and what its entries are."""

    file: str
    title: str


# A parameter set's tables, keyed as in data/calibrated.json (and the Cohort keywords).
TABLE_FILES: dict[str, TableFile] = {
    "params": TableFile("parameters.csv", "model parameters"),
    "measurement": TableFile("measurement.csv", "measurement settings (visit noise, flares, placebo)"),
    "variability": TableFile("variability.csv", "between-patient variability (SD of log per parameter)"),
    "correlations": TableFile("correlations.csv", "between-patient correlations of log-parameters (pairs a:b)"),
    "covariate_effects": TableFile("covariate_effects.csv", "covariate effects"),
}


def read_table(file: str) -> list[dict[str, str]]:
    """The rows of ``data/<file>``, each checked (``_check_row``); names must be unique."""
    rows = _read_csv(file)
    for row in rows:
        _check_row(file, row)
    names = [r["name"] for r in rows]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ParameterError(f"data/{file}: {', '.join(twice)} declared more than once")
    return rows


def _check_row(file: str, row: Mapping[str, str | None]) -> None:
    """Raise ParameterError naming ``file`` and the entry unless the row has the ``COLUMNS``, a
    name, unit and meaning, numbers low <= start <= high (no start: ``balance`` only), a kind
    of ``KINDS`` and reference keys of ``REFERENCES``."""
    where = f"data/{file}: {row.get('name') or 'a row'}"
    if tuple(row) != COLUMNS or None in row.values():
        raise ParameterError(f"{where}: expected the columns {','.join(COLUMNS)}")
    if not (row["name"] and row["unit"] and row["meaning"]):
        raise ParameterError(f"{where}: name, unit and meaning are required")
    if row["kind"] not in KINDS:
        raise ParameterError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    unknown = [k for k in str(row["ref"]).split(";") if k and k not in REFERENCES]
    if unknown:
        raise ParameterError(f"{where}: reference keys {', '.join(unknown)} are not in data/references.csv")
    try:
        low, high = float(str(row["low"])), float(str(row["high"]))
        start = float(str(row["start"])) if row["start"] else None
    except ValueError:
        raise ParameterError(f"{where}: start, low and high must be numbers") from None
    if start is None and row["kind"] != "balance":
        raise ParameterError(f"{where}: a start value is required (only balance constants have none)")
    if not low <= (low if start is None else start) <= high:
        raise ParameterError(f"{where}: start {row['start']} is not within its range {low:g}-{high:g}")


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


def table(name: str, values: Mapping[str, float], set_name: str) -> tuple[Parameter, ...]:
    """Table ``name`` (a key of ``TABLE_FILES``) with ``values`` (entry -> value; the rest at
    their start values) of the parameter set ``set_name`` in use."""
    unknown = sorted(set(values) - {r["name"] for r in _ROWS[name]})
    if unknown:
        raise ParameterError(f"parameter set {set_name}: {', '.join(unknown)} not in data/{TABLE_FILES[name].file}")
    return tuple(_entry(r, values, set_name) for r in _ROWS[name])


def _fitted(name: str) -> dict[str, float]:
    """The committed calibration's values of table ``name`` (with ``params``: the balance constants)."""
    return {**_calibrated.fitted(name), **(_calibrated.fitted("balance") if name == "params" else {})}


_ROWS = {name: read_table(t.file) for name, t in TABLE_FILES.items()}
SET_NAME = _calibrated.set_name()  # the parameter set in use (the committed calibration)
IN_USE: dict[str, dict[str, Parameter]] = {  # table -> entry name -> entry, the values in use
    name: {p.name: p for p in table(name, _fitted(name), SET_NAME)} for name in TABLE_FILES
}
PARAMETERS: tuple[Parameter, ...] = tuple(IN_USE["params"].values())

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


def values_in_use() -> dict[str, dict[str, float]]:
    """The values in use: table -> entry -> value (a fresh copy)."""
    return {name: {k: p.value for k, p in entries.items()} for name, entries in IN_USE.items()}


def fingerprint(values: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """A short hash (12 hex digits) of a parameter set's ``values`` (table -> entry -> value;
    default: the values in use): every table's entry names and values, exactly."""
    digest = hashlib.sha256()
    for name, entries in sorted((values_in_use() if values is None else values).items()):
        digest.update("".join(f"{name}.{k}={float(v).hex()}\n" for k, v in sorted(entries.items())).encode())
    return digest.hexdigest()[:12]


def entries(table: str) -> dict[str, Parameter]:
    """The entries in use of ``table`` (a key of ``TABLE_FILES``) by name; an unknown table raises."""
    if table not in IN_USE:
        raise ParameterError(unknown_name("parameter table", table, IN_USE))
    return IN_USE[table]


def parameter(name: str, table: str = "params") -> Parameter:
    """The entry ``name`` of ``table`` (default: the model parameters) in use; unknown names
    raise, naming the closest ones."""
    try:
        return entries(table)[name]
    except KeyError:
        what = "parameter" if table == "params" else f"{table} entry"
        raise ParameterError(unknown_name(what, name, IN_USE[table], "rasim.parameters()")) from None


OUT_OF_RANGE_REMEDY = "to use it anyway: allow_out_of_range (a scenario key, or rasim run --unsafe-params)"


def parameter_vector(
    overrides: Mapping[str, float] | None = None,
    base: np.ndarray | None = None,
    allow_out_of_range: bool = False,
    remedy: str = OUT_OF_RANGE_REMEDY,
) -> np.ndarray:
    """A float64 parameter vector: ``base`` (defaults) with ``overrides`` applied and checked.

    An override must be a finite number >= 0 (a fraction within [0, 1]) and, unless
    ``allow_out_of_range``, within the parameter's plausible range (``low``-``high``;
    ``remedy`` ends the refusal: what the caller offers instead)."""
    vec = (DEFAULTS if base is None else base).astype(np.float64, copy=True)
    for name, value in (overrides or {}).items():
        entry = parameter(name)
        if not gate.is_number(value):
            raise ParameterError(f"parameter {name!r} must be a number ({entry.unit}); got {gate.got(value)}")
        value = float(value)
        if not math.isfinite(value) or value < 0.0:
            raise ParameterError(f"parameter {name!r} must be a finite number >= 0 ({entry.unit}); got {value}")
        if is_fraction(entry) and value > 1.0:
            raise ParameterError(f"parameter {name!r} is a fraction: it must be within [0, 1]; got {value:g}")
        if not allow_out_of_range and not _within(entry, value):
            raise ParameterError(
                f"parameter {name!r} = {value:g} is outside its plausible range "
                f"{entry.low:g}-{entry.high:g} {entry.unit}; {remedy}"
            )
        vec[PINDEX[name]] = value
    _check_balance(overrides or {}, vec)
    return vec


BALANCE_RTOL = 1e-6  # a basal source given with the others must match its derived value this closely


def _check_balance(overrides: Mapping[str, float], vec: np.ndarray) -> None:
    """Refuse a basal source of the ``balance`` pairs (``rasim.model.balance.PAIRS``) set to
    anything but its value derived at ``vec`` (a parameter set carries it consistent with its
    other values): basal sources exist only to make both reference states steady.  The
    stimulated production constants of the pairs are derived for the typical patient but are
    also the disease-activity parameters patients vary in (the variability table): those can
    be set."""
    from .balance import BASAL  # the balance module imports this one

    given = [name for name in overrides if name in BASAL]
    if not given:
        return
    from .balance import balanced  # compiles the rate laws on first use

    derived = balanced(vec)
    for name in given:
        if abs(vec[PINDEX[name]] - derived[name]) > BALANCE_RTOL * max(abs(derived[name]), 1e-12):
            raise ParameterError(
                f"parameter {name!r} is a basal source derived so that both reference states are steady "
                f"(rasim.model.balance; {derived[name]:.6g} at these values): it cannot be set; change the "
                "parameters it is derived from, or the stimulated production of its pair, instead"
            )


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
