"""The cohort layer: reproducibility, failure isolation, measurement, input errors, day 0."""

from __future__ import annotations


import numpy as np
import pytest

import rasim
from rasim import model
from rasim.cohort import Cohort, cohort as cohort_module, trial_replicates
from rasim.errors import ParameterError, RasimError
from rasim.solver import Status

DAYS = (0, 28, 91)


@pytest.fixture(scope="module")
def small():
    return Cohort("msc+dmard", patients=12, seed=3, observe=DAYS).run(threads=1)


def _same(a, b):
    return all(np.array_equal(a.values[k], b.values[k], equal_nan=True) for k in a.values) and np.array_equal(
        a.status, b.status
    )


def test_bit_for_bit_across_threads_and_chunks(small):
    other = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS, chunk_size=5).run(threads=2)
    assert _same(small, other)
    assert small.not_inflamed == other.not_inflamed and small.screen_failures == other.screen_failures


def test_chunks_are_independent_units(small):
    c = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS)
    late, early = c.run_chunk(7, 12), c.run_chunk(0, 7)  # any order
    for k, v in small.values.items():
        assert np.array_equal(np.concatenate([early.values[k], late.values[k]]), v, equal_nan=True)


def test_seed_changes_patients(small):
    other = Cohort("msc+dmard", patients=12, seed=4, observe=DAYS).run()
    assert not np.array_equal(small.values["DAS28_ESR"], other.values["DAS28_ESR"])


def test_every_patient_enrolled_and_active(small):
    assert np.all(small.ok)
    assert np.all(small.values["DAS28_ESR"][:, 0] > 3.2)


def test_clinic_measurement_is_rounded_as_reported(small):
    v = small.values
    for name in ("TJC28", "SJC28"):
        assert np.all((v[name] == np.rint(v[name])) & (v[name] >= 0) & (v[name] <= 28))
    assert np.all((v["ESR"] == np.rint(v["ESR"])) & (v["ESR"] >= 1))
    assert np.all(np.isclose(v["HAQ"] / 0.125, np.rint(v["HAQ"] / 0.125)) & (v["HAQ"] <= 3))
    das = rasim.clinical.das28_esr(v["TJC28"], v["SJC28"], v["ESR"], v["patient_global"])
    assert np.array_equal(das, v["DAS28_ESR"])


def test_failed_patient_is_flagged_and_the_rest_complete():
    c = Cohort("msc+dmard", patients=4, seed=3, observe=DAYS)
    P = np.repeat(model.DEFAULTS[None, :], 4, axis=0)
    P[2, model.PINDEX["tnf_deg"]] = np.nan
    y0 = np.repeat(model.reference_vector(model.DEFAULTS)[None, :], 4, axis=0)
    ev = np.full((4, len(c.plan.dosing.ev_t)), 40.0)
    status, y, _ = cohort_module._trial(c, cohort_module._args(c, P), y0, ev)
    assert status[2] != Status.SUCCESS
    assert np.all(status[[0, 1, 3]] == Status.SUCCESS) and np.all(np.isfinite(y[[0, 1, 3]]))


def test_summaries_leave_out_failed_patients(small):
    res = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS).run()
    res.status[0] = int(Status.MAX_STEPS)
    rows = [r for r in res.summary(("DAS28_ESR",)) if r["endpoint"] == "DAS28_ESR"]
    assert rows[0]["n"] == 11 and res.n_failed == 1
    assert rows[0]["mean"] == pytest.approx(small.values["DAS28_ESR"][1:, 0].mean())


def test_max_steps_failure_is_a_status_not_an_exception():
    res = Cohort("msc+dmard", patients=3, seed=1, observe=DAYS, max_steps=5).run()
    assert np.all(res.status == Status.MAX_STEPS) and res.n_failed == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"arm": "msc+dmrd"}, "msc\\+dmard"),
        ({"arm": "dmard", "patients": 0}, "patients"),
        ({"arm": "dmard", "seed": -1}, "seed"),
        ({"arm": "dmard", "variability": {"m1_activaton": 0.2}}, "m1_activation"),
        ({"arm": "dmard", "params": {"mtx_ec5": 1.0}}, "mtx_ec50"),
        ({"arm": "dmard", "observe": (0, 91, 28)}, "days must increase"),
        ({"arm": "dmard", "solver": "euler"}, "rodas4"),
    ],
)
def test_bad_input_is_refused_before_running(kwargs, match):
    with pytest.raises(RasimError, match=match):
        Cohort(**kwargs)


def test_negative_variability_refused():
    with pytest.raises(ParameterError, match="SD of log"):
        Cohort("dmard", variability={"m1_activation": -0.1})


def test_trial_replicates_are_fractions(small):
    res = Cohort("msc+dmard", patients=70, seed=2, observe=(0, 365)).run()
    out = trial_replicates(res, trials=50, size=64, days=(365,), markers=("DAS28_ESR", "ESR"))
    assert set(out) == {"DAS28_ESR", "ESR"}
    assert all(0.0 <= v[365.0] <= 1.0 for v in out.values())
    with pytest.raises(ValueError, match="fewer than a trial"):
        trial_replicates(small, size=64)
    with pytest.raises(ValueError, match="Did you mean 'wilcoxon'"):
        trial_replicates(res, trials=5, size=64, markers=("ESR",), test="wilcoxn")


@pytest.mark.parametrize("test", ["t", "log-t", "wilcoxon"])
def test_trial_replicates_use_the_named_paired_test(small, test):
    """A trial of the whole cohort is significant exactly when scipy's test on all patients gives
    p below alpha (and the mean, geometric mean or median change is below 0)."""
    from scipy.stats import ttest_rel, wilcoxon

    j = small.day_index(91)
    for name in ("ESR", "DAS28_ESR"):
        base, now = small[name][:, 0], small[name][:, j]
        if test == "wilcoxon":
            p, below = wilcoxon(now - base).pvalue, np.median(now - base) < 0
        else:
            f = np.log if test == "log-t" else np.asarray
            p, below = ttest_rel(f(now), f(base)).pvalue, f(now).mean() < f(base).mean()
        for alpha, expected in ((p * 1.001, float(below)), (p * 0.999, 0.0)):
            out = trial_replicates(small, trials=3, size=12, days=(91,), markers=(name,), alpha=alpha, test=test)
            assert out[name][91.0] == expected, (name, alpha)


def test_summary_only_run_matches_per_patient_summaries(small):
    from rasim.cohort.streaming import QUANTILE_ERROR

    stream = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS, chunk_size=5).run(keep="summary")
    again = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS, chunk_size=7).run(keep="summary", threads=1)
    assert stream.summary() == again.summary()  # bit for bit across chunk sizes
    exact = {(r["endpoint"], r["day"]): r for r in small.summary()}
    for row in stream.summary():
        ref = exact[(row["endpoint"], row["day"])]
        assert row["n"] == ref["n"] and row["mean"] == pytest.approx(ref["mean"], abs=1e-9)
        assert row["sd"] == pytest.approx(ref["sd"], rel=1e-6, abs=1e-9)
        if row["endpoint"] in QUANTILE_ERROR:  # median of 12 = mean of the middle two: allow their gap
            col = np.sort(small[row["endpoint"]][:, small.day_index(row["day"])])
            assert abs(row["p50"] - ref["p50"]) <= 2 * QUANTILE_ERROR[row["endpoint"]] + col[6] - col[5]
    assert stream.responders() == small.responders()


def test_default_tolerance_is_accurate_against_a_tight_solve():
    """The cohort's default rtol meets the project's accuracy rule (tests/test_accuracy.py: 1e-4
    relative plus a floor of 1e-4 of a typical 6.8) on the noise-free DAS28 and on CRP over 3
    years, against an rtol-1e-9 solve; rtol 1e-2 does not."""
    days = (0, 28, 182, 365, 730, 1095)
    tight = Cohort("msc+dmard", patients=12, seed=2, observe=days, rtol=1e-9).run()
    for rtol, ok in ((None, True), (1e-2, False)):
        kw = {} if rtol is None else {"rtol": rtol}
        loose = Cohort("msc+dmard", patients=12, seed=2, observe=days, **kw).run()
        das = np.abs(loose.expected_das28 - tight.expected_das28) <= 1e-4 * np.abs(tight.expected_das28) + 6.8e-4
        crp = np.abs(loose["CRP"] - tight["CRP"]) <= 1e-4 * np.abs(tight["CRP"]) + 4e-3
        assert bool(np.all(das) and np.all(crp)) is ok, rtol


def test_patient_draws_do_not_depend_on_the_batch_they_are_drawn_in():
    """variability.sample row by row equals sample on the whole batch, bit for bit
    (a BLAS matrix product would not guarantee it)."""
    from rasim.cohort import variability

    c = Cohort("msc+dmard", patients=2, seed=1)
    s = c.plan
    rng = np.random.default_rng(0)
    z = rng.standard_normal((257, variability.draws_per_candidate(s.var)))
    u = rng.random((257, 2))
    whole, _ = variability.sample(s.base, s.var, s.pop, z, u, s.effects)
    for rows in (slice(0, 1), slice(5, 12), slice(100, 257)):
        part, _ = variability.sample(s.base, s.var, s.pop, z[rows], u[rows], s.effects)
        assert np.array_equal(part, whole[rows])


@pytest.mark.parametrize("arm", ["msc+dmard", "mtx_naive"])
def test_enrolment_rounds_of_several_candidates_enrol_the_same_patients(monkeypatch, arm):
    """Once few patients are pending each evaluates its next candidates at once (``ROUND_CANDIDATES``):
    the same patients, covariates, fluctuations and screening counts as one candidate a round."""
    c = Cohort(arm, patients=40, seed=5)
    idx = np.arange(40)
    monkeypatch.setattr(cohort_module, "ROUND_CANDIDATES", 1)
    one = c.enrol(idx)
    monkeypatch.setattr(cohort_module, "ROUND_CANDIDATES", 37)
    several = c.enrol(idx)
    for name in ("P", "y0", "enrolled", "flare"):
        assert np.array_equal(getattr(one, name), getattr(several, name), equal_nan=True), name
    for name, v in one.covariates.items():
        assert np.array_equal(v, several.covariates[name], equal_nan=True), name
    assert (one.not_inflamed, one.screen_failures) == (several.not_inflamed, several.screen_failures)
    assert one.not_inflamed > 0


def test_flare_path_is_a_stationary_ou_process_conditioned_on_screening():
    """Unit variance at every visit, correlation exp(-gap / flare_days) with screening."""
    from rasim.cohort import measurement

    s = measurement.settings()
    rng = np.random.default_rng(5)
    n, days = 50_000, np.array([0.0, 28.0, 90.5])
    steps = int(np.ceil(days[-1] + s["screening_days"])) + 1
    f_screen = rng.standard_normal(n)
    f = measurement.flare_path(f_screen, rng.standard_normal((n, steps)), days, s)
    lags = days + s["screening_days"]
    for k, lag in enumerate(lags[:2]):  # on grid days: exact
        assert abs(f[:, k].var() - 1.0) < 0.03
        assert abs(np.corrcoef(f_screen, f[:, k])[0, 1] - np.exp(-lag / s["flare_days"])) < 0.02
    assert 0.97 < f[:, 2].var() < 1.0  # between grid days: linear, variance a little below 1
    # conditioned on a flare at screening, the expected path decays back toward 0
    g = measurement.flare_path(np.full(4, 2.0), np.zeros((4, steps)), days, s)
    assert np.allclose(g[0, :2], 2.0 * np.exp(-lags[:2] / s["flare_days"]))


def test_visit_noise_is_keyed_by_visit_day():
    """Adding a visit (or extending the horizon) leaves every other visit's measurements alone."""
    a = Cohort("dmard", patients=3, seed=4, observe=(0, 91, 182)).run(threads=1)
    b = Cohort("dmard", patients=3, seed=4, observe=(0, 28, 91, 182, 365)).run(threads=1)
    for name in ("TJC28", "ESR", "CRP", "HAQ", "DAS28_ESR"):
        np.testing.assert_allclose(b.values[name][:, [0, 2, 3]], a.values[name], rtol=1e-6, err_msg=name)


@pytest.mark.slow
def test_enrolment_on_flares_gives_regression_to_the_mean_after_baseline():
    """In the DMARD-only arm the disease state barely moves (TNF by 0.2% on average over 9
    months, mostly upward: imprinting still accrues in shorter disease; no patient's falls by 1%),
    but HAQ measured after baseline falls further with the fluctuation than without it: patients
    qualified on a flare at screening drift back.  The placebo terms are off in both arms: they
    act on what is left to relieve, so a patient drifting back gains less from them."""

    def drift(**measurement):
        measurement.update(placebo_pro=0.0, placebo_assessor=0.0)
        res = Cohort("dmard", patients=2000, seed=8, observe=(0, 91, 182, 273), measurement=measurement).run()
        change = res["HAQ"][:, 1:].mean(axis=1) - res["HAQ"][:, 0]
        tnf = res["TNF"][:, 1:] / res["TNF"][:, :1] - 1.0
        assert 0.0 < np.mean(tnf) < 0.01 and np.min(tnf) > -0.01
        return change.mean(), change.std() / np.sqrt(change.size)

    (flares, se), (without, se0) = drift(), drift(flare_sd=0.0)
    assert flares < without - 3.0 * np.hypot(se, se0)


@pytest.mark.filterwarnings("ignore:.*come after the horizon:rasim.RasimWarning")  # baseline only: titration unused
def test_fibroblast_imprinting_accrues_with_disease_duration():
    """Day-0 imprinting grows with disease duration (early RA far below established RA),
    through the model's own accrual during the settle, not through a covariate effect."""

    def imprint(arm):
        c = Cohort(arm, patients=40, seed=2, observe=(0.0, 1.0))
        return c.problems().y0[:, model.INDEX["fls_imprint"]], c.run().covariates["duration"]

    early, duration = imprint("mtx_naive")  # early RA, MTX-naive
    established, _ = imprint("dmard")  # refractory, about 10 years
    assert np.median(early) < 0.5 * np.median(established)
    assert np.corrcoef(np.log(duration), early)[0, 1] > 0.3  # not yet saturated in early RA


def test_streamed_histograms_count_values_outside_their_range_and_say_so(monkeypatch):
    """Values beyond a histogram's range land in its underflow/overflow bins, and a
    percentile that falls there is reported as the range's edge with a warning."""
    from rasim.cohort import streaming

    monkeypatch.setitem(streaming.BINS, "ESR", (0.0, 10.0, 0.5))  # most ESR values lie above 10 mm/h
    stream = Cohort("dmard", patients=12, seed=3, observe=(0, 28)).run(keep="summary")
    kept = Cohort("dmard", patients=12, seed=3, observe=(0, 28)).run()
    esr = kept["ESR"]
    below, above = stream.outside("ESR")
    assert above.tolist() == np.sum(esr >= 10.0, axis=0).tolist() and above.sum() > 0
    assert below.tolist() == [0, 0]
    with pytest.warns(RuntimeWarning, match="outside its histogram's range"):
        q = stream.percentiles("ESR")
    assert q[list(streaming.PERCENTILES).index(95), 0] == 10.0
