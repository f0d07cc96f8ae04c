"""Standard stiff test problems through the generic solver API: HIRES, ROBER, POLLU.

From the Test Set for IVP Solvers (F. Mazzia, C. Magherini and colleagues,
https://archimede.uniba.it/~testset/, release 2.4): right-hand sides,
Jacobians, initial values, end times and the published reference solutions
at the end time (RADAU5 in quadruple-like precision on a Cray C90).  Each
problem is a plain ``rhs(t, y, args, dydt)`` / ``jac`` / ``dfdt`` triple, the
same interface a user model supplies to :func:`rasim.solver.make_rodas`.
Units are those of the test set (dimensionless concentrations; HIRES and
ROBER in seconds, POLLU in minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import _pollu_lu
from .rodas import make_rodas


@dataclass(frozen=True)
class StandardProblem:
    """One test-set problem.  ``atol_ratio``: absolute tolerance per unit of rtol used with
    it (atol = atol_ratio x rtol); ``floor``: the size below which a component's error
    counts as absolute rather than relative; ``sparse_lu``: the ``(lu_factor, lu_solve)``
    pair generated for the Jacobian's pattern (``make_rodas``'s option), or None (dense)."""

    name: str
    rhs: object
    jac: object
    dfdt: object
    y0: np.ndarray
    t_end: float
    reference: np.ndarray
    atol_ratio: float
    floor: float
    sparse_lu: tuple | None = None

    def error(self, y: np.ndarray) -> float:
        """Max over components of |y - ref| / (|ref| + floor) at the end time."""
        return float(np.max(np.abs(y - self.reference) / (np.abs(self.reference) + self.floor)))


@njit(cache=True, error_model="numpy")
def no_dfdt(t, y, args, out):
    """The test problems are autonomous: df/dt = 0 (``out`` is zeroed by the solver)."""


# ------------------------------------------------------------------ HIRES (8 states)
@njit(cache=True, error_model="numpy")
def hires_rhs(t, y, args, f):
    """High Irradiance RESponse of plant morphogenesis (Schäfer 1975)."""
    f[0] = -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007
    f[1] = 1.71 * y[0] - 8.75 * y[1]
    f[2] = -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4]
    f[3] = 8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3]
    f[4] = -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6]
    f[5] = -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6]
    f[6] = 280.0 * y[5] * y[7] - 1.81 * y[6]
    f[7] = -280.0 * y[5] * y[7] + 1.81 * y[6]


@njit(cache=True, error_model="numpy")
def hires_jac(t, y, args, J):
    """Nonzero entries of df/dy."""
    J[0, 0], J[0, 1], J[0, 2] = -1.71, 0.43, 8.32
    J[1, 0], J[1, 1] = 1.71, -8.75
    J[2, 2], J[2, 3], J[2, 4] = -10.03, 0.43, 0.035
    J[3, 1], J[3, 2], J[3, 3] = 8.32, 1.71, -1.12
    J[4, 4], J[4, 5], J[4, 6] = -1.745, 0.43, 0.43
    J[5, 3], J[5, 4], J[5, 5], J[5, 6], J[5, 7] = 0.69, 1.71, -280.0 * y[7] - 0.43, 0.69, -280.0 * y[5]
    J[6, 5], J[6, 6], J[6, 7] = 280.0 * y[7], -1.81, 280.0 * y[5]
    J[7, 5], J[7, 6], J[7, 7] = -280.0 * y[7], 1.81, -280.0 * y[5]


# ------------------------------------------------------------------ ROBER (3 states)
@njit(cache=True, error_model="numpy")
def rober_rhs(t, y, args, f):
    """Robertson's autocatalytic reaction."""
    f[0] = -0.04 * y[0] + 1e4 * y[1] * y[2]
    f[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1]
    f[2] = 3e7 * y[1] * y[1]


@njit(cache=True, error_model="numpy")
def rober_jac(t, y, args, J):
    """Nonzero entries of df/dy."""
    J[0, 0], J[0, 1], J[0, 2] = -0.04, 1e4 * y[2], 1e4 * y[1]
    J[1, 0], J[1, 1], J[1, 2] = 0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]
    J[2, 1] = 6e7 * y[1]


# ------------------------------------------------------------------ POLLU (20 states, 25 reactions)
K = np.array(
    [
        0.35,
        26.6,
        1.23e4,
        8.6e-4,
        8.2e-4,
        1.5e4,
        1.3e-4,
        2.4e4,
        1.65e4,
        9e3,
        2.2e-2,
        1.2e4,
        1.88,
        1.63e4,
        4.8e6,
        3.5e-4,
        1.75e-2,
        1e8,
        4.44e11,
        1.24e3,
        2.1,
        5.78,
        4.74e-2,
        1.78e3,
        3.12,
    ]
)
# reaction j: rate K[j] * y[A[j]] (* y[B[j]] if B[j] >= 0), 0-based species
_A = np.array([0, 1, 4, 6, 6, 6, 8, 8, 10, 10, 12, 9, 13, 0, 2, 3, 3, 15, 15, 16, 18, 18, 0, 18, 19])
_B = np.array([-1, 3, 1, -1, -1, 5, -1, 5, 1, 0, -1, 1, -1, 5, -1, -1, -1, -1, -1, 5, -1, -1, 3, 0, -1])
# net stoichiometry: species i changes by S[i, j] per reaction j
_S = np.zeros((20, 25))
for _sp, _terms in enumerate(
    (
        "-1 -10 -14 -23 -24 +2 +3 +9 +11 +12 +22 +25",
        "-2 -3 -9 -12 +1 +21",
        "-15 +1 +17 +19 +22",
        "-2 -16 -17 -23 +15",
        "-3 +4 +4 +6 +7 +13 +20",
        "-6 -8 -14 -20 +3 +18 +18",
        "-4 -5 -6 +13",
        "+4 +5 +6 +7",
        "-7 -8",
        "-12 +7 +9",
        "-9 -10 +8 +11",
        "+9",
        "-11 +10",
        "-13 +12",
        "+14",
        "-18 -19 +16",
        "-20",
        "+20",
        "-21 -22 -24 +23 +25",
        "-25 +24",
    )
):
    for _t in _terms.split():
        _S[_sp, abs(int(_t)) - 1] += 1.0 if _t[0] == "+" else -1.0


@njit(cache=True, error_model="numpy")
def pollu_rhs(t, y, args, f):
    """Air-pollution chemistry of the Dutch RIVM model (Verwer 1994)."""
    r = np.empty(25)
    for j in range(25):
        r[j] = K[j] * y[_A[j]] * (y[_B[j]] if _B[j] >= 0 else 1.0)
    for i in range(20):
        s = 0.0
        for j in range(25):
            s += _S[i, j] * r[j]
        f[i] = s


@njit(cache=True, error_model="numpy")
def pollu_jac(t, y, args, J):
    """df/dy from the reaction rates' derivatives, summed into J after zeroing it (so it writes
    the same entries at every call, as ``make_rodas`` with a sparse LU requires)."""
    for i in range(20):
        for k in range(20):
            J[i, k] = 0.0
    for j in range(25):
        a, b = _A[j], _B[j]
        dra = K[j] * (y[b] if b >= 0 else 1.0)  # d r_j / d y_a
        drb = K[j] * y[a]  # d r_j / d y_b
        for i in range(20):
            if _S[i, j] != 0.0:
                J[i, a] += _S[i, j] * dra
                if b >= 0:
                    J[i, b] += _S[i, j] * drb


def pollu_pattern() -> list[tuple[int, int]]:
    """Nonzero (row, column) entries of POLLU's Jacobian: species i depends on reaction j's reactants."""
    return sorted(
        {(i, int(c)) for i in range(20) for j in range(25) if _S[i, j] != 0.0 for c in (_A[j], _B[j]) if c >= 0}
    )


LU_MODULE = "rasim/solver/_pollu_lu.py"


def pollu_lu_module() -> str:
    """Source of ``_pollu_lu.py``: the sparse LU of POLLU's iteration matrix (``sparse.lu_source``)."""
    from .sparse import lu_source

    head = (
        '"""Sparse LU of POLLU\'s iteration matrix E = d I - J. GENERATED by '
        "rasim.solver.testset.pollu_lu_module (sparse.lu_source): do not edit.\n\n"
        "Write it again with ``python -m rasim.solver.testset``.\n"
        '"""\n\n# fmt: off\nfrom numba import njit\n'
    )
    return head + lu_source(pollu_pattern(), 20) + "\n"


def _pollu_y0() -> np.ndarray:
    y0 = np.zeros(20)
    y0[[1, 3, 6, 7, 8, 16]] = 0.2, 0.04, 0.1, 0.3, 0.01, 0.007
    return y0


PROBLEMS = {
    "hires": StandardProblem(
        "hires",
        hires_rhs,
        hires_jac,
        no_dfdt,
        np.array([1.0, 0, 0, 0, 0, 0, 0, 0.0057]),
        321.8122,
        np.array(
            [
                0.7371312573325668e-3,
                0.1442485726316185e-3,
                0.5888729740967575e-4,
                0.1175651343283149e-2,
                0.2386356198831331e-2,
                0.6238968252742796e-2,
                0.2849998395185769e-2,
                0.2850001604814231e-2,
            ]
        ),
        1e-4,
        1e-12,
    ),
    "rober": StandardProblem(
        "rober",
        rober_rhs,
        rober_jac,
        no_dfdt,
        np.array([1.0, 0.0, 0.0]),
        1e11,
        np.array([0.2083340149701255e-7, 0.8333360770334713e-13, 0.9999999791665050]),
        1e-10,
        1e-20,
    ),
    "pollu": StandardProblem(
        "pollu",
        pollu_rhs,
        pollu_jac,
        no_dfdt,
        _pollu_y0(),
        60.0,
        np.array(
            [
                0.5646255480022769e-01,
                0.1342484130422339e00,
                0.4139734331099427e-08,
                0.5523140207484359e-02,
                0.2018977262302196e-06,
                0.1464541863493966e-06,
                0.7784249118997964e-01,
                0.3245075353396018e00,
                0.7494013383880406e-02,
                0.1622293157301561e-07,
                0.1135863833257075e-07,
                0.2230505975721359e-02,
                0.2087162882798630e-03,
                0.1396921016840158e-04,
                0.8964884856898295e-02,
                0.4352846369330103e-17,
                0.6899219696263405e-02,
                0.1007803037365946e-03,
                0.1772146513969984e-05,
                0.5682943292316392e-04,
            ]
        ),
        1e-4,
        1e-20,
        (_pollu_lu.lu_factor, _pollu_lu.lu_solve),
    ),
}
_KERNELS: dict = {}


def solve_rodas(problem: StandardProblem, rtol: float) -> tuple[int, np.ndarray, np.ndarray]:
    """rasim's rodas4 from 0 to the end time at ``rtol`` (atol = atol_ratio x rtol):
    (status code, y at t_end, stats int64[5])."""
    if problem.name not in _KERNELS:
        _KERNELS[problem.name] = make_rodas(
            problem.rhs, problem.jac, problem.dfdt, sparse_lu=problem.sparse_lu, n_states=problem.y0.size
        )
    n = problem.y0.size
    y_out = np.empty((1, n))
    stats = np.zeros(5, dtype=np.int64)
    code = _KERNELS[problem.name](
        0.0,
        problem.y0,
        np.zeros(0),
        np.array([problem.t_end]),
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
        np.zeros(0),
        rtol,
        np.full(n, problem.atol_ratio * rtol),
        0.0,
        np.inf,
        10_000_000,
        y_out,
        stats,
    )
    return code, y_out[0], stats


if __name__ == "__main__":  # write the generated sparse LU of POLLU
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / LU_MODULE
    path.write_text(pollu_lu_module())
    print(f"wrote {path}")
