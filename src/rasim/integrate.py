"""Bind the RA model to the generic solvers: one call, any backend.

The compiled kernels are built once here (closures over the model's compiled
functions, cached on disk by Numba); the scipy backends call the same
compiled right-hand side and Jacobian.  ``integrate_batch`` solves many
problems (the cohort's trials and day-0 replays) in one batch kernel per solver,
slices of the batch in threads (``in_threads``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import model
from .model import jacobian
from .solver import SolverOptions, Status, make_dopri5, make_rodas, solve_scipy
from .solver._driver import make_batch

KERNELS = {
    "rodas4": make_rodas(
        model.rhs,
        model.jac,
        model.dfdt,
        model.N_COUPLED,
        (jacobian.lu_factor, jacobian.lu_solve),
        model_nrt=False,  # the model never allocates: no reference counting on its calls
    ),
    "dopri5": make_dopri5(model.rhs),
}
BATCHES = {name: make_batch(solve) for name, solve in KERNELS.items()}
N_STATS = 5
PIECES_PER_THREAD = 8  # slices of a batch per thread, taken by the threads as they finish


@functools.cache
def lanes():
    """rodas4 in lockstep (``rasim.lockstep.make_lanes``), built at its first use: its generated
    kernels take about 45 ms to import, which ``import rasim`` and a single patient do not need."""
    from . import lockstep

    return lockstep.make_lanes(KERNELS["rodas4"].initial_step)


def integrate(
    options: SolverOptions,
    t0: float,
    y0: np.ndarray,
    args: np.ndarray,
    t_out: np.ndarray,
    ev_t: np.ndarray,
    ev_cmt: np.ndarray,
    ev_amt: np.ndarray,
) -> tuple[Status, np.ndarray, np.ndarray]:
    """Integrate the model; returns (status, states at t_out (m, n), stats int64[5]).

    ``options.atol`` is relative to each state's typical magnitude
    (``model.STATE_SCALE``)."""
    atol = options.atol_vector(model.N_STATES) * model.STATE_SCALE
    t_out = np.ascontiguousarray(t_out, dtype=np.float64)
    ev_t = np.ascontiguousarray(ev_t, dtype=np.float64)
    ev_cmt = np.ascontiguousarray(ev_cmt, dtype=np.int64)
    ev_amt = np.ascontiguousarray(ev_amt, dtype=np.float64)
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if options.method in KERNELS:
        y_out = np.empty((len(t_out), model.N_STATES))
        stats = np.zeros(N_STATS, dtype=np.int64)
        code = KERNELS[options.method](
            float(t0),
            y0,
            args,
            t_out,
            ev_t,
            ev_cmt,
            ev_amt,
            float(options.rtol),
            atol,
            float(options.h0),
            float(options.hmax),
            int(options.max_steps),
            y_out,
            stats,
        )
    else:
        code, y_out, stats = solve_scipy(
            model.rhs,
            t0,
            y0,
            args,
            t_out,
            ev_t,
            ev_cmt,
            ev_amt,
            options.rtol,
            atol,
            options.max_steps,
            method=options.method,
            jac=model.jac,
        )
    return Status(code), y_out, stats


def kernel_inputs(*arrays: np.ndarray, dtype: type = np.float64) -> tuple[np.ndarray, ...]:
    """Writable C-contiguous copies of kernel inputs: one compiled specialisation, whoever calls."""
    return tuple(np.array(a, dtype=dtype, order="C") for a in arrays)


_POOLS: dict[int, ThreadPoolExecutor] = {}  # by thread count, kept for the process's life
_POOLS_LOCK = threading.Lock()
_PREFIX = "rasim-slice"


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``threads`` worker threads (started once: a cohort calls
    ``in_threads`` about ten times a chunk)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix=_PREFIX)
        return _POOLS[threads]


def _forget_pools() -> None:
    """A forked child has none of its parent's worker threads: it starts pools of its own."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def in_threads(n: int, call: Callable[[slice], object], min_rows: int = 1) -> None:
    """``call(rows)`` on slices of ``range(n)`` (at least ``min_rows`` rows each, but the last) in
    ``numba.get_num_threads()`` threads.

    ``call`` runs a row-wise kernel compiled with ``nogil=True`` on those rows of its arrays:
    each row's result is the same whichever thread or slice ran it."""
    threads = min(numba.get_num_threads(), n)
    if threads <= 1 or threading.current_thread().name.startswith(_PREFIX):  # no pool waits on itself
        call(slice(0, n))
        return
    size = max(-(-n // (threads * PIECES_PER_THREAD)), min_rows)
    pool = _pool(threads)
    pieces = [pool.submit(call, slice(lo, lo + size)) for lo in range(0, n, size)]
    try:
        for piece in pieces:
            piece.result()
    except BaseException:  # an error or Ctrl-C: the slices not yet started are not run
        for piece in pieces:
            piece.cancel()
        raise


def integrate_batch(method, t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps):
    """Integrate k problems with ``method`` ("rodas4" or "dopri5"), in threads: (status (k,),
    states at t_out (k, m, n), stats (k, N_STATS)).

    Per problem: y0 (k, n), args (k, L), event amounts ev_amt (k, ne); shared: t_out, the event
    days ev_t and states ev_cmt, and the absolute tolerances atol (n,)."""
    k, n = y0.shape
    y = np.empty((k, len(t_out), n))
    status = np.empty(k, dtype=np.int64)
    stats = np.zeros((k, N_STATS), dtype=np.int64)
    fresh = args
    y0, args, t_out, ev_t, ev_amt, atol = kernel_inputs(y0, args, t_out, ev_t, ev_amt, atol)
    (ev_cmt,) = kernel_inputs(ev_cmt, dtype=np.int64)
    solve, t0, rtol, max_steps = BATCHES[method], float(t0), float(rtol), int(max_steps)

    def in_lanes(r: slice) -> None:
        lockstep.integrate_rows(
            lanes(), solve, t0, y0[r], args[r], fresh[r], t_out, ev_t, ev_cmt, ev_amt[r], rtol, atol, max_steps,
            y[r], stats[r], status[r],
        )  # fmt: skip

    def rows(r: slice) -> None:
        solve(
            t0,
            y0[r],
            args[r],
            t_out,
            ev_t,
            ev_cmt,
            ev_amt[r],
            rtol,
            atol,
            0.0,
            np.inf,
            max_steps,
            y[r],
            stats[r],
            status[r],
        )

    if method == "rodas4" and k > 1:
        from . import lockstep

        if k >= lockstep.MIN_ROWS * numba.get_num_threads() and lockstep.available(lanes()):
            in_threads(k, in_lanes, lockstep.MIN_ROWS)  # slices that keep the lanes busy
            return status, y, stats
    in_threads(k, rows)
    return status, y, stats
