"""Lockstep RODAS4 (``rasim.lockstep``): every patient's results equal the scalar kernel's bit for
bit, whichever path ran it; the generated lane kernels are current; the mode is checked; the
lanes helper compiles the signature the cohort calls.

The first test compiles the lanes in this process on a cold cache (about a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rasim import lockstep
from rasim.cohort import Cohort, compile_helper
from rasim.cohort.cohort import _args
from rasim.cohort.arms import Arm
from rasim.errors import RasimError
from rasim import integrate
from rasim.integrate import integrate_batch
from rasim.regimen import adalimumab, mtx, msc, nsaid, prednisolone

ROOT = Path(__file__).resolve().parents[1]
DAYS = (0, 14, 28, 91, 182, 365)
# every forcing family (MTX polyglutamates, prednisolone's rate, adalimumab's and an NSAID's
# concentrations) and MSC bolus events, on three populations
ARMS = (
    "msc+dmard",
    "mtx_naive",
    Arm(
        "all_drugs",
        "mtx_inadequate",
        msc(4e7, days=[0, 120]) + adalimumab(40) + prednisolone({0: 30, 14: 10}, until=84) + nsaid("naproxen", 1000),
        mtx(15, every=7),
        "every drug at once",
    ),
)


def _run(monkeypatch, mode: str, arm, patients: int = 40):
    monkeypatch.setenv(lockstep.ENV, mode)
    monkeypatch.setattr(lockstep, "MIN_ROWS", 1)  # the lanes for every batch, the late enrolment rounds' too
    return Cohort(arm, patients=patients, seed=8, observe=DAYS).run()


@pytest.mark.parametrize("arm", ARMS, ids=lambda a: a if isinstance(a, str) else a.name)
def test_lanes_give_the_scalar_kernels_cohort_bit_for_bit(monkeypatch, arm):
    """Enrolment (the day-0 replays) and the trial through the lanes, against the scalar kernel."""
    lanes, scalar = _run(monkeypatch, "1", arm), _run(monkeypatch, "0", arm)
    assert lockstep.compiled(integrate.lanes())
    assert np.array_equal(lanes.status, scalar.status)
    assert lanes.values.keys() == scalar.values.keys()
    for name, x in scalar.values.items():
        assert np.array_equal(lanes.values[name], x, equal_nan=True), name


def test_a_patient_the_lanes_cannot_finish_alike_is_the_scalar_kernels(monkeypatch):
    """``max_steps`` reached: the lanes hand the patients back and the scalar kernel reports them,
    with its outputs and counts, among patients that finish."""
    c = Cohort("msc+dmard", patients=12, seed=3, observe=DAYS)
    s = c.plan
    e = c.enrol(np.arange(12))
    a = _args(c, e.P)
    amounts = s.dosing.amounts(e.covariates["weight"])
    monkeypatch.setattr(lockstep, "MIN_ROWS", 1)
    out = {}
    for mode in ("1", "0"):
        monkeypatch.setenv(lockstep.ENV, mode)
        for max_steps in (60, 100_000):
            out[mode, max_steps] = integrate_batch(
                "rodas4", s.t0, e.y0, a, s.t_out, s.dosing.ev_t, s.dosing.ev_cmt, amounts, 1e-4, s.atol, max_steps
            )
    for max_steps in (60, 100_000):
        for got, want in zip(out["1", max_steps], out["0", max_steps]):
            assert np.array_equal(got, want, equal_nan=True)
    assert np.any(out["1", 60][0] != 0) and np.all(out["1", 100_000][0] == 0)


def test_a_batch_too_small_to_fill_the_lanes_takes_the_scalar_kernel(monkeypatch):
    """Fewer than ``MIN_ROWS`` problems per thread: the scalar kernel (the lanes would idle)."""
    c = Cohort("dmard", patients=4, seed=2, observe=(0, 28))
    e = c.enrol(np.arange(4))  # its rounds of at least ROUND_CANDIDATES fill the lanes
    calls = []
    monkeypatch.setenv(lockstep.ENV, "1")
    monkeypatch.setattr(lockstep, "integrate_rows", lambda *a: calls.append(len(a[3])))
    monkeypatch.setattr(integrate, "in_threads", lambda n, call, min_rows=1: call(slice(0, n)))
    a, s = _args(c, e.P), c.plan
    args = ("rodas4", s.t0, e.y0, a, s.t_out, s.dosing.ev_t, s.dosing.ev_cmt, s.dosing.amounts(e.covariates["weight"]))
    integrate_batch(*args, 1e-4, s.atol, 10_000)
    assert calls == []
    monkeypatch.setattr(lockstep, "MIN_ROWS", 1)
    integrate_batch(*args, 1e-4, s.atol, 10_000)
    assert calls == [4]


def test_the_lanes_are_used_only_when_allowed_and_alike(monkeypatch):
    monkeypatch.setenv(lockstep.ENV, "0")
    assert not lockstep.available(integrate.lanes())
    monkeypatch.setenv(lockstep.ENV, "1")
    assert lockstep.available(integrate.lanes())
    monkeypatch.setattr(lockstep.L, "HOOK_STARTS", [0])  # a drug registered after generation
    assert not lockstep.available(integrate.lanes())
    monkeypatch.setenv(lockstep.ENV, "yes")
    with pytest.raises(RasimError, match="RASIM_LOCKSTEP must be 0"):
        lockstep.available(integrate.lanes())


def test_the_lanes_helper_compiles_the_signature_the_cohort_calls(monkeypatch):
    monkeypatch.setenv(lockstep.ENV, "1")
    Cohort("dmard", patients=3, seed=1, observe=(0, 28)).run()
    dispatcher, signature = compile_helper.lane_job()
    assert dispatcher is integrate.lanes() and list(signature) in [list(s) for s in integrate.lanes().signatures]
    assert compile_helper.start_lanes() is None  # not in mode 1
    monkeypatch.setenv(lockstep.ENV, "auto")
    assert compile_helper.start_lanes() is None  # compiled already


def test_a_dead_helpers_marker_is_taken_over(tmp_path):
    marker = tmp_path / compile_helper.LANES_MARKER
    assert compile_helper._claim(marker) and not compile_helper._claim(marker)
    old = marker.stat().st_mtime - compile_helper.STALE_S - 1
    os.utime(marker, (old, old))
    assert compile_helper._claim(marker)


def test_the_generated_lane_kernels_are_current():
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "generate_lanes.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
