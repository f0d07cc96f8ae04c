"""Lockstep RODAS4: LANES patients stepped together, every lane the scalar driver's arithmetic.

The cohort's kernel (``integrate.BATCHES["rodas4"]``) steps one patient at a time; within a
step its arithmetic is scalar.  ``run_lanes`` keeps LANES patients in flight: the stages, the
Jacobian, the sparse LU, the solves and the error norm run for all lanes at once in the
generated lane kernels (``rasim.model.lanes``, which LLVM vectorises across the lanes), while
each lane keeps its own step size, outputs, bolus events, breakpoints and step memory, exactly
as the scalar ``run_batch`` does (``rasim.solver._driver``).  A lane takes the next patient when
its own finishes.  Whatever the lanes would do differently from the scalar driver (the sparse
LU's small-pivot fallback, a non-finite value, ``max_steps``, a step too small, bad input) hands
the patient back with ``RERUN``, and ``integrate_rows`` runs those through the scalar kernel.
So every patient's outputs, status and counts equal the scalar kernel's bit for bit
(``tests/test_lockstep.py``), whichever path ran it.

``integrate.integrate_batch`` uses the lanes for ``"rodas4"`` when ``available()`` and every thread
gets at least ``MIN_ROWS`` problems (fewer leave lanes idle: the scalar kernel is faster there):
``RASIM_LOCKSTEP=0`` never, ``1`` always (compiling them in this process if needed, about 45 s),
unset ("auto") once they are in the kernel cache.  On a cold cache the warm-up's helper process
compiles them (``cohort.compile_helper``), so a first run uses the scalar kernel and later runs
the lanes; the results are the same either way.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

from .errors import RasimError
from .model import forcing
from .model import lanes as L
from .solver._driver import (
    FAC_MIN,
    H_REL_MIN,
    MEMORY,
    MEMORY_GROWTH,
    NO_NRT,
    SAFETY,
    check_inputs,
    memory_floor,
    pin_uuids,
)
from .solver.rodas import C2, C3, C4, FAC_MAX, GAMMA, ORDER

ENV = "RASIM_LOCKSTEP"
RERUN = -2  # a lane's status: run this patient through the scalar kernel
B, N, NA, ROWS = L.LANES, L.N, L.NA, L.ROWS
# rows per thread's slice below which the scalar kernel is faster: with r rows, each lane runs about
# r / B patients one after another and idles for about half a patient at the end
MIN_ROWS = 2 * B
U0, NU = forcing.U_START, 2 * forcing.N_FORCINGS
EXPO = 1.0 / ORDER  # the scalar driver's controller (beta 0: no PI term)
RP, RY, RYS, RD, RF0, RFT, RK1, RYN, RX = L.R_P, L.R_Y, L.R_YS, L.R_D, L.R_F0, L.R_FT, L.R_K1, L.R_YN, L.R_X
RAT, RDG, RCODE, RHS, RHI, RRT, RERR = L.R_AT, L.R_DG, L.R_CODE, L.R_HS, L.R_HI, L.R_RT, L.R_ERR


def registry_matches() -> bool:
    """Whether the lane kernels' unrolled drug effects are the registry's (not when a drug was
    registered from outside the package after they were generated)."""
    return (
        forcing.EFFECT_ROWS.tolist() == L.EFFECT_ROWS
        and forcing.HOOK_STARTS.tolist() == L.HOOK_STARTS
        and forcing.T_EVALUATED == NA
    )


@njit(cache=True, error_model="numpy", **NO_NRT)
def _copy(W, dst, src):
    for i in range(N):
        for ln in range(B):
            W[(dst + i) * B + ln] = W[(src + i) * B + ln]


@njit(cache=True, error_model="numpy", **NO_NRT)
def _forcing(W, args, pid, tl, live):
    """u and du/dt of every live lane at its day tl[ln] into the lanes' P rows."""
    for ln in range(B):
        if live[ln]:
            a = args[pid[ln]]
            forcing.evaluate(tl[ln], a)
            for k in range(NU):
                W[(RP + U0 + k) * B + ln] = a[U0 + k]


@njit(cache=True, error_model="numpy", **NO_NRT)
def _stage_rhs(W, args, pid, live, t, c):
    """Rates at (t + c h, YS) of every lane into D; ``t`` (2B,) holds the lanes' days, then room
    for the stage's days."""
    tl = t[B:]
    for ln in range(B):
        tl[ln] = t[ln] + c * W[RHS * B + ln]
    _forcing(W, args, pid, tl, live)
    L.rates(W)


def make_lanes(initial_step):
    """The lockstep driver around the scalar driver's own starting-step estimate
    (``make_driver``'s ``solve.initial_step``: Hairer's HINIT)."""

    @njit(cache=True, error_model="numpy", **NO_NRT)
    def first_step(t, W, ln, args, rtol, atol, hmax, y, f0, y1, f1, stats):
        """``initial_step`` for lane ln, its y and f0 copied out of W."""
        for i in range(N):
            y[i] = W[(RY + i) * B + ln]
            f0[i] = W[(RF0 + i) * B + ln]
        return initial_step(t, y, args, f0, rtol, atol, hmax, y1, f1, stats)

    @njit(cache=True, error_model="numpy", **NO_NRT)
    def attempt(W, args, pid, live, t, status):
        """One RODAS4 attempt in every lane: the stages into K1..K6, the step's end into YN,
        the error norm into ERR; a lane whose LU the scalar driver would redo densely is handed back."""
        L.lu_factor(W)
        for ln in range(B):
            if live[ln] and W[RCODE * B + ln] != 0.0:
                status[pid[ln]], pid[ln], live[ln] = RERUN, -1, False
        for s in range(6):
            if s == 1:
                L.ys2(W)
                _stage_rhs(W, args, pid, live, t, C2)
                L.stage2(W)
            elif s == 2:
                L.ys3(W)
                _stage_rhs(W, args, pid, live, t, C3)
                L.stage3(W)
            elif s == 3:
                L.ys4(W)
                _stage_rhs(W, args, pid, live, t, C4)
                L.stage4(W)
            elif s == 4:
                L.ys5(W)
                _stage_rhs(W, args, pid, live, t, 1.0)
                L.stage5(W)
            elif s == 5:
                L.ys6(W)
                _stage_rhs(W, args, pid, live, t, 1.0)
                L.stage6(W)
            else:
                L.stage1(W)
            L.lu_solve(W)
            _copy(W, RK1 + s * N, RX)
        L.step_end(W)
        L.error_norm(W)

    @njit(cache=True, error_model="numpy", nogil=True, **NO_NRT)
    def run_lanes(
        t0,
        y0,
        args,
        t_out,
        ev_t,
        ev_cmt,
        ev_amt,
        rtol,
        atol,
        max_steps,
        y_out,
        stats,
        status,
        W,
        mem,
        ist,
        bst,
        fst,
        sc,
    ):
        """Integrate every row like the scalar ``run_batch`` with h0 = 0 and hmax = inf, B rows
        at a time; a row the lanes cannot finish exactly as the scalar driver would gets ``RERUN``.
        Work arrays: W (ROWS * B,), mem (B, 2, 2, MEMORY), ist int64 (8, B), bst bool (5, B),
        fst (4, 2B: the lanes' days t, then a stage's; h; t_stop; the last breakpoint), sc (4, N)."""
        npat = y0.shape[0]
        m, ne = t_out.shape[0], ev_t.shape[0]
        hmax = np.inf
        pid, k, j, need, n_steps, cur, n_cur, n_prev = ist[0], ist[1], ist[2], ist[3], ist[4], ist[5], ist[6], ist[7]
        reject, use_floor, clipped, outer, live = bst[0], bst[1], bst[2], bst[3], bst[4]
        t, h, t_stop, t_bp = fst[0], fst[1], fst[2], fst[3]
        ys, f0s, y1s, f1s = sc[0], sc[1], sc[2], sc[3]
        for ln in range(B):
            pid[ln] = -1
        for i in range(ROWS * B):
            W[i] = 0.0
        for ln in range(B):
            W[RRT * B + ln] = rtol
            for i in range(N):
                W[(RAT + i) * B + ln] = atol[i]
        nxt = 0
        while True:
            # lanes to their next attempt: load patients into free lanes, outputs, events, breakpoints
            for ln in range(B):
                while True:
                    if pid[ln] < 0:
                        pid[ln] = -1
                        while nxt < npat:
                            p = nxt
                            nxt += 1
                            for kk in range(m):
                                for i in range(N):
                                    y_out[p, kk, i] = np.nan
                            for i in range(stats.shape[1]):
                                stats[p, i] = 0
                            code = check_inputs(
                                t0, y0[p], t_out, ev_t, ev_cmt, ev_amt[p], rtol, atol, 0.0, hmax, max_steps,
                                y_out[p], stats[p],
                            )  # fmt: skip
                            if code != 0 or y0.shape[1] != N:
                                status[p] = RERUN
                                continue
                            pid[ln] = p
                            for i in range(N):
                                W[(RY + i) * B + ln] = y0[p, i]
                            for i in range(NA):
                                W[(RP + i) * B + ln] = args[p, i]
                            t[ln], h[ln] = t0, 0.0
                            need[ln], n_steps[ln], k[ln], j[ln] = 2, 0, 0, 0
                            cur[ln], n_cur[ln], n_prev[ln], t_bp[ln], use_floor[ln] = 0, 0, 0, np.nan, False
                            reject[ln], outer[ln] = False, True
                            break
                        if pid[ln] < 0:
                            break
                    p = pid[ln]
                    if outer[ln]:
                        while k[ln] < m and t_out[k[ln]] == t[ln]:
                            for i in range(N):
                                y_out[p, k[ln], i] = W[(RY + i) * B + ln]
                            k[ln] += 1
                        if k[ln] == m:
                            status[p] = 0
                            pid[ln] = -1
                            continue
                        while j[ln] < ne and ev_t[j[ln]] == t[ln]:
                            W[(RY + ev_cmt[j[ln]]) * B + ln] += ev_amt[p, j[ln]]
                            j[ln] += 1
                            need[ln] = 2
                            if ev_amt[p, j[ln] - 1] == 0.0:
                                h[ln] = 0.0
                                if t[ln] != t_bp[ln]:
                                    cur[ln], n_prev[ln], n_cur[ln], t_bp[ln], use_floor[ln] = (
                                        1 - cur[ln],
                                        n_cur[ln],
                                        0,
                                        t[ln],
                                        n_cur[ln] > 0,
                                    )
                        t_stop[ln] = t_out[k[ln]]
                        if j[ln] < ne and ev_t[j[ln]] < t_stop[ln]:
                            t_stop[ln] = ev_t[j[ln]]
                        reject[ln] = False
                        outer[ln] = False
                    if t[ln] < t_stop[ln]:
                        break
                    outer[ln] = True
            any_live = False
            any_need = False
            for ln in range(B):
                live[ln] = pid[ln] >= 0
                any_live = any_live or live[ln]
                any_need = any_need or (live[ln] and need[ln] != 0)
            if not any_live:
                break
            # f, J and df/dt at (t, y) (every live lane: a lane that did not need them gets the same values)
            if any_need:
                _copy(W, RYS, RY)
                _forcing(W, args, pid, t, live)
                L.rates(W)
                _copy(W, RF0, RD)
                L.jac_y(W)
                for i in range(N * B):
                    W[RFT * B + i] = 0.0
                L.jac_u(W)
                for ln in range(B):
                    if live[ln] and need[ln] != 0:
                        p = pid[ln]
                        stats[p, 2] += 1
                        stats[p, 3] += 1
                        need[ln] = 0
                        for i in range(N):
                            if not np.isfinite(W[(RF0 + i) * B + ln]):
                                status[p] = RERUN
                                pid[ln] = -1
                                live[ln] = False
                                break
            # each lane's step size
            for ln in range(B):
                W[RHS * B + ln] = 1.0
                if not live[ln]:
                    continue
                p = pid[ln]
                if h[ln] == 0.0:
                    h[ln] = first_step(t[ln], W, ln, args[p], rtol, atol, hmax, ys, f0s, y1s, f1s, stats[p])
                if n_steps[ln] >= max_steps:
                    status[p], pid[ln], live[ln] = RERUN, -1, False
                    continue
                if use_floor[ln] and not reject[ln]:
                    h[ln] = min(max(h[ln], memory_floor(mem[ln], 1 - cur[ln], n_prev[ln], t[ln] - t_bp[ln])), hmax)
                if not h[ln] > H_REL_MIN * abs(t[ln]):
                    status[p], pid[ln], live[ln] = RERUN, -1, False
                    continue
                clipped[ln] = t[ln] + 1.0001 * h[ln] >= t_stop[ln]
                W[RHS * B + ln] = t_stop[ln] - t[ln] if clipped[ln] else h[ln]
                stats[p, 4] += 1
            for ln in range(B):
                W[RDG * B + ln] = 1.0 / (W[RHS * B + ln] * GAMMA)
                W[RHI * B + ln] = 1.0 / W[RHS * B + ln]
            attempt(W, args, pid, live, t, status)
            # error norm and step control per lane
            for ln in range(B):
                if not live[ln]:
                    continue
                p = pid[ln]
                stats[p, 2] += 5
                err = W[RERR * B + ln]
                n_steps[ln] += 1
                if not np.isfinite(err):
                    status[p], pid[ln] = RERUN, -1
                    continue
                h_step = W[RHS * B + ln]
                fac11 = err**EXPO
                if err <= 1.0:
                    fac = max(1.0 / FAC_MAX, min(1.0 / FAC_MIN, fac11 / SAFETY))
                    hnew = h_step / fac
                    if reject[ln]:
                        hnew = min(hnew, h_step)
                    if clipped[ln]:
                        hnew = max(hnew, h[ln])
                    if n_cur[ln] < MEMORY and not clipped[ln] and t_bp[ln] == t_bp[ln]:
                        mem[ln, cur[ln], 0, n_cur[ln]] = t[ln] - t_bp[ln]
                        mem[ln, cur[ln], 1, n_cur[ln]] = h_step * min(SAFETY / fac11, MEMORY_GROWTH)
                        n_cur[ln] += 1
                    t[ln] = t_stop[ln] if clipped[ln] else t[ln] + h_step
                    for i in range(N):
                        W[(RY + i) * B + ln] = W[(RYN + i) * B + ln]
                    h[ln] = min(hnew, hmax)
                    stats[p, 0] += 1
                    need[ln] = 1
                    reject[ln] = False
                else:
                    stats[p, 1] += 1
                    h[ln] = h_step / min(1.0 / FAC_MIN, fac11 / SAFETY)
                    reject[ln], use_floor[ln] = True, False

    pin_uuids(run_lanes)
    return run_lanes


def mode() -> str:
    """``RASIM_LOCKSTEP``: "0" (never), "1" (always) or "auto" (unset: once compiled)."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in ("0", "1", "auto"):
        raise RasimError(f"{ENV} must be 0 (scalar kernel only), 1 (lanes always) or auto, got {value!r}")
    return value


def compiled(run_lanes) -> bool:
    """Whether ``run_lanes`` is compiled in this process or its machine code is in the cache."""
    if run_lanes.signatures:
        return True
    try:
        return os.path.exists(run_lanes._cache._cache_file._index_path)
    except AttributeError:  # another Numba's internals
        return False


def available(run_lanes) -> bool:
    """Whether ``integrate_batch`` runs rodas4 through the lanes now (see the module docstring)."""
    m = mode()
    return m != "0" and registry_matches() and (m == "1" or compiled(run_lanes))


def work_arrays() -> tuple[np.ndarray, ...]:
    """``run_lanes``'s work arrays: W, mem, ist, bst, fst, sc."""
    return (
        np.empty(ROWS * B),
        np.zeros((B, 2, 2, MEMORY)),
        np.zeros((8, B), dtype=np.int64),
        np.zeros((5, B), dtype=np.bool_),
        np.zeros((4, 2 * B)),
        np.zeros((4, N)),
    )


def integrate_rows(
    run_lanes, scalar, t0, y0, args, fresh, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y, stats, status
):
    """Rows ``y0`` (k, n) through the lanes into ``y``, ``stats``, ``status``; those handed back
    (``RERUN``) through ``scalar`` (``integrate.BATCHES["rodas4"]``) from ``fresh``, their
    ``args`` rows as the caller gave them (the lanes have used ``args``' scratch slots)."""
    run_lanes(t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y, stats, status, *work_arrays())
    back = np.flatnonzero(status == RERUN)
    if back.size:
        yb, sb = np.empty((back.size,) + y.shape[1:]), np.zeros((back.size, stats.shape[1]), dtype=np.int64)
        cb = np.empty(back.size, dtype=np.int64)
        a, eb, y0b = (np.array(x[back], dtype=np.float64) for x in (fresh, ev_amt, y0))
        scalar(t0, y0b, a, t_out, ev_t, ev_cmt, eb, rtol, atol, 0.0, np.inf, max_steps, yb, sb, cb)
        y[back], stats[back], status[back] = yb, sb, cb
