"""Lockstep lanes of the model's generated sparse LU: can Numba vectorise B patients at once?

    python benchmarks/lanes.py [--lanes 4,8,16] [--reps 20000] [--solve-only]

The trial steps one patient at a time, within 1.4x of the scalar arithmetic floor
(``README.md``); the rest of the distance to the SIMD floor is vector width.  This measures
the first brick of a lockstep solver: ``jacobian.lu_factor`` and six ``lu_solve`` (what
a rodas4 step runs) rewritten for B patients at once, arrays laid out (k, B), in two forms
generated from the same source:

* ``loops``: each statement becomes ``for l in range(B)``, temporaries rows of a local
  scratch array (LLVM's loop vectoriser, with run-time alias checks per statement);
* ``unrolled``: each statement written B times with lane-suffixed scalar temporaries
  (LLVM's SLP vectoriser; at least instruction-level parallelism across patients).

and, for the solve alone, a third form:

* ``vector``: each statement's multiply-subtract and scaling as explicit LLVM vector
  operations on B lanes (``row_ops``: Numba ``@intrinsic``s; a multiply then a subtract, never
  a fused multiply-add, in the scalar code's order).

Prints ns per patient against the scalar kernels looped over the same patients, the
speed-up, and how many packed (SIMD) multiplies the compiled solve holds.  Every lane's
result equals the scalar kernel's bit for bit (checked before timing).
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
import re
import textwrap
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from rasim.model import N_STATES
from rasim.model import jacobian

BUILTINS = {"abs", "max", "min", "range", "np"}


def _function(fn, scalars: tuple[str, ...]):
    """(AST of ``fn``'s source without docstring, decorators, pivot checks and returns; its
    array parameters)."""
    f = ast.parse(textwrap.dedent(inspect.getsource(fn.py_func))).body[0]
    f.decorator_list = []
    f.body = [
        s
        for s in f.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        and not isinstance(s, (ast.If, ast.Return))
    ]
    params = [a.arg for a in f.args.args]
    return f, params, [p for p in params if p not in scalars]


class _Lane(ast.NodeTransformer):
    """One lane's statement: X[k] -> X[k, lane], scalar parameters s -> s[lane], locals renamed
    by ``local`` (a name -> expression builder)."""

    def __init__(self, arrays, scalars, params, lane, local):
        self.arrays, self.scalars, self.params, self.lane, self.local = arrays, scalars, params, lane, local

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id in self.arrays:
            node.slice = ast.Tuple([node.slice, self.lane], ast.Load())
        return node

    def visit_Name(self, node):
        if node.id in self.scalars:
            return ast.Subscript(ast.Name(node.id, ast.Load()), self.lane, node.ctx)
        if node.id in self.params or node.id in BUILTINS:
            return node
        return self.local(node)


def _compile(f, globals_):
    tree = ast.Module([f], [])
    ast.fix_missing_locations(tree)
    ns = {**globals_, "np": np}
    exec(compile(tree, f"<lanes {f.name}>", "exec"), ns)
    return njit(error_model="numpy")(ns[f.name])


def loops(fn, scalars: tuple[str, ...] = ()):
    """``fn`` for B lanes, one ``for l in range(B)`` loop per statement."""
    f, params, arrays = _function(fn, scalars)
    rows: dict[str, int] = {}
    lane = ast.Name("_l", ast.Load())

    def local(node):
        row = rows.setdefault(node.id, len(rows))
        return ast.Subscript(ast.Name("_w", ast.Load()), ast.Tuple([ast.Constant(row), lane], ast.Load()), node.ctx)

    body = [_Lane(arrays, scalars, params, lane, local).visit(s) for s in f.body]
    head = ast.parse(f"_B = {arrays[0]}.shape[1]\n_w = np.empty(({len(rows)}, _B))").body
    f.body = head + [ast.For(ast.Name("_l", ast.Store()), ast.parse("range(_B)").body[0].value, [s], []) for s in body]
    f.name += "_loops"
    return _compile(f, fn.py_func.__globals__)


def unrolled(fn, lanes: int, scalars: tuple[str, ...] = ()):
    """``fn`` for ``lanes`` lanes, each statement written once per lane."""
    f, params, arrays = _function(fn, scalars)
    body = []
    for s in f.body:
        for k in range(lanes):

            def local(node, k=k):
                return ast.Name(f"{node.id}__{k}", node.ctx)

            body.append(_Lane(arrays, scalars, params, ast.Constant(k), local).visit(copy.deepcopy(s)))
    f.body = body
    f.name += f"_unrolled{lanes}"
    return _compile(f, fn.py_func.__globals__)


@njit(error_model="numpy")
def _scalar(reps, jm, d, e, b):
    for _ in range(reps):
        for k in range(jm.shape[0]):
            jacobian.lu_factor(jm[k], d[k], e[k])
            for _s in range(6):
                jacobian.lu_solve(e[k], b[k])


def _lanes_step(factor, solve):
    @njit(error_model="numpy")
    def step(reps, jt, d, et, bt):
        for _ in range(reps):
            factor(jt, d, et)
            for _s in range(6):
                solve(et, bt)

    return step


def _best(call, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(lanes: int, reps: int, seed: int = 0) -> dict:
    """ns per patient of one LU factor + 6 solves: scalar, ``loops`` and ``unrolled`` forms."""
    rng = np.random.default_rng(seed)
    n = N_STATES
    jm = rng.normal(size=(lanes, n * n)) * 0.1
    d = np.full(lanes, 10.0)
    e = np.zeros((lanes, n * n))  # the factor's entries (fewer than n * n: the solver's workspace size)
    b = rng.normal(size=(lanes, n))
    out = {"lanes": lanes}
    ref_b = b.copy()
    for k in range(lanes):
        jacobian.lu_factor(jm[k], d[k], e[k])
        jacobian.lu_solve(e[k], ref_b[k])
    forms = {
        "loops": (loops(jacobian.lu_factor, ("d",)), loops(jacobian.lu_solve)),
        "unrolled": (unrolled(jacobian.lu_factor, lanes, ("d",)), unrolled(jacobian.lu_solve, lanes)),
    }
    jt = np.ascontiguousarray(jm.T)
    out["scalar_ns"] = _best(lambda: _scalar(reps, jm, d, e.copy(), b.copy())) / (reps * lanes) * 1e9
    for name, (factor, solve) in forms.items():
        et, bt = np.zeros(e.T.shape), np.ascontiguousarray(b.T)
        factor(jt, d, et)
        solve(et, bt)
        if not np.array_equal(bt.T, ref_b):
            raise AssertionError(f"{name}: the lanes differ from the scalar kernels")
        step = _lanes_step(factor, solve)
        out[f"{name}_ns"] = (
            _best(lambda: step(reps, jt, d, et.copy(), np.ascontiguousarray(b.T))) / (reps * lanes) * 1e9
        )
        asm = "".join(solve.inspect_asm().values())
        out[f"{name}_packed_mul"] = len(re.findall(r"vmulpd|vfn?m(?:add|sub)\d+pd", asm))
    return out


def row_ops(lanes: int):
    """(fnms, scale): ``fnms(dst, i, a, k, src, j)`` sets dst[i, :] = dst[i, :] - a[k, :] * src[j, :]
    and ``scale(dst, i, a, k)`` sets dst[i, :] = dst[i, :] * a[k, :], each row ``lanes`` contiguous
    float64 of a C-contiguous (rows, lanes) array, as one LLVM vector load / fmul / fsub / store."""
    vec = ir.VectorType(ir.DoubleType(), lanes)

    def row(context, builder, aryty, ary, index):
        data = context.make_array(aryty)(context, builder, ary).data
        at = builder.gep(data, [builder.mul(index, ir.Constant(index.type, lanes))])
        return builder.bitcast(at, vec.as_pointer())

    @intrinsic
    def fnms(typingctx, dst, i, a, k, src, j):
        def codegen(context, builder, sig, args):
            d, x, y = (row(context, builder, sig.args[n], args[n], args[n + 1]) for n in (0, 2, 4))
            product = builder.fmul(builder.load(x, align=8), builder.load(y, align=8))
            builder.store(builder.fsub(builder.load(d, align=8), product), d, align=8)
            return context.get_dummy_value()

        return types.void(dst, i, a, k, src, j), codegen

    @intrinsic
    def scale(typingctx, dst, i, a, k):
        def codegen(context, builder, sig, args):
            d, x = (row(context, builder, sig.args[n], args[n], args[n + 1]) for n in (0, 2))
            builder.store(builder.fmul(builder.load(d, align=8), builder.load(x, align=8)), d, align=8)
            return context.get_dummy_value()

        return types.void(dst, i, a, k), codegen

    return fnms, scale


def vector_solve(lanes: int):
    """``lu_solve`` for ``lanes`` lanes from its generated source, whose statements are
    x_i = x_i - e[k] * x_j - ... or (x_i - e[k] * x_j - ...) * e[m]: the terms in order."""
    calls = []
    for line in inspect.getsource(jacobian.lu_solve.py_func).splitlines():
        m = re.match(r"\s+x_(\d+) = (.*)$", line)
        if not m or "b[" in m.group(2):
            continue
        i, expr = m.group(1), m.group(2)
        scaled = re.match(r"\((.*)\) \* e\[(\d+)\]$", expr)
        if scaled:
            expr = scaled.group(1)
        if not re.fullmatch(rf"x_{i}( - e\[\d+\] \* x_\d+)*", expr.strip()):
            raise ValueError(f"lu_solve statement not of the expected form: {line.strip()}")
        calls += [f"    fnms(b, {i}, e, {k}, b, {j})" for k, j in re.findall(r"- e\[(\d+)\] \* x_(\d+)", expr)]
        if scaled:
            calls.append(f"    scale(b, {i}, e, {scaled.group(2)})")
    fnms, scale = row_ops(lanes)
    ns = {"fnms": fnms, "scale": scale}
    exec("def lu_solve_vector(e, b):\n" + "\n".join(calls) + "\n", ns)
    return njit(error_model="numpy")(ns["lu_solve_vector"])


@njit(error_model="numpy")
def _scalar_solves(reps, e, b0, b):
    for _ in range(reps):
        b[:] = b0
        for k in range(e.shape[0]):
            jacobian.lu_solve(e[k], b[k])


def _vector_solves(solve):
    @njit(error_model="numpy")
    def run(reps, et, bt0, bt):
        for _ in range(reps):
            bt[:] = bt0
            solve(et, bt)

    return run


def measure_solve(lanes: int, reps: int, seed: int = 0) -> dict:
    """ns per patient of one ``lu_solve`` (right-hand side restored before each): scalar and
    ``vector``; a well-conditioned factor (unit pivots, small entries) keeps the numbers normal."""
    rng = np.random.default_rng(seed)
    n = N_STATES
    e = 1.0 + 0.01 * rng.normal(size=(lanes, n * n))
    b = rng.normal(size=(lanes, n))
    ref = b.copy()
    _scalar_solves(1, e, b, ref)
    solve = vector_solve(lanes)
    et, bt = np.ascontiguousarray(e.T), np.ascontiguousarray(b.T)
    out = bt.copy()
    solve(et, out)
    if not np.array_equal(out.T, ref):
        raise AssertionError("vector: the lanes differ from the scalar kernel")
    run = _vector_solves(solve)
    scalar = _best(lambda: _scalar_solves(reps, e, b, b.copy())) / (reps * lanes) * 1e9
    vector = _best(lambda: run(reps, et, bt, bt.copy())) / (reps * lanes) * 1e9
    return {"lanes": lanes, "scalar_ns": scalar, "vector_ns": vector}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lanes", default="4,8,16")
    ap.add_argument("--solve-only", action="store_true", help="only the explicit vector solve (no long compiles)")
    ap.add_argument("--reps", type=int, default=20000)
    a = ap.parse_args()
    widths = [int(x) for x in a.lanes.split(",")]
    if not a.solve_only:
        _forms_table(widths, a.reps)
    print("\n| lanes | one lu_solve, scalar ns/patient | explicit vector ns (x) |")
    print("|---:|---:|---:|")
    for lanes in widths:
        v = measure_solve(lanes, max(1, 10 * a.reps // lanes))
        print(f"| {lanes} | {v['scalar_ns']:.1f} | {v['vector_ns']:.1f} ({v['scalar_ns'] / v['vector_ns']:.2f}x) |")


def _forms_table(widths: list[int], reps: int) -> None:
    print("| lanes | scalar ns/patient | loops ns (x) | packed mul | unrolled ns (x) | packed mul |")
    print("|---:|---:|---:|---:|---:|---:|")
    for lanes in widths:
        m = measure(lanes, max(1, reps // lanes))
        s = m["scalar_ns"]
        print(
            f"| {lanes} | {s:.0f} | {m['loops_ns']:.0f} ({s / m['loops_ns']:.2f}x) | {m['loops_packed_mul']} "
            f"| {m['unrolled_ns']:.0f} ({s / m['unrolled_ns']:.2f}x) | {m['unrolled_packed_mul']} |"
        )


if __name__ == "__main__":
    main()
