"""Accuracy of the compiled solvers on the RA model against tight scipy Radau.

Measured cost (2-core box, Numba cache warm): a 3-year tight Radau run
(rtol 1e-10, atol 1e-12 x state scale) takes 0.2-3 s per regimen, so all six
reference runs are live (~10 s in all); no stored reference file is needed.
Observed rodas4 errors at default tolerances are ~2e-6 relative, well
inside the 1e-4 requirement.
"""

from __future__ import annotations

import numpy as np
import pytest

import rasim
from rasim import msc, mtx

from conftest import refractory

DAYS = np.array([0, 1, 3, 7, 14, 28, 56, 91, 120, 120.5, 182, 273, 365, 548, 730, 912, 1095], dtype=float)
TIGHT = rasim.SolverOptions(method="scipy-radau", rtol=1e-10, atol=1e-12, max_steps=1_000_000)
RTOL = 1e-4

# Absolute floor per observable: 1e-4 of its typical magnitude at the untreated
# inflamed state (units as in rasim.model.OBSERVABLES), so that an observable
# that falls far below its usual size is still held to 1e-4 of that size.
TYPICAL = {
    "CRP": 40.0,
    "ESR": 55.0,
    "TJC28": 14.0,
    "SJC28": 11.0,
    "pain": 65.0,
    "patient_global": 68.0,
    "physician_global": 50.0,
    "HAQ": 1.7,
    "DAS28_ESR": 6.8,
    "DAS28_CRP": 6.5,
    "RF": 100.0,
    "anti_CCP": 200.0,
    "Treg_pct": 3.8,
    "Th17_pct": 2.0,
    "TNF": 15.0,
    "IL6": 25.0,
    "IL17": 8.0,
    "IL10": 5.0,
    "TGFb": 25.0,
    "cartilage": 0.5,
    "erosion": 0.5,
    "mTSS": 45.0,  # established RA (RAPID 2: 46.5 at 5.6 years)
}
FLOOR = {name: 1e-4 * typical for name, typical in TYPICAL.items()}


REGIMENS = {
    "none": (None, None),
    "mtx": (mtx(15), None),
    "msc": (msc(4e7), None),
    "msc+mtx": (msc(4e7) + mtx(15), None),
    "msc_repeated": (msc(4e7, days=[0, 120]), None),
    "msc_on_background_mtx": (msc(4e7), mtx(15)),
}


def test_floors_cover_every_observable():
    assert set(FLOOR) == set(rasim.model.OBSERVABLES)


def assert_close(result, reference, label):
    assert result.ok, f"{label}: {result.status.message}"
    assert reference.ok, f"{label} reference: {reference.status.message}"
    np.testing.assert_array_equal(result.t, reference.t)
    failures = []
    for name, ref in reference.observables.items():
        got = result.observables[name]
        err = np.abs(got - ref)
        allowed = RTOL * np.abs(ref) + FLOOR[name]
        if np.any(err > allowed) or not np.all(np.isfinite(got)):
            k = int(np.argmax(err / allowed))
            failures.append(f"{name} at day {result.t[k]:g}: {got[k]:.8g} vs {ref[k]:.8g}")
    assert not failures, f"{label}: " + "; ".join(failures)


@pytest.mark.parametrize("name", list(REGIMENS))
def test_rodas4_matches_tight_radau_over_three_years(name):
    regimen, background = REGIMENS[name]
    reference = rasim.simulate(
        regimen, background=background, params=refractory(background), observe=DAYS, solver=TIGHT
    )
    result = rasim.simulate(
        regimen, background=background, params=refractory(background), observe=DAYS, solver="rodas4"
    )
    # both start from the same day-0 state: only the integration differs
    np.testing.assert_array_equal(result.states[0], reference.states[0])
    assert_close(result, reference, f"rodas4 {name}")


def test_the_comparison_detects_an_inaccurate_solution():
    """The check above can fail: rodas4 at rtol 1e-2 is not within 1e-4 of Radau."""
    regimen, background = REGIMENS["msc+mtx"]
    days = DAYS[DAYS <= 120]
    reference = rasim.simulate(
        regimen, background=background, params=refractory(background), days=120, observe=days, solver=TIGHT
    )
    sloppy = rasim.simulate(
        regimen, background=background, params=refractory(background), days=120, observe=days, rtol=1e-2, atol=1e-2
    )
    with pytest.raises(AssertionError, match="rodas4 sloppy"):
        assert_close(sloppy, reference, "rodas4 sloppy")


SHORT = np.array([0, 0.5, 1, 2, 3, 7, 14, 21, 28, 42, 56, 91, 120])


@pytest.mark.parametrize("name", ["msc", "msc+mtx"])
def test_dopri5_matches_tight_radau_over_120_days(name):
    regimen, background = REGIMENS[name]
    reference = rasim.simulate(
        regimen, background=background, params=refractory(background), days=120, observe=SHORT, solver=TIGHT
    )
    result = rasim.simulate(
        regimen, background=background, params=refractory(background), days=120, observe=SHORT, solver="dopri5"
    )
    assert_close(result, reference, f"dopri5 {name}")


def test_dopri5_out_of_steps_returns_a_status_instead_of_raising():
    few = rasim.SolverOptions(method="dopri5", max_steps=50)
    result = rasim.simulate(msc(4e7) + mtx(15), days=120, observe=SHORT, solver=few)
    assert result.status == rasim.Status.MAX_STEPS
    assert not result.ok
    assert np.isnan(result.states[-1]).all()  # not reached
    np.testing.assert_array_equal(result.states[0], result.day0.y)  # day 0 is still there
