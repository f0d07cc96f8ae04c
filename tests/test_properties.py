"""Property-based tests of the gate (issue 21): any input either works or is refused with a
``rasim.RasimError`` subclass, quickly; nothing else escapes.

The strategies generate mostly-wrong inputs (None, booleans, strings, nan and infinities,
huge and negative numbers, nested lists, tables with random keys, numpy arrays of odd
shapes and dtypes, numbers of other kinds) mixed with valid values, for the dose
constructors and regimen sums, ``Regimen.from_dict``, ``Cohort`` construction (its plan,
not a run), ``simulation.prepare`` (and ``simulate`` over a few days), ``Arm``,
``Population`` and ``Entry``, and ``Scenario.from_dict`` (valid scenarios with one or two
values mutated, and pure garbage).

A property fails on any other exception (TypeError, AttributeError, a KeyError that is not
a RasimError, ZeroDivisionError, OverflowError, RecursionError, MemoryError, ...), on a
numpy ``RuntimeWarning`` (turned into an error), on an example slower than the deadline and
on a call still running after ``HANG_SECONDS`` (an alarm).  For the module the process's
address space is capped at what it maps plus ``HEADROOM``, so a runaway allocation fails at
once with MemoryError instead of taking the machine down.
"""

from __future__ import annotations

import copy
from collections import namedtuple
import math
import os
import operator
import resource
import signal
import warnings
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rasim
from rasim import Cohort, RasimError, msc, mtx, simulate
from rasim import scenario as S
from rasim.cohort import ANALYSES, ARMS, POPULATIONS, Arm, Dropout, Entry, Population, Rescue
from rasim.cohort import measurement as M
from rasim.cohort import variability as V
from rasim.cohort.arms import ACUTE_PHASE
from rasim.lowering import COVARIATES, DURATION_RANGE
from rasim.model.presets import MTX_REFRACTORY
from rasim.regimen import MSC_DONORS, MSC_ROUTES, MSC_SOURCES, MTX_ROUTES, Regimen
from rasim.simulation import prepare

HANG_SECONDS = 3.0  # one call; the deadline (per example) is 2 s
HEADROOM = 2 * 2**30  # address space the module may add to what the process maps


def examples(n: int) -> settings:
    """The settings of a property: ``n`` examples (bounded for CI), each within the deadline.
    The examples are derandomized, so CI runs the same ones every time; explore further with
    ``RASIM_HYPOTHESIS_RANDOM=1`` (fresh random examples each run)."""
    return settings(
        max_examples=n,
        deadline=2000,
        derandomize=not os.environ.get("RASIM_HYPOTHESIS_RANDOM"),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class Hang(Exception):
    """A call still running after HANG_SECONDS (an Exception, so that Hypothesis shrinks it)."""


@contextmanager
def alarm(seconds: float):
    def ring(signum, frame):
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def gate(call, *args, **kwargs):
    """``call(*args, **kwargs)``: what it returns, or the RasimError it raises (with a
    message); any other exception, a numpy RuntimeWarning or a hang fails the property."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with alarm(HANG_SECONDS):
            try:
                return call(*args, **kwargs)
            except RasimError as e:
                assert str(e), f"{type(e).__name__} without a message"
                return e


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        return 1024 * next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))


@pytest.fixture(scope="module", autouse=True)
def capped():
    """Numba kernels loaded from the cache first (compiling is not the gate's time), then the
    address space capped for the module."""
    for solver in ("rodas4", "dopri5", "scipy", "lsoda", "bdf"):
        simulate(msc(4e7), days=2, solver=solver)
    simulate(msc(4e7), days=2, params=MTX_REFRACTORY, background=mtx(15), day0="replay")
    Cohort("msc+dmard", patients=1)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_size() + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# -- garbage --------------------------------------------------------------------------------

ODD_NUMBERS = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        0,
        -0.0,
        -1,
        -1e-9,
        1e-300,
        5e-324,
        1e300,
        -1e308,
        10**10,
        10**20,
        2**63,
        -(2**63),
        10**400,
    ]
)
ODD_KINDS = st.sampled_from(
    [
        None,
        True,
        False,
        "",
        "0.5",
        "nan",
        "1e400",
        "refractory",
        "iv",
        b"7",
        1j,
        Fraction(1, 3),
        Decimal("2.5"),
        Decimal("NaN"),
        object(),
        print,
        (),
        set(),
        frozenset({1}),
        range(3),
        np.float64("nan"),
        np.float32(1e38),
        np.int64(5),
        np.int8(-1),
        np.uint64(2**64 - 1),
        np.bool_(True),
        np.str_("7"),
        np.datetime64("2026-01-01"),
    ]
)
ODD_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.int64, np.bool_, np.dtype("U3"), np.complex128, np.float16]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)
ATOMS = st.one_of(
    ODD_NUMBERS,
    ODD_KINDS,
    st.floats(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=6),
    ODD_ARRAYS,
)
KEYS = st.one_of(st.text(max_size=6), st.integers(-3, 3), st.none(), st.booleans(), st.floats())
GARBAGE = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=6,
)


SCALARS = st.one_of(ODD_NUMBERS, ODD_KINDS, st.floats(), st.integers(min_value=-(2**70), max_value=2**70))


def either(valid):
    """A valid value, a wrong scalar or garbage."""
    return st.one_of(valid, SCALARS, GARBAGE)


@st.composite
def kwargs(draw, fields: dict) -> dict:
    """Keyword arguments: any subset of ``fields`` with valid values, then up to two of
    ``fields`` given garbage (one wrong thing among right ones reaches deepest)."""
    kw = draw(st.fixed_dictionaries({}, optional=fields))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
        kw[name] = draw(GARBAGE)
    return kw


# -- valid values ----------------------------------------------------------------------------

DAY = st.one_of(st.integers(0, 1500), st.floats(0, 1500, allow_nan=False))
DAYS_LIST = st.lists(DAY, min_size=1, max_size=4, unique=True)
NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.+=-]{0,8}", fullmatch=True)

MSC_FIELDS = {
    "days": st.one_of(DAY, DAYS_LIST),
    "every": st.one_of(st.sampled_from([7, 30, 91]), st.floats(0.5, 400)),
    "until": st.floats(1, 2000),
    "per_kg": st.booleans(),
    "source": st.sampled_from([*MSC_SOURCES, "uc", "bm", "ad", "adipose_tissue", "Bone-Marrow"]),
    "donor": st.sampled_from(MSC_DONORS),
    "route": st.sampled_from([*MSC_ROUTES, "ia", "IV", "oral"]),
    "joints": st.integers(1, 28),
}
CELLS = st.one_of(st.sampled_from([4e7, 1e6, 2e8, 1e10]), st.floats(1e3, 1e10))
MG = st.one_of(st.sampled_from([7.5, 15.0, 25]), st.floats(0.5, 30))
TITRATION = st.dictionaries(st.one_of(DAY, DAY.map(str)), MG, min_size=1, max_size=4)
MTX_FIELDS = {
    "every": st.one_of(st.just(7), st.floats(1, 28)),
    "start": DAY,
    "until": st.floats(1, 3000),
    "route": st.sampled_from([*MTX_ROUTES, "sc", "Oral", "iv"]),
}
REGIMENS = st.sampled_from(
    [
        Regimen(),
        msc(4e7),
        msc(4e7, days=[0, 120]),
        msc(1e6, per_kg=True, source="bm", donor="autologous"),
        msc(1e7, route="ia", joints=2),
        mtx(15),
        mtx({0: 7.5, 28: 15}),
        mtx(10, route="sc", until=200),
        msc(4e7) + mtx(7.5, start=14),
    ]
)
BACKGROUNDS = st.sampled_from([None] * 6 + [mtx(15), mtx(7.5, route="sc"), Regimen(), msc(4e7)])


def _msc_dose_dict(d):
    return {"drug": "msc", **d}


def _mtx_dose_dict(d):
    return {"drug": "mtx", **d}


MSC_DOSE_DICT = st.fixed_dictionaries(
    {"cells": CELLS},
    optional={k: v for k, v in MSC_FIELDS.items() if k not in ("every", "until")} | {"days": DAYS_LIST},
).map(_msc_dose_dict)
MTX_DOSE_DICT = st.fixed_dictionaries({"dose_mg": st.one_of(MG, TITRATION)}, optional=MTX_FIELDS).map(_mtx_dose_dict)
REGIMEN_DICT = st.fixed_dictionaries({"doses": st.lists(st.one_of(MSC_DOSE_DICT, MTX_DOSE_DICT), max_size=3)})

PARAMETERS = {p.name: p for p in rasim.parameters()}


Range = namedtuple("Range", "low high")


def _in_range(table: dict):
    """(name, value in its range) for a name of ``table`` (entries with low and high)."""
    return st.sampled_from(sorted(table)).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.floats(table[n].low, table[n].high, allow_infinity=False)
            if table[n].high > table[n].low
            else st.just(table[n].low),
        )
    )


def overrides(table: dict, extra_keys=()) -> st.SearchStrategy:
    """A table of overrides: names of ``table`` (or others) to values in range or garbage."""
    pair = st.one_of(
        _in_range(table),
        st.tuples(st.sampled_from([*sorted(table), *extra_keys]), GARBAGE),
        st.tuples(st.text(max_size=8), st.floats()),
    )
    return st.lists(pair, max_size=3).map(dict)


PARAMS = overrides(PARAMETERS)
COVARIATE_TABLE = {name: PARAMETERS.get(name, Range(*DURATION_RANGE)) for name in COVARIATES}
COVARIATE_VALUES = st.one_of(
    overrides(COVARIATE_TABLE, ("junk",)),
    st.fixed_dictionaries({}, optional={"female": st.sampled_from([0, 1, 0.5]), "weight": st.floats(30, 200)}),
)
VARIABILITY = overrides(V.VARIABILITY)
MEASUREMENT = overrides(M.MEASUREMENT)
EFFECTS = overrides(V.COVARIATE_EFFECTS)
OBSERVE = st.lists(st.floats(0, 1095, allow_nan=False), min_size=1, max_size=6, unique=True).map(sorted)
SHORT_OBSERVE = st.lists(st.integers(0, 30), min_size=1, max_size=5, unique=True).map(sorted)


# -- dose constructors and regimens ----------------------------------------------------------


@examples(500)
@given(cells=either(CELLS), kw=kwargs(MSC_FIELDS))
def test_msc(cells, kw):
    r = gate(msc, cells, **kw)
    assert isinstance(r, (Regimen, RasimError))


@examples(500)
@given(dose=either(st.one_of(MG, TITRATION)), kw=kwargs(MTX_FIELDS))
def test_mtx(dose, kw):
    r = gate(mtx, dose, **kw)
    assert isinstance(r, (Regimen, RasimError))


@examples(300)
@given(
    specs=st.lists(
        st.one_of(
            st.tuples(st.just(msc), either(CELLS), kwargs(MSC_FIELDS)),
            st.tuples(st.just(mtx), either(st.one_of(MG, TITRATION)), kwargs(MTX_FIELDS)),
        ),
        min_size=1,
        max_size=3,
    ),
    horizon=either(st.floats(0, 2000)),
    weight=either(st.one_of(st.none(), st.floats(30, 200))),
)
def test_regimen_sums_and_their_events(specs, horizon, weight):
    """Doses built, summed, expanded to events and dose tables, written and read back."""
    regimens = [r for f, first, kw in specs if isinstance(r := gate(f, first, **kw), Regimen)]
    total = Regimen()
    for r in regimens:
        total = gate(operator.add, total, r)
        if not isinstance(total, Regimen):
            return
    gate(total.events, horizon, weight)
    gate(total.event_table, horizon)
    gate(total.event_table)
    assert gate(Regimen.from_dict, total.to_dict()) == total


@examples(400)
@given(data=st.one_of(REGIMEN_DICT, GARBAGE, st.builds(lambda d: {"doses": d}, GARBAGE)))
def test_regimen_from_dict(data):
    gate(Regimen.from_dict, data)


# -- mutation of valid documents ----------------------------------------------------------------


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw, base: st.SearchStrategy, max_mutations: int = 2):
    """A document of ``base`` with 1..max_mutations mutations: a value replaced by garbage,
    a key or item deleted, a key of garbage added, a value wrapped in a list."""
    doc = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap"]))
        if not path:
            doc = draw(GARBAGE) if op == "replace" else [doc] if op == "wrap" else doc
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        if op == "replace":
            parent[key] = draw(GARBAGE)
        elif op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [parent[key]]
        elif isinstance(parent[key], dict):
            parent[key][draw(KEYS)] = draw(GARBAGE)
    return doc


@examples(300)
@given(data=mutated(REGIMEN_DICT))
def test_regimen_from_dict_mutated(data):
    gate(Regimen.from_dict, data)


# -- scenarios --------------------------------------------------------------------------------

RICH_SCENARIO = {
    "name": "rich",
    "description": "every kind of key",
    "patients": 50,
    "seed": 1,
    "days": 365,
    "observe": [0, 28, 91, 365],
    "allow_out_of_range": False,
    "parameter_set": rasim.parameter_sets()[0],
    "params": {"msc_homing_max": 0.1, "female": 1},
    "variability": {"msc_k_immune": 0.3},
    "populations": [
        {
            "name": "mine",
            "description": "d",
            "age": {"mean": 50, "sd": 10, "min": 18, "max": 80},
            "female": 0.7,
            "duration": {"median": 4, "sd_log": 0.5},
            "seropositive": 0.6,
            "weight": {"median": 70, "sd_log": 0.2},
            "entry": {"das28_min": 3.2, "das28_max": 9, "tjc_min": 4, "sjc_min": 4, "esr_min": 10, "crp_min": 5},
            "background": {"doses": [{"drug": "mtx", "dose_mg": 15, "every": 7}]},
        }
    ],
    "arms": [
        {
            "name": "a",
            "population": "mine",
            "regimen": {"doses": [{"drug": "msc", "cells": 4e7, "days": [0, 91]}]},
            "dropout": {"rate": 0.1, "nonresponder_factor": 2},
            "rescue": {"start": 91, "until": 365, "improvement": 20, "short_in": "either"},
            "analysis": "nri",
        },
        {"arm": "mtx_naive", "name": "b"},
        {"arm": "dmard", "background": {"doses": []}},
    ],
}
VALID_SCENARIOS = [
    {"name": "t", "arms": [{"arm": "dmard"}]},
    RICH_SCENARIO,
    *(S.load(name).to_dict() for name in S.builtin_names()),
]
SCENARIOS = st.sampled_from(VALID_SCENARIOS)


@pytest.mark.parametrize("doc", VALID_SCENARIOS, ids=lambda d: d["name"])
def test_the_scenarios_mutated_are_valid(doc):
    """The documents the scenario mutations start from are accepted as they are."""
    S.Scenario.from_dict(copy.deepcopy(doc))


@examples(600)
@given(data=mutated(SCENARIOS))
def test_scenario_from_dict_mutated(data):
    gate(S.Scenario.from_dict, data)


@examples(200)
@given(data=GARBAGE)
def test_scenario_from_dict_garbage(data):
    gate(S.Scenario.from_dict, data)


# -- populations, entries, arms -------------------------------------------------------------------

ENTRY_FIELDS = {
    "das28_min": st.floats(0, 10),
    "das28_max": st.one_of(st.just(math.inf), st.floats(0, 10)),
    "tjc_min": st.integers(0, 28),
    "sjc_min": st.integers(0, 28),
    "esr_min": st.floats(0, 200),
    "crp_min": st.floats(0, 400),
    "acute_phase": st.sampled_from(ACUTE_PHASE),
}
POPULATION_FIELDS = {
    "description": st.text(max_size=10),
    "source": st.text(max_size=10),
    "age": st.one_of(
        st.just((53.0, 12.0, 18.0, 80.0)),
        st.tuples(st.floats(18, 90), st.floats(0, 50), st.floats(18, 90), st.floats(18, 90)),
    ),
    "female": st.floats(0, 1),
    "duration": st.tuples(st.floats(0.01, 60), st.floats(0, 2)),
    "seropositive": st.floats(0, 1),
    "weight": st.tuples(st.floats(35, 180), st.floats(0, 2)),
    "background": BACKGROUNDS,
}
ARM_FIELDS = {
    "regimen": REGIMENS,
    "background": BACKGROUNDS,
    "description": st.text(max_size=10),
    "dropout": st.sampled_from([None, Dropout(0.1), Dropout(0.2, 3.0)]),
    "rescue": st.sampled_from([None, Rescue(28), Rescue(91, until=365)]),
    "analysis": st.sampled_from(ANALYSES),
}


@examples(300)
@given(kw=kwargs(ENTRY_FIELDS))
def test_entry(kw):
    gate(Entry, **kw)


@examples(300)
@given(name=either(NAME), kw=kwargs(POPULATION_FIELDS), entry=kwargs(ENTRY_FIELDS), garbage_entry=GARBAGE)
def test_population(name, kw, entry, garbage_entry):
    e = gate(Entry, **entry)
    gate(Population, name, **kw, entry=e if isinstance(e, Entry) else garbage_entry)


@examples(300)
@given(
    name=either(NAME),
    population=either(st.sampled_from(sorted(POPULATIONS))),
    own=st.booleans(),
    pop_kw=kwargs(POPULATION_FIELDS),
    kw=kwargs(ARM_FIELDS),
)
def test_arm_then_cohort(name, population, own, pop_kw, kw):
    """An Arm, then a Cohort of it (construction: the plan, not a run)."""
    if own:
        p = gate(Population, "own", **pop_kw)
        population = p if isinstance(p, Population) else population
    arm = gate(Arm, name, population, **kw)
    if isinstance(arm, Arm):
        gate(Cohort, arm, patients=2, observe=(0, 28, 91))


# -- cohorts --------------------------------------------------------------------------------------

COHORT_FIELDS = {
    "patients": st.integers(1, 50),
    "seed": st.integers(0, 2**32),
    "observe": OBSERVE,
    "params": PARAMS,
    "variability": VARIABILITY,
    "measurement": MEASUREMENT,
    "covariate_effects": EFFECTS,
    "solver": st.sampled_from(["rodas4", "dopri5"]),
    "rtol": st.floats(1e-8, 0.1),
    "max_steps": st.integers(1, 10**6),
    "chunk_size": st.integers(1, 10**5),
    "dense": st.booleans(),
}


@examples(500)
@given(arm=either(st.sampled_from(sorted(ARMS))), kw=kwargs(COHORT_FIELDS))
def test_cohort(arm, kw):
    gate(Cohort, arm, **kw)


# -- simulate -------------------------------------------------------------------------------------

PREPARE_FIELDS = {
    "days": st.one_of(st.integers(1, 400), st.floats(0.5, 400)),
    "observe": st.one_of(st.none(), SHORT_OBSERVE),
    "params": PARAMS,
    "covariates": COVARIATE_VALUES,
    "background": BACKGROUNDS,
    "history": BACKGROUNDS,
    "allow_out_of_range": st.booleans(),
    "day0": st.sampled_from(["steady", "replay"]),
}


@examples(300)
@given(regimen=either(st.one_of(st.none(), REGIMENS)), kw=kwargs(PREPARE_FIELDS))
def test_prepare(regimen, kw):
    """simulate's checks and day 0 (no solving of the regimen)."""
    if kw.get("background") is not None and "params" not in kw:
        kw["params"] = MTX_REFRACTORY  # the typical patient remits on MTX: no active day 0
    gate(prepare, regimen, **kw)


@examples(40)
@given(
    regimen=either(st.one_of(st.none(), REGIMENS)),
    days=either(st.integers(1, 30)),
    kw=kwargs(
        {k: v for k, v in PREPARE_FIELDS.items() if k not in ("days", "observe", "background", "history")}
        | {"solver": st.sampled_from(["rodas4", "dopri5", "scipy", "lsoda"]), "rtol": st.floats(1e-8, 0.1)}
    ),
)
def test_simulate_a_few_days(regimen, days, kw):
    gate(simulate, regimen, days=days, observe=None if not isinstance(days, int) else [0, days], **kw)
