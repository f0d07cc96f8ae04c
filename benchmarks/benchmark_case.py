"""The standard benchmark case of ``benchmarks/`` (moved out of the library):
one patient, 3 years, UC-MSC 4e7 IV on day 0 plus oral MTX 15 mg weekly
from day 0, observed on the default trial days."""

from __future__ import annotations

import numpy as np

from rasim.integrate import integrate
from rasim.regimen import msc, mtx
from rasim.simulation import Problem, prepare
from rasim.solver import SolverOptions, Status

OBSERVE = (0, 14, 28, 56, 91, 182, 273, 365, 548, 730, 912, 1095)
REGIMEN = msc(4e7, days=[0]) + mtx(15, every=7)


def problem() -> Problem:
    """The benchmark problem, prepared (day-0 state found) but not solved."""
    return prepare(REGIMEN, days=1095, observe=OBSERVE)


def solve(prob: Problem, method: str = "rodas4", rtol: float = 1e-6) -> tuple[Status, np.ndarray, np.ndarray]:
    """Solve the prepared problem: (status, states at OBSERVE, solver stats)."""
    return integrate(SolverOptions(method=method, rtol=rtol), 0.0, prob.y0, prob.args, prob.t_out, *prob.events)
