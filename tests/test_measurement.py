"""The measurement model: which items the declared placebo terms touch, and how the items of
the ACR core set move together within a patient."""

from __future__ import annotations

import numpy as np
import pytest

from rasim import model
from rasim.cohort import Cohort, measurement

EXPECTED = {
    "TJC28": 14.0,
    "SJC28": 10.0,
    "ESR": 50.0,
    "CRP": 30.0,
    "pain": 60.0,
    "patient_global": 60.0,
    "physician_global": 60.0,
    "HAQ": 1.5,
}


def _measured(placebo_pro: float, day: float, placebo_assessor: float = 0.0) -> dict[str, np.ndarray]:
    """Noise-free items (all normals 0, no fluctuation) at ``day`` after enrolment."""
    s = measurement.settings({"placebo_pro": placebo_pro, "placebo_assessor": placebo_assessor, "placebo_onset": 14.0})
    expected = {k: np.full((1, 1), v) for k, v in EXPECTED.items()}
    z = np.zeros((1, 1, measurement.N_NORMALS))
    return measurement.measure(expected, z, np.array([day]), s, np.zeros((1, 1)))


def test_placebo_lowers_patient_reports_and_the_physician_who_hears_them():
    """After enrolment, placebo_pro = 0.2 at steady state lowers the patient-reported items
    (pain, patient global, HAQ) by 20%, and the physician global, who hears the patient, by 20%
    too; the joint counts and ESR/CRP are unchanged."""
    on, off = _measured(0.2, 1000.0), _measured(0.0, 1000.0)
    for name in ("pain", "patient_global", "physician_global"):
        np.testing.assert_allclose(on[name], 0.8 * EXPECTED[name])
    assert on["HAQ"][0, 0] == 1.25  # 1.2 rounded to the HAQ-DI's 0.125 steps
    for name in ("TJC28", "SJC28", "ESR", "CRP"):
        np.testing.assert_array_equal(on[name], off[name])


def test_physician_global_carries_both_placebo_terms():
    """With both terms the physician global falls by 1 - (1 - 0.2)(1 - 0.1) = 28%, more than
    pain (10%) or the joint counts (20%): in every placebo arm that reports all items, the
    physician global falls most (RAPID 2, MOBILITY A, KAKEHASI, DE007)."""
    both = _measured(0.1, 1000.0, placebo_assessor=0.2)
    np.testing.assert_allclose(both["physician_global"], 0.72 * EXPECTED["physician_global"])
    np.testing.assert_allclose(both["pain"], 0.9 * EXPECTED["pain"])


def test_no_placebo_at_baseline():
    """Days <= 0 (screening, baseline) read without the placebo term."""
    on, off = _measured(0.2, 0.0), _measured(0.0, 0.0)
    for name in measurement.ITEMS:
        np.testing.assert_array_equal(on[name], off[name])


def test_assessor_placebo_lowers_joint_counts_and_physician_global_only():
    """placebo_assessor = 0.2 at steady state lowers what the assessor examines or judges (both
    joint counts, physician global) by 20%."""
    on, off = _measured(0.0, 1000.0, placebo_assessor=0.2), _measured(0.0, 1000.0)
    for name in ("TJC28", "SJC28"):
        assert on[name][0, 0] == np.rint(0.8 * EXPECTED[name])
    np.testing.assert_allclose(on["physician_global"], 0.8 * EXPECTED["physician_global"])
    for name in ("pain", "patient_global", "HAQ", "ESR", "CRP"):
        np.testing.assert_array_equal(on[name], off[name])


def test_placebo_acts_on_what_is_left_to_relieve():
    """With day 0 among the visits, an item a drug has halved since day 0 gets half the placebo
    share: pain 60 -> 30 expected reads 30 (1 - 0.2 * 0.5) = 27 mm, where an unchanged item
    reads 60 (1 - 0.2) = 48 mm; an item that rose keeps the whole share."""
    s = measurement.settings({"placebo_pro": 0.2, "placebo_onset": 14.0})
    days = np.array([0.0, 1000.0])
    expected = {k: np.full((3, 2), v) for k, v in EXPECTED.items()}
    expected["pain"][0, 1] = 30.0  # halved
    expected["pain"][2, 1] = 70.0  # worse than on day 0
    z = np.zeros((3, 2, measurement.N_NORMALS))
    pain = measurement.measure(expected, z, days, s, np.zeros((3, 2)))["pain"]
    np.testing.assert_allclose(pain[:, 0], 60.0)
    np.testing.assert_allclose(pain[:, 1], [27.0, 48.0, 56.0])


def test_a_flare_raises_every_item_together():
    """The fluctuation scales the synovitis every clinical item reads (and the acute-phase
    reactants by flare_apr): a flare raises all eight items of a patient, a remission of it
    lowers them all."""
    s = measurement.settings()
    y = model.reference_vector(model.DEFAULTS)[None, :]  # the inflamed reference state
    z = np.zeros((1, 3, measurement.N_NORMALS))
    f = np.array([[-1.0, 0.0, 1.0]])
    seen = model.observables(np.repeat(y[:, None, :], 3, axis=1), model.DEFAULTS, measurement.activity(f, s))
    items = measurement.measure(seen, z, np.zeros(3), s, f)
    for name in measurement.ITEMS:
        assert items[name][0, 0] <= items[name][0, 1] <= items[name][0, 2], name
        assert items[name][0, 0] < items[name][0, 2], name


def test_tender_joints_exceed_swollen_ones_more_in_long_disease():
    """At the same synovitis the tender/swollen ratio rises with structural damage
    (sensitisation), and TJC28 > SJC28 in established disease (damage at the reference state)."""
    y = np.repeat(model.reference_vector(model.DEFAULTS)[None, :], 2, axis=0)
    y[0, model.INDEX["cartilage"]], y[0, model.INDEX["erosion"]] = 1.0, 0.0  # intact joints

    obs = model.observables(y, model.DEFAULTS)
    assert obs["TJC28"][1] > obs["SJC28"][1]
    assert obs["TJC28"][1] / obs["SJC28"][1] > obs["TJC28"][0] / obs["SJC28"][0]


@pytest.fixture(scope="module")
def early_ra():
    return Cohort("mtx_naive", patients=400, seed=5, observe=(0, 168)).run()


def _improvement(res, name):
    base, now = res[name][:, 0], res[name][:, 1]
    return np.where(base > 0, (base - now) / np.where(base > 0, base, 1.0), 0.0)


def test_acr_items_improve_together_within_patients(early_ra):
    """Within patients the items' improvements correlate (Ward 1994: partial r 0.2-0.7 for the
    globals, pain and HAQ against the joint counts), so the ACR criteria form a staircase."""
    sjc = _improvement(early_ra, "SJC28")
    for name in ("TJC28", "pain", "patient_global", "physician_global", "HAQ"):
        r = np.corrcoef(sjc, _improvement(early_ra, name))[0, 1]
        assert 0.2 < r < 0.95, (name, r)


def test_acr_staircase_on_an_effective_drug(early_ra):
    """ACR20 > ACR50 > ACR70 > 0, with ACR50/ACR20 in the range effective drugs show at
    weeks 12-24 (0.35-0.8: DE007, KAKEHASI, ARMADA, SWEFOT run-in)."""
    m = early_ra.responder_masks()
    acr20, acr50, acr70 = (float(np.mean(m[k][:, 1])) for k in ("ACR20", "ACR50", "ACR70"))
    assert acr20 > acr50 > acr70 > 0.0
    assert 0.35 <= acr50 / acr20 <= 0.8, (acr20, acr50)


def test_placebo_arm_improves_over_weeks_as_de007():
    """A placebo + MTX arm's joint counts reach a minority of their week-12 change by week 2
    (DE007's placebo arm: 20% tender, 32% swollen, SE about 0.25 each): the placebo builds with
    ``placebo_onset`` (60 days); with 14 days the model's arm had reached 67% and 61%."""
    res = Cohort("mtx_ir", patients=600, seed=11, observe=(0, 14, 84)).run()
    for item in ("TJC28", "SJC28"):
        x = res[item][res.ok]
        week2, week12 = (x[:, 1] - x[:, 0]).mean(), (x[:, 2] - x[:, 0]).mean()
        assert week12 < 0.0 and 0.0 < week2 / week12 < 0.5, (item, week2, week12)
