"""Names, statuses and the result protocol: the output registry (``rasim.endpoints``), patient
statuses with remedies (``PatientStatus``), and ``CohortSummary`` as the runner and CLI use it."""

import logging

import numpy as np
import pytest

import rasim
from rasim import endpoints as E
from rasim.cohort import NOT_ENROLLED, NOT_SETTLED, CohortSummary, PatientStatus, StreamingSummary
from rasim.cohort.status import SOLVER_FAILURES, describe, status_counts, status_name
from rasim.solver import Status

DAYS = (0, 28)


# ---- the registry -----------------------------------------------------------------------------


def test_every_group_is_a_view_of_the_registry():
    for group in (E.MODEL, E.ITEMS, E.SCORES, E.BIOMARKERS, E.COHORT, E.SUMMARY, E.DATASET, E.CRITERIA):
        assert group and len(set(group)) == len(group) and set(group) <= set(E.REGISTRY)
    assert {E.REGISTRY[n].kind for n in E.CRITERIA} == {E.CRITERION}
    assert set(E.COHORT) == set(E.MODEL) and not set(E.MODEL) & set(E.CRITERIA)
    assert rasim.model.OBSERVABLES == {n: E.REGISTRY[n].expected_unit for n in E.MODEL}
    assert all(o.label and o.unit for o in E.REGISTRY.values())


def test_suffixes_are_parsed_and_made_in_one_place():
    assert E.split("CRP_pct_change") == ("CRP", "_pct_change")
    assert E.split("DAS28_ESR_change") == ("DAS28_ESR", "_change") and E.split("ESR") == ("ESR", "")
    assert E.derived("HAQ") == "HAQ_change" and E.derived("CRP", E.PCT_CHANGE) == "CRP_pct_change"
    x = np.array([[2.0, 3.0, 1.0]])
    assert E.derive(x, "").tolist() == [[2.0, 3.0, 1.0]]
    assert E.derive(x, E.CHANGE).tolist() == [[0.0, 1.0, -1.0]]
    assert E.derive(x, E.PCT_CHANGE).tolist() == [[0.0, 50.0, -50.0]]
    with pytest.raises(rasim.OutputError, match="suffix"):
        E.derived("CRP", "_delta")


def test_units_and_labels():
    assert E.axis_label("DAS28_ESR") == "DAS28-ESR (score)"
    assert E.axis_label("DAS28_ESR_change") == "change in DAS28-ESR from day 0 (points)"
    assert E.unit("CRP_change") == "mg/L" and E.unit("CRP_pct_change") == "%" and E.unit("ACR20") == "fraction"
    assert E.label("EULAR_response") == "EULAR good or moderate"


@pytest.mark.parametrize(
    "name, hint", [("DAS28ESR", "'DAS28_ESR'"), ("CRP_chnge", "'CRP_change'"), ("ACR20_change", "ACR20")]
)
def test_unknown_names_say_did_you_mean(name, hint):
    with pytest.raises(rasim.OutputError, match=f"Did you mean .*{hint}") as e:
        E.output(name)
    assert isinstance(e.value, KeyError) and isinstance(e.value, rasim.RasimError)


# ---- statuses -----------------------------------------------------------------------------------


def test_every_status_has_a_message_with_a_remedy():
    for s in [*Status, *PatientStatus]:
        assert s.remedy and s.message.endswith(s.remedy) and len(s.message) > len(s.remedy) + 10
    assert all(PatientStatus(int(s)).name == s.name for s in Status)  # the solver's codes by value
    assert (NOT_SETTLED, NOT_ENROLLED) == (PatientStatus.NOT_SETTLED, PatientStatus.NOT_ENROLLED) == (100, 101)
    assert [s.label for s in SOLVER_FAILURES] == ["max_steps", "step_too_small", "nonfinite", "singular", "bad_input"]
    assert "max_steps" in PatientStatus.MAX_STEPS.remedy and "entry criteria" in PatientStatus.NOT_ENROLLED.remedy


def test_status_counts_names():
    codes = np.array([0, 0, 1, 101, 0, 7])
    counts = {"success": 3, "max_steps": 1, "status_7": 1, "not_enrolled": 1}
    assert status_counts(codes) == counts and list(status_counts(codes)) == list(counts)
    assert status_counts({101: 1, 0: 3, 1: 1, 7: 1}) == counts
    assert status_name(100) == "not_settled"
    lines = describe(counts)
    assert len(lines) == 3 and lines[0].startswith("1 max_steps: ") and "raise Cohort(max_steps" in lines[0]


def test_solver_options_refusals_are_rasim_errors():
    for bad in (dict(rtol=0.0), dict(method="rk4"), dict(atol=-1.0), dict(max_steps=0)):
        with pytest.raises(rasim.RasimError):
            rasim.SolverOptions(**bad)
    with pytest.raises(rasim.SolverOptionsError, match="atol has 2 entries"):
        rasim.SolverOptions(atol=(1e-9, 1e-9)).atol_vector(3)


# ---- one result protocol, through the runner and the command line ----------------------------------


@pytest.fixture(scope="module")
def cohorts():
    c = rasim.Cohort("dmard", patients=20, seed=1, observe=DAYS, chunk_size=8)
    return c.run(threads=1), c.run(threads=1, keep="summary")


def test_both_results_are_cohort_summaries(cohorts):
    full, stream = cohorts
    assert isinstance(full, CohortSummary) and isinstance(stream, CohortSummary)
    assert isinstance(stream, StreamingSummary) and full.keeps_patients and not stream.keeps_patients
    for res in cohorts:
        assert isinstance(res.responders(), list) and res.responders()[0]["criterion"] == E.CRITERIA[0]
        assert res.status_counts() == {"success": 20} and res.n_failed == res.n_not_enrolled == 0
        assert res.resolved_fraction().shape == (2,) and len(res.to_frame("summary")) == len(res.summary())
    assert full["DAS28_ESR_change"].tolist() == (full["DAS28_ESR"] - full["DAS28_ESR"][:, :1]).tolist()
    assert np.array_equal(full.mean("CRP_change"), stream.mean("CRP_change"))
    with pytest.raises(rasim.OutputError, match="Did you mean 'DAS28_ESR'"):
        full["DAS28_ES"]
    with pytest.raises(rasim.OutputError, match="Did you mean 'DAS28_ESR'"):
        stream.mean("DAS28_ES")
    with pytest.raises(rasim.OutputError, match="keep='patients'"):
        stream.mean("IL6")
    with pytest.raises(rasim.OutputError, match="'ACR20'"):
        stream.rate("ACR2")
    with pytest.raises(ValueError, match="keep='patients'"):
        stream.trajectories()


def test_write_results_takes_a_summary_only_cohort(cohorts, tmp_path, caplog):
    from rasim import files, tables
    from rasim.scenario import load

    full, stream = cohorts
    path = tmp_path / "one.toml"
    path.write_text('name = "one"\npatients = 20\nseed = 1\ndays = 28\nobserve = [0, 28]\n\n[[arms]]\narm = "dmard"\n')
    scenario = load(path)
    with caplog.at_level(logging.INFO, logger="rasim"):
        written = files.write_results(scenario, {"dmard": stream}, tmp_path / "s")
    assert {p.name for p in written} >= {
        "summary.csv",
        "responders.csv",
        "counts.csv",
        "bands.png",
        "responders.png",
        "distribution.png",
    }
    assert not (tmp_path / "s" / "dataset.csv").exists() and not (tmp_path / "s" / "patients").exists()
    assert "kept summaries only" in caplog.text and "dmard" in caplog.text
    files.write_results(scenario, {"dmard": full}, tmp_path / "p")
    for name in ("responders.csv", "counts.csv"):  # exact counts agree; summary.csv percentiles are binned
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "p" / name).read_bytes()
    with pytest.raises(rasim.RasimError, match="keep='patients'"):
        files.nonmem_dataset(scenario, {"dmard": stream})
    assert "dmard" in tables.table(scenario, {"dmard": stream}, 1.0)


def test_cli_run_keep_summary_writes_its_outputs(tmp_path, capsys):
    from rasim import cli

    code = cli.main(
        [
            "run",
            "sources",
            "--patients",
            "20",
            "--days",
            "28",
            "--observe",
            "0,28",
            "--threads",
            "1",
            "--keep",
            "summary",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"summary.csv", "responders.csv", "counts.csv", "bands.png", "distribution.png"} <= names
    assert not names & {"dataset.csv", "patients"} and "no per-patient files" in err
    assert "results:" in out
