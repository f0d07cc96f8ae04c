"""Work-precision on the standard stiff test problems (HIRES, ROBER, POLLU).

Every method integrates each problem of ``rasim.solver.testset`` from 0 to its
end time at rtol 1e-4 ... 1e-10 with atol = ``atol_ratio`` x rtol, one solve at
a time on one core; error = max over components of |y - ref| / (|ref| + floor)
against the test set's published reference solution; cost = best wall time of
repeated solves, the methods taking turns (``ROUNDS`` turns at each tolerance,
``min_seconds`` spent in all).  Methods: rasim rodas4 (generic API, the kernel
compiled for the problem's size; dense LU, for POLLU the sparse LU generated
for its Jacobian pattern), scipy ``solve_ivp`` Radau / BDF / LSODA and ``odeint`` with the
same compiled RHS and analytic Jacobian, numbalsoda LSODA (RHS as a Numba
``cfunc``; numbalsoda takes no Jacobian, it builds one by finite differences).
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import carray, cfunc

from rasim.solver.testset import PROBLEMS, solve_rodas

from workprec import Point, ratios

TOLERANCES = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
QUICK_TOLERANCES = (1e-4, 1e-6, 1e-8, 1e-10)
MXSTEP = 10_000_000
ROUNDS = 3  # turns each method takes at each tolerance
_NO_ARGS = np.zeros(0)


def _scipy(method: str):
    """A solve(problem, rtol) -> y_end with solve_ivp(method) or odeint, compiled RHS + Jacobian."""
    from scipy.integrate import odeint, solve_ivp

    def solve(p, rtol):
        n = p.y0.size

        def fun(t, y):
            d = np.empty(n)
            p.rhs(t, y, _NO_ARGS, d)
            return d

        def jac(t, y):
            out = np.zeros((n, n))
            p.jac(t, y, _NO_ARGS, out)
            return out

        atol = p.atol_ratio * rtol
        if method == "odeint":
            ys, info = odeint(
                fun, p.y0, [0.0, p.t_end], Dfun=jac, rtol=rtol, atol=atol, tfirst=True, mxstep=MXSTEP, full_output=True
            )
            return ys[-1] if info["message"] == "Integration successful." else np.full(n, np.nan)
        sol = solve_ivp(fun, (0.0, p.t_end), p.y0, method=method, rtol=rtol, atol=atol, jac=jac, t_eval=[p.t_end])
        return sol.y[:, -1] if sol.success else np.full(n, np.nan)

    return solve


def _numbalsoda():
    """solve(problem, rtol) -> y_end with numbalsoda's lsoda (no Jacobian input), or the reason it is missing."""
    try:
        from numbalsoda import lsoda
    except Exception as exc:  # noqa: BLE001
        return f"numbalsoda not importable ({type(exc).__name__}: {exc})"
    funcs = {}

    def make(p):
        n, rhs = p.y0.size, p.rhs

        @cfunc("void(float64, CPointer(float64), CPointer(float64), CPointer(float64))")
        def f(t, u, du, data):
            rhs(t, carray(u, (n,)), carray(data, (0,)), carray(du, (n,)))

        return f

    def solve(p, rtol):
        if p.name not in funcs:
            funcs[p.name] = make(p)
        usol, ok = lsoda(
            funcs[p.name].address, p.y0.copy(), np.array([0.0, p.t_end]), np.zeros(1), rtol, p.atol_ratio * rtol, MXSTEP
        )
        return usol[-1] if ok else np.full(p.y0.size, np.nan)

    return solve


def methods() -> tuple[dict, dict]:
    """({name: solve(problem, rtol) -> y_end}, {name: reason missing})."""
    found = {"rasim-rodas4": lambda p, rtol: solve_rodas(p, rtol)[1]}
    found.update({f"scipy-{m.lower()}": _scipy(m) for m in ("Radau", "BDF", "LSODA", "odeint")})
    nbl = _numbalsoda()
    missing = {}
    if isinstance(nbl, str):
        missing["numbalsoda"] = nbl
    else:
        found["numbalsoda"] = nbl
    return found, missing


def run(tolerances=TOLERANCES, min_seconds: float = 0.2, log=print, rounds: int = ROUNDS) -> dict:
    """Every method on every problem and tolerance: points, ratios at equal error, missing peers.

    At each tolerance the methods take turns, ``rounds`` times, each repeating its solve for
    ``min_seconds / rounds`` per turn, and keep their best time: a change in the machine's
    load hits them alike (as in ``workprec.sweep``)."""
    found, missing = methods()
    out = {"points": {}, "ratios": {}, "missing": missing}
    for name, p in PROBLEMS.items():
        pts = {m: [] for m in found}
        for solve in found.values():
            solve(p, 1e-4)  # compile / warm
        for rtol in tolerances:
            best, last = dict.fromkeys(found, math.inf), {}
            for _ in range(rounds):
                for m, solve in found.items():
                    spent = 0.0
                    while spent < min_seconds / rounds:
                        t = time.perf_counter()
                        last[m] = solve(p, rtol)
                        dt = time.perf_counter() - t
                        best[m], spent = min(best[m], dt), spent + dt
            for m, y in last.items():
                err = p.error(y) if np.all(np.isfinite(y)) else math.inf
                pts[m].append(Point(rtol, err, best[m], 1, rounds, int(not math.isfinite(err))))
        out["points"][name] = pts
        out["ratios"][name] = {m: ratios(pts["rasim-rodas4"], v) for m, v in pts.items() if m != "rasim-rodas4"}
        _print(name, pts, out["ratios"][name], log)
    return out


def _print(name: str, pts: dict, rat: dict, log) -> None:
    """One problem's table (ms per solve / error) and rodas4's speed ratios at equal error."""
    log(f"  {name}: ms per solve / achieved error")
    for m, ps in pts.items():
        log(f"    {m:14s} " + "  ".join(f"{p.rtol:.0e}: {1e3 * p.seconds:8.3f} / {p.error:.1e}" for p in ps))
    for m, levels in rat.items():
        text = ", ".join(f"{r:.2f}x @ {e:.0e}" for e, r in levels) or "no overlap of achieved errors"
        log(f"    rodas4 vs {m:14s} {text}")


if __name__ == "__main__":
    run()
