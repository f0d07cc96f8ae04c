"""Lockstep lanes: RODAS4 for B patients at once, every lane the scalar driver's arithmetic.

    python benchmarks/lockstep.py [--patients 256] [--rounds 3]     (RASIM_LANES=16: the width)

A prototype of the lever the suite's floor points at (``README.md``: the kernel steps one
patient at a time, within 1.4x of the scalar arithmetic; the rest is vector width).

* **Lane kernels, generated.** The model's ``rates``, ``jac_y``, ``jac_u`` and the generated
  sparse ``lu_factor`` / ``lu_solve`` are rewritten from their source for B lanes: every array
  becomes rows of one workspace ``W`` (X[k] -> W[(offset + k) * B + l]) inside one
  ``for l in range(B)`` loop around the whole body; helpers are inlined at the AST level
  (``sat``, ``excess``, ``msc_signals``, the drugs' factors unrolled without branches; their
  values are the same), the LU's pivot checks become one code per lane.  With one base pointer
  and constant offsets LLVM proves the lanes independent and vectorises the body; without them
  (separate arrays, helper calls, runtime row strides) it does not.
* **The driver.** ``run_lanes`` runs the scalar ``run_batch``'s logic per lane (outputs,
  bolus events, breakpoints and their step memory, Hairer's initial step, the controller,
  the counts) and the stages, solves, Jacobian and error norm for all lanes at once; a lane
  takes the next patient when its own finishes.  Whatever the lanes would do differently from
  the scalar driver (the sparse LU's small-pivot fallback, a non-finite step, max_steps, bad
  input) hands the patient back with status ``RERUN`` for the scalar kernel.  The forcings
  (PK tables) are evaluated per lane by ``forcing.evaluate``.

Every lane's outputs and counts equal the scalar kernel's bit for bit (checked before timing;
``tests/test_benchmarks.py`` checks it on a few patients).  Kernels compiled from generated
source are not cached on disk (no source file): the first run compiles them (about 20 s).
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import inspect
import os
import textwrap
import time

import numpy as np
from llvmlite import ir
from numba import njit
from numba import types as nt
from numba.core import cgutils
from numba.extending import intrinsic

from rasim.model import equations, forcing, jacobian
from rasim.integrate import KERNELS
from rasim.model.states import N_STATES
from rasim.solver import rodas
from rasim.solver._driver import FAC_MIN, H_REL_MIN, MEMORY, MEMORY_GROWTH, SAFETY, check_inputs, memory_floor
from rasim.solver.rodas import C2, C3, C4, GAMMA

N = N_STATES
_EQ = dict(equations.__dict__)


def _def(fn) -> ast.FunctionDef:
    f = ast.parse(textwrap.dedent(inspect.getsource(getattr(fn, "py_func", fn)))).body[0]
    assert isinstance(f, ast.FunctionDef)
    f.decorator_list = []
    if isinstance(f.body[0], ast.Expr) and isinstance(f.body[0].value, ast.Constant):
        f.body = f.body[1:]
    return f


_SIMPLE = {name: _def(_EQ[name]) for name in ("sat", "sat2", "inhib", "inhib2", "excess")}


class _Subst(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        return copy.deepcopy(self.names[node.id]) if node.id in self.names else node


def _hook(node) -> int:
    return node.value if isinstance(node, ast.Constant) else forcing.__dict__[node.id]


def _drug_factor(hook: int) -> ast.expr:
    """``drug_factor`` unrolled without its branch: an absent drug's term is exactly 1.0."""
    terms = ["1.0"]
    for j in range(forcing.HOOK_STARTS[hook], forcing.HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = (int(v) for v in forcing.EFFECT_ROWS[j])
        terms.append(f"(1.0 + {float(sign)} * p[{emax}] * (u[{slot}] / (u[{slot}] + p[{ec50}])))")
    return ast.parse(" * ".join(terms), mode="eval").body


class _Inline(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _SIMPLE:
            f = _SIMPLE[node.func.id]
            names = {a.arg: v for a, v in zip(f.args.args, node.args)}
            return _Subst(names).visit(copy.deepcopy(f.body[-1].value))
        if isinstance(node.func, ast.Name) and node.func.id == "drug_factor":
            return _drug_factor(_hook(node.args[2]))
        return node

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id == "ix":
            return ast.Constant(getattr(_EQ["ix"], node.attr))
        return node

    def visit_Name(self, node):
        if node.id.startswith(("I_", "MTSS_")) and node.id in _EQ:
            return ast.Constant(_EQ[node.id])
        return node


def _inline_msc(body: list[ast.stmt]) -> list[ast.stmt]:
    """``s_imm, s_rep = msc_signals(y, p)`` replaced by msc_signals' statements."""
    f = _def(equations.msc_signals)
    rename = {t.id: "_m_" + t.id for s in f.body[:-1] for t in s.targets}

    class R(ast.NodeTransformer):
        def visit_Name(self, node):
            node.id = rename.get(node.id, node.id)
            return node

    pre = [R().visit(s) for s in f.body[:-1]]
    ret = R().visit(f.body[-1].value)
    out: list[ast.stmt] = []
    for s in body:
        if (
            isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Call)
            and getattr(s.value.func, "id", "") == "msc_signals"
        ):
            out += copy.deepcopy(pre) + [ast.Assign(s.targets, copy.deepcopy(ret))]
        else:
            out.append(s)
    return out


def _drug_factor_rate_stmts(target: str, hook: int) -> list[ast.stmt]:
    """``target = drug_factor_rate(p, u, hook)`` unrolled; each drug's update taken only where its
    exposure or its rate is nonzero (a select: both sides computed, the division is safe)."""
    lines = ["_f = 1.0", f"{target} = 0.0"]
    for j in range(forcing.HOOK_STARTS[hook], forcing.HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = (int(v) for v in forcing.EFFECT_ROWS[j])
        x, dx, c = f"u[{slot}]", f"u[{slot + forcing.N_FORCINGS}]", f"p[{ec50}]"
        lines += [
            f"_on = ({x} != 0.0) | ({dx} != 0.0)",
            f"_term = 1.0 + {float(sign)} * p[{emax}] * ({x} / ({x} + {c}))",
            f"{target} = ({target} * _term + _f * {float(sign)} * p[{emax}] * {c} / (({x} + {c}) * ({x} + {c})) * {dx}) if _on else {target}",
            "_f = _f * _term if _on else _f",
        ]
    return ast.parse("\n".join(lines)).body


def _expand_rates(body):
    out = []
    for s in body:
        if (
            isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Call)
            and getattr(s.value.func, "id", "") == "drug_factor_rate"
        ):
            out += _drug_factor_rate_stmts(s.targets[0].id, _hook(s.value.args[2]))
        else:
            out.append(s)
    return out


def _factor_code(body):
    """lu_factor's trailing ``if bad_k: return k`` chain -> one code per lane (the first failure in
    the scalar order), stored at ``code[0]``."""
    checks = [s for s in body if isinstance(s, ast.If)]
    body = [s for s in body if not isinstance(s, (ast.If, ast.Return))]
    expr = "0.0"
    for s in reversed(checks):
        k = s.body[0].value.value
        expr = f"({float(k)} if {s.test.id} else {expr})"
    return body + ast.parse(f"code[0] = {expr}").body


class _Work(ast.NodeTransformer):
    """X[k] (or X[i, j] of an n x n matrix) -> W[(offset + k) * B + _l]; per-lane scalars s -> W[offset * B + _l]."""

    def __init__(self, offsets, lanes, scalars, remap=None):
        self.offsets, self.lanes, self.scalars, self.remap = offsets, lanes, scalars, remap or {}

    def _at(self, offset, k):
        row = ast.BinOp(ast.BinOp(k, ast.Add(), ast.Constant(offset)), ast.Mult(), ast.Constant(self.lanes))
        return ast.BinOp(row, ast.Add(), ast.Name("_l", ast.Load()))

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id in self.offsets:
            k = node.slice
            if isinstance(k, ast.Tuple):
                k = ast.Constant(k.elts[0].value * N + k.elts[1].value)
            if node.value.id in self.remap:
                k = ast.Constant(self.remap[node.value.id][k.value])
            node.slice = self._at(self.offsets[node.value.id], k)
            node.value = ast.Name("W", ast.Load())
        return node

    def visit_Name(self, node):
        if node.id in self.scalars:
            return ast.Subscript(ast.Name("W", ast.Load()), self._at(self.scalars[node.id], ast.Constant(0)), node.ctx)
        return node


def jacobian_entries() -> dict[int, int]:
    """Flat index i * N + j of each entry ``jac_y`` writes -> its row in a compact Jacobian block."""
    f = _def(jacobian.jac_y)
    flat = [
        t.slice.elts[0].value * N + t.slice.elts[1].value
        for s in f.body
        if isinstance(s, ast.Assign)
        for t in s.targets
        if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Tuple)
    ]
    return {k: r for r, k in enumerate(sorted(set(flat)))}


def lane_kernel(fn, offsets: dict[str, int], lanes: int, scalars: dict[str, int] | None = None, remap=None):
    """``fn`` of the model (rates, jac_y, jac_u, lu_factor, lu_solve) as ``kernel(W)`` for ``lanes`` lanes."""
    f = _def(fn)
    body = f.body
    if fn is equations.rates:
        body = _inline_msc(body)
    if fn is jacobian.jac_u:
        body = _expand_rates(body)
    if fn is jacobian.lu_factor:
        body = _factor_code(body)
    body = [_Inline().visit(s) for s in body]
    f.args.args = [ast.arg("W")]
    f.name = f"{fn.__name__}_lanes{lanes}"
    return _compiled(f, body, _Work(offsets, lanes, scalars or {}, remap), lanes, {})


def _compiled(f: ast.FunctionDef, body: list[ast.stmt], work: _Work, lanes: int, constants: dict):
    """``f`` with ``body`` rewritten by ``work`` inside one ``for _l in range(lanes)`` loop, compiled."""
    loop = ast.parse(f"range({lanes})", mode="eval").body
    f.body = [ast.For(ast.Name("_l", ast.Store()), loop, [work.visit(s) for s in body], [])]
    tree = ast.Module([f], [])
    ast.fix_missing_locations(tree)
    ns: dict = {"np": np, **constants}
    exec(compile(tree, f"<lanes {f.name}>", "exec"), ns)
    return njit(error_model="numpy", cache=False)(ns[f.name])


def lane_source(
    name: str,
    statements: list[str],
    offsets: dict[str, int],
    lanes: int,
    scalars: dict[str, int] | None = None,
    constants: dict | None = None,
):
    """Straight-line ``statements`` (on arrays in ``offsets`` and per-lane scalars in ``scalars``)
    as ``name(W)`` for ``lanes`` lanes, like ``lane_kernel``."""
    f = ast.parse(f"def {name}(W):\n" + "\n".join("    " + s for s in statements)).body[0]
    assert isinstance(f, ast.FunctionDef)
    return _compiled(f, f.body, _Work(offsets, lanes, scalars or {}), lanes, constants or {})


@intrinsic
def rdtsc(typingctx):
    """The CPU's time-stamp counter (LLVM ``readcyclecounter``): the phase profile's clock."""

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return nt.int64(), codegen


B = int(os.environ.get("RASIM_LANES", "16"))  # lanes: the kernels are generated for this width at import
NA = forcing.T_EVALUATED  # args prefix the lane kernels read (parameters, table directory, u, du)
U0, NU = forcing.U_START, 2 * forcing.N_FORCINGS
NE = 129  # entries of the sparse LU (at least jacobian.lu_factor's)
RERUN = -2
ORDER = 4
EXPO = 1.0 / ORDER
FAC_MAX = 6.0

# the workspace: rows of B lanes (P: the args prefix; Y: state; YS: a stage's state; D: its rates;
# F0, FT: f and df/dt at (t, y); K1..K6; YN: the step's end; X: a solve's vector; J: the Jacobian's
# written entries; E: the sparse LU; DG: 1 / (h gamma); CODE: the LU's pivot code; HS, HI: h, 1 / h)
_layout = [
    ("P", NA),
    ("Y", N),
    ("YS", N),
    ("D", N),
    ("F0", N),
    ("FT", N),
    ("K1", N),
    ("K2", N),
    ("K3", N),
    ("K4", N),
    ("K5", N),
    ("K6", N),
    ("YN", N),
    ("X", N),
    ("J", len(jacobian_entries())),
    ("E", NE),
    ("DG", 1),
    ("CODE", 1),
    ("HS", 1),
    ("HI", 1),
    ("AT", N),
    ("RT", 1),
    ("ERR", 1),
]
OFF = {}
_r = 0
for _name, _size in _layout:
    OFF[_name] = _r
    _r += _size
ROWS = _r
RP, RY, RYS, RD, RF0, RFT = OFF["P"], OFF["Y"], OFF["YS"], OFF["D"], OFF["F0"], OFF["FT"]
RK1, RK2, RK3, RK4, RK5, RK6 = (OFF[f"K{i}"] for i in range(1, 7))
RYN, RX, RJ, RE, RDG, RCODE, RHS, RHI = (OFF[k] for k in ("YN", "X", "J", "E", "DG", "CODE", "HS", "HI"))
RAT, RRT, RERR = OFF["AT"], OFF["RT"], OFF["ERR"]

rates_l = lane_kernel(equations.rates, {"y": RYS, "p": RP, "u": RP, "dy": RD}, B)
JMAP = jacobian_entries()
jac_l = lane_kernel(jacobian.jac_y, {"y": RYS, "p": RP, "u": RP, "out": RJ}, B, remap={"out": JMAP})
jacu_l = lane_kernel(jacobian.jac_u, {"y": RYS, "p": RP, "u": RP, "out": RFT}, B)
factor_l = lane_kernel(jacobian.lu_factor, {"J": RJ, "e": RE, "code": RCODE}, B, {"d": RDG}, remap={"J": JMAP})
solve_l = lane_kernel(jacobian.lu_solve, {"e": RE, "b": RX}, B)

_ARR = {
    "Y": RY,
    "YS": RYS,
    "D": RD,
    "F0": RF0,
    "FT": RFT,
    "K1": RK1,
    "K2": RK2,
    "K3": RK3,
    "K4": RK4,
    "K5": RK5,
    "K6": RK6,
    "YN": RYN,
    "X": RX,
    "AT": RAT,
}
_SCAL = {"hs": RHS, "hi": RHI, "rtol": RRT, "err": RERR}
_CONST = {k: v for k, v in vars(rodas).items() if k[:1] in "ACD" and k[1:].isdigit()}  # the RODAS4 tableau


def _stage(name, template):
    """One RODAS4 stage update, ``template`` written out for every state, as a lane kernel."""
    return lane_source(name, [template.format(i=i) for i in range(N)], _ARR, B, _SCAL, _CONST)


stage1 = _stage("stage1", "X[{i}] = F0[{i}] + hs * D1 * FT[{i}]")
ys2 = _stage("ys2", "YS[{i}] = Y[{i}] + A21 * K1[{i}]")
stage2 = _stage("stage2", "X[{i}] = D[{i}] + hi * C21 * K1[{i}] + hs * D2 * FT[{i}]")
ys3 = _stage("ys3", "YS[{i}] = Y[{i}] + A31 * K1[{i}] + A32 * K2[{i}]")
stage3 = _stage("stage3", "X[{i}] = D[{i}] + hi * (C31 * K1[{i}] + C32 * K2[{i}]) + hs * D3 * FT[{i}]")
ys4 = _stage("ys4", "YS[{i}] = Y[{i}] + A41 * K1[{i}] + A42 * K2[{i}] + A43 * K3[{i}]")
stage4 = _stage("stage4", "X[{i}] = D[{i}] + hi * (C41 * K1[{i}] + C42 * K2[{i}] + C43 * K3[{i}]) + hs * D4 * FT[{i}]")
ys5 = _stage("ys5", "YS[{i}] = Y[{i}] + A51 * K1[{i}] + A52 * K2[{i}] + A53 * K3[{i}] + A54 * K4[{i}]")
stage5 = _stage("stage5", "X[{i}] = D[{i}] + hi * (C51 * K1[{i}] + C52 * K2[{i}] + C53 * K3[{i}] + C54 * K4[{i}])")
ys6 = _stage("ys6", "YS[{i}] = YS[{i}] + K5[{i}]")
stage6 = _stage(
    "stage6", "X[{i}] = D[{i}] + hi * (C61 * K1[{i}] + C62 * K2[{i}] + C63 * K3[{i}] + C64 * K4[{i}] + C65 * K5[{i}])"
)
yn = _stage("yn", "YN[{i}] = YS[{i}] + K6[{i}]")
# the scalar driver's error_norm, the same operations in the same order, for every lane at once
norm_l = lane_source(
    "norm",
    ["_s = 0.0"]
    + [f"_s += (K6[{i}] / (AT[{i}] + rtol * max(abs(Y[{i}]), abs(YN[{i}])))) ** 2" for i in range(N)]
    + [f"err = np.sqrt(_s / {N})"],
    _ARR,
    B,
    _SCAL,
)


@njit(error_model="numpy", _nrt=False)
def _copy(W, dst, src):
    for i in range(N):
        for ln in range(B):
            W[(dst + i) * B + ln] = W[(src + i) * B + ln]


@njit(error_model="numpy", _nrt=False)
def _forcing(W, args, pid, tl, live):
    """u and du/dt of every live lane at its day tl[ln] into the lanes' P rows."""
    for ln in range(B):
        if live[ln]:
            a = args[pid[ln]]
            forcing.evaluate(tl[ln], a)
            for k in range(NU):
                W[(RP + U0 + k) * B + ln] = a[U0 + k]


_HINIT = KERNELS["rodas4"].initial_step  # the scalar driver's own starting-step estimate


@njit(error_model="numpy", _nrt=False)
def _initial_step(t, W, ln, args, rtol, atol, hmax, y, f0, y1, f1, stats):
    """The scalar driver's ``initial_step`` (Hairer's HINIT) for lane ln, y and f0 copied out of W."""
    for i in range(N):
        y[i] = W[(RY + i) * B + ln]
        f0[i] = W[(RF0 + i) * B + ln]
    return _HINIT(t, y, args, f0, rtol, atol, hmax, y1, f1, stats)


@njit(error_model="numpy", _nrt=False)
def _stage_rhs(W, args, pid, live, t, c, cyc):
    """dy at (t + c h, YS) of every lane into D; ``t`` (2B,) holds the lanes' days, then room for
    the stage's days."""
    a = rdtsc()
    tl = t[B:]
    for ln in range(B):
        tl[ln] = t[ln] + c * W[RHS * B + ln]
    _forcing(W, args, pid, tl, live)
    b = rdtsc()
    rates_l(W)
    cyc[5] += b - a
    cyc[6] += rdtsc() - b


@njit(error_model="numpy", _nrt=False)
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
    cyc,
):
    """Integrate every row like the scalar ``run_batch`` (h0 = 0, hmax = inf), B rows at a time;
    a row the lanes cannot finish exactly as the scalar driver would gets status RERUN."""
    npat = y0.shape[0]
    m, ne = t_out.shape[0], ev_t.shape[0]
    hmax = np.inf
    pid, k, j, need, n_steps, cur, n_cur, n_prev = ist[0], ist[1], ist[2], ist[3], ist[4], ist[5], ist[6], ist[7]
    reject, use_floor, clipped, outer, live = bst[0], bst[1], bst[2], bst[3], bst[4]
    t, h, facold, t_stop, t_bp = fst[0], fst[1], fst[2], fst[3], fst[4]
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
    iters = 0
    while True:
        iters += 1
        c0 = rdtsc()
        # A: load patients into free lanes; advance each lane to its next attempt
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
                            t0,
                            y0[p],
                            t_out,
                            ev_t,
                            ev_cmt,
                            ev_amt[p],
                            rtol,
                            atol,
                            0.0,
                            hmax,
                            max_steps,
                            y_out[p],
                            stats[p],
                        )
                        if code != 0 or y0.shape[1] != N:
                            status[p] = RERUN
                            continue
                        pid[ln] = p
                        for i in range(N):
                            W[(RY + i) * B + ln] = y0[p, i]
                        for i in range(NA):
                            W[(RP + i) * B + ln] = args[p, i]
                        t[ln], h[ln], facold[ln] = t0, 0.0, 1e-4
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
        c1 = rdtsc()
        cyc[0] += c1 - c0
        any_live = False
        any_need = False
        for ln in range(B):
            live[ln] = pid[ln] >= 0
            any_live = any_live or live[ln]
            any_need = any_need or (live[ln] and need[ln] != 0)
        if not any_live:
            break
        # B: f, J and df/dt at (t, y) (every live lane: a lane that did not need them gets the same values)
        if any_need:
            _copy(W, RYS, RY)
            _forcing(W, args, pid, t, live)
            rates_l(W)
            _copy(W, RF0, RD)
            jac_l(W)
            for i in range(N * B):
                W[RFT * B + i] = 0.0
            jacu_l(W)
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
        c2 = rdtsc()
        cyc[1] += c2 - c1
        # C: step size of each lane's attempt
        for ln in range(B):
            W[RHS * B + ln] = 1.0
            if not live[ln]:
                continue
            p = pid[ln]
            if h[ln] == 0.0:
                h[ln] = _initial_step(t[ln], W, ln, args[p], rtol, atol, hmax, ys, f0s, y1s, f1s, stats[p])
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
        c3 = rdtsc()
        cyc[2] += c3 - c2
        # D: one RODAS4 attempt in every lane
        cf = rdtsc()
        factor_l(W)
        cyc[7] += rdtsc() - cf
        for ln in range(B):
            if live[ln] and W[RCODE * B + ln] != 0.0:  # the scalar driver would take its dense LU
                status[pid[ln]], pid[ln], live[ln] = RERUN, -1, False
        for s in range(6):
            if s > 0:
                if s == 1:
                    ys2(W)
                    c = C2
                elif s == 2:
                    ys3(W)
                    c = C3
                elif s == 3:
                    ys4(W)
                    c = C4
                elif s == 4:
                    ys5(W)
                    c = 1.0
                else:
                    ys6(W)
                    c = 1.0
                _stage_rhs(W, args, pid, live, t, c, cyc)
            if s == 0:
                stage1(W)
            elif s == 1:
                stage2(W)
            elif s == 2:
                stage3(W)
            elif s == 3:
                stage4(W)
            elif s == 4:
                stage5(W)
            else:
                stage6(W)
            cs = rdtsc()
            solve_l(W)
            cyc[8] += rdtsc() - cs
            _copy(W, RK1 + s * N, RX)
        yn(W)
        norm_l(W)
        c4 = rdtsc()
        cyc[3] += c4 - c3
        # E: error norm and step control per lane
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
                facold[ln] = max(err, 1e-4)
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
        cyc[4] += rdtsc() - c4
    return iters


PHASES = (
    "A: lanes to their next attempt",
    "B: f, J, df/dt",
    "C: step sizes",
    "D: the attempt",
    "E: error norm, control",
)
PARTS = ("D: forcings", "D: rates", "D: LU factor", "D: six solves")


def _inputs(prob, rtol: float):
    import cases

    return (prob.t0, prob.y0, prob.t_out, prob.ev_t, prob.ev_cmt, prob.ev_amt, rtol, cases.atol_vector(rtol), 100_000)


def solve_scalar(prob, rtol: float):
    """The cohort's kernel (``integrate.BATCHES['rodas4']``, one thread): (status, y_out, stats)."""
    from rasim.integrate import BATCHES

    t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps = _inputs(prob, rtol)
    k = len(y0)
    y, status, stats = np.empty((k, len(t_out), N)), np.empty(k, np.int64), np.zeros((k, 5), np.int64)
    BATCHES["rodas4"](
        t0, y0, prob.args.copy(), t_out, ev_t, ev_cmt, ev_amt, rtol, atol, 0.0, np.inf, max_steps, y, stats, status
    )
    return status, y, stats


def solve_lanes(prob, rtol: float, cycles: np.ndarray | None = None):
    """``run_lanes`` on every patient, then the scalar kernel on those handed back (``RERUN``):
    (status, y_out, stats, iterations, patients handed back)."""
    t0, y0, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps = _inputs(prob, rtol)
    k = len(y0)
    y, status, stats = np.empty((k, len(t_out), N)), np.empty(k, np.int64), np.zeros((k, 5), np.int64)
    args = prob.args.copy()
    work = (np.empty(ROWS * B), np.zeros((B, 2, 2, MEMORY)), np.zeros((8, B), np.int64), np.zeros((5, B), np.bool_))
    fst, sc = np.zeros((5, 2 * B)), np.zeros((4, N))  # fst[0]: the lanes' days and a stage's (``_stage_rhs``)
    cyc = np.zeros(9, np.int64) if cycles is None else cycles
    iters = run_lanes(
        t0, y0, args, t_out, ev_t, ev_cmt, ev_amt, rtol, atol, max_steps, y, stats, status, *work, fst, sc, cyc
    )
    back = np.flatnonzero(status == RERUN)
    if back.size:
        again = solve_scalar(dataclasses.replace(prob, args=prob.args[back], y0=y0[back], ev_amt=ev_amt[back]), rtol)
        status[back], y[back], stats[back] = again
    return status, y, stats, iters, back.size


def compare(prob, rtol: float = 1e-4) -> dict:
    """Whether the lanes give the scalar kernel's status, outputs and counts bit for bit."""
    s_status, s_y, s_stats = solve_scalar(prob, rtol)
    status, y, stats, iters, back = solve_lanes(prob, rtol)
    return {
        "equal": bool(
            np.array_equal(status, s_status)
            and np.array_equal(y, s_y, equal_nan=True)
            and np.array_equal(stats, s_stats)
        ),
        "handed_back": back,
        "utilisation": float(stats[:, 4].sum() / (iters * B)),
    }


def main() -> None:
    import cases
    from lanes import _best

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    prob = cases.problems(a.patients)
    solve_scalar(prob.take(2), a.rtol)
    t = time.perf_counter()
    solve_lanes(prob.take(2), a.rtol)
    print(f"{B} lanes; compiling the lane kernels and the driver: {time.perf_counter() - t:.1f} s")
    check = compare(prob, a.rtol)
    print(
        f"{a.patients} msc+dmard patients, rtol {a.rtol:g}: bit for bit equal to the scalar kernel: {check['equal']}; "
        f"handed back: {check['handed_back']}; lane utilisation {check['utilisation']:.2f}"
    )
    scalar, lanes = [], []
    for _ in range(a.rounds):  # taking turns: the machine's speed drifts
        scalar.append(_best(lambda: solve_scalar(prob, a.rtol), 1))
        lanes.append(_best(lambda: solve_lanes(prob, a.rtol), 1))
    s, v = min(scalar), min(lanes)
    print(
        f"one thread: scalar {s / a.patients * 1e3:.3f} ms/patient, lanes {v / a.patients * 1e3:.3f} ms/patient ({s / v:.2f}x)"
    )
    cyc = np.zeros(9, np.int64)
    _, _, stats, iters, _ = solve_lanes(prob, a.rtol, cyc)
    steps = stats[:, 4].sum()
    print("time-stamp-counter cycles per patient attempt, by phase:")
    for name, c in zip(PHASES + PARTS, cyc):
        print(f"  {name:32s} {c / steps:8.0f}   {c / cyc[:5].sum():5.1%}")


if __name__ == "__main__":
    main()
