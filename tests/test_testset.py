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
