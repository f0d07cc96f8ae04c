"""The benchmark suite's own analysis code (``benchmarks/``), run small: the suite is not
part of the test run, so a refactor of the solver that breaks its cost model (as renaming
the solver's loop to ``run_batch`` once did) must fail here rather than in a suite run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from conftest import load_script

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    """The suite's ``cases`` and ``costs`` modules, imported as the suite does (its folder on the path)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import cases
        import costs

        yield cases, costs
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in (
            "cases",
            "costs",
            "flops",
            "peer_diffrax",
            "solvers",
            "lanes",
            "lockstep",
            "suite",
            "standard",
            "targets",
            "workprec",
            "child",
        ):
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def profile(bench):
    cases, costs = bench
    reps, costs.UNIT_REPS = costs.UNIT_REPS, 2_000  # unit costs are measured, not checked: a short loop
    try:
        return costs.kernel_profile(cases.problems(2), rtol=1e-4, repeat=1)
    finally:
        costs.UNIT_REPS = reps


def test_kernel_profile_splits_one_solve(profile):
    """The cost model's parts are the solver's own call counts times positive unit costs, and
    a step's flops are the counted parts' sum."""
    assert profile["accepted"] > 100 and profile["rhs_calls"] >= 6 * profile["accepted"]
    assert all(v > 0.0 for v in profile["unit_ns"].values())
    parts = profile["parts_s"]
    assert sum(parts.values()) == pytest.approx(profile["seconds"], rel=1e-9)
    flops = profile["flops_parts"]
    assert all(v > 0 for v in flops.values())
    assert profile["flops_per_step"] == pytest.approx(sum(flops.values()), rel=1e-9)


def test_floor_is_the_machine_rate_over_the_work_per_patient(bench, profile):
    """floor = cores x rate / (flops per step x steps per patient), for the scalar and SIMD rates."""
    _, costs = bench
    stages = {"mean_trial_steps": 800.0}
    out = costs.floor(profile, stages, [{"patients": 10, "trial_s": 0.02, "wall_s": 0.05}], cores=2)
    per_patient = profile["flops_per_step"] * out["steps_per_patient"]
    for kind, rate in out["flops_per_s_per_core"].items():
        assert rate > 0.0
        assert out["floor_patients_per_s"][kind] == pytest.approx(2 * rate / per_patient, rel=1e-12)
    assert out["measured_patients_per_s"] == {"solve-only": 500.0, "end to end": 200.0}
    assert np.isfinite(out["steps_per_patient"]) and out["steps_per_patient"] >= 800.0


@njit(error_model="numpy")
def _factor_like(J, d, e):
    """A small kernel in the generated LU's style (straight line, a scalar argument, locals)."""
    a_0 = d - J[0]
    a_1 = -J[1]
    bad_1 = not (abs(a_0) > 0.0)
    a_0 = 1.0 / a_0
    e[0] = a_0
    e[1] = a_1 * a_0 + max(J[2], 0.0)
    if bad_1:
        return 1
    return 0


def test_lockstep_lanes_equal_the_scalar_kernel_lane_by_lane(bench):
    """benchmarks/lanes.py's two rewrites for B patients at once (arrays (k, B)) give every lane
    the scalar kernel's result bit for bit (the full LU is checked by ``lanes.measure`` itself;
    compiling it takes minutes)."""
    import lanes

    try:
        rng = np.random.default_rng(1)
        jm, d = rng.normal(size=(3, 3)), rng.normal(size=3) + 5.0
        ref = np.zeros((3, 2))
        for k in range(3):
            _factor_like(jm[k], d[k], ref[k])
        for kernel in (lanes.loops(_factor_like, ("d",)), lanes.unrolled(_factor_like, 3, ("d",))):
            e = np.zeros((2, 3))
            kernel(np.ascontiguousarray(jm.T), d, e)
            assert np.array_equal(e.T, ref)
    finally:
        sys.modules.pop("lanes", None)


def test_explicit_vector_solve_equals_the_scalar_solve_bit_for_bit(bench):
    """benchmarks/lanes.py's LLVM vector form of the generated lu_solve (4 lanes) gives every
    patient the scalar solve's result bit for bit (``measure_solve`` raises otherwise)."""
    import lanes

    try:
        out = lanes.measure_solve(lanes=4, reps=1)
    finally:
        sys.modules.pop("lanes", None)
    assert out["lanes"] == 4 and out["scalar_ns"] > 0.0 and out["vector_ns"] > 0.0


def test_the_diffrax_peers_jax_port_is_the_compiled_right_hand_side(bench):
    """The JAX port of the rate laws (``peer_diffrax.jax_rhs``) traces and agrees with ``model.rhs``
    to 1e-10: the drugs' factor once branched on its exposure, JAX could not trace it, and the
    suite had reported diffrax as missing since."""
    jax = pytest.importorskip("jax")
    pytest.importorskip("diffrax")
    cases, _ = bench
    import peer_diffrax

    jax.config.update("jax_enable_x64", True)
    prob = cases.problems(2)
    peer_diffrax._check_port(peer_diffrax.jax_rhs(*peer_diffrax._mtx_table(prob)), prob)


def test_lockstep_lanes_give_the_scalar_kernels_results_bit_for_bit(bench):
    """``benchmarks/lockstep.py``: the cohort's lockstep lanes give its scalar kernel's outputs,
    statuses and counts bit for bit on the suite's patients (through the suite's section, which
    also times them)."""
    import dataclasses

    import suite

    try:
        out = suite.lockstep_section(dataclasses.replace(suite.QUICK, lockstep_patients=24, rounds=1))
    finally:
        sys.path.remove(str(BENCHMARKS))  # the one entry ``suite`` put there (the fixture removes its own)
    assert out["equal"], out
    assert out["patients"] == 24 and out["lanes"] == 8
    assert out["scalar_s"] > 0.0 and out["lanes_s"] > 0.0 and out["compile_s"] > 0.0


def test_memory_target_compares_only_runs_that_fill_two_chunks():
    """The quick suite's sizes (100, 1,000, 100,000 with 2,000-patient chunks) cannot judge growth
    with N: one run fills two chunks. With two such runs the verdict is their growth."""
    targets = load_script(BENCHMARKS / "targets.py")

    def run(n, mib):
        return {"patients": n, "peak_mib": mib, "chunk_size": 2000}

    quick = targets.memory_target([run(100, 188.0), run(1_000, 227.0), run(100_000, 301.0)])
    assert quick["status"] == "not evaluated" and "301 MiB at N=100,000" in quick["detail"]
    flat = targets.memory_target([run(1_000, 200.0), run(10_000, 300.0), run(100_000, 303.0)])
    assert flat["status"] == "met" and flat["value"] == pytest.approx(0.01)
    grows = targets.memory_target([run(10_000, 300.0), run(100_000, 400.0)])
    assert grows["status"] == "missed" and grows["value"] == pytest.approx(1 / 3)
