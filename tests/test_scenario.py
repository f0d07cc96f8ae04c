"""Scenario files: built-ins, TOML round trip, and one error (file + key path) per kind of mistake."""

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasim import msc, mtx
from rasim import scenario as S
from rasim.errors import RasimError, ScenarioError
from rasim.regimen import Regimen

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"

MINIMAL = """name = "t"
[[arms]]
name = "a"
population = "refractory"
regimen.doses = [ { drug = "msc", cells = 4e7 } ]
"""


@pytest.fixture
def arms():
    """The built-in arms."""
    from rasim.cohort import ARMS

    return ARMS


def write(tmp_path, text, name="trial.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def error(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        S.load(path)
    return str(e.value)


# -- built-ins ---------------------------------------------------------------


def test_builtin_names():
    assert S.builtin_names() == ["comparators", "dose_response", "sources", "trial3y"]


@pytest.mark.parametrize("name", ["comparators", "dose_response", "sources", "trial3y"])
def test_builtins_load_and_round_trip(name, tmp_path):
    s = S.load(name)
    assert s.name == name and s.description and s.source == f"{name}.toml"
    assert (s.patients, s.seed, s.days, s.observe) == (1000, 2026, 1095.0, S.DEFAULT_OBSERVE)
    text = s.to_toml()
    assert S.Scenario.from_dict(tomllib.loads(text)) == s
    assert S.load(write(tmp_path, text)) == s
    assert S.load(write(tmp_path, text)).to_toml() == text


def test_trial3y_arms():
    s = S.load("trial3y")
    assert [a.name for a in s.arms] == ["dmard", "msc+dmard", "msc_repeat+dmard", "msc", "mtx_naive"]
    by_name = {a.name: a for a in s.arms}
    assert by_name["dmard"].regimen == Regimen() and by_name["dmard"].background == mtx(15)
    assert by_name["msc_repeat+dmard"].regimen == msc(4e7, days=[0, 120])
    assert by_name["msc"].background is None
    assert by_name["mtx_naive"].population == "early_mtx_naive"


def test_dose_response_arms():
    s = S.load("dose_response")
    assert {a.population for a in s.arms} == {"refractory"}
    assert all(a.background == mtx(15, every=7) for a in s.arms)
    cells = [d.cells for a in s.arms for d in a.regimen.doses]
    assert cells == [1e7, 4e7, 1e8]
    assert all(d.source == "umbilical_cord" for a in s.arms for d in a.regimen.doses)


@pytest.mark.parametrize("name", ["trial3y", "sources"])
def test_builtin_files_match_builtin_arms(name, arms):
    for a in S.load(name).arms:
        b = arms[a.name]
        assert (a.population, a.regimen, a.background) == (b.population, b.regimen, b.background), a.name


def test_docs_example_loads(tmp_path):
    if not DOCS.exists():
        pytest.skip("docs/ not present")
    text = DOCS.read_text().split("```toml\n")[1].split("```")[0]
    text = text.replace('arm = "dmard"', 'name = "control"\npopulation = "refractory"\nregimen.doses = []')
    s = S.load(write(tmp_path, text))
    assert s.params == {"msc_homing_max": 0.1} and s.variability == {"msc_k_immune": 0.5}


# -- defaults, round trip, replace -------------------------------------------


def test_defaults(tmp_path):
    s = S.load(write(tmp_path, MINIMAL))
    assert (s.patients, s.seed, s.days, s.observe) == (1000, 2026, 1095.0, S.DEFAULT_OBSERVE)
    assert s.params == {} and s.variability == {} and s.description == ""
    assert s.arms == (S.ScenarioArm("a", "refractory", msc(4e7)),)
    short = S.load(write(tmp_path, MINIMAL.replace('name = "t"', 'name = "t"\ndays = 100')))
    assert short.observe == (0.0, 14.0, 28.0, 56.0, 91.0, 100.0)


def test_round_trip_of_every_kind_of_value(tmp_path):
    reg = (
        msc(2e7, days=[0, 3.5], route="ia", joints=2, source="bm", donor="autologous")
        + mtx({0: 7.5, 3.5: 10}, every=7, until=200, route="sc")
        + mtx(15, start=200)
    )
    d = {
        "name": "all-kinds_1.0",
        "description": 'quote " backslash \\ newline \n é',
        "patients": 3,
        "seed": 0,
        "days": 400.5,
        "observe": [0, 0.25, 400.5],
        "params": {"msc_homing_max": 0.1, "weight": 70},
        "variability": {"msc_k_immune": 0.3},
        "arms": [
            {"name": "x", "population": "moderate_mtx", "regimen": reg.to_dict()},
            {"name": "y", "population": "refractory", "regimen": {"doses": []}, "background": mtx(10).to_dict()},
        ],
    }
    s = S.Scenario.from_dict(d)
    assert s.arms[0].regimen == reg and s.arms[1].background == mtx(10)
    assert S.Scenario.from_dict(tomllib.loads(s.to_toml())) == s
    assert S.load(write(tmp_path, s.to_toml())) == s


def test_empty_background_is_none(tmp_path):
    s = S.load(write(tmp_path, MINIMAL + "background.doses = []\n"))
    assert s.arms[0].background is None


def test_replace_revalidates_and_trims_observe():
    s = S.load("trial3y")
    short = s.replace(days=130, patients=5)
    assert (short.days, short.patients, short.observe) == (130.0, 5, (0.0, 14.0, 28.0, 56.0, 91.0, 130.0))
    assert s.patients == 1000
    with pytest.raises(ScenarioError, match=r"^cli: observe\[1\]: day 2000 is after"):
        s.replace(source="cli", observe=[0, 2000])


# -- errors: file, key path, expectation -------------------------------------


def _set_top(extra):
    return lambda t: t.replace('name = "t"', 'name = "t"\n' + extra)


def _dose(dose):
    return lambda t: t.replace('{ drug = "msc", cells = 4e7 }', dose)


BACKGROUND = '\nbackground.doses = [ { drug = "mtx", dose_mg = 15 } ]\n'
BAD = [  # (edit of MINIMAL, key path, part of the message)
    (_set_top("patient = 3"), "patient", "Did you mean 'patients'"),
    (_set_top("patients = 1.5"), "patients", "expected an integer >= 1, got 1.5"),
    (_set_top("patients = 0"), "patients", "expected an integer >= 1, got 0"),
    (_set_top('seed = "x"'), "seed", "expected an integer >= 0, got 'x' (a string)"),
    (_set_top("days = -1"), "days", "expected a finite number > 0"),
    (_set_top("days = inf"), "days", "expected a finite number > 0"),
    (_set_top("description = 3"), "description", "expected a string"),
    (_set_top("observe = [0, 28, 14]"), "observe[2]", "days must increase: 14 follows 28"),
    (_set_top("observe = [0, 28, 28]"), "observe[2]", "days must increase"),
    (_set_top("observe = [-1, 28]"), "observe[0]", "expected a finite number >= 0"),
    (_set_top("days = 100\nobserve = [0, 200]"), "observe[1]", "day 200 is after the horizon (day 100)"),
    (_set_top("observe = []"), "observe", "expected at least one day"),
    (_set_top("[params]\nmsc_homng_max = 1"), "params.msc_homng_max", "Did you mean 'msc_homing_max'"),
    (_set_top("[params]\nmsc_homing_max = -1"), "params.msc_homing_max", "expected a finite number >= 0"),
    (_set_top('[params]\nmsc_homing_max = "high"'), "params.msc_homing_max", "expected a finite number"),
    (_set_top("[variability]\nmsc_k_immune = -0.1"), "variability.msc_k_immune", ">= 0, got -0.1"),
    (_set_top("[variability]\nmsc_kimmune = 0.1"), "variability.msc_kimmune", "unknown parameter"),
    (_set_top("params = 3"), "params", "expected a table"),
    (lambda t: t.replace('name = "t"\n', ""), "name", "required key is missing"),
    (lambda t: 'name = "t"\n', "arms", "required key is missing"),
    (lambda t: 'name = "t"\narms = []\n', "arms", "expected one or more [[arms]] tables"),
    (lambda t: t.replace('name = "t"', 'name = "my trial"'), "name", "expected a name of letters"),
    (lambda t: t.replace('name = "a"', 'name = "a/b"'), "arms[0].name", "expected a name of letters"),
    (lambda t: t.replace('name = "a"\n', ""), "arms[0].name", "required key is missing"),
    (lambda t: t + t[t.index("[[arms]]") :], "arms[1].name", "duplicate arm name 'a' (also arms[0])"),
    (lambda t: t.replace("population =", "populaton ="), "arms[0].populaton", "Did you mean 'population'?"),
    (
        lambda t: t.replace("refractory", "refractroy"),
        "arms[0].population",
        "unknown population 'refractroy'. Did you mean 'refractory'?",
    ),
    (lambda t: t.replace("regimen.doses", "regimen.lines"), "arms[0].regimen.lines", "unknown key 'lines'"),
    (
        lambda t: t.replace('regimen.doses = [ { drug = "msc", cells = 4e7 } ]', 'regimen = "msc"'),
        "arms[0].regimen",
        "expected a table",
    ),
    (_dose('{ drug = "mcs", cells = 4e7 }'), "arms[0].regimen.doses[0].drug", "Did you mean 'msc'?"),
    (_dose("{ cells = 4e7 }"), "arms[0].regimen.doses[0].drug", "required key is missing"),
    (_dose('{ drug = "msc", amount = 4e7 }'), "arms[0].regimen.doses[0].amount", "unknown key 'amount'"),
    (_dose('{ drug = "msc" }'), "arms[0].regimen.doses[0].cells", "required key is missing"),
    (_dose('{ drug = "msc", cells = -1 }'), "arms[0].regimen.doses[0].cells", "must be > 0"),
    (_dose('{ drug = "msc", cells = "many" }'), "arms[0].regimen.doses[0].cells", "must be a number"),
    (_dose('{ drug = "msc", cells = 4e7, days = [0, -5] }'), "arms[0].regimen.doses[0].days[1]", "must be >= 0 days"),
    (
        _dose('{ drug = "msc", cells = 4e7, days = [0, 0] }'),
        "arms[0].regimen.doses[0].days",
        "duplicate MSC infusion day",
    ),
    (_dose('{ drug = "msc", cells = 4e7, source = "liver" }'), "arms[0].regimen.doses[0].source", "unknown MSC source"),
    (
        _dose('{ drug = "msc", cells = 4e7, route = "ia" }'),
        "arms[0].regimen.doses[0].joints",
        "intra-articular MSC needs joints",
    ),
    (_dose('{ drug = "msc", cells = 4e7, joints = 2 }'), "arms[0].regimen.doses[0].joints", "only for intra-articular"),
    (
        _dose('{ drug = "msc", cells = 4e7, per_kg = "yes" }'),
        "arms[0].regimen.doses[0].per_kg",
        "per_kg must be True or False",
    ),
    (_dose('{ drug = "mtx", dose_mg = 10, every = 1 }'), "arms[0].regimen.doses[0].every", "70 mg/week"),
    (
        _dose('{ drug = "mtx", dose_mg = { 0 = 10, 28 = 40 } }'),
        "arms[0].regimen.doses[0].dose_mg",
        "MTX dose from day 28",
    ),
    (
        _dose('{ drug = "mtx", dose_mg = 10, start = 50, until = 20 }'),
        "arms[0].regimen.doses[0].until",
        "must be after start",
    ),
    (_dose('{ drug = "mtx", dose_mg = 10, route = "iv" }'), "arms[0].regimen.doses[0].route", "is an MSC route"),
    (
        _dose('{ drug = "msc", cells = 4e7 }, { drug = "msc", cells = 1e6, source = "bm", days = [9] }'),
        "arms[0].regimen.doses",
        "mixes MSC products",
    ),
    (
        _dose('{ drug = "mtx", dose_mg = 10 }, { drug = "mtx", dose_mg = 15, start = 28 }'),
        "arms[0].regimen.doses",
        "MTX schedules overlap",
    ),
    (
        lambda t: t + 'background.doses = [ { drug = "msc", cells = 1e6 } ]\n',
        "arms[0].background",
        "a background must be one repeating MTX schedule",
    ),
    (
        lambda t: t + 'background.doses = [ { drug = "mtx", dose_mg = 15, until = 50 } ]\n',
        "arms[0].background",
        "does not stop",
    ),
    (lambda t: _dose('{ drug = "mtx", dose_mg = 10 }')(t) + BACKGROUND, "arms[0].background", "MTX schedules overlap"),
]


@pytest.mark.parametrize("edit, path, expected", BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_file_names_file_and_key_path(tmp_path, edit, path, expected):
    message = error(tmp_path, edit(MINIMAL))
    assert message.startswith(f"{tmp_path / 'trial.toml'}: {path}: "), message
    assert expected in message, message


def test_invalid_toml(tmp_path):
    message = error(tmp_path, 'name = "t\n')
    assert message.startswith(f"{tmp_path / 'trial.toml'}: not valid TOML: ")


def test_missing_file_and_unknown_builtin(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        S.load(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match=r"unknown scenario 'trial3'\. Did you mean 'trial3y'\?"):
        S.load("trial3")


def test_top_level_must_be_a_table():
    with pytest.raises(ScenarioError, match=r"^<dict>: \(top level\): expected a table"):
        S.Scenario.from_dict([1])


def test_scenario_error_is_a_rasim_error():
    assert issubclass(ScenarioError, RasimError)


# -- built-in arms (need rasim.cohort.ARMS) ----------------------------------


def test_builtin_arm_and_overrides(tmp_path, arms):
    s = S.load(
        write(
            tmp_path,
            'name = "t"\n[[arms]]\narm = "msc+dmard"\n[[arms]]\narm = "msc+dmard"\n'
            'name = "moderate"\npopulation = "moderate_mtx"\n'
            '[[arms]]\narm = "dmard"\nname = "none"\nbackground.doses = []\n',
        )
    )
    base = arms["msc+dmard"]
    assert s.arms[0] == S.ScenarioArm("msc+dmard", base.population, base.regimen, base.background)
    assert (s.arms[1].name, s.arms[1].population, s.arms[1].regimen) == ("moderate", "moderate_mtx", base.regimen)
    assert s.arms[2].background is None
    assert S.load(write(tmp_path, s.to_toml(), "resolved.toml")) == s


def test_builtin_arm_errors(tmp_path, arms):
    message = error(tmp_path, 'name = "t"\n[[arms]]\narm = "msc+dmrd"\n')
    assert "arms[0].arm: unknown built-in arm 'msc+dmrd'. Did you mean 'msc+dmard'" in message
    message = error(
        tmp_path, 'name = "t"\n[[arms]]\narm = "msc+dmard"\nregimen.doses = [ { drug = "mtx", dose_mg = 10 } ]\n'
    )
    assert "arms[0].regimen: MTX schedules overlap" in message
    message = error(tmp_path, 'name = "t"\n[[arms]]\narm = "msc+dmard"\n[[arms]]\narm = "msc+dmard"\n')
    assert "arms[1].name: duplicate arm name 'msc+dmard'" in message


# -- robustness: any junk gives a Scenario or a ScenarioError, never another exception --

_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10**12)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["msc", "mtx", "ia", "refractory"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_paths = [
    ("name",),
    ("patients",),
    ("days",),
    ("observe",),
    ("params",),
    ("arms",),
    ("arms", 0, "population"),
    ("arms", 0, "regimen"),
    ("arms", 0, "regimen", "doses", 0),
    ("arms", 0, "regimen", "doses", 0, "cells"),
    ("arms", 0, "regimen", "doses", 0, "days"),
    ("arms", 0, "regimen", "doses", 0, "drug"),
    ("arms", 0, "background"),
]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(_paths), junk=_junk)
def test_junk_raises_only_scenario_errors(path, junk):
    d = tomllib.loads(MINIMAL)
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = junk
    try:
        S.Scenario.from_dict(d)
    except ScenarioError as e:
        assert str(e).startswith("<dict>: ")
