"""Day 0: the generic Newton polish and stability test, and the two named strategies."""

import dataclasses

import numpy as np
import pytest
from numba import njit

import rasim
from rasim import day0, model
from rasim.cohort import ARMS, Arm, Cohort
from rasim.cohort import arms as arms_module
from rasim.errors import RasimError
from rasim.solver.steady import CONVERGED, NOT_CONVERGED, make_steady

# A linear test system dy/dt = A (y - c), A stable with a complex pair, and a frozen third state
A = np.array([[-1.0, 2.0, 0.5], [-2.0, -1.0, 0.0], [0.3, 0.0, -0.2]])
C = np.array([1.0, 2.0, 3.0])


@njit
def _linear_rhs(t, y, args, out):
    for i in range(3):
        out[i] = 0.0
        for j in range(3):
            out[i] += args[3 * i + j] * (y[j] - args[9 + j])


@njit
def _linear_jac(t, y, args, out):
    for i in range(3):
        for j in range(3):
            out[i, j] = args[3 * i + j]


NEWTON, GROWTH = make_steady(_linear_rhs, _linear_jac)
ARGS = np.concatenate([A.ravel(), C])


def test_newton_solves_a_linear_system_in_one_step():
    y = np.zeros(3)
    code = NEWTON(0.0, y, ARGS, np.zeros(3, bool), np.ones(3), 1e-12, 5, 10.0)
    assert code == CONVERGED
    assert y == pytest.approx(C, abs=1e-12)


def test_newton_holds_frozen_states_and_solves_the_others_at_their_value():
    y = np.array([0.0, 0.0, 5.0])
    frozen = np.array([False, False, True])
    assert NEWTON(0.0, y, ARGS, frozen, np.ones(3), 1e-12, 5, 10.0) == CONVERGED
    assert y[2] == 5.0
    # the free rows of A (y - c) vanish at y3 = 5: a 2x2 linear solve
    expected = C[:2] - np.linalg.solve(A[:2, :2], A[:2, 2] * (5.0 - C[2]))
    assert y[:2] == pytest.approx(expected, abs=1e-12)


def test_newton_refuses_to_jump_further_than_max_move():
    y = np.zeros(3)
    assert NEWTON(0.0, y, ARGS, np.zeros(3, bool), np.ones(3), 1e-12, 5, 0.1) == NOT_CONVERGED


def test_growth_is_the_largest_real_eigenvalue_of_the_included_block():
    y = np.zeros(3)
    assert GROWTH(0.0, y, ARGS, np.ones(3, bool)) == pytest.approx(np.max(np.linalg.eigvals(A).real), abs=1e-12)
    block = np.array([True, True, False])
    assert GROWTH(0.0, y, ARGS, block) == pytest.approx(-1.0, abs=1e-12)  # eigenvalues -1 +- 2i


def test_replay_polishes_a_still_moving_disease_to_its_quasi_steady_state():
    """After a short disease, imprinting is still accruing when the replay ends; the other
    states are polished to their steady state at the imprinting reached (they used to be
    rejected as 'not settled', half of all active-disease candidates)."""
    P = model.DEFAULTS[None, :].copy()
    y, status = day0.replay(P, np.zeros(1), np.array([2.0]))
    assert status[0] == 0
    args = model.build_args(P[0], np.empty(0), np.empty(0, np.int64), np.empty(0))
    dy = np.empty(model.N_STATES)
    model.rhs(0.0, y[0], args, dy)
    imprint = model.INDEX["fls_imprint"]
    assert abs(dy[imprint]) > 1e-6  # imprinting is still moving ...
    free = ~np.isin(np.arange(model.N_STATES), [imprint, *model.ACCRUING])  # radiographic damage accrues
    assert np.max(np.abs(dy[free]) / model.STATE_SCALE[free]) <= day0.NEWTON_TOL  # ... the rest is steady
    assert day0.growth(P, np.zeros(1), y)[0] < 0.0


def test_replay_after_a_long_disease_is_the_steady_strategy():
    """After 40 years imprinting has reached its steady level, where "steady" starts."""
    steady = rasim.simulate(None, days=1, observe=[0.0])
    replay = rasim.simulate(None, days=1, observe=[0.0], day0="replay", covariates={"duration": 40.0})
    assert replay.day0.kind == "replay" and steady.day0.kind == "steady"
    settling = ~np.isin(np.arange(model.N_STATES), model.ACCRUING)  # "steady" has no duration to accrue over
    assert replay.states[0, settling] == pytest.approx(steady.states[0, settling], rel=2e-3, abs=1e-9)
    assert replay.observables["DAS28_ESR"][0] == pytest.approx(steady.observables["DAS28_ESR"][0], abs=2e-3)


def test_simulate_with_the_cohort_strategy_reproduces_a_cohort_patients_day0():
    """``simulate(day0="replay")`` with a cohort patient's parameters and duration starts
    where the cohort's trial is at day 0 (after the same 56-day run-in of real doses)."""
    c = Cohort("dmard", patients=2, seed=11, observe=(0.0, 1.0))
    e = c.enrol(np.arange(2))
    P, cov = e.P, e.covariates
    res = c.run()
    for i in range(2):
        params = {q.name: P[i, k] for k, q in enumerate(model.PARAMETERS) if P[i, k] != model.DEFAULTS[k]}
        one = rasim.simulate(
            None,
            days=1,
            observe=[0.0],
            params=params,
            background=ARMS["dmard"].background,
            covariates={"duration": float(cov["duration"][i])},
            day0="replay",
            allow_out_of_range=True,
        )
        assert one.observables["DAS28_ESR"][0] == pytest.approx(res.expected_das28[i, 0], abs=1e-4)


def test_cohort_day0_matches_newton_shooting_after_a_long_disease(monkeypatch):
    """The cohort's day 0 (mean-exposure replay + 56-day run-in of real doses) is the periodic
    state simulate() finds by Newton shooting, for disease old enough (40 years) that
    imprinting has reached the steady level the "steady" strategy starts from."""
    long_standing = dataclasses.replace(
        arms_module.POPULATIONS["refractory"], name="long_standing", duration=(40.0, 0.0)
    )
    monkeypatch.setitem(arms_module.POPULATIONS, "long_standing", long_standing)
    c = Cohort(
        Arm("dmard", "long_standing", background=ARMS["dmard"].background),
        patients=2,
        seed=5,
        observe=(0.0, 1.0),
        dense=True,
    )
    P = c.enrol(np.arange(2)).P
    res = c.run()
    immune = [model.INDEX[n] for n in ("th1", "th17", "treg", "treg_mem", "m1", "fls", "tnf", "il6", "crp")]
    for i in range(2):
        params = {q.name: P[i, k] for k, q in enumerate(model.PARAMETERS) if P[i, k] != model.DEFAULTS[k]}
        ref = rasim.simulate(
            None, days=1, observe=[0.0], params=params, background=ARMS["dmard"].background, allow_out_of_range=True
        )
        assert ref.day0.kind == "periodic"
        assert res.expected_das28[i, 0] == pytest.approx(ref.observables["DAS28_ESR"][0], abs=0.02)
        assert res.states[i, 0, immune] == pytest.approx(ref.states[0, immune], rel=2e-2)


def test_unknown_strategy_is_refused_with_a_suggestion():
    with pytest.raises(RasimError, match="Did you mean 'replay'"):
        rasim.simulate(None, days=1, day0="replya")


def test_newton_accepts_a_step_that_raises_the_residual_before_converging():
    """From the end of a 3000-day run with IL-17 production halved, the first full Newton step
    raises the residual 40-fold, then converges quadratically: a monotone line search stalled."""
    p = model.parameter_vector({"il17_th17": 0.5 * model.DEFAULTS[model.PINDEX["il17_th17"]]}, None, True)
    start = day0.inflamed_equilibrium(p)
    dy = np.empty(model.N_STATES)
    model.rhs(0.0, start.y, model.build_args(p, np.empty(0), np.empty(0, np.int64), np.empty(0)), dy)
    settling = ~np.isin(np.arange(model.N_STATES), model.ACCRUING)
    assert np.max(np.abs(dy[settling]) / model.STATE_SCALE[settling]) <= day0.NEWTON_TOL


def test_growth_of_a_missing_state_is_infinite():
    P = model.DEFAULTS[None, :].copy()
    assert day0.growth(P, np.zeros(1), np.full((1, model.N_STATES), np.nan))[0] == np.inf
