"""Radiographic damage as trials report it: the modified total Sharp/van der Heijde score
(mTSS, 0-448) read from the damage states, by hand, and its yearly change in cohorts on MTX
against ASPIRE, PREMIER and DE019 (docs/radiographic.md)."""

import numpy as np
import pytest

from rasim import adalimumab, endpoints, model, mtx
from rasim.cohort import Cohort
from rasim.cohort.arms import Arm
from rasim.model.observables import mtss

SCALE, EXPONENT = (float(model.DEFAULTS[model.PINDEX[name]]) for name in ("mtss_scale", "mtss_exponent"))


def test_the_map_by_hand():
    # linear, full scale: half the cartilage lost and half the bone eroded read half of 448
    assert mtss(0.5, 0.5, 1.0, 1.0) == pytest.approx(0.5 * 280 + 0.5 * 168)
    assert mtss(0.0, 1.0, 1.0, 1.0) == pytest.approx(448.0)
    # the parameters in use: 0.57 * (280 * 0.1^2.65 + 168 * 0.2^2.65) = 0.57 * (0.62685 + 2.36058)
    assert mtss(0.8, 0.1, 0.57, 2.65) == pytest.approx(0.57 * (280 * 0.0022387 + 168 * 0.0140511), rel=1e-4)
    assert mtss(0.8, 0.1, 0.57, 2.65) == pytest.approx(1.7028, abs=1e-3)
    # out-of-range states are clipped: a slightly negative erosion or cartilage above 1 read 0
    assert mtss(1.0 + 1e-9, -1e-9, SCALE, EXPONENT) == 0.0
    assert mtss(-0.5, 1.5, SCALE, EXPONENT) == pytest.approx(SCALE * 448.0)


def test_intact_joint_reads_zero_and_the_score_rises_with_damage():
    y = np.tile(model.reference_vector(model.DEFAULTS, "inflamed"), (2, 1))
    p = model.DEFAULTS
    ic, ie = model.INDEX["cartilage"], model.INDEX["erosion"]
    y[0, ic], y[0, ie] = 1.0, 0.0
    y[1, ic], y[1, ie] = 0.6, 0.3
    out = model.observables(y, p)["mTSS"]
    assert out[0] == 0.0
    assert out[1] == pytest.approx(SCALE * (280 * 0.3**EXPONENT + 168 * 0.4**EXPONENT))
    grid = np.linspace(0.0, 1.0, 41)
    lost, eroded = np.meshgrid(grid, grid, indexing="ij")
    score = mtss(1.0 - lost, eroded, SCALE, EXPONENT)
    assert np.all(np.diff(score, axis=0) > 0) and np.all(np.diff(score, axis=1) > 0)  # strictly monotone
    assert score.min() == 0.0 and score.max() == pytest.approx(SCALE * 448.0) and score.max() <= 448.0


def test_registered_as_a_noise_free_biomarker_with_its_change():
    o = endpoints.REGISTRY["mTSS"]
    assert o.kind == endpoints.BIOMARKER and o.unit == "mTSS units (0-448)"
    assert "mTSS" in endpoints.BIOMARKERS and "mTSS" in model.OBSERVABLES
    assert endpoints.unit("mTSS_change") == "mTSS units (0-448)"
    assert "mTSS" not in endpoints.SUMMARY  # the regression baseline's summary stays as it was


# Published yearly change on MTX (mean, SD, n of the MTX arm) and the tolerance of the check.
# The model's mean over 200 patients has a Monte Carlo SE of about 0.4 (early RA, SD ~6) and
# 0.3 (MTX-IR, SD ~4); each trial mean has an SE of SD / sqrt(n), about 0.5-0.6. Early RA is
# checked against the span of ASPIRE (3.7 at week 54) and PREMIER (5.7 at a year), widened by
# about two combined SEs (1.3) on each side; DE019 (2.7) within two combined SEs (1.1).
EARLY_SPAN = (3.7 - 1.3, 5.7 + 1.3)
DE019, DE019_TOL = 2.7, 1.1


@pytest.fixture(scope="module")
def arms():
    observe = (0, 364, 378)
    ada = Arm("ada+mtx", "mtx_inadequate", adalimumab(40), mtx(15), "adalimumab on MTX")
    return {
        name: Cohort(arm, patients=200, seed=11, observe=observe).run()
        for name, arm in (("mtx_naive", "mtx_naive"), ("mtx_ir", "mtx_ir"), ("ada+mtx", ada))
    }


def test_yearly_change_on_mtx_matches_the_trials(arms):
    early = arms["mtx_naive"]
    for day in (364, 378):  # PREMIER at a year, ASPIRE at week 54
        change = early["mTSS_change"][:, early.day_index(day)]
        assert EARLY_SPAN[0] <= change.mean() <= EARLY_SPAN[1], (day, change.mean())
        assert np.all(np.isfinite(change))
    ir = arms["mtx_ir"]["mTSS_change"][:, arms["mtx_ir"].day_index(364)]
    assert abs(ir.mean() - DE019) <= DE019_TOL, ir.mean()
    # established disease reads more damage at entry than early disease
    assert arms["mtx_ir"]["mTSS"][:, 0].mean() > 5 * early["mTSS"][:, 0].mean()


def test_anti_tnf_on_mtx_progresses_less_than_placebo_on_mtx(arms):
    """Not fitted (DE019: 0.1 +- 4.8 vs 2.7 +- 6.8). The model's damage states heal under
    adalimumab, so its mTSS falls (about -12 a year); radiographs do not heal: see
    docs/radiographic.md. Only the ordering is checked here."""
    ada = arms["ada+mtx"]["mTSS_change"][:, arms["ada+mtx"].day_index(364)]
    ir = arms["mtx_ir"]["mTSS_change"][:, arms["mtx_ir"].day_index(364)]
    assert ada.mean() < 0.1 < ir.mean()
