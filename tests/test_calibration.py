"""The model against the evidence: calibrated targets within tolerance, the optimiser
improves the fit, and the qualitative ``check`` rows of targets.csv hold.

Cohorts here are small (the full-size check is docs/calibration.md, written by
tools/calibrate.py); tolerances are widened by the Monte Carlo error of the
small cohort (2 standard errors) on top of each row's tolerance.  The tests on
calibration-size cohorts are marked ``slow`` (``-m "not slow"`` leaves them out).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import least_squares

from conftest import ROOT, load_script
from rasim import calibration as cal
from rasim.cohort import Cohort
from rasim.model import parameter

N = 200
DAYS = tuple(sorted({*range(0, 1096, 14), 28, 91, 182, 273, 365, 1095}))


@pytest.fixture(scope="module")
def fits():
    return cal.simulate_targets(cal.targets(), None, patients=N, seed=99)


@pytest.fixture(scope="module")
def arms():
    names = ("dmard", "msc+dmard", "msc_repeat+dmard", "msc", "bm_msc+dmard", "ad_msc+dmard")
    return {a: Cohort(a, patients=200, seed=11, observe=DAYS, rtol=1e-5).run() for a in names}


def _at(res, name, day):
    return res[name][:, res.day_index(day)]


def _change(res, name, day):
    return _at(res, name, day) - res[name][:, 0]


def test_uncertainty_matches_linear_least_squares():
    """For a linear model the Gauss-Newton covariance is exact: s2 (X^T X)^-1."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 2] = X[:, 1] + 0.05 * rng.normal(size=40)  # nearly collinear pair
    resid = rng.normal(size=40)
    unc = cal.uncertainty(X, resid)
    cov = resid @ resid / 37 * np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(unc.se_log, np.sqrt(np.diag(cov)), rtol=1e-10)
    assert [(i, j) for i, j, _ in unc.flagged_pairs(0.9)] == [(1, 2)]


def test_a_parameter_the_targets_cannot_see_is_not_identified():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    unc = cal.uncertainty(X, np.array([0.1, -0.2, 0.1]))
    assert np.isfinite(unc.se_log[0]) and np.isinf(unc.se_log[1])


def test_every_calibrate_row_belongs_to_a_trial_and_fits_are_few():
    rows = cal.targets()
    assert {cal.trial_of(t) for t in rows} >= {"radiate", "he", "park", "yang", "swefot"}
    assert 3 * len(cal.FITTED) <= len(rows)


def test_targets_file_carries_sources():
    rows = cal.targets(use=None)
    assert {t.use for t in rows} == {"calibrate", "check", "context"}
    assert all(t.source for t in rows)


# Targets the calibrated model still misses (docs/calibration.md); empty when all pass.
_PLACEBO_TNF_IR = (
    "the anti-TNF-inadequate placebo arm shares the placebo and flare terms with the MTX-inadequate "
    "placebo arms the fit also sees (ACR20 25-33%), so RADIATE's 10% comes out near 25%; RADIATE's "
    "own escape rule was not verified, so it runs without one; docs/calibration.md"
)
_EARLY_SPREAD = (
    "the COMET-entry early population spreads its disease activity wider than OPERA (DAS28 SD 0.9) "
    "enrolled, so the item SDs run high; docs/calibration.md"
)
_EARLY_MTX = (
    "patients differ in how far MTX can calm their macrophages (variability mtx_emax_m), which gives early RA "
    "its primary MTX non-responders (ACR20 about 60% at 3 months, against SWEFOT's run-in 54%) but holds the "
    "mean DAS28 at 3 months near 4.5 against SWEFOT's 4.0; docs/calibration.md"
)
KNOWN_MISSES: dict[str, str] = {
    "radiate-acr20": _PLACEBO_TNF_IR,
    "opera-base-phga-sd": _EARLY_SPREAD,
    "opera-base-sjc28-sd": _EARLY_SPREAD,
    "swefot-91": _EARLY_MTX,
    "rapid2-base-sjc28": "RAPID 2's SJC28 (15.8) is derived from its 66-joint count, which overstates 28-joint "
    "counts at high activity; the model reads about 11.5, TAMARA's 28-joint DMARD-inadequate arm 13.3",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "target_id",
    [
        pytest.param(t.id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[t.id]))
        if t.id in KNOWN_MISSES
        else t.id
        for t in cal.targets()
    ],
)
def test_calibrated_target_within_tolerance(fits, target_id):
    t, sim, se = next(f for f in fits if f[0].id == target_id)
    assert abs(sim - t.value) <= t.tolerance + 2.0 * se, (
        f"{t.id}: published {t.value}, simulated {sim:.3g} +/- {se:.2g}, tolerance {t.tolerance:.3g}"
    )


@pytest.mark.slow
def test_optimiser_improves_a_perturbed_start():
    """A few least-squares iterations from a perturbed start lower the objective."""
    subset = [t for t in cal.targets() if t.id in ("rw-base-das", "rw-base-esr", "swefot-91")]
    names = ("haq_gain", "esr_healthy_fraction", "mtx_ec50")
    start = np.log([cal.load_calibrated()["params"][n] * 1.5 for n in names])

    def fun(logx):
        ov = {"params": dict(zip(names, np.exp(logx)))}
        return cal.residuals(cal.simulate_targets(subset, ov, patients=60, seed=5))

    bounds = np.log([[parameter(n).low for n in names], [parameter(n).high for n in names]])
    r0 = fun(start)
    sol = least_squares(fun, start, bounds=bounds, diff_step=0.05, max_nfev=8)
    assert 2 * sol.cost < float(r0 @ r0)


@pytest.mark.xfail(
    strict=True,
    reason="the evidence disagrees: fitted to He 2020's 12-month completers (DAS28 -1.28, EULAR 50%) and "
    "Yang 2017 (60% at a year), memory Treg and fibroblast reprogramming hold the response longer, and "
    "relapsing responders lose it after about 15 months (median), against Wang 2013's 3-6 months per "
    "infusion (a check row, not fitted); docs/calibration.md",
)
@pytest.mark.slow
def test_msc_relapse_takes_three_to_six_months_in_relapsing_responders(arms):
    """Wang 2013: benefit lasts 3-6 months per infusion in typical patients."""
    res = arms["msc+dmard"]
    das = res.expected_das28[res.ok]
    responding = (das[:, :1] - das) > 0.6  # EULAR moderate threshold on the noise-free DAS28
    loss_days = []
    for row in responding:
        if row.any():
            first = int(np.argmax(row))
            lost = np.flatnonzero(~row[first:])
            if lost.size:
                loss_days.append(res.days[first + lost[0]])
    assert len(loss_days) >= 10
    assert 90 <= np.median(loss_days) <= 180


@pytest.mark.slow
def test_durable_responders_keep_the_mean_below_baseline_for_3_years(arms):
    """Responders who hold their gain for a year or more keep the cohort mean below baseline
    (Wang 2019), while one infusion moves only a small fraction to the resolved state."""
    res = arms["msc+dmard"]
    das = res.expected_das28[res.ok]
    held = np.all(das[:, :1] - das[:, [res.day_index(d) for d in (182, 365)]] > 0.6, axis=1)
    assert held.mean() > 0.05, held.mean()
    for day in (365, 1095):
        change = _change(res, "DAS28_ESR", day)
        assert change.mean() + 2 * change.std() / np.sqrt(change.size) < 0
    assert res.resolved_fraction()[-1] < 0.2


@pytest.mark.slow
def test_second_infusion_strengthens_the_effect(arms):
    once, twice = arms["msc+dmard"], arms["msc_repeat+dmard"]
    for day in (182, 365):
        assert _change(twice, "DAS28_ESR", day).mean() < _change(once, "DAS28_ESR", day).mean() - 0.2


@pytest.mark.slow
def test_control_arm_moves_by_measurement_not_by_continued_mtx(arms):
    """The `dmard` arm (long-standing MTX continued) moves like a placebo arm: measured DAS28
    falls at 24 weeks (RADIATE's anti-TNF-inadequate control arm had ACR20 10%; Levi 2013's
    DMARD-inadequate background term is -0.8) through regression to the mean after enrolment
    and the placebo term, while the model's disease state does not move."""
    res = arms["dmard"]
    assert -1.1 <= _change(res, "DAS28_ESR", 168).mean() <= -0.2
    expected = res.expected_das28[res.ok]
    assert abs((expected[:, res.day_index(168)] - expected[:, 0]).mean()) < 0.1


@pytest.mark.slow
def test_msc_plus_dmard_beats_either_alone(arms):
    """DAS28 at a year is lowest with both (the arms start from different states: without MTX the
    same refractory population is more active at day 0, so changes are not comparable)."""
    both = _at(arms["msc+dmard"], "DAS28_ESR", 365).mean()
    assert both < _at(arms["msc"], "DAS28_ESR", 365).mean()
    assert both < _at(arms["dmard"], "DAS28_ESR", 365).mean()


@pytest.mark.slow
def test_msc_arms_beat_the_control_arm_at_every_visit_of_the_first_year(arms):
    """One or two UC-MSC infusions on MTX lower DAS28-ESR more than MTX alone at every visit of
    year 1 (the same patients: common random numbers)."""
    ctl = arms["dmard"]
    for name in ("msc+dmard", "msc_repeat+dmard"):
        res = arms[name]
        for day in (d for d in DAYS if 0 < d <= 365):
            assert _change(res, "DAS28_ESR", day).mean() < _change(ctl, "DAS28_ESR", day).mean(), (name, day)


@pytest.mark.slow
def test_bone_marrow_msc_raise_treg_by_1_month_and_lower_th17_by_12(arms):
    res = arms["bm_msc+dmard"]
    assert _at(res, "Treg_pct", 28).mean() > 1.1 * res["Treg_pct"][:, 0].mean()
    assert _at(res, "Th17_pct", 365).mean() < 0.9 * res["Th17_pct"][:, 0].mean()


VIJ_VISITS = (28, 91, 182, 365)  # Vij 2022 weeks 4, 12, 26, 52 (nearest observation days)


@pytest.mark.slow
def test_adipose_msc_leave_tnf_il6_esr_flat(arms):
    """Vij 2022: TNF-a, IL-6 and ESR unchanged from baseline at every visit after adipose MSCs."""
    res = arms["ad_msc+dmard"]
    for name in ("TNF", "IL6", "ESR"):
        x = res[name]
        for day in VIJ_VISITS:
            now = x[:, res.day_index(day)]
            se = (now / x[:, 0]).std() / np.sqrt(now.size)
            assert abs(now.mean() / x[:, 0].mean() - 1) < 0.05 + 2 * se, (name, day)


@pytest.mark.slow
def test_adipose_msc_joint_counts_fall_only_as_the_control_arms_do(arms):
    """The model's reading of Vij 2022 (docs/heldout.md): adipose cells too weak to move TNF,
    IL-6 and ESR add nothing specific to the joints, yet the joint counts fall as in the control
    arm (regression to the mean after enrolment, the assessor's placebo term on the joint counts), as in Vij's
    open-label trial, without a joint-local memory."""
    ad, ctl = arms["ad_msc+dmard"], arms["dmard"]
    for name in ("TJC28", "SJC28"):
        ratio = {k: _at(r, name, 365).mean() / r[name][:, 0].mean() for k, r in (("ad", ad), ("ctl", ctl))}
        assert ratio["ad"] < 0.95 and ratio["ad"] > ratio["ctl"] - 0.1, (name, ratio)


@pytest.mark.xfail(
    strict=True,
    reason="at 1 year ESR, DAS28 and HAQ are significantly below baseline in 95-100% of virtual 64-patient "
    "trials, CRP in 55-77%; at 3 years DAS28 and HAQ in 98-100%, but ESR in 37-55% and CRP in 21-31% "
    "depending on the cohort drawn: the durable responders are a minority, and CRP's 40% visit noise and "
    "skew widen the paired test (control arm: DAS28 and HAQ 71-100%, through regression to the mean and "
    "the placebo terms, ESR and CRP under 12%); a paired t-test on the logarithms or Wilcoxon's test "
    "leaves CRP at 3 years at 34-62%; docs/calibration.md",
)
@pytest.mark.slow
def test_three_year_trial_claim_is_reproduced_by_virtual_replicates(arms):
    """Wang 2019: ESR, CRP, DAS28 and HAQ significantly below baseline at 1 and 3 years (n = 64)."""
    from rasim.cohort import trial_replicates

    power = trial_replicates(
        arms["msc+dmard"], trials=200, size=64, days=(365, 1095), markers=("ESR", "CRP", "DAS28_ESR", "HAQ"), seed=1
    )
    assert all(p >= 0.8 for by_day in power.values() for p in by_day.values()), power


def test_calibrate_defaults_are_the_committed_runs_settings():
    """tools/calibrate.py with no flags repeats the run that wrote calibrated.json (its start aside)."""
    import json

    tool = load_script(ROOT / "tools" / "calibrate.py")
    recorded = json.loads(tool.CALIBRATED.read_text())["fit"]["settings"]
    defaults = tool.settings_of(tool.parser().parse_args([]))
    assert {k: v for k, v in defaults.items() if k != "start"} == {k: v for k, v in recorded.items() if k != "start"}


@pytest.mark.parametrize("flag", ["--max-evals", "--polish-evals", "--loto-evals"])
def test_calibrate_refuses_a_budget_too_small_for_one_step(flag):
    """A Jacobian costs one evaluation per fitted parameter and one more: a smaller budget would
    end before the first step, so it is refused before any work (0 means none where allowed)."""
    tool = load_script(ROOT / "tools" / "calibrate.py")
    step = len(cal.FITTED) + 1
    with pytest.raises(SystemExit, match=f"at least {step} evaluations"):
        tool.check_budgets(tool.parser().parse_args([flag, str(step - 1)]))
    tool.check_budgets(tool.parser().parse_args([flag, str(step)]))
    if flag == "--max-evals":
        with pytest.raises(SystemExit):
            tool.check_budgets(tool.parser().parse_args([flag, "0"]))
    else:
        tool.check_budgets(tool.parser().parse_args([flag, "0"]))


def test_heldout_rows_name_known_arms_and_simulate():
    """tools/heldout.py: every held-out row has an arm and an endpoint the cohort can compute."""
    heldout = load_script(ROOT / "tools" / "heldout.py")
    rows = cal.targets("heldout", heldout.DATA)
    assert rows and all(t.source and t.arm in heldout.ARMS_OF_TRIALS for t in rows)
    fits = cal.simulate_targets(rows, None, patients=20, seed=3, arms=heldout.ARMS_OF_TRIALS)
    assert all(np.isfinite(sim) and np.isfinite(se) for _, sim, se in fits)


def test_rate_standard_error_is_agresti_coull():
    """0 of 7 is not exact: (0 + 2) / 11 with 11 patients; a large arm's error is Wald's."""
    assert cal.rate_se(0.0, 7) == pytest.approx(math.sqrt(2 / 11 * 9 / 11 / 11), rel=1e-12)
    assert cal.rate_se(1.0, 7) == pytest.approx(cal.rate_se(0.0, 7), rel=1e-12)
    assert cal.rate_se(0.3, 10_000) == pytest.approx(math.sqrt(0.3 * 0.7 / 10_000), rel=1e-3)
    t = cal.Target("x", "s", "mtx_ir", "ACR20", 91.0, "proportion", 0.0, 0.0, 7, "heldout", "", "observed")
    assert t.tolerance == pytest.approx(2.0 * cal.rate_se(0.0, 7))


def test_refit_step_solves_a_linear_least_squares_problem():
    """On residuals linear in log x, one undamped step reaches the least-squares solution,
    damping shortens it, and the bounds clip it."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(12, 3)), rng.normal(size=12)
    x0 = np.zeros(3)
    wide = (np.full(3, -50.0), np.full(3, 50.0))
    exact = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(cal.refit_step(a, a @ x0 - b, x0, *wide, damping=0.0), exact, rtol=1e-10)
    damped = cal.refit_step(a, a @ x0 - b, x0, *wide, damping=3.0)
    assert np.linalg.norm(damped) < np.linalg.norm(exact)
    clipped = cal.refit_step(a, a @ x0 - b, x0, np.full(3, -0.01), np.full(3, 0.01), damping=0.0)
    assert np.all(np.abs(clipped) <= 0.01 + 1e-15)


def test_an_arm_with_dropout_is_observed_at_the_trials_visits():
    """LOCF carries a withdrawn patient's last scheduled visit, not the last target day before it:
    simulate_targets observes an arm with dropout every VISIT_EVERY days, as a trial visits."""
    t = cal.Target(
        "x-acr20-y1", "s", "mtx_naive+itt", "ACR20", 364.0, "proportion", 0.6, 0.0, 100, "heldout", "", "locf"
    )
    ((_, sim, _),) = cal.simulate_targets([t], patients=60, seed=4)
    grid = (0.0, *np.arange(cal.VISIT_EVERY, 364.0, cal.VISIT_EVERY), 364.0)
    res = Cohort(cal.TARGET_ARMS["mtx_naive+itt"], patients=60, seed=4, observe=grid).run()
    assert sim == pytest.approx(res.rate("ACR20", "locf")[-1], abs=1e-12)
    sparse = Cohort(cal.TARGET_ARMS["mtx_naive+itt"], patients=60, seed=4, observe=(0.0, 364.0)).run()
    assert res.n_dropped_out > 0 and sparse.rate("ACR20", "locf")[-1] < sim  # day 0 carried: non-responders
