"""The measurement model: which items the declared placebo term touches."""

from __future__ import annotations

import numpy as np

from rasim.cohort import measurement

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


def _measured(placebo_pro: float, day: float) -> dict[str, np.ndarray]:
    """Noise-free items (all normals 0, no fluctuation) at ``day`` after enrolment."""
    s = measurement.settings({"placebo_pro": placebo_pro, "placebo_onset": 14.0})
    expected = {k: np.full((1, 1), v) for k, v in EXPECTED.items()}
    z = np.zeros((1, 1, measurement.N_NORMALS))
    return measurement.measure(expected, z, np.array([day]), s, np.zeros((1, 1)))


def test_placebo_lowers_tender_joints_and_patient_reports_only():
    """After enrolment, placebo_pro = 0.2 at steady state lowers the tender count and the
    patient-reported items by 20%; swollen joints, physician global and ESR/CRP are unchanged."""
    on, off = _measured(0.2, 1000.0), _measured(0.0, 1000.0)
    assert on["TJC28"][0, 0] == np.rint(0.8 * EXPECTED["TJC28"])
    for name in ("pain", "patient_global"):
        np.testing.assert_allclose(on[name], 0.8 * EXPECTED[name])
    assert on["HAQ"][0, 0] == 1.25  # 1.2 rounded to the HAQ-DI's 0.125 steps
    for name in ("SJC28", "physician_global", "ESR", "CRP"):
        np.testing.assert_array_equal(on[name], off[name])


def test_no_placebo_at_baseline():
    """Days <= 0 (screening, baseline) read without the placebo term."""
    on, off = _measured(0.2, 0.0), _measured(0.0, 0.0)
    for name in measurement.ITEMS:
        np.testing.assert_array_equal(on[name], off[name])
