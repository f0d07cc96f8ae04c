"""rasim's rodas4 on the standard stiff test problems (HIRES, ROBER, POLLU) against the
published reference solutions of the Test Set for IVP Solvers."""

import numpy as np
import pytest

from rasim.solver import Status
from rasim.solver.testset import PROBLEMS, solve_rodas


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_rodas_meets_the_reference_at_rtol_1e_8(name):
    problem = PROBLEMS[name]
    code, y, _ = solve_rodas(problem, 1e-8)
    assert Status(code) == Status.SUCCESS
    np.testing.assert_allclose(y, problem.reference, rtol=1e-8, atol=problem.floor)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_jacobian_matches_finite_differences(name):
    problem = PROBLEMS[name]
    rng = np.random.default_rng(3)
    n = problem.y0.size
    y = rng.uniform(0.1, 1.0, n)
    J = np.zeros((n, n))
    problem.jac(0.0, y, np.zeros(0), J)
    f0, f1 = np.empty(n), np.empty(n)
    for j in range(n):
        step = 1e-7 * y[j]
        yp, ym = y.copy(), y.copy()
        yp[j] += step
        ym[j] -= step
        problem.rhs(0.0, yp, np.zeros(0), f1)
        problem.rhs(0.0, ym, np.zeros(0), f0)
        np.testing.assert_allclose(J[:, j], (f1 - f0) / (2 * step), rtol=1e-6, atol=1e-6 * np.abs(J).max())


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_kernel_for_the_size_matches_the_generic_one(name):
    """make_rodas(n_states=n) (constant loop bounds, linalg.make_dense_lu) differs by rounding only."""
    from rasim.solver import make_rodas

    problem = PROBLEMS[name]
    generic = make_rodas(problem.rhs, problem.jac, problem.dfdt)
    n = problem.y0.size
    y_out, stats = np.empty((1, n)), np.zeros(5, dtype=np.int64)
    atol = np.full(n, problem.atol_ratio * 1e-8)
    no = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))
    code = generic(
        0.0, problem.y0, np.zeros(0), np.array([problem.t_end]), *no, 1e-8, atol, 0.0, np.inf, 10**7, y_out, stats
    )
    assert Status(code) == Status.SUCCESS
    code_n, y_n, stats_n = solve_rodas(problem, 1e-8)
    assert Status(code_n) == Status.SUCCESS
    np.testing.assert_allclose(y_n, y_out[0], rtol=1e-9, atol=1e-6 * problem.floor)
    assert abs(int(stats_n[0]) - int(stats[0])) <= 0.01 * stats[0]


def test_kernel_for_the_size_rejects_another_size():
    problem = PROBLEMS["rober"]
    solve_rodas(problem, 1e-4)  # builds the kernel for 3 states
    from rasim.solver.testset import _KERNELS

    y_out, stats = np.empty((1, 4)), np.zeros(5, dtype=np.int64)
    no = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))
    code = _KERNELS["rober"](
        0.0, np.ones(4), np.zeros(0), np.array([1.0]), *no, 1e-6, np.full(4, 1e-9), 0.0, np.inf, 100, y_out, stats
    )
    assert Status(code) == Status.BAD_INPUT


@pytest.mark.parametrize("n", [1, 3, 8])
def test_dense_lu_for_a_fixed_size_matches_numpy(n):
    from rasim.solver.linalg import make_dense_lu

    factor, solve = make_dense_lu(n)
    rng = np.random.default_rng(n)
    for _ in range(20):
        a = rng.normal(size=(n, n))
        a[rng.random((n, n)) < 0.3] = 0.0
        a += np.diag(rng.choice([0.0, 3.0], n))  # some zero diagonals: pivoting needed
        if abs(np.linalg.det(a)) < 1e-6:
            continue
        b = rng.normal(size=n)
        lu, piv, x = a.copy(), np.empty(n, dtype=np.int64), b.copy()
        assert factor(lu, piv) == 0
        solve(lu, piv, x)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9, atol=1e-9)
    lu, piv = np.zeros((n, n)), np.empty(n, dtype=np.int64)
    assert factor(lu, piv) == 1  # singular: the first column has no pivot


def test_model_functions_without_reference_counting_give_the_same_numbers():
    """make_rodas(model_nrt=False): HIRES's functions (no allocation) compiled like the solver."""
    from rasim.solver import make_rodas

    problem = PROBLEMS["hires"]
    n = problem.y0.size
    outs = []
    for model_nrt in (True, False):
        solve = make_rodas(problem.rhs, problem.jac, problem.dfdt, model_nrt=model_nrt)
        y_out, stats = np.empty((1, n)), np.zeros(5, dtype=np.int64)
        no = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))
        atol = np.full(n, problem.atol_ratio * 1e-6)
        code = solve(
            0.0, problem.y0, np.zeros(0), np.array([problem.t_end]), *no, 1e-6, atol, 0.0, np.inf, 10**6, y_out, stats
        )
        assert Status(code) == Status.SUCCESS
        outs.append((y_out.copy(), stats.copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_generated_pollu_lu_is_current():
    """src/rasim/solver/_pollu_lu.py is what ``python -m rasim.solver.testset`` writes."""
    from pathlib import Path

    import rasim
    from rasim.solver.testset import LU_MODULE, pollu_lu_module

    path = Path(rasim.__file__).resolve().parents[1] / LU_MODULE
    assert path.read_text() == pollu_lu_module(), "run python -m rasim.solver.testset"
