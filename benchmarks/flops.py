"""Floating-point operations of a rodas4 step, counted in the code it runs, and the machine's rate.

``count(fn)`` walks the Python source of a (Numba) function and counts its
floating-point operations: each arithmetic operator (``+ - * / **``, unary
minus, augmented assignment) and each call of a math function (``exp``,
``log``, ``sqrt``, ...; one operation each) outside subscripts (index
arithmetic), following calls into other Python / Numba functions (globals,
module attributes and closure variables).  A ``for`` loop over ``range(...)``
counts its body times the trip count when the bounds evaluate (module
constants, or names given in ``env``); otherwise once.  An ``if`` counts its
larger branch.  rasim's model functions and its sparse LU are generated
straight-line code, for which the count is exact; for loops with data-dependent
bounds (the MTX dose-table search) it is a lower bound.

``step_flops`` puts a rodas4 step together from the solver's own call counts
(``stats``): RHS, Jacobian, df/dt, the sparse LU and its six solves, and the
stage arithmetic of ``attempt`` and the error norm.  ``machine_rate`` measures
the floating-point rate of one core of this machine (scalar, and with the
compiler's SIMD vectorisation) by a compiled multiply-add loop, so that

    floor (patients / s) = cores x rate / (flops per step x steps per patient)

is the throughput of a solver that did nothing but the arithmetic the method
needs, the limit that the measured throughput is compared with.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
import time
import types

import numpy as np
from numba import njit

MATH_FUNCTIONS = {"exp", "log", "log1p", "expm1", "sqrt", "pow", "power", "sin", "cos", "tanh", "abs", "fabs"}


def _source_function(fn):
    """The plain Python function behind a Numba dispatcher (or ``fn`` itself), or None."""
    fn = getattr(fn, "py_func", fn)
    return fn if isinstance(fn, types.FunctionType) else None


def _scope(fn) -> dict:
    """Names visible in ``fn``: its globals, then its closure variables."""
    scope = dict(fn.__globals__)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            scope[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    return scope


class _Counter:
    def __init__(self, env: dict, follow: bool):
        self.env, self.follow, self.cache = env, follow, {}

    def function(self, fn) -> int:
        fn = _source_function(fn)
        if fn is None:
            return 0
        if fn in self.cache:
            return self.cache[fn]
        self.cache[fn] = 0  # recursion guard
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        scope = {**_scope(fn), **self.env}
        total = self.block(tree.body[0].body, scope)
        self.cache[fn] = total
        return total

    def block(self, stmts, scope) -> int:
        return sum(self.stmt(s, scope) for s in stmts)

    def stmt(self, s, scope) -> int:
        if isinstance(s, ast.If):
            return self.expr(s.test, scope) + max(self.block(s.body, scope), self.block(s.orelse, scope))
        if isinstance(s, ast.For):
            return self.loop_trips(s.iter, scope) * self.block(s.body, scope)
        if isinstance(s, ast.While):
            return self.expr(s.test, scope) + self.block(s.body, scope)
        if isinstance(s, ast.AugAssign):
            return (0 if isinstance(s.target, ast.Name) and self.is_int(s.value) else 1) + self.expr(s.value, scope)
        if isinstance(s, (ast.FunctionDef, ast.Import, ast.ImportFrom)):
            return 0
        return sum(self.expr(c, scope) for c in ast.iter_child_nodes(s) if isinstance(c, ast.expr))

    @staticmethod
    def is_int(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, int)

    def loop_trips(self, it, scope) -> int:
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
            try:
                bounds = [eval(compile(ast.Expression(a), "<range>", "eval"), {}, scope) for a in it.args]  # noqa: S307
                return max(0, len(range(*[int(b) for b in bounds])))
            except Exception:  # noqa: BLE001  (bounds known only at run time)
                return 1
        return 1

    def expr(self, e, scope) -> int:
        if isinstance(e, ast.Subscript):  # index arithmetic is not floating point
            return self.expr(e.value, scope)
        if isinstance(e, ast.BinOp):
            own = 0 if isinstance(e.op, (ast.FloorDiv, ast.Mod, ast.BitAnd, ast.BitOr, ast.LShift, ast.RShift)) else 1
            return own + self.expr(e.left, scope) + self.expr(e.right, scope)
        if isinstance(e, ast.UnaryOp):
            own = 1 if isinstance(e.op, ast.USub) and not isinstance(e.operand, ast.Constant) else 0
            return own + self.expr(e.operand, scope)
        if isinstance(e, ast.IfExp):
            return self.expr(e.test, scope) + max(self.expr(e.body, scope), self.expr(e.orelse, scope))
        if isinstance(e, ast.Call):
            args = sum(self.expr(a, scope) for a in e.args)
            name = e.func.attr if isinstance(e.func, ast.Attribute) else getattr(e.func, "id", "")
            if name in MATH_FUNCTIONS:
                return 1 + args
            if not self.follow:
                return args
            target = None
            if isinstance(e.func, ast.Name):
                target = scope.get(e.func.id)
            elif isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name):
                target = getattr(scope.get(e.func.value.id), e.func.attr, None)
            return args + (self.function(target) if target is not None else 0)
        return sum(self.expr(c, scope) for c in ast.iter_child_nodes(e) if isinstance(c, ast.expr))


def count(fn, env: dict | None = None, follow: bool = True) -> int:
    """Floating-point operations of one call of ``fn`` (see the module docstring); ``env``: values
    of names used as loop bounds; ``follow=False``: the function's own arithmetic only."""
    return _Counter(env or {}, follow).function(fn)


def step_flops(model, lu_factor, lu_solve, attempt, error_norm, stats) -> dict:
    """Flops of one rodas4 step (attempt) of ``model`` and its parts, from call counts ``stats``
    (accepted, rejected, rhs calls, Jacobians, LU factorisations) of a measured solve."""
    n = model.N_STATES
    attempts = max(1, int(stats[0] + stats[1]))
    per_call = {
        "rhs": count(model.rhs),
        "jac": count(model.jac),
        "dfdt": count(model.dfdt),
        "lu_factor": count(lu_factor) + n,  # + forming E = d I - J (the diagonal)
        "lu_solve": count(lu_solve),
        "stages": count(attempt, {"n": n}, follow=False),
        "error_norm": count(error_norm, {"n": n}),
    }
    calls = {
        "rhs": stats[2] / attempts,
        "jac": stats[3] / attempts,
        "dfdt": stats[3] / attempts,
        "lu_factor": stats[4] / attempts,
        "lu_solve": 6 * stats[4] / attempts,
        "stages": 1.0,
        "error_norm": 1.0,
    }
    parts = {k: per_call[k] * calls[k] for k in per_call}
    return {"per_call": per_call, "calls_per_step": calls, "parts": parts, "per_step": sum(parts.values())}


@njit
def _chains(reps, a, b):
    """8 independent multiply-add chains (2 flops each per round): the scalar rate."""
    x0, x1, x2, x3, x4, x5, x6, x7 = 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7
    for _ in range(reps):
        x0 = x0 * a + b
        x1 = x1 * a + b
        x2 = x2 * a + b
        x3 = x3 * a + b
        x4 = x4 * a + b
        x5 = x5 * a + b
        x6 = x6 * a + b
        x7 = x7 * a + b
    return x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7


@njit
def _arrays(reps, x, a, b):
    """x <- x * a + b over an array in L1 cache (2 flops per entry per round): the SIMD rate."""
    for _ in range(reps):
        for i in range(x.shape[0]):
            x[i] = x[i] * a + b
    return x[0]


def machine_rate(seconds: float = 0.2) -> dict:
    """Floating-point operations per second of one core: scalar and vectorised multiply-add loops
    (best of a few timed runs; ``a`` < 1 keeps the values finite)."""
    a, b = 0.999999, 1e-6
    x = np.ones(512)
    _chains(10, a, b)
    _arrays(10, x, a, b)
    out = {}
    for name, run, flops in (
        ("scalar", lambda r: _chains(r, a, b), 16),
        ("simd", lambda r: _arrays(r, x, a, b), 2 * x.size),
    ):
        reps, best = 1000, math.inf
        while True:
            t = time.perf_counter()
            run(reps)
            dt = time.perf_counter() - t
            if dt > seconds / 5:
                break
            reps *= 4
        for _ in range(5):
            t = time.perf_counter()
            run(reps)
            best = min(best, time.perf_counter() - t)
        out[name] = flops * reps / best
    return out
