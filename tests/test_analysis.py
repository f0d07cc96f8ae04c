"""Dropout, rescue and analysis rules: hand-computed exits and rates on a constructed
cohort, reproducibility across chunks and threads, the default unchanged, input errors."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from rasim import calibration, files, runner, tables
from rasim.cohort import ARMS, CRITERIA, Cohort, CohortResult
from rasim.cohort.analysis import (
    ANALYSES,
    COMPLETED,
    DROPPED_OUT,
    RESCUED,
    Dropout,
    Rescue,
    analysis_set,
    exits,
)
from rasim.cohort.arms import Arm
from rasim.cohort.streaming import StreamingSummary
from rasim.errors import RasimError, ScenarioError
from rasim.scenario import Scenario


def same(a: list[dict], b: list[dict]) -> None:
    """Rows equal bit for bit (NaN equal to NaN: an SD of one patient)."""
    np.testing.assert_equal(a, b)


# ---- a constructed cohort: 4 patients, visits on days 0, 84, 168 -----------------------------
# Every item improves by the fraction f of its day-0 value; DAS28-ESR 6.0 -> 4.5 (f 0.5: EULAR
# moderate) or 3.0 (f 0.8: good).  ACR20 from f >= 0.2, ACR50 from 0.5, ACR70 from 0.7.
F = np.array([[0.0, 0.5, 0.8], [0.0, 0.5, 0.8], [0.0, 0.0, 0.8], [0.0, 0.0, 0.0]])
EXIT_VISIT = np.array([2, 1, 1, 0])  # completed; dropped out after day 84; rescued at 84; dropped before 84
EXIT_REASON = np.array([COMPLETED, DROPPED_OUT, RESCUED, DROPPED_OUT], dtype=np.int8)
DAS = {0.0: 6.0, 0.5: 4.5, 0.8: 3.0}


def constructed(analysis: str = "observed") -> CohortResult:
    base = {"TJC28": 10.0, "SJC28": 10.0, "pain": 50.0, "patient_global": 50.0, "physician_global": 50.0}
    base.update({"HAQ": 1.0, "CRP": 20.0, "ESR": 40.0, "mTSS": 40.0})
    values = {k: v * (1.0 - F) for k, v in base.items()}
    values["DAS28_ESR"] = np.vectorize(DAS.get)(F)
    values["DAS28_CRP"] = values["DAS28_ESR"] - 0.5
    n = len(F)
    return CohortResult(
        "a",
        "refractory",
        np.array([0.0, 84.0, 168.0]),
        np.zeros(n, dtype=np.int64),
        values,
        values["DAS28_ESR"],
        np.zeros(F.shape, dtype=bool),
        {},
        0,
        0,
        np.zeros(n, dtype=np.int64),
        {},
        exit_visit=EXIT_VISIT,
        exit_reason=EXIT_REASON,
        analysis=analysis,
    )


# rule: (ACR20 on day 84, ACR20 on day 168, EULAR_none on day 168, patients in the rates)
RATES = {
    "observed": (0.5, 0.75, 0.25, 4),
    "completers": (1.0, 1.0, 0.0, 1),
    "nri": (0.5, 0.25, 0.75, 4),
    "locf": (0.5, 0.5, 0.5, 4),
}
# rule: mean change in DAS28-ESR on days 84 and 168, and the patients counted each day
CHANGES = {
    "observed": ((-0.75, -2.25), (4, 4)),
    "completers": ((-1.5, -3.0), (1, 1)),
    "nri": ((-1.0, -3.0), (3, 1)),
    "locf": ((-0.75, -1.125), (4, 4)),
}


@pytest.mark.parametrize("rule", ANALYSES)
def test_hand_computed_rates(rule):
    res = constructed()
    acr84, acr168, none168, n = RATES[rule]
    assert res.rate("ACR20", rule)[1:].tolist() == [acr84, acr168]
    assert res.rate("EULAR_none", rule)[2] == none168
    rows = [r for r in res.responders(rule) if r["day"] == 168.0]
    assert {r["criterion"]: r["rate"] for r in rows}["ACR20"] == acr168 and rows[0]["n"] == n


@pytest.mark.parametrize("rule", ANALYSES)
def test_hand_computed_means(rule):
    res = constructed()
    means, counted = CHANGES[rule]
    assert res.mean("DAS28_ESR_change", rule)[1:] == pytest.approx(means, abs=1e-12)
    rows = [r for r in res.summary(("DAS28_ESR",), rule) if r["endpoint"] == "DAS28_ESR_change"]
    assert [r["n"] for r in rows[1:]] == list(counted)
    assert [r["mean"] for r in rows[1:]] == pytest.approx(means, abs=1e-12)


def test_locf_carries_the_last_visit_in_the_arm():
    x = constructed().analysed("TJC28", "locf")
    assert x == pytest.approx(np.array([[10, 5, 2], [10, 5, 5], [10, 10, 10], [10, 10, 10]]))
    assert np.isnan(constructed().analysed("TJC28", "nri")[3, 1:]).all()


def test_nri_leavers_are_non_responders_on_every_criterion():
    masks = constructed().responder_masks("nri")
    for c in CRITERIA:
        assert masks[c][3, 1:].tolist() == ([True, True] if c == "EULAR_none" else [False, False]), c


def test_the_arms_rule_is_the_default_and_streaming_agrees():
    res = constructed("nri")
    assert res.responders() == res.responders("nri")
    same(res.summary(), res.summary(analysis="nri"))
    stream = StreamingSummary("a", res.days, analysis="nri")
    stream.add(res)
    assert stream.responders() == res.responders()
    assert (stream.n_dropped_out, stream.n_rescued, stream.n_analysed) == (2, 1, 4)
    assert stream.mean("DAS28_ESR_change")[1:] == pytest.approx(CHANGES["nri"][0], abs=1e-12)
    assert [r["n"] for r in stream.summary() if r["endpoint"] == "HAQ"] == [4, 3, 1]
    again = StreamingSummary.from_arrays(stream.to_arrays())
    same(again.summary(), stream.summary())
    assert again.responders() == stream.responders()


def test_unknown_rule_is_refused():
    with pytest.raises(RasimError, match="Did you mean 'nri'"):
        constructed().rate("ACR20", "nir")


# ---- leaving the arm ----------------------------------------------------------------------------
DAYS = np.array([0.0, 100.0, 200.0])
PER_DAY = Dropout(rate=365.25 / 100, nonresponder_factor=2.0)  # cumulative hazard 1 per visit interval


def _exits(e, responder=True, tjc=(10, 9, 9), sjc=(10, 9, 9), dropout=PER_DAY, rescue=None):
    acr20 = np.full((1, 3), responder)
    t, s = np.array([tjc], float), np.array([sjc], float)
    last, reason = exits(DAYS, t, s, acr20, np.array([e]), dropout, rescue)
    return int(last[0]), int(reason[0])


def test_dropout_from_the_cumulative_hazard():
    assert _exits(0.5) == (0, DROPPED_OUT)  # H(100) = 1 > 0.5: gone before the first visit
    assert _exits(1.5) == (1, DROPPED_OUT)  # H(200) = 2
    assert _exits(2.5) == (2, COMPLETED)
    assert _exits(2.5, responder=False) == (1, DROPPED_OUT)  # H(200) = 1 + 2 (non-responder at 100)
    assert _exits(1.5, responder=False) == (1, DROPPED_OUT)  # not 0: response unjudged before day 100
    assert _exits(0.9, responder=False) == (0, DROPPED_OUT)
    assert _exits(1.1, responder=False, dropout=Dropout(365.25 / 100)) == (1, DROPPED_OUT)


def test_rescue_criterion_window_and_order():
    both, either = Rescue(100), Rescue(100, short_in="either")
    assert _exits(9, dropout=None, rescue=both) == (1, RESCUED)  # 10 % better in both counts
    assert _exits(9, tjc=(10, 7, 7), dropout=None, rescue=both) == (2, COMPLETED)  # TJC 30 % better
    assert _exits(9, tjc=(10, 7, 7), dropout=None, rescue=either) == (1, RESCUED)
    assert _exits(9, dropout=None, rescue=Rescue(150)) == (2, RESCUED)
    assert _exits(9, tjc=(10, 9, 5), sjc=(10, 9, 5), dropout=None, rescue=Rescue(200, improvement=60)) == (
        2,
        RESCUED,
    )
    assert _exits(9, dropout=None, rescue=Rescue(150, until=180)) == (2, COMPLETED)
    assert _exits(0.5, rescue=both) == (0, DROPPED_OUT)  # gone before the rescue visit
    assert _exits(1.5, rescue=both) == (1, RESCUED)  # rescued at 100, before dropping out


def test_analysis_set_shapes():
    s = analysis_set("completers", np.array([2, 0, 2]), 3)
    assert s.rows.tolist() == [True, False, True] and s.size == 2 and s.counted().tolist() == [2, 2, 2]
    assert analysis_set("nri", np.array([2, 0, 1]), 3).counted().tolist() == [3, 2, 1]


# ---- cohorts ------------------------------------------------------------------------------------
OBSERVE = (0, 28, 56, 84)
CONDUCT = dataclasses.replace(
    ARMS["dmard"], dropout=Dropout(2.0, 3.0), rescue=Rescue(28, improvement=30), analysis="nri"
)


@pytest.fixture(scope="module")
def conducted():
    return Cohort(CONDUCT, patients=16, seed=7, observe=OBSERVE).run(threads=1)


@pytest.fixture(scope="module")
def plain():
    return Cohort("dmard", patients=16, seed=7, observe=OBSERVE).run(threads=1)


def test_cohort_exits_reproducible_across_chunks_and_threads(conducted):
    other = Cohort(CONDUCT, patients=16, seed=7, observe=OBSERVE, chunk_size=5).run(threads=2)
    assert np.array_equal(other.exit_visit, conducted.exit_visit)
    assert np.array_equal(other.exit_reason, conducted.exit_reason)
    assert conducted.n_dropped_out > 0 and conducted.n_rescued > 0
    for rule in ANALYSES:
        assert other.responders(rule) == conducted.responders(rule)
        same(other.summary(analysis=rule), conducted.summary(analysis=rule))
    streams = [Cohort(CONDUCT, patients=16, seed=7, observe=OBSERVE, chunk_size=k).run(keep="summary") for k in (3, 16)]
    same(streams[0].summary(), streams[1].summary())
    assert streams[0].responders() == streams[1].responders()
    assert streams[0].responders() == conducted.responders()
    assert (streams[0].n_dropped_out, streams[0].n_rescued) == (conducted.n_dropped_out, conducted.n_rescued)


def test_dropout_and_rescue_change_no_simulated_value(conducted, plain):
    for k, v in plain.values.items():
        assert np.array_equal(v, conducted.values[k], equal_nan=True), k
    assert plain.n_dropped_out == plain.n_rescued == 0 and (plain.exit_reason == COMPLETED).all()


def test_dropout_only_takes_patients_out_earlier(conducted):
    """Who is rescued, and when, does not depend on dropout, which can only come first."""
    rescue_only = Cohort(dataclasses.replace(CONDUCT, dropout=None), patients=16, seed=7, observe=OBSERVE).run()
    hit = rescue_only.exit_reason == RESCUED
    kept = conducted.exit_reason == RESCUED
    assert np.all(hit[kept]) and np.array_equal(rescue_only.exit_visit[kept], conducted.exit_visit[kept])


@pytest.mark.parametrize("rule", ANALYSES)
def test_without_leavers_every_rule_is_the_observed(plain, rule):
    same(plain.summary(analysis=rule), plain.summary())
    assert plain.responders(rule) == plain.responders()


def test_rescue_needs_a_visit_in_its_window():
    with pytest.raises(RasimError, match="no visit falls there"):
        Cohort(CONDUCT, patients=2, observe=(0, 14))


@pytest.mark.parametrize(
    "kind, kw, match",
    [
        (Dropout, {"rate": -1}, "dropout rate"),
        (Dropout, {"rate": math.inf}, "dropout rate"),
        (Dropout, {"rate": 0.1, "nonresponder_factor": True}, "nonresponder_factor"),
        (Rescue, {"start": 0}, "day 0 is the baseline"),
        (Rescue, {"start": 100, "until": 50}, "must not be before start"),
        (Rescue, {"start": 100, "improvement": 0}, "improvement"),
        (Rescue, {"start": 100, "short_in": "al"}, "short_in"),
    ],
)
def test_bad_dropout_and_rescue(kind, kw, match):
    with pytest.raises(RasimError, match=match):
        kind(**kw)


def test_arm_checks_its_conduct():
    with pytest.raises(RasimError, match="arm dropout must be a Dropout"):
        Arm("x", "refractory", dropout={"rate": 0.1})
    with pytest.raises(RasimError, match="unknown analysis rule 'completer'"):
        Arm("x", "refractory", analysis="completer")


# ---- calibration targets ------------------------------------------------------------------------
def test_targets_read_their_analysis():
    heldout = Path(__file__).resolve().parents[1] / "tools" / "heldout.csv"
    for rows in (calibration.targets(None), calibration.targets(None, heldout)):
        assert rows and all(t.analysis in ANALYSES for t in rows)
    by_id = {t.id: t for t in calibration.targets(None)}
    assert by_id["he-das-365"].analysis == "completers" and by_id["rapid2-acr20-w24"].analysis == "nri"
    assert by_id["goafter-acr20-w24"].analysis == "locf" and by_id["radiate-acr20"].analysis == "observed"
    # a trial with a rule after randomisation runs in an arm that declares it
    for tid, conduct in (("he-das-365", "dropout"), ("rapid2-acr20-w24", "rescue"), ("goafter-acr20-w24", "rescue")):
        assert getattr(calibration.TARGET_ARMS[by_id[tid].arm], conduct) is not None, tid
    t = calibration.targets(None)[0]
    with pytest.raises(RasimError, match=f"target {t.id}: analysis: unknown analysis rule 'NRI'"):
        dataclasses.replace(t, analysis="NRI")


@pytest.mark.parametrize("rule", ANALYSES)
def test_simulated_target_on_its_analysis(rule):
    t = calibration.targets(None)[0]
    rate = dataclasses.replace(t, endpoint="ACR20", day=168.0, analysis=rule)
    change = dataclasses.replace(t, endpoint="DAS28_ESR_change", day=168.0, statistic="mean", analysis=rule)
    assert calibration._simulated(constructed(), rate)[0] == RATES[rule][1]
    assert calibration._simulated(constructed(), change)[0] == pytest.approx(CHANGES[rule][0][1], abs=1e-12)


# ---- scenarios and run outputs --------------------------------------------------------------------
BASE = {"name": "t", "patients": 16, "seed": 7, "days": 84, "observe": list(OBSERVE)}
CONDUCT_TABLE = {
    "dropout": {"rate": 2.0, "nonresponder_factor": 3},
    "rescue": {"start": 28, "improvement": 30},
    "analysis": "nri",
}


def scenario(**arm) -> Scenario:
    return Scenario.from_dict({**BASE, "arms": [{"arm": "dmard", **arm}]}, "trial.toml")


@pytest.mark.parametrize(
    "arm, message",
    [
        ({"dropout": {"rat": 0.1}}, "arms[0].dropout.rat: unknown key 'rat'. Did you mean 'rate'?"),
        ({"dropout": {"nonresponder_factor": 2}}, "arms[0].dropout.rate: required key is missing"),
        ({"dropout": {"rate": -1}}, "arms[0].dropout.rate: dropout rate (per year): expected a finite number >= 0"),
        ({"dropout": {"rate": "1"}}, "arms[0].dropout.rate: expected a finite number"),
        ({"dropout": 0.1}, "arms[0].dropout: expected a table"),
        ({"rescue": {"strat": 28}}, "arms[0].rescue.strat: unknown key 'strat'. Did you mean 'start'?"),
        ({"rescue": {"start": 28, "until": 14}}, "arms[0].rescue.until: rescue until (day 14) must not be"),
        ({"rescue": {"start": 28, "short_in": "bot"}}, "arms[0].rescue.short_in: unknown short_in 'bot'"),
        ({"rescue": {"start": 30, "until": 50}}, "arms[0].rescue: rescue from day 30 to day 50: no visit falls"),
        ({"analysis": "lcof"}, "arms[0].analysis: unknown analysis rule 'lcof'. Did you mean 'locf'?"),
        ({"analyses": "nri"}, "arms[0].analyses: unknown key 'analyses'. Did you mean 'analysis'"),
    ],
)
def test_scenario_errors(arm, message):
    with pytest.raises(ScenarioError) as e:
        scenario(**arm)
    assert str(e.value).startswith(f"trial.toml: {message}")


def test_scenario_round_trip_and_days_override():
    s = scenario(**CONDUCT_TABLE)
    a = s.arms[0]
    assert (a.dropout, a.rescue, a.analysis) == (CONDUCT.dropout, CONDUCT.rescue, "nri")
    assert Scenario.from_dict(s.to_dict()) == s
    with pytest.raises(ScenarioError, match="arms.0..rescue: rescue from day 28: no visit"):
        s.replace(days=14)


def test_run_outputs_say_who_left_and_the_rule(conducted, plain, tmp_path):
    s = scenario(**CONDUCT_TABLE)
    results = runner.run_in_memory(s, threads=1)
    res = results["dmard"]
    assert res.responders() == conducted.responders() and res.analysis == "nri"
    text = tables.table(s, results, 1.0)
    assert f"dmard: {res.n_dropped_out} dropped out, {res.n_rescued} rescued; means and rates: nri" in text
    files.write_results(s, results, tmp_path)
    with (tmp_path / "counts.csv").open() as f:
        row = next(csv.DictReader(f))
    assert (row["dropped_out"], row["rescued"], row["analysis"]) == (
        str(res.n_dropped_out),
        str(res.n_rescued),
        "nri",
    )
    assert "means and rates" not in tables.table(scenario(), {"dmard": plain}, 1.0)
