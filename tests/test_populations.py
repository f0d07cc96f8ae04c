"""Populations and entry criteria as data: Python objects, [[populations]] tables, simulate covariates."""

import dataclasses
import math
import tomllib

import numpy as np
import pytest

from rasim import mtx, simulate
from rasim import scenario as S
from rasim.cohort import POPULATIONS, Arm, Cohort, Entry, Population
from rasim.cohort.measurement import qualifies
from rasim.errors import CovariateError, RasimError, ScenarioError
from rasim.model.presets import MTX_REFRACTORY

POPULATION = """
[[populations]]
name = "mtx_ir"
description = "active RA despite MTX"
age = { mean = 52, sd = 12, min = 18, max = 80 }
female = 0.82
duration = { median = 7.5, sd_log = 0.8 }
seropositive = 0.75
weight = { median = 72, sd_log = 0.2 }
entry = { das28_min = 0, tjc_min = 8, sjc_min = 6, crp_min = 10, acute_phase = "crp" }
background.doses = [ { drug = "mtx", dose_mg = 15.0, every = 7.0 } ]
"""
ARM = """
[[arms]]
name = "placebo+mtx"
population = "mtx_ir"
regimen.doses = []
"""
TEXT = 'name = "t"\npatients = 4\ndays = 28\nobserve = [0, 28]\n' + POPULATION + ARM


def load(tmp_path, text):
    path = tmp_path / "t.toml"
    path.write_text(text)
    return S.load(path)


def error(tmp_path, text) -> str:
    with pytest.raises(ScenarioError) as e:
        load(tmp_path, text)
    return str(e.value)


# -- Entry and Population objects -------------------------------------------------------------


@pytest.mark.parametrize(
    "phase, expected",
    [
        ("either", [True, True, True, False]),
        ("esr", [True, True, False, False]),
        ("crp", [True, False, True, False]),
        ("both", [True, False, False, False]),
    ],
)
def test_acute_phase_rule(phase, expected):
    measured = {
        "DAS28_ESR": np.full(4, 6.0),
        "TJC28": np.full(4, 10.0),
        "SJC28": np.full(4, 8.0),
        "ESR": np.array([30.0, 30.0, 10.0, 10.0]),
        "CRP": np.array([12.0, 5.0, 12.0, 5.0]),
    }
    entry = Entry(das28_min=0.0, esr_min=28.0, crp_min=10.0, acute_phase=phase)
    assert qualifies(measured, entry).tolist() == expected


def test_entry_without_acute_phase_minima_takes_everyone():
    measured = {
        "DAS28_ESR": np.array([3.0, 4.0]),
        "TJC28": np.zeros(2),
        "SJC28": np.zeros(2),
        "ESR": np.ones(2),
        "CRP": np.ones(2),
    }
    assert qualifies(measured, Entry(das28_min=0.0)).tolist() == [True, True]
    assert qualifies(measured, Entry()).tolist() == [False, True]  # DAS28 > 3.2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"acute_phase": "crpp"}, "Did you mean 'crp'"),
        ({"tjc_min": 30}, "tjc_min"),
        ({"crp_min": -1}, "crp_min"),
        ({"das28_min": 5.0, "das28_max": 4.0}, "das28_max"),
        ({"sjc_min": 2.5}, "sjc_min"),
    ],
)
def test_entry_is_validated(kwargs, message):
    with pytest.raises(RasimError, match=message):
        Entry(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"age": (50, 10, 60, 80)}, "mean within"),
        ({"female": 1.5}, "female"),
        ({"duration": (0, 0.5)}, "duration"),
        ({"weight": (70,)}, "weight"),
        ({"name": "a b"}, "name"),
        ({"entry": {"das28_min": 3}}, "Entry"),
    ],
)
def test_population_is_validated(kwargs, message):
    with pytest.raises(RasimError, match=message):
        Population(**{"name": "p", **kwargs})


def test_population_object_runs_in_an_arm_without_registry_edits():
    """A Population equal to a built-in one gives the same patients as the built-in name."""
    own = dataclasses.replace(POPULATIONS["refractory"])
    a = Cohort(Arm("x", own, background=mtx(15)), patients=3, seed=4, observe=(0, 28)).run(threads=1)
    b = Cohort(Arm("x", "refractory", background=mtx(15)), patients=3, seed=4, observe=(0, 28)).run(threads=1)
    assert a.population == "refractory"
    np.testing.assert_array_equal(a.values["DAS28_ESR"], b.values["DAS28_ESR"])


def test_entry_criteria_hold_at_screening_and_history_sets_day0():
    """Patients of a CRP-only population are screened on its background; changing the arm's
    background (a dose change at day 0) leaves the enrolled patients and day 0 alone."""
    pop = Population(
        "crp_only", entry=Entry(das28_min=0.0, tjc_min=8, crp_min=10.0, acute_phase="crp"), background=mtx(15)
    )
    runs = [
        Cohort(Arm("x", pop, background=mtx(dose)), patients=4, seed=2, observe=(0, 91)).run(threads=1)
        for dose in (7.5, 25)
    ]
    for name in ("age", "duration", "weight"):
        np.testing.assert_array_equal(runs[0].covariates[name], runs[1].covariates[name])
    np.testing.assert_allclose(runs[0].values["CRP"][:, 0], runs[1].values["CRP"][:, 0], rtol=1e-9)
    assert not np.array_equal(runs[0].values["DAS28_ESR"][:, 1], runs[1].values["DAS28_ESR"][:, 1])


# -- [[populations]] in scenario files ------------------------------------------------------------


def test_populations_table_loads_round_trips_and_arm_inherits_background(tmp_path):
    s = load(tmp_path, TEXT)
    pop = s.population("mtx_ir")
    assert pop.age == (52.0, 12.0, 18.0, 80.0) and pop.duration == (7.5, 0.8) and pop.weight == (72.0, 0.2)
    assert pop.entry == Entry(das28_min=0.0, tjc_min=8, sjc_min=6, crp_min=10.0, acute_phase="crp")
    assert s.arms[0].background == mtx(15) == pop.background
    assert S.Scenario.from_dict(tomllib.loads(s.to_toml())) == s
    assert s.population("refractory") is POPULATIONS["refractory"]


def test_arm_can_drop_the_population_background(tmp_path):
    s = load(tmp_path, TEXT + "background.doses = []\n")
    assert s.arms[0].background is None


@pytest.mark.parametrize(
    "edit, where, expected",
    [
        (
            lambda t: t.replace('population = "mtx_ir"', 'population = "mtx_iR"'),
            "arms[0].population",
            "Did you mean 'mtx_ir'",
        ),
        (lambda t: t.replace("female = 0.82", "femal = 0.82"), "populations[0].femal", "Did you mean 'female'"),
        (
            lambda t: t.replace('acute_phase = "crp"', 'acute_phase = "CRP"'),
            "populations[0].entry.acute_phase",
            "Valid: either, esr, crp, both",
        ),
        (lambda t: t.replace("tjc_min = 8", "tjc_minn = 8"), "populations[0].entry.tjc_minn", "Did you mean 'tjc_min'"),
        (lambda t: t.replace("sd = 12,", "sd = -1,"), "populations[0].age", "age sd"),
        (
            lambda t: t.replace("seropositive = 0.75", "seropositive = 2"),
            "populations[0].seropositive",
            ">= 0 and <= 1",
        ),
        (lambda t: t.replace("median = 7.5, ", ""), "populations[0].duration.median", "required key is missing"),
        (lambda t: t.replace('name = "mtx_ir"', 'name = "refractory"'), "populations[0].name", "built-in"),
        (lambda t: t.replace("every = 7.0 }", "every = 7.0, start = 3.0 }"), "populations[0].background", "no start"),
        (lambda t: t.replace("female = 0.82", 'female = "many"'), "populations[0].female", "finite number"),
    ],
)
def test_population_errors_name_the_key(tmp_path, edit, where, expected):
    text = edit(TEXT)
    message = error(tmp_path, text)
    assert f"t.toml: {where}: " in message and expected in message


def test_duplicate_population(tmp_path):
    assert "duplicate population name 'mtx_ir'" in error(tmp_path, TEXT.replace(ARM, POPULATION + ARM))


def test_rasim_show_prints_the_populations(tmp_path, capsys):
    from rasim.cli import main

    (tmp_path / "t.toml").write_text(TEXT)
    assert main(["show", str(tmp_path / "t.toml")]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["populations"][0]["entry"]["acute_phase"] == "crp"
    assert main(["show", "trial3y"]) == 0
    out = capsys.readouterr().out
    assert '# name = "refractory"' in out and '# name = "early_mtx_naive"' in out


# -- simulate() covariates --------------------------------------------------------------------------


def test_unknown_covariate_lists_the_valid_names():
    with pytest.raises(CovariateError) as e:
        simulate(days=7, covariates={"durtion": 3})
    assert "Did you mean 'duration'" in str(e.value)
    assert "Valid covariates: age, female, weight, creatinine_clearance, seropositive, duration" in str(e.value)


def test_duration_sets_damage_and_disability_at_day0():
    short, long_ = (simulate(days=7, observe=[0, 7], covariates={"duration": y}) for y in (0.5, 20.0))
    assert short.state("erosion")[0] < long_.state("erosion")[0]
    assert short.state("cartilage")[0] > long_.state("cartilage")[0]
    assert short["HAQ"][0] < long_["HAQ"][0]
    with pytest.raises(CovariateError, match="duration = 100 is outside"):
        simulate(days=7, covariates={"duration": 100})


def test_history_is_day0_and_background_takes_over():
    """Day 0 under MTX 15 mg, then 25 mg: day 0 as on 15 mg throughout; later, lower DAS28."""
    same = simulate(days=91, observe=[0, 91], background=mtx(15), params=MTX_REFRACTORY)
    up = simulate(days=91, observe=[0, 91], background=mtx(25), history=mtx(15), params=MTX_REFRACTORY)
    np.testing.assert_allclose(up.states[0], same.states[0], rtol=1e-9, atol=1e-12)
    assert up["DAS28_ESR"][1] < same["DAS28_ESR"][1]
    with pytest.raises(RasimError, match="history must be a Regimen"):
        simulate(days=7, history=15)
    assert math.isfinite(simulate(days=7, observe=[0, 7], history=mtx(15), params=MTX_REFRACTORY)["DAS28_ESR"][1])


@pytest.mark.filterwarnings("ignore:.*come after the horizon:rasim.RasimWarning")  # baseline only: titration unused
def test_tender_joints_exceed_swollen_ones_in_every_built_in_population():
    """Baseline TJC28 above SJC28 in every built-in population (as in every trial baseline
    table), and within the published SD of each trial whose 28-joint baseline is a calibrate
    row (OPERA, RAPID 2, RADIATE)."""
    from rasim import calibration as cal
    from rasim.cohort import ARMS

    published = [
        (cal.TARGET_ARMS[t.arm].pop.name, t)
        for t in cal.targets()
        if t.day == 0 and t.statistic == "mean" and t.endpoint in ("TJC28", "SJC28")
    ]
    arm_of = {a.pop.name: a for a in ARMS.values()}
    for name, pop in POPULATIONS.items():
        arm = arm_of.get(name) or Arm(name, pop, background=mtx(15))
        res = Cohort(arm, patients=150, seed=4, observe=(0, 1)).run()
        mean = {item: res[item][res.ok, 0].mean() for item in ("TJC28", "SJC28")}
        assert mean["TJC28"] > mean["SJC28"], (name, mean)
        for t in (t for pop_name, t in published if pop_name == name):
            assert abs(mean[t.endpoint] - t.value) <= t.spread, (t.id, mean[t.endpoint], t.value, t.spread)
