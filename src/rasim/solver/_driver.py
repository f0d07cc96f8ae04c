"""Shared machinery of the compiled one-step solvers (rodas4, dopri5).

``make_driver`` builds the ``solve`` kernel (outputs, bolus events, step-size
control, status codes) around a method-specific pair of closures:

* ``prepare(t, y, args, ws, wm, after_step, stats) -> int`` stores derivative
  information at (t, y) in the work arrays; ``ws[0]`` must hold f(t, y)
  afterwards. ``after_step`` is True when (t, y) is the end point of the step
  just accepted (allows FSAL re-use). Returns a status code.
* ``attempt(t, h, y, args, rtol, atol, ws, wm, piv, ynew, stats) -> (int, float)``
  tries one step of size h from (t, y) into ``ynew`` and returns
  (status code, scaled error norm); the step is acceptable when the norm <= 1.

The last row of ``ws`` is scratch space that ``prepare`` must not use.

Step-size memory: a periodic forcing (weekly doses) makes the same transient
after every breakpoint, and the controller, growing h by at most ``fac_max``
per step, lags it each time.  The driver remembers the accepted steps of the
last breakpoint interval against the time since its breakpoint and uses them
as a floor of the next interval's proposals at the same phase; error control
stays on, and after any rejection the floor is dropped until the next
breakpoint.

Reference counting: ``solve`` allocates the work arrays and hands them to
``run_batch`` (one problem; ``make_batch``'s Python wrapper allocates them for a
batch of problems), whose integration loop, like the method closures and
the dense LU, is compiled with Numba's ``_nrt=False``: it allocates nothing, and no array
view it takes (a row of the work arrays, a slice) costs the atomic increment
and decrement of the parent's reference count that Numba otherwise emits;
those were about 60 % of a step of a small system.  The model's functions are
called through ``with_nrt`` wrappers, so they may allocate as usual.  The
arithmetic is unchanged (results bit for bit).

Caching of the model-specific kernels: numba keys the on-disk cache of a
closure on a pickle of its closure variables, and a pickled dispatcher
contains a random per-process uuid, so closures over jitted functions would
be recompiled in every new process. ``pin_uuids`` replaces those uuids with
ones derived from the function's module, name, bytecode and source-file stamp
(the same staleness rule as numba's own cache), which makes the cache hit.

``pin_uuids`` also appends that digest to a closure's ``__qualname__`` before it is first
compiled.  Numba names a compiled function by its qualified name and a counter of the process
that compiled it, and the closures of one factory share a qualified name (every
``make_driver.<locals>.run_batch``); two of them compiled in different processes with the same
counter value then carried one symbol name, and a process that loaded both from the cache
linked the second one's callers to the first one's code (``tests/test_cache.py`` reproduces
it; it fits two CI runs in which one worker's dopri5 solves all returned BAD_INPUT, the shape
check rodas4's ``run_batch`` makes on dopri5's work arrays).  With the digest in the name,
different closures never share a symbol.
"""

import hashlib
import inspect
import os
import uuid
from typing import Any

import numpy as np
from numba import njit
from numba.core.dispatcher import Dispatcher
from numba.extending import register_jitable

from .status import Status

_SUCCESS = int(Status.SUCCESS)
_MAX_STEPS = int(Status.MAX_STEPS)
_STEP_TOO_SMALL = int(Status.STEP_TOO_SMALL)
_NONFINITE = int(Status.NONFINITE)
_BAD_INPUT = int(Status.BAD_INPUT)
_RUNNING = -1  # run_batch: no status code yet

SAFETY = 0.9  # safety factor of the step-size controller
FAC_MIN = 0.2  # smallest allowed ratio h_new / h
H_REL_MIN = 1e-14  # a step below H_REL_MIN * |t| is "too small"
MAX_RETRIES = 5  # consecutive singular / non-finite attempts before giving up
N_STATS = 5  # accepted, rejected, rhs evaluations, jacobian evaluations, LU factorisations
MEMORY = 64  # accepted steps remembered per breakpoint interval (step-size memory)
MEMORY_GROWTH = 20.0  # largest ratio of a remembered step size to the step actually taken

# Numba's (private) ``_nrt`` option: the solver's own kernels allocate nothing and are compiled
# without reference counting (see ``make_driver``); the model's functions are called through
# ``with_nrt``.  Passed as a mapping: Numba's type stubs do not list the option.
NO_NRT: dict[str, Any] = {"_nrt": False}
WITH_NRT: dict[str, Any] = {"_nrt": True}


@njit(cache=True, error_model="numpy", **NO_NRT)
def all_finite(x):
    """True if every entry of the 1-D array ``x`` is finite."""
    for v in x:
        if not np.isfinite(v):
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _is_sorted(x):
    """True if the 1-D array ``x`` is nondecreasing."""
    for i in range(1, x.shape[0]):
        if x[i] < x[i - 1]:
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def check_inputs(t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, h0, hmax, max_steps, y_out, stats):
    """Return BAD_INPUT if the arguments of ``solve`` are inconsistent, else SUCCESS."""
    n = y0.shape[0]
    m = t_out.shape[0]
    ne = ev_t.shape[0]
    if n == 0 or atol.shape[0] != n or y_out.shape[0] != m or y_out.shape[1] != n:
        return _BAD_INPUT
    if stats.shape[0] < N_STATS or ev_cmt.shape[0] != ne or ev_amt.shape[0] != ne:
        return _BAD_INPUT
    if not (np.isfinite(t0) and all_finite(y0) and all_finite(t_out) and all_finite(ev_t)):
        return _BAD_INPUT
    if not (all_finite(ev_amt) and all_finite(atol) and _is_sorted(t_out) and _is_sorted(ev_t)):
        return _BAD_INPUT
    if (m > 0 and t_out[0] < t0) or (ne > 0 and ev_t[0] < t0):
        return _BAD_INPUT
    for i in range(ne):
        if ev_cmt[i] < 0 or ev_cmt[i] >= n:
            return _BAD_INPUT
    for i in range(n):
        if not atol[i] > 0.0:
            return _BAD_INPUT
    if not (np.isfinite(rtol) and rtol > 0.0 and np.isfinite(h0) and h0 >= 0.0 and hmax > 0.0):
        return _BAD_INPUT
    if max_steps < 0:
        return _BAD_INPUT
    return _SUCCESS


@njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
def memory_floor(mem, prev, n_prev, tau):
    """Size of the step the previous breakpoint interval took at ``tau`` (time since its
    breakpoint), from ``mem[prev]`` = (start times, sizes) of its first n_prev steps; 0 if none."""
    h = 0.0
    for i in range(n_prev):
        if mem[prev, 0, i] > tau:
            break
        h = mem[prev, 1, i]
    return h


@njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
def error_norm(err, y, ynew, rtol, atol):
    """RMS norm of ``err / (atol + rtol * max(|y|, |ynew|))`` (dimensionless)."""
    n = err.shape[0]
    s = 0.0
    for i in range(n):
        sk = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
        s += (err[i] / sk) ** 2
    return np.sqrt(s / n)


def pin_uuids(disp, _active=()):
    """Give ``disp`` and the dispatchers it uses a process-independent uuid.

    Follows closure cells and referenced globals recursively (``_active``:
    dispatchers being pinned up the call chain, for recursion). Dispatchers that
    already have a uuid (already pickled in this process) are left alone: the
    cache then merely misses, it is never wrong.
    """
    if not isinstance(disp, Dispatcher) or disp._MemoMixin__uuid is not None:  # type: ignore[attr-defined]  # a Numba private attribute
        return
    func = disp.py_func
    digest = hashlib.sha256(f"{func.__module__}.{func.__qualname__}".encode())
    digest.update(func.__code__.co_code)
    try:
        source = inspect.getsourcefile(func)
        stamp = None if source is None else os.stat(source)
    except (TypeError, OSError):
        stamp = None
    if stamp is None:  # no source file: stay unique to this process
        digest.update(os.urandom(16))
    else:
        digest.update(f"{stamp.st_mtime_ns}:{stamp.st_size}".encode())
    used = [cell.cell_contents for cell in func.__closure__ or ()]
    used += [func.__globals__[name] for name in func.__code__.co_names if name in func.__globals__]
    for value in used:
        if isinstance(value, Dispatcher) and (value is disp or value in _active):
            digest.update(value.py_func.__qualname__.encode())
        elif isinstance(value, Dispatcher):
            pin_uuids(value, _active + (disp,))
            digest.update(value._uuid.encode())  # type: ignore[attr-defined]  # a Numba private attribute
        elif isinstance(value, (int, float, str)):
            digest.update(repr(value).encode())
    disp._set_uuid(str(uuid.UUID(bytes=digest.digest()[:16])))  # type: ignore[attr-defined]  # a Numba private attribute
    if "<locals>" in func.__qualname__:  # a closure: its own symbol names (module docstring)
        func.__qualname__ = f"{func.__qualname__}_{digest.hexdigest()[:16]}"


def with_nrt(fn):
    """``fn(t, y, args, out)`` behind a wrapper compiled with Numba's reference counting on.

    The solver's own kernels are compiled with ``_nrt=False`` (no reference
    counting, no allocation), and a function they call inherits that unless it
    sets it itself: a model function called through this wrapper may allocate
    (``np.empty`` of a temporary) as in any other Numba function."""

    @njit(cache=True, error_model="numpy", **WITH_NRT)
    def call(t, y, args, out):
        fn(t, y, args, out)

    return call


def make_driver(rhs, prepare, attempt, n_vec, order, beta, fac_max, step_memory=True, n_states=0):
    """Build the compiled ``solve`` kernel for one method.

    rhs:      model right-hand side ``rhs(t, y, args, dydt)`` (as wrapped by ``with_nrt``).
    prepare, attempt: method closures (see the module docstring).
    n_vec:    number of length-n work vectors the method needs (incl. scratch row).
    order:    order used in the controller exponent (4 for rodas4, 5 for dopri5).
    beta:     PI-controller coefficient (0 = standard controller, 0.04 for dopri5).
    fac_max:  largest allowed ratio h_new / h.
    step_memory: use the step-size memory across breakpoint intervals (module docstring).
    n_states: if > 0, the only size of y0 accepted (else BAD_INPUT); loop bounds are then
              compile-time constants.
    """
    expo = 1.0 / order - 0.75 * beta

    @njit(cache=True, error_model="numpy", inline="always", **NO_NRT)
    def initial_step(t, y, args, f0, rtol, atol, hmax, y1, f1, stats):
        """Hairer's starting step estimate (HINIT of DOPRI5/RADAU), time units."""
        n = n_states if n_states > 0 else y.shape[0]
        dnf = 0.0
        dny = 0.0
        for i in range(n):
            sk = atol[i] + rtol * abs(y[i])
            dnf += (f0[i] / sk) ** 2
            dny += (y[i] / sk) ** 2
        h = 1e-6 if (dnf <= 1e-10 or dny <= 1e-10) else 0.01 * np.sqrt(dny / dnf)
        h = min(h, hmax)
        for i in range(n):
            y1[i] = y[i] + h * f0[i]
        rhs(t + h, y1, args, f1)
        stats[2] += 1
        der2 = 0.0
        for i in range(n):
            sk = atol[i] + rtol * abs(y[i])
            der2 += ((f1[i] - f0[i]) / sk) ** 2
        der12 = max(np.sqrt(der2) / h, np.sqrt(dnf))
        h1 = max(1e-6, h * 1e-3) if der12 <= 1e-15 else (0.01 / der12) ** (1.0 / order)
        h = min(100.0 * h, h1, hmax)
        return h if (np.isfinite(h) and h > 0.0) else min(1e-6, hmax)

    @njit(cache=True, error_model="numpy", nogil=True, **NO_NRT)
    def run_batch(
        t0,
        y0,
        args_k,
        t_out,
        ev_t,
        ev_cmt,
        ev_amt_k,
        rtol,
        atol,
        h0,
        hmax,
        max_steps,
        y_out_k,
        stats_k,
        status,
        y,
        ynew,
        ws,
        wm,
        piv,
        mem,
    ):
        """``solve`` of each row r of ``y0`` (k, n), ``args_k`` (k, L), ``ev_amt_k`` (k, ne) into
        ``y_out_k[r]`` (m, n), ``stats_k[r]`` and ``status[r]``, on the work arrays of one problem
        (reused row after row): ``y``, ``ynew`` (n,), ``ws`` (n_vec, n), ``wm`` (2, n, n), ``piv``
        (n,) int64, ``mem`` (2, 2, MEMORY) (``work_arrays``).

        The only compiled form of the integration (``solve`` calls it on one row): serial, without
        the GIL, and compiled without Numba's reference counting (``_nrt=False``): it allocates
        nothing, and every array view it makes would otherwise cost an atomic increment and
        decrement of its parent's count, which was most of the time of a step on small systems.
        The integration loop is written out here, not called: a function of its own would be
        optimised by LLVM twice, alone and again inside this one (Numba links a callee's code
        into its caller), and Numba's inlining pass costs more still on a body that size."""
        for r in range(y0.shape[0]):
            args, ev_amt, y_out, stats = args_k[r], ev_amt_k[r], y_out_k[r], stats_k[r]
            for k in range(y_out.shape[0]):
                for i in range(y_out.shape[1]):
                    y_out[k, i] = np.nan
            for i in range(stats.shape[0]):
                stats[i] = 0
            code = check_inputs(t0, y0[r], t_out, ev_t, ev_cmt, ev_amt, rtol, atol, h0, hmax, max_steps, y_out, stats)
            n_y = y0.shape[1]
            if n_states > 0 and n_y != n_states:
                code = _BAD_INPUT
            if y.shape[0] != n_y or ynew.shape[0] != n_y or ws.shape[0] != n_vec or ws.shape[1] != n_y:
                code = _BAD_INPUT
            if wm.shape[0] != 2 or wm.shape[1] != n_y or wm.shape[2] != n_y or piv.shape[0] != n_y:
                code = _BAD_INPUT
            if mem.shape[0] != 2 or mem.shape[1] != 2 or mem.shape[2] != MEMORY:
                code = _BAD_INPUT
            if code != _SUCCESS:
                status[r] = code
                continue
            for i in range(n_y):
                y[i] = y0[r, i]
            for k in range(2):  # wm[0]: J, whose zeros a static-pattern jac never writes
                for i in range(n_y):
                    for j in range(n_y):
                        wm[k, i, j] = 0.0

            n = n_states if n_states > 0 else y.shape[0]
            result = _RUNNING
            m = t_out.shape[0]
            ne = ev_t.shape[0]
            cur, n_cur, n_prev, t_bp, use_floor = 0, 0, 0, np.nan, False

            t = t0
            h = min(h0, hmax)  # current step-size proposal; 0 = not yet estimated
            facold = 1e-4  # previous accepted error norm (PI controller memory)
            need = 2  # derivative info at (t, y): 0 valid, 1 after accepted step, 2 stale
            n_steps = 0
            k = 0  # next output row
            j = 0  # next event
            while True:
                while k < m and t_out[k] == t:  # outputs hold the pre-event value
                    for i in range(n):
                        y_out[k, i] = y[i]
                    k += 1
                if k == m:
                    result = _SUCCESS
                    break
                while j < ne and ev_t[j] == t:
                    y[ev_cmt[j]] += ev_amt[j]
                    j += 1
                    need = 2
                    if ev_amt[j - 1] == 0.0:  # a breakpoint (kink in a forcing): estimate the step afresh
                        h = 0.0
                        if t != t_bp:  # start remembering this interval's steps; recall the last one's
                            cur, n_prev, n_cur, t_bp, use_floor = 1 - cur, n_cur, 0, t, step_memory and n_cur > 0
                t_stop = t_out[k]
                if j < ne and ev_t[j] < t_stop:
                    t_stop = ev_t[j]

                reject = False
                n_bad = 0  # consecutive singular / non-finite attempts
                while t < t_stop:
                    if need != 0:
                        code = prepare(t, y, args, ws, wm, need == 1, stats)
                        if code != _SUCCESS:
                            result = code
                            break
                        need = 0
                    if h == 0.0:
                        h = initial_step(t, y, args, ws[0], rtol, atol, hmax, ynew, ws[n_vec - 1], stats)
                    if n_steps >= max_steps:
                        result = _MAX_STEPS
                        break
                    if use_floor and not reject:
                        h = min(max(h, memory_floor(mem, 1 - cur, n_prev, t - t_bp)), hmax)
                    if not h > H_REL_MIN * abs(t):
                        result = _STEP_TOO_SMALL
                        break
                    clipped = t + 1.0001 * h >= t_stop
                    h_step = t_stop - t if clipped else h
                    code, err = attempt(t, h_step, y, args, rtol, atol, ws, wm, piv, ynew, stats)
                    n_steps += 1
                    if code != _SUCCESS or not np.isfinite(err):
                        stats[1] += 1
                        n_bad += 1
                        if n_bad > MAX_RETRIES:
                            result = code if code != _SUCCESS else _NONFINITE
                            break
                        h = 0.5 * h_step if code != _SUCCESS else FAC_MIN * h_step
                        reject, use_floor = True, False
                        continue
                    n_bad = 0
                    fac11 = err**expo
                    if err <= 1.0:
                        fac = fac11 / facold**beta if beta != 0.0 else fac11  # x**0.0 is 1.0: the same
                        fac = max(1.0 / fac_max, min(1.0 / FAC_MIN, fac / SAFETY))
                        hnew = h_step / fac
                        if reject:
                            hnew = min(hnew, h_step)
                        if clipped:  # keep the controller's unclipped proposal
                            hnew = max(hnew, h)
                        facold = max(err, 1e-4)
                        if n_cur < MEMORY and not clipped and t_bp == t_bp:
                            mem[cur, 0, n_cur], mem[cur, 1, n_cur] = (
                                t - t_bp,
                                h_step * min(SAFETY / fac11, MEMORY_GROWTH),
                            )
                            n_cur += 1
                        t = t_stop if clipped else t + h_step
                        for i in range(n):
                            y[i] = ynew[i]
                        h = min(hnew, hmax)
                        stats[0] += 1
                        need = 1
                        reject = False
                    else:
                        stats[1] += 1
                        h = h_step / min(1.0 / FAC_MIN, fac11 / SAFETY)
                        reject, use_floor = True, False
                if result != _RUNNING:  # the inner loop ended the problem
                    break
            status[r] = result

    @njit(cache=True, error_model="numpy", inline="always")
    def solve(t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, h0, hmax, max_steps, y_out, stats):
        """Integrate from t0 to t_out[-1] with bolus events; see rasim.solver docs.

        Returns an int status code; rows of ``y_out`` not reached hold NaN.
        """
        n = y0.shape[0]
        status = np.empty(1, dtype=np.int64)
        run_batch(
            t0,
            y0[None],
            args[None],
            t_out,
            ev_t,
            ev_cmt,
            ev_amt[None],
            rtol,
            atol,
            h0,
            hmax,
            max_steps,
            y_out[None],
            stats[None],
            status,
            *work_arrays(n_vec, n),
        )
        return status[0]

    pin_uuids(solve)
    solve.run_batch = run_batch  # type: ignore[attr-defined]  # for make_batch
    solve.initial_step = initial_step  # type: ignore[attr-defined]  # for drivers of other shapes (benchmarks/lockstep.py)
    solve.n_vec = n_vec  # type: ignore[attr-defined]
    return solve


@register_jitable
def work_arrays(n_vec, n):
    """The work arrays of ``run_batch`` for systems of n states: (y, ynew, ws, wm, piv, mem); plain
    Python when called from Python (``make_batch``), compiled into ``solve``."""
    return (
        np.empty(n),
        np.empty(n),
        np.empty((n_vec, n)),
        np.empty((2, n, n)),
        np.empty(n, dtype=np.int64),
        np.empty((2, 2, MEMORY)),
    )


def make_batch(solve):
    """The batch form of a ``solve`` kernel: ``solve_batch(t0, y0, args, t_out, ev_t, ev_cmt,
    ev_amt, rtol, atol, h0, hmax, max_steps, y_out, stats, status)``.

    Row i of ``y0`` (k, n), ``args`` (k, L), ``ev_amt`` (k, ne), ``y_out`` (k, m, n) and
    ``stats`` (k, N_STATS) is problem i, whose code goes to ``status[i]``; the other inputs
    are shared.  A Python function: it allocates one problem's work arrays and calls the
    compiled ``run_batch``, which is serial and without the GIL: callers run slices of the rows
    in threads.  A Numba ``prange`` kernel would compile the whole solver twice more (its loop
    body and the function around it), about three times the cost of this one."""
    run_batch, n_vec = solve.run_batch, solve.n_vec

    def solve_batch(t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, h0, hmax, max_steps, y_out, stats, status):
        run_batch(
            t0,
            y0,
            args,
            t_out,
            ev_t,
            ev_cmt,
            ev_amt,
            rtol,
            atol,
            h0,
            hmax,
            max_steps,
            y_out,
            stats,
            status,
            *work_arrays(n_vec, y0.shape[1]),
        )

    return solve_batch
