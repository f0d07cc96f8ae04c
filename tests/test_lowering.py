"""Lowering: regimens to solver arrays, with flat and per-kg doses kept apart."""

import dataclasses

import numpy as np
import pytest

from rasim import lowering, model
from rasim.cohort import Cohort
from rasim.errors import RasimError
from rasim.regimen import msc, mtx


def test_flat_and_per_kg_doses_are_lowered_apart():
    regimen = msc(2e6, days=(0,), per_kg=True) + msc(4e7, days=(28,))
    ev = regimen.events(56, weight_kg=70.0)
    assert ev.per_kg.tolist() == [True, False]
    d = lowering.dosing(regimen, mtx(15), 56)
    msc_rows = (d.ev_flat + d.ev_per_kg) > 0.0  # the rest are zero-amount breakpoints at MTX doses
    assert np.all(d.ev_cmt[msc_rows] == model.INDEX["msc_lung"])
    assert d.ev_per_kg[msc_rows].tolist() == [2.0, 0.0]  # 1e6 cells per kg
    assert d.ev_flat[msc_rows].tolist() == [0.0, 40.0]  # 1e6 cells
    assert d.amounts(70.0)[msc_rows].tolist() == [140.0, 40.0]
    assert d.amounts(np.array([50.0, 80.0]))[:, msc_rows].tolist() == [[100.0, 40.0], [160.0, 40.0]]
    assert np.array_equal(d.ev_t[~msc_rows], np.arange(0.0, 57.0, 7.0))  # every MTX dose in the solve
    assert np.all(np.diff(d.table_t) == 7.0) and d.period == 7.0
    assert d.table_t[0] < -lowering.PK_HISTORY_DAYS  # the background's history before day 0


def test_dosing_and_plan_are_read_only():
    d = lowering.dosing(msc(4e7), None, 30)
    with pytest.raises(ValueError):
        d.ev_flat[0] = 1.0
    plan = Cohort("msc+dmard", patients=2, seed=0, observe=(0, 28)).plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.t0 = 0.0  # type: ignore[misc]
    assert plan.t_out.tolist() == [0.0, 28.0] and plan.t0 < 0.0  # a run-in of the background


def test_checks_refuse_before_any_work():
    with pytest.raises(RasimError, match="finite number > 0"):
        lowering.horizon(0)
    with pytest.raises(RasimError, match="days must increase: 14 follows 28"):
        lowering.observation_days([28, 14], 30)
    with pytest.raises(RasimError, match="Did you mean 'weight'"):
        lowering.check_covariates({"wieght": 70})
    with pytest.raises(RasimError, match="after the last day"):
        lowering.dosing(msc(4e7, days=(40,)), None, 30)
