"""rasim.gate: the typed checks, the ceilings (and their environment overrides), the cost
estimates, and the model guards that go through them (basal balance sources, 0/1
covariates, the per-kg cap, doses after the horizon, entry criteria nobody can meet)."""

import math
import warnings

import numpy as np
import pytest

from rasim import RasimWarning, gate, model, msc, mtx
from rasim.cohort import Arm, Cohort, Entry, Population
from rasim.cohort.cohort import enrolment_note
from rasim.errors import CovariateError, LimitError, ParameterError, RasimError, RegimenError
from rasim.model.balance import BASAL, PAIRS
from rasim.regimen import MAX_MSC_CELLS, MAX_MSC_CELLS_PER_KG, MAX_WEIGHT_KG
from rasim.simulation import prepare


@pytest.mark.parametrize("value", [True, np.bool_(False), "1", None, [1.0], math.nan, math.inf])
def test_number_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(RasimError, match=r"^x\.y: expected a finite number"):
        gate.number("x.y", value)


def test_number_bounds_and_numpy_scalars():
    assert gate.number("v", np.float32(0.5), 0.0, 1.0) == 0.5
    assert gate.integer("n", np.int64(3), 1) == 3
    with pytest.raises(RasimError, match=r"expected a finite number > 0 and < 1 mg, got 1 \(an integer\)"):
        gate.number("v", 1, 0.0, 1.0, open_low=True, open_high=True, unit="mg")
    for bad in (2.0, True, "3", -1):
        with pytest.raises(RasimError, match="expected an integer >= 0"):
            gate.integer("n", bad, 0)


@pytest.mark.parametrize(
    "value, message",
    [
        ("0,28", "expected a list of days"),
        ([], "expected at least one day"),
        (np.zeros((2, 2)), "one-dimensional"),
        ([0, 28, 28], r"v\[2\]: days must increase"),
        ([0, -1], r"v\[1\]: expected a finite number >= 0"),
        ([0, 400], r"v\[1\]: day 400 is after the horizon \(day 365\)"),
        ({0: 1}, "expected a list of days"),
    ],
)
def test_days(value, message):
    with pytest.raises(RasimError, match=message):
        gate.days("v", value, 365.0)


def test_days_length_is_refused_before_its_elements_are_read(monkeypatch):
    monkeypatch.setenv("RASIM_MAX_OBSERVE", "10")
    with pytest.raises(LimitError, match="11 observation days is above the limit of 10.*RASIM_MAX_OBSERVE"):
        gate.days("observe", range(11))


@pytest.mark.parametrize("text", ["nan", "inf", "-5", "0", "lots", ""])
def test_an_environment_ceiling_must_be_a_finite_positive_number(monkeypatch, text):
    monkeypatch.setenv("RASIM_MAX_PATIENTS", text)
    with pytest.raises(LimitError, match="RASIM_MAX_PATIENTS must be a finite number > 0"):
        gate.ceiling("patients")


def test_an_environment_ceiling_raises_the_limit(monkeypatch):
    with pytest.raises(LimitError):
        Cohort("dmard", patients=int(gate.LIMITS["patients"]) + 1)
    monkeypatch.setenv("RASIM_MAX_PATIENTS", str(gate.LIMITS["patients"] * 10))
    assert gate.limit("patients", gate.LIMITS["patients"] + 1) == gate.LIMITS["patients"] + 1


def test_table_names_the_key_and_refuses_non_numbers():
    assert gate.table("p", {"a": 1}, ["a"]) == {"a": 1.0}
    with pytest.raises(RasimError, match=r"p\.a: expected a finite number, got '1' \(a string\)"):
        gate.table("p", {"a": "1"}, None)
    with pytest.raises(RasimError, match="Did you mean 'alpha'"):
        gate.table("p", {"alpah": 1}, ["alpha", "beta"], "parameter")
    with pytest.raises(RasimError, match="expected a table"):
        gate.table("p", [("a", 1)], None)


def test_got_survives_deep_nesting():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert "nested too deeply" in gate.got(deep)


def test_cost_grows_with_the_run_and_streaming_bounds_memory():
    small = gate.cost(100, 1, 12, 1095)
    big = gate.cost(100_000, 3, 12, 1095)
    streamed = gate.cost(100_000, 3, 12, 1095, in_memory=False, chunk_size=2000)
    assert big.memory > small.memory and big.seconds > small.seconds
    assert streamed.memory < big.memory and streamed.memory == gate.cost(10**6, 3, 12, 1095, in_memory=False).memory
    assert gate.cost(1000, 1, 12, 1095, csv=True).disk == 1000 * 12 * gate.CSV_BYTES_PER_VISIT
    assert gate.cost(1000, 1, 12, 1095).disk == 0


def test_cost_check_refuses_above_the_memory_ceiling_and_mentions_large_runs(monkeypatch):
    assert gate.cost(100, 1, 12, 1095).check() == []
    huge = gate.cost(10**7, 1, 12, 1095)
    with pytest.raises(LimitError, match="GiB of memory.*RASIM_MAX_MEMORY_GIB"):
        huge.check()
    monkeypatch.setenv("RASIM_MAX_MEMORY_GIB", "1000")
    assert "estimated memory" in huge.check()[0]


def test_cohort_run_refuses_a_result_that_cannot_fit_before_any_work(monkeypatch):
    monkeypatch.setenv("RASIM_MAX_MEMORY_GIB", "0.1")
    c = Cohort("dmard", patients=1000, observe=(0, 28))
    with pytest.raises(LimitError, match="Cohort.run"):
        c.run()


def test_basal_sources_cannot_be_set_but_a_consistent_set_can():
    assert BASAL == {basal for basal, _ in PAIRS.values()}
    with pytest.raises(ParameterError, match="'tnf_basal' is a basal source"):
        model.parameter_vector({"tnf_basal": 1.0})
    given = model.DEFAULTS[model.PINDEX["tnf_basal"]]
    assert model.parameter_vector({"tnf_basal": given})[model.PINDEX["tnf_basal"]] == given
    # the stimulated production of a pair is a disease-activity parameter: it can be set
    assert model.parameter_vector({"th1_activation": 5.0})[model.PINDEX["th1_activation"]] == 5.0


def test_literature_set_passes_its_own_balance_through_simulate():
    from rasim import parameter_set

    overrides = parameter_set("literature").overrides("params")
    assert prepare(params=overrides, days=28, allow_out_of_range=True).params is not None


@pytest.mark.parametrize("name", ["female", "seropositive"])
def test_flag_covariates_are_zero_or_one(name):
    with pytest.raises(CovariateError, match=f"covariate {name} is a flag: 0 or 1, got 0.5"):
        prepare(covariates={name: 0.5}, days=28)
    assert prepare(covariates={name: 0}, days=28).params[model.PINDEX[name]] == 0.0


def test_per_kg_cap_gives_no_patient_more_than_the_flat_cap():
    assert MAX_WEIGHT_KG == model.parameter("weight").high
    assert MAX_MSC_CELLS_PER_KG * MAX_WEIGHT_KG == MAX_MSC_CELLS
    msc(MAX_MSC_CELLS_PER_KG, per_kg=True)
    with pytest.raises(RegimenError, match="the flat cap of 1e\\+10 cells at 200 kg"):
        msc(1e8, per_kg=True)


def test_dose_count_is_refused_before_the_doses_are_built():
    with pytest.raises(LimitError, match="3.6e\\+07 dose events.*RASIM_MAX_DOSES"):
        msc(4e7, every=0.001, until=36000)
    with pytest.raises(LimitError, match="RASIM_MAX_DOSES"):
        mtx(1e-9, every=1e-6).events(1000)


def test_titration_after_the_horizon_warns_in_python_as_in_toml():
    with pytest.warns(RasimWarning, match="day\\(s\\) 500 come after the horizon"):
        prepare(mtx({0: 7.5, 500: 15}), days=365)
    with pytest.warns(RasimWarning, match="arm late: MTX titration steps on day\\(s\\) 500"):
        Cohort(Arm("late", "refractory", mtx({0: 7.5, 500: 15})), patients=2, observe=(0, 28))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RasimWarning)
        prepare(mtx({0: 7.5, 300: 15}), days=365)


def test_entry_criteria_nobody_can_meet_are_refused():
    with pytest.raises(RasimError, match="nobody can enter; DAS28-ESR is at most 9.35"):
        Entry(das28_min=9.9)
    Entry(das28_min=9.0)


def test_an_arm_that_enrols_nobody_is_named_with_its_screening_counts():
    arm = Arm("x", "refractory")
    assert enrolment_note(arm, 5, 10, 20) is None
    note = enrolment_note(arm, 0, 10, 20)
    assert note is not None and "no patient enrolled" in note and "10 candidates" in note and "20 failed" in note


def test_a_cohort_that_enrols_nobody_warns_loudly():
    pop = Population("almost_impossible", entry=Entry(das28_min=9.34))
    with pytest.warns(RasimWarning, match="arm nobody: no patient enrolled in population 'almost_impossible'"):
        summary = Cohort(Arm("nobody", pop), patients=1, observe=(0, 28)).run(keep="summary")
    assert summary.n_not_enrolled == 1


@pytest.mark.parametrize("days", [range(10**9), (d for d in range(10**9))])
def test_a_long_sequence_of_days_is_refused_before_it_is_read(days):
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(LimitError, match="RASIM_MAX_OBSERVE"):
        gate.days("observe", days)
    assert tracemalloc.get_traced_memory()[1] < 10e6
    tracemalloc.stop()


@pytest.mark.parametrize(
    "make",
    [
        lambda: msc(4e7, every=2.2e-313, until=818),  # the count overflows a float
        lambda: mtx(1e-300, every=1e-300).events(100),
        lambda: msc(10**400),
        lambda: Cohort("dmard", patients=10**400),
    ],
)
def test_numbers_beyond_any_float_are_refused_not_crashed(make):
    with pytest.raises(RasimError):
        make()
