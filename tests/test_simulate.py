"""The ``rasim.simulate`` facade: input errors (raised before any solving) and the result API."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rasim
from rasim import CovariateError, ParameterError, RasimError, RegimenError, model, msc, mtx
from rasim.model import pk


# --------------------------------------------------------------------------- input errors


@pytest.fixture
def no_solving(monkeypatch):
    """Make every route to an ODE solve fail loudly, so an input error that is
    only detected after solving started shows up as this AssertionError."""

    def forbidden(*args, **kwargs):
        raise AssertionError("simulate started solving before rejecting the input")

    import rasim.day0
    import rasim.simulation

    for module, name in (
        (rasim.simulation, "integrate"),
        (rasim.day0, "integrate"),
        (rasim.day0, "replay"),
        (rasim.simulation, "inflamed_equilibrium"),
        (rasim.simulation, "periodic_state"),
        (rasim.simulation, "replayed"),
    ):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, forbidden)


def test_no_solving_fixture_really_blocks_solving(no_solving):
    with pytest.raises(AssertionError, match="started solving"):
        rasim.simulate(None, days=10)


def test_unknown_parameter_names_the_closest(no_solving):
    with pytest.raises(ParameterError, match="il6_tnf_gain") as info:
        rasim.simulate(None, params={"il6_tnf_gian": 1.0})
    assert "il6_tnf_gian" in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, RasimError)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), -1e-12])
def test_invalid_parameter_value(no_solving, bad):
    with pytest.raises(ParameterError, match="il6_tnf_gain"):
        rasim.simulate(None, params={"il6_tnf_gain": bad})


def test_unknown_covariate(no_solving):
    with pytest.raises(CovariateError, match="weight"):
        rasim.simulate(None, covariates={"wieght": 70})
    with pytest.raises(CovariateError, match="height"):
        rasim.simulate(None, covariates={"height": 170})


@pytest.mark.parametrize(
    "covariates",
    [
        {"weight": 500},
        {"weight": 10},
        {"age": 5},
        {"creatinine_clearance": 5},
        {"female": 2},
        {"seropositive": -1},
        {"age": float("nan")},
    ],
)
def test_covariate_out_of_range(no_solving, covariates):
    name = next(iter(covariates))
    with pytest.raises(CovariateError, match=name):
        rasim.simulate(None, covariates=covariates)


@pytest.mark.parametrize("days", [0, -5, float("nan"), float("inf"), -math.inf])
def test_bad_horizon(no_solving, days):
    with pytest.raises(RasimError, match="days"):
        rasim.simulate(None, days=days)


@pytest.mark.parametrize("observe", [[0, 10, 5], [0, 400], [-1, 3], [], [0, float("nan")]])
def test_bad_observation_days(no_solving, observe):
    with pytest.raises(RasimError, match="observe"):
        rasim.simulate(None, days=365, observe=observe)


def test_unknown_solver(no_solving):
    with pytest.raises(ValueError, match="rodas4") as info:
        rasim.simulate(None, solver="rk4")
    assert "rk4" in str(info.value)
    with pytest.raises(RasimError, match="solver"):
        rasim.simulate(None, solver=42)


@pytest.mark.parametrize(
    "background",
    [
        msc(4e7),  # not MTX
        mtx({0: 7.5, 28: 15}),  # not a constant dose
        mtx(15, start=14),  # does not run from before day 0
        mtx(15, until=100),  # stops
        mtx(15, until=100) + mtx(10, start=100),  # two schedules
    ],
)
def test_background_must_be_one_constant_repeating_mtx_schedule(no_solving, background):
    with pytest.raises(RegimenError, match="background"):
        rasim.simulate(None, background=background)


def test_mtx_in_both_regimen_and_background(no_solving):
    with pytest.raises(RegimenError, match="MTX"):
        rasim.simulate(mtx(10), background=mtx(15))
    with pytest.raises(RegimenError, match="MTX"):
        rasim.simulate(msc(4e7) + mtx(10, start=60), background=mtx(15))


# --------------------------------------------------------------------------- result API


@pytest.fixture(scope="module")
def result():
    return rasim.simulate(msc(4e7, days=[10]) + mtx(15), days=60, observe=[0, 5, 7, 9.99, 10, 10.01, 11, 30, 60])


def test_result_accessors(result):
    assert result.ok and result.status == rasim.Status.SUCCESS
    assert result.states.shape == (len(result.t), model.N_STATES)
    np.testing.assert_array_equal(result["DAS28_ESR"], result.observables["DAS28_ESR"])
    np.testing.assert_array_equal(result.state("th17"), result.states[:, model.INDEX["th17"]])
    np.testing.assert_array_equal(result["th17"], result.state("th17"))  # falls back to states
    assert set(result.observables) == set(model.OBSERVABLES)
    for arr in result.observables.values():
        assert arr.shape == result.t.shape and np.all(np.isfinite(arr))
    assert result.mtx.shape == (len(result.t), 5)
    assert result.day0.kind == "steady"


def test_unknown_state_names_close_ones(result):
    with pytest.raises(KeyError) as info:
        result.state("th71")
    message = str(info.value)
    assert "th71" in message and "th17" in message and "th1" in message
    with pytest.raises(KeyError):
        result["DAS28"]


def test_failed_run_is_not_ok():
    r = rasim.simulate(msc(4e7), days=30, solver=rasim.SolverOptions(method="dopri5", max_steps=10))
    assert not r.ok and r.status == rasim.Status.MAX_STEPS


def test_to_frame(result):
    pd = pytest.importorskip("pandas")
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(result.t)
    np.testing.assert_array_equal(frame["day"], result.t)
    np.testing.assert_array_equal(frame["DAS28_ESR"], result["DAS28_ESR"])
    np.testing.assert_array_equal(frame["state.th17"], result.state("th17"))
    np.testing.assert_array_equal(frame["pk.mtx_pg"], result.mtx[:, pk.PG])
    np.testing.assert_array_equal(frame["exposure.mtx_pg"], result.exposure[:, 0])
    expected = {
        "day",
        *model.OBSERVABLES,
        *(f"state.{n}" for n in model.NAMES),
        *(f"pk.{n}" for n in pk.PK_NAMES),
        *(f"exposure.{n}" for n in model.forcing.NAMES),
    }
    assert set(frame.columns) == expected


def test_observation_at_a_dose_time_reads_the_pre_dose_value(result):
    lung = dict(zip(result.t, result.state("msc_lung")))
    assert abs(lung[9.99]) < 1e-12 and abs(lung[10.0]) < 1e-12  # round-off only
    # 40 (1e6 cells) infused at day 10, lost at clearance x (1 + immunogenicity of
    # the UC preset, 0.3) + homing(TNF = 15 pg/mL): 1.5 x 1.3 + 0.05 x 15/25 per day.
    rate = 1.5 * 1.3 + 0.05 * 15.0 / 25.0
    assert lung[10.01] == pytest.approx(40.0 * math.exp(-0.01 * rate), rel=1e-3)


def test_mtx_amounts_at_a_dose_time_read_the_pre_dose_value(result):
    """The same convention for ``result.mtx`` as for the states: at day 7 (a dose
    day) the 15 mg of day 7 are not yet in the gut.  (Was: result.mtx post-dose
    at dose times, because pk.amounts included a dose at exactly t.)"""
    row = dict(zip(result.t, result.mtx))
    assert row[7.0].sum() == pytest.approx(15.0, rel=1e-12)  # only the day-0 dose so far
    assert row[7.0][pk.GUT] < 1e-6


def test_mtx_that_stops_can_be_simulated_through_the_washout():
    """A regimen whose MTX stops (until=28) must run to the horizon.  (Observed:
    Status.STEP_TOO_SMALL ~3 weeks after the last dose: the closed-form PK gives
    NaN once exp(-ka t) underflows, see test_model::test_mtx_washout_long_after_the_last_dose.)"""
    r = rasim.simulate(mtx(15, until=28), days=365, observe=[0, 28, 49, 56, 120, 365])
    assert r.ok, r.status.message
    assert np.all(np.isfinite(r.states)) and np.all(np.isfinite(r.mtx))
    das = r["DAS28_ESR"]
    assert das[1] < das[0]  # treated
    assert das.min() < das[-1] <= das[0] + 1e-9  # wanes after stopping (polyglutamates, synovitis: weeks)


# --------------------------------------------------------------------------- dosing


def test_per_kg_msc_dose_scales_with_weight():
    obs = [0.0, 0.001, 1.0, 14.0]
    per_kg = [
        rasim.simulate(msc(1e6, per_kg=True), days=14, observe=obs, covariates={"weight": w}) for w in (50.0, 100.0)
    ]
    flat = rasim.simulate(msc(5e7), days=14, observe=obs)
    np.testing.assert_allclose(per_kg[0].states, flat.states, rtol=1e-12, atol=0)  # 1e6/kg x 50 kg
    lung = [r.state("msc_lung")[1] for r in per_kg]
    assert lung[0] == pytest.approx(50.0, rel=5e-3)  # 5e7 cells = 50 units, 0.001 days later
    assert lung[1] == pytest.approx(2 * lung[0], rel=1e-3)
    assert per_kg[1]["IL6"][2] < per_kg[0]["IL6"][2]  # more cells, more effect


@pytest.fixture(scope="module")
def routes():
    t = np.arange(0.0, 365.0, 0.5)
    return t, {
        route: rasim.simulate(reg, days=364.5, observe=t)
        for route, reg in (("iv", msc(2e7)), ("ia", msc(2e7, route="intra_articular", joints=2)))
    }


def _fall_auc(t, result, name, until):
    x = result[name]
    sel = t <= until
    return float(np.trapezoid((x[0] - x)[sel], t[sel]))


def test_intra_articular_msc_runs_and_stays_in_the_joint(routes):
    _, r = routes
    ia = r["ia"]
    assert ia.ok
    assert ia.state("msc_ia").max() > 10.0  # 20 units injected
    assert np.max(np.abs(ia.state("msc_lung"))) < 1e-9 and np.max(np.abs(ia.state("msc_joint"))) < 1e-9
    assert np.max(np.abs(r["iv"].state("msc_ia"))) < 1e-9
    assert ia["DAS28_ESR"].min() < ia["DAS28_ESR"][0]  # it does act


def test_intra_articular_msc_acts_less_than_iv_in_the_first_week(routes):
    t, r = routes
    for name in ("IL6", "CRP", "TNF", "ESR"):
        assert _fall_auc(t, r["ia"], name, 7.0) < _fall_auc(t, r["iv"], name, 7.0), name


@pytest.mark.xfail(
    strict=True,
    reason="IA cells that persist for weeks at a saturating local density induce more "
    "Treg over a year than an IV dose cleared from the lungs in days (IL-6 fall x days IA 2451 vs IV "
    "1593): the Treg pool is one systemic compartment, so joint-local induction counts fully; a "
    "joint-local Treg compartment is the fix, not yet built",
)
def test_intra_articular_msc_acts_less_than_iv_on_systemic_markers(routes):
    """The same cells into 2 of 28 joints should do less for systemic markers than
    IV.  (Observed over a year: IA 2e7 into 2 joints lowers IL-6, CRP and ESR
    about 1.7x more than IV 2e7 (area under the fall): the injected cells
    persist for weeks at a saturating local density and the model lets their
    signal phi * sat(...) act on the systemic T-cell, cytokine and Treg
    equations.)"""
    t, r = routes
    for name in ("IL6", "CRP", "ESR"):
        ia, iv = _fall_auc(t, r["ia"], name, 364.5), _fall_auc(t, r["iv"], name, 364.5)
        assert ia < iv, f"{name}: fall x days IA {ia:.1f} vs IV {iv:.1f}"


def test_msc_sources_differ_and_adipose_is_weakest_on_il6():
    obs = np.arange(0.0, 57.0, 1.0)
    runs = {
        s: rasim.simulate(msc(4e7, source=s), days=56, observe=obs)
        for s in ("umbilical_cord", "bone_marrow", "adipose")
    }
    names = list(runs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.max(np.abs(runs[a].states - runs[b].states) / model.STATE_SCALE) > 1e-3, (a, b)
    fall = {s: float(np.max(r["IL6"][0] - r["IL6"])) for s, r in runs.items()}
    assert fall["adipose"] < fall["bone_marrow"] and fall["adipose"] < fall["umbilical_cord"], fall
    assert fall["adipose"] > 0
    # aliases resolve to the same product
    alias = rasim.simulate(msc(4e7, source="ad"), days=56, observe=obs)
    np.testing.assert_array_equal(alias.states, runs["adipose"].states)


# --------------------------------------------------------------------------- parameter table


def test_parameters_are_documented_and_within_their_ranges():
    rows = rasim.parameters()
    assert [p.name for p in rows] == list(model.PINDEX)
    for p in rows:
        assert p.unit.strip() and p.source.strip() and p.meaning.strip(), p.name
        assert p.low <= p.high, p.name
    outside = [(p.name, p.value, p.low, p.high) for p in rows if not p.low <= p.value <= p.high]
    assert not outside, f"parameters outside their stated plausible range: {outside}"


def test_parameters_search_and_lookup():
    assert {p.name for p in rasim.parameters("il6")} >= {"il6_deg", "il6_basal", "il6_tnf_gain"}
    assert rasim.parameter("crp_deg").unit == "1/day"
    with pytest.raises(ParameterError, match="crp_deg"):
        rasim.parameter("crp_dge")
