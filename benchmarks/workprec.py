"""Work-precision sweep: every method at several tolerances on the same patients,
each point's error against a tight scipy Radau reference, and speed ratios read
at equal achieved error.

* error of a run: max over the error sample's patients, output days and states
  of |y - y_ref| / (|y_ref| + ERROR_FLOOR * s), s = ``model.STATE_SCALE``
  (relative error; states below 0.1 % of their typical magnitude count by
  absolute error), inf if any patient failed;
* cost: seconds per patient with all cores busy; all methods solve the same
  patients, taking turns at each tolerance, best time of the rounds;
* ratio at equal error: on each method's Pareto front (no point both slower and
  less accurate than another), log(seconds per patient) is interpolated
  linearly in log(error); the ratio peer / rasim is read at rasim's front
  points inside the peer's error range (no extrapolation);
* a family of methods (diffrax's solvers) is also compared through the lower
  envelope of its members' fronts: at each of rasim's front points, the
  cheapest member whose front covers that error (``envelope_ratios``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from rasim import model

from cases import Problems

TOLERANCES = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
QUICK_TOLERANCES = (1e-4, 1e-6, 1e-8)
REFERENCE_RTOL = 1e-11
ERROR_FLOOR = 1e-3


@dataclass
class Point:
    """One (method, rtol) run: error (dimensionless), seconds for ``patients`` patients."""

    rtol: float
    error: float
    seconds: float
    patients: int
    rounds: int
    failures: int

    @property
    def per_patient(self) -> float:
        """Seconds per patient with all cores busy."""
        return self.seconds / self.patients

    def as_dict(self) -> dict:
        return {**asdict(self), "patients_per_s": self.patients / self.seconds}


def error(y: np.ndarray, ref: np.ndarray) -> float:
    """Max relative error of states y (N, m, n) against ref (N, m, n); inf if any is not finite."""
    if not np.all(np.isfinite(y)):
        return math.inf
    return float(np.max(np.abs(y - ref) / (np.abs(ref) + ERROR_FLOOR * model.STATE_SCALE)))


def reference(prob: Problems):
    """States of ``prob`` by scipy Radau at REFERENCE_RTOL, and its error against
    rasim rodas4 at the same tolerance (a check of the reference itself)."""
    from peer_scipy import Scipy
    from solvers import solve_rasim

    radau = Scipy("Radau")
    radau.breakpoints = True  # restart at every kink of the MTX forcing: accuracy first
    out = radau.solve(prob, REFERENCE_RTOL)
    if np.any(out.status != 0):
        raise RuntimeError("the scipy Radau reference failed for some patients")
    check = error(solve_rasim("rodas4", prob, REFERENCE_RTOL).y, out.y)
    return out.y, check


def timed(method, prob: Problems, rtol: float, min_seconds: float, max_repeats: int = 20):
    """Best wall time (s) of back-to-back solves (until ``min_seconds`` spent) and the last output."""
    best, spent, repeats, out = math.inf, 0.0, 0, None
    while repeats < max_repeats and (repeats == 0 or spent < min_seconds):
        t = time.perf_counter()
        out = method.solve(prob, rtol)
        dt = time.perf_counter() - t
        best, spent, repeats = min(best, dt), spent + dt, repeats + 1
    return best, out


def sweep(
    methods: list, prob: Problems, ref: np.ndarray, tolerances, rounds: int, min_seconds: float, log=print
) -> tuple[dict, dict]:
    """Every method at every tolerance on the same patients: ({name: [Point]}, {name: reason failed}).

    At each tolerance the methods take turns, ``rounds`` times, so a change in the
    machine's load (other jobs) hits them alike; each keeps its best time."""
    points, failed, active = {m.name: [] for m in methods}, {}, []
    for m in methods:
        if _attempt(m, failed, log, m.warm, prob):
            active.append(m)
    for rtol in tolerances:
        best, outs, solved = {}, {}, {}
        for _ in range(rounds):
            for m in [m for m in active if m.name not in failed]:
                got = _attempt(m, failed, log, timed, m, prob, rtol, min_seconds)
                if got:
                    best[m.name], outs[m.name] = min(best.get(m.name, math.inf), got[0]), got[1]
                    solved[m.name] = prob.n * getattr(m, "copies", 1)  # rasim solves a repeated batch
        for name, out in outs.items():
            if name not in failed:
                points[name].append(
                    Point(rtol, error(out.y, ref), best[name], solved[name], rounds, int(np.count_nonzero(out.status)))
                )
    return {k: v for k, v in points.items() if k not in failed}, failed


def _attempt(method, failed: dict, log, fn, *args):
    """``fn(*args)``, or None with ``failed[method.name]`` set (a peer that breaks is reported, never dropped)."""
    try:
        return fn(*args) or True
    except Exception as exc:  # noqa: BLE001
        failed[method.name] = f"failed while running: {type(exc).__name__}: {exc}"
        log(f"  {method.name:12s} MISSING: {failed[method.name]}")
        return None


def front(points: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    """Pareto front as (log10 error, log10 seconds per patient), error ascending, cost descending."""
    good = sorted(
        (p for p in points if math.isfinite(p.error) and p.error > 0 and p.failures == 0), key=lambda p: p.error
    )
    le, lt = [], []
    for p in good:
        if not lt or math.log10(p.per_patient) < lt[-1]:
            le.append(math.log10(p.error))
            lt.append(math.log10(p.per_patient))
    return np.array(le), np.array(lt)


def ratios(base: list[Point], peer: list[Point]) -> list[tuple[float, float]]:
    """(error, peer seconds / base seconds per patient) at ``base``'s front points within ``peer``'s
    front error range; empty if the ranges do not overlap."""
    be, bt = front(base)
    pe, pt = front(peer)
    if pe.size == 0:
        return []
    out = []
    for e, t in zip(be, bt):
        if pe[0] <= e <= pe[-1]:
            out.append((10.0**e, 10.0 ** (np.interp(e, pe, pt) - t)))
    return out


def envelope_ratios(base: list[Point], peers: dict[str, list[Point]]) -> list[tuple[float, float, str]]:
    """(error, ratio, member) against the lower envelope of several methods' Pareto fronts: at each of
    ``base``'s front points, the smallest ``ratios`` value over the members whose front error range
    holds it, and which member that is; no point where none does."""
    per = {name: dict(ratios(base, pts)) for name, pts in peers.items()}
    out = []
    for e in sorted({e for levels in per.values() for e in levels}):
        name = min((n for n in per if e in per[n]), key=lambda n: per[n][e])
        out.append((e, per[name][e], name))
    return out
