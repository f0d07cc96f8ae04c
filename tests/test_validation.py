"""Every class of bad input is refused before any work, with a message naming the field:
parameter ranges (and their opt-out), fractions, covariates however they arrive,
measurement settings, doses after the horizon, observation days, sizes, file
encoding, and booleans or strings where numbers belong."""

import math

import numpy as np
import pytest

from rasim import mtx, msc
from rasim.cohort import Cohort
from rasim.errors import CovariateError, ParameterError, RasimError, RegimenError, ScenarioError
from rasim.model import PINDEX, parameter, parameter_vector
from rasim.scenario import LIMITS, Scenario, load
from rasim.simulation import prepare

BASE = {"name": "v", "patients": 10, "days": 365.0, "arms": [{"arm": "msc+dmard"}]}


def scenario(**changes) -> Scenario:
    return Scenario.from_dict({**BASE, **changes}, "v.toml")


@pytest.mark.parametrize(
    "params, where, message",
    [
        ({"msc_effect_t": 5}, "params.msc_effect_t", "is a fraction: it must be within [0, 1]"),
        ({"msc_effect_t": 0.97}, "params.msc_effect_t", "outside its plausible range 0-0.95"),
        ({"msc_homing_max": 1e30}, "params.msc_homing_max", "outside its plausible range"),
        ({"mtx_f_oral": 3}, "params.mtx_f_oral", "is a fraction"),
        ({"age": 200}, "params.age", "covariate age = 200 is outside its range"),
        ({"female": 7}, "params.female", "covariate female = 7 is outside its range"),
        ({"t_death": -1}, "params.t_death", "expected a finite number >= 0"),
    ],
)
def test_scenario_params(params, where, message):
    with pytest.raises(ScenarioError, match=f"^v.toml: {where}: .*{message}".replace("[", r"\[").replace("]", r"\]")):
        scenario(params=params)


def test_allow_out_of_range_accepts_with_a_warning_but_never_a_fraction_above_1():
    s = scenario(params={"msc_effect_t": 0.97, "msc_homing_max": 1.0}, allow_out_of_range=True)
    assert s.allow_out_of_range and load_round_trip(s) == s
    assert [w.split(" = ")[0] for w in s.warnings()] == ["parameter msc_effect_t", "parameter msc_homing_max"]
    assert all("outside its plausible range" in w and "(allow_out_of_range)" in w for w in s.warnings())
    with pytest.raises(ScenarioError, match="params.msc_effect_t: .*fraction"):
        scenario(params={"msc_effect_t": 5}, allow_out_of_range=True)
    with pytest.raises(ScenarioError, match="params.age: covariate age"):
        scenario(params={"age": 200}, allow_out_of_range=True)
    with pytest.raises(ScenarioError, match="allow_out_of_range: expected true or false, got 1"):
        scenario(allow_out_of_range=1)


def load_round_trip(s: Scenario) -> Scenario:
    import tomllib

    return Scenario.from_dict(tomllib.loads(s.to_toml()))


def test_parameter_vector_ranges_and_opt_out():
    entry = parameter("msc_homing_max")
    with pytest.raises(ParameterError, match="'msc_homing_max' = 1e\\+30 is outside its plausible range"):
        parameter_vector({"msc_homing_max": 1e30})
    p = parameter_vector({"msc_homing_max": 10 * entry.high}, allow_out_of_range=True)
    assert p[PINDEX["msc_homing_max"]] == 10 * entry.high
    with pytest.raises(ParameterError, match="must be a number"):
        parameter_vector({"msc_homing_max": True})
    with pytest.raises(ParameterError, match="must be a number"):
        parameter_vector({"msc_homing_max": "0.1"})


def test_simulate_inputs():
    with pytest.raises(CovariateError, match="covariate age = 200"):
        prepare(params={"age": 200})  # a covariate set through params is checked as one
    with pytest.raises(ParameterError, match="msc_effect_t"):
        prepare(params={"msc_effect_t": 0.97})
    assert prepare(params={"msc_effect_t": 0.97}, allow_out_of_range=True, days=28).params is not None
    for days in (True, "365"):
        with pytest.raises(RasimError, match="days: expected a finite number > 0 days"):
            prepare(days=days)
    with pytest.raises(RegimenError, match="MSC infusion on day 2000 is after the last day simulated"):
        prepare(msc(4e7, days=[2000]), days=365)
    with pytest.raises(RasimError, match=r"observe\[2\]: days must increase"):
        prepare(days=91, observe=[0, 28, 28, 91])


def test_cohort_inputs():
    with pytest.raises(RasimError, match="measurement setting vas_sd: expected a finite number >= 0 and <= 100"):
        Cohort("msc+dmard", patients=2, measurement={"vas_sd": -1})
    with pytest.raises(RasimError, match="measurement.crp_log_sd: expected a finite number, got nan"):
        Cohort("msc+dmard", patients=2, measurement={"crp_log_sd": math.nan})
    with pytest.raises(RasimError, match="measurement setting flare_days: expected a finite number > 0"):
        Cohort("msc+dmard", patients=2, measurement={"flare_days": 0})
    with pytest.raises(RasimError, match="Cohort.patients: expected an integer >= 1, got True"):
        Cohort("msc+dmard", patients=True)
    with pytest.raises(CovariateError, match="covariate weight"):
        Cohort("msc+dmard", patients=2, params={"weight": 1000})
    with pytest.raises(RasimError, match=r"Cohort.observe\[2\]: days must increase"):  # as a scenario file refuses them
        Cohort("msc+dmard", patients=2, observe=(0, 28, 28))
    with pytest.raises(RegimenError, match="MSC infusion on day 120"):
        Cohort("msc_repeat+dmard", patients=2, observe=(0, 28, 91))
    with pytest.raises(ParameterError, match="'msc_effect_t' is a fraction"):
        Cohort("msc+dmard", patients=2, params={"msc_effect_t": 5})
    wide = Cohort("msc+dmard", patients=2, params={"msc_homing_max": 1.0})  # ranges: the scenario's job
    assert wide.plan.base[PINDEX["msc_homing_max"]] == 1.0
    c = Cohort("msc+dmard", patients=2, observe=(28, 91))
    assert c.plan.t_out.tolist() == [0.0, 28.0, 91.0]  # day 0 added: the baseline visit


def test_observe_gets_day_0_and_refuses_duplicates():
    assert scenario(observe=[28, 91, 365]).observe == (0.0, 28.0, 91.0, 365.0)
    with pytest.raises(ScenarioError, match=r"observe\[2\]: days must increase: 28 follows 28"):
        scenario(observe=[0, 28, 28])


def test_doses_after_the_horizon():
    arm = {
        "name": "late",
        "population": "refractory",
        "regimen": {"doses": [{"drug": "msc", "cells": 4e7, "days": [2000.0]}]},
    }
    with pytest.raises(
        ScenarioError,
        match=r"arms\[0\].regimen: MSC infusion on day 2000 is after the horizon "
        "days = 365",
    ):
        scenario(arms=[arm])
    with pytest.raises(ScenarioError, match=r"arms\[0\].arm: MSC infusion on day 120 is after the horizon days = 91"):
        scenario(days=91.0, arms=[{"arm": "msc_repeat+dmard"}])
    titration = scenario(days=28.0, arms=[{"arm": "mtx_naive"}])  # a schedule that runs on: said, not refused
    assert titration.warnings() == [
        "arm mtx_naive: MTX titration steps on day(s) 56 come after the horizon (day 28) and are not simulated"
    ]
    with pytest.raises(RegimenError, match="must be a number"):
        mtx(15, start="7")


@pytest.mark.parametrize(
    "changes, where, limit",
    [
        ({"patients": 10**10}, "patients", "RASIM_MAX_PATIENTS"),
        ({"days": 1e9}, "days", "RASIM_MAX_DAYS"),
        ({"observe": [float(d) for d in range(5000)], "days": 5000.0}, "observe", "RASIM_MAX_OBSERVE"),
        ({"arms": [{"arm": "dmard", "name": f"a{i}"} for i in range(1000)]}, "arms", "RASIM_MAX_ARMS"),
        (
            {"patients": 5_000_000, "arms": [{"arm": "dmard", "name": f"a{i}"} for i in range(20)], "days": 3650.0},
            "size",
            "RASIM_MAX_SIZE",
        ),
    ],
)
def test_size_ceilings_name_the_limit_and_how_to_raise_it(changes, where, limit):
    with pytest.raises(ScenarioError, match=f"^v.toml: {where}: .* is above the limit of .*{limit}"):
        scenario(**changes)


def test_size_ceiling_raised_by_environment(monkeypatch):
    monkeypatch.setenv("RASIM_MAX_PATIENTS", str(LIMITS["patients"] * 10))
    assert scenario(patients=LIMITS["patients"] * 2).patients == LIMITS["patients"] * 2
    monkeypatch.setenv("RASIM_MAX_PATIENTS", "lots")
    with pytest.raises(ScenarioError, match="RASIM_MAX_PATIENTS must be a finite number > 0"):
        scenario()


def test_booleans_and_strings_are_not_numbers():
    for key, value in (("days", True), ("days", "365"), ("patients", True), ("seed", False)):
        with pytest.raises(ScenarioError, match=f"v.toml: {key}: expected"):
            scenario(**{key: value})


def test_non_utf8_file(tmp_path):
    path = tmp_path / "u.toml"
    path.write_bytes(load("sources").to_toml().encode("utf-16"))
    with pytest.raises(ScenarioError, match="u.toml: not UTF-8 text"):
        load(path)


def test_default_chunking_bounds_memory():
    from rasim.runner import MAX_CHUNK, default_chunk_size

    assert default_chunk_size(scenario(patients=10**6)) <= MAX_CHUNK
    daily = scenario(patients=10**6, observe=list(np.arange(366.0)))
    assert default_chunk_size(daily) * len(daily.observe) <= 6000
