"""Generate ``src/rasim/model/lanes.py``: the model's RODAS4 kernels for ``LANES`` patients at once.

``rasim.lockstep`` steps several patients through RODAS4 together; its arithmetic lives in these
lane kernels, which LLVM vectorises across the patients by itself.  Each is rewritten from the
model's own source (``equations.rates``, the generated ``jacobian.jac_y``, ``jac_u``,
``lu_factor``, ``lu_solve``) and the RODAS4 tableau (``rasim.solver.rodas``):

* every array becomes rows of one workspace ``W``: ``X[k] -> W[(offset + k) * LANES + _l]``,
  inside one ``for _l in range(LANES)`` loop around the whole body (one base pointer and constant
  offsets: LLVM proves the lanes independent);
* helpers are inlined at the AST level (``sat``, ``excess``, ``msc_signals``), and the drugs'
  factors unrolled for the drugs registered in the package, without their branch (an absent
  drug's term is exactly 1.0: the same values);
* ``lu_factor``'s small-pivot returns become one code per lane (the first failure in the scalar
  order), which ``rasim.lockstep`` hands to the scalar kernel.

Every kernel does the scalar kernel's floating-point operations in its order, so a lane's results
equal the scalar kernel's bit for bit (``tests/test_lockstep.py``).  Run after any change to the
model's equations, the generated Jacobian, the drugs' effects or the RODAS4 tableau::

    python tools/generate_lanes.py          # write the file
    python tools/generate_lanes.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rasim.model import equations, forcing, jacobian  # noqa: E402
from rasim.model.states import N_STATES  # noqa: E402
from rasim.solver import rodas  # noqa: E402

TARGET = ROOT / "src" / "rasim" / "model" / "lanes.py"
LANES = 8  # patients per lane group: 8 measured fastest on AVX2 (1.95x; 4: 1.48x, 16: 1.67x)
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


def lane_kernel(fn, name: str, offsets: dict[str, int], scalars: dict[str, int] | None = None, remap=None) -> str:
    """``fn`` of the model (rates, jac_y, jac_u, lu_factor, lu_solve) as the source of ``name(W)``."""
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
    f.name = name
    return _source(f, body, _Work(offsets, LANES, scalars or {}, remap))


def lane_source(
    name: str, statements: list[str], offsets: dict[str, int], scalars: dict[str, int] | None = None
) -> str:
    """Straight-line ``statements`` (on arrays in ``offsets`` and per-lane scalars in ``scalars``)
    as the source of ``name(W)``, like ``lane_kernel``."""
    f = ast.parse(f"def {name}(W):\n" + "\n".join("    " + s for s in statements)).body[0]
    assert isinstance(f, ast.FunctionDef)
    return _source(f, f.body, _Work(offsets, LANES, scalars or {}))


def _source(f: ast.FunctionDef, body: list[ast.stmt], work: _Work) -> str:
    """``f`` with ``body`` rewritten by ``work`` inside one ``for _l in range(LANES)`` loop."""
    lanes = ast.parse("range(LANES)", mode="eval").body
    f.body = [ast.For(ast.Name("_l", ast.Store()), lanes, [work.visit(s) for s in body], [])]
    f.decorator_list = [ast.parse(_DECORATOR, mode="eval").body]
    tree = ast.Module([f], [])
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


_DECORATOR = 'njit(cache=True, error_model="numpy", **NO_NRT)'
NA = forcing.T_EVALUATED  # the args prefix the kernels read (parameters, table directory, u, du)
_LAYOUT = (  # the workspace's rows of LANES lanes
    ("P", NA, "the args prefix: parameters, table directory, u, du/dt"),
    ("Y", N, "the state"),
    ("YS", N, "a stage's state"),
    ("D", N, "its rates"),
    ("F0", N, "f at (t, y)"),
    ("FT", N, "df/dt at (t, y)"),
    ("K1", N, "stage 1"),
    ("K2", N, "stage 2"),
    ("K3", N, "stage 3"),
    ("K4", N, "stage 4"),
    ("K5", N, "stage 5"),
    ("K6", N, "stage 6"),
    ("YN", N, "the step's end"),
    ("X", N, "a solve's right-hand side and solution"),
    ("AT", N, "absolute tolerances"),
    ("J", len(jacobian_entries()), "the Jacobian's written entries, compact"),
    ("E", None, "the sparse LU"),
    ("DG", 1, "1 / (h gamma)"),
    ("CODE", 1, "the LU's pivot code (0: factored)"),
    ("HS", 1, "h"),
    ("HI", 1, "1 / h"),
    ("RT", 1, "rtol"),
    ("ERR", 1, "the error norm"),
)


def _lu_entries() -> int:
    """Entries of the sparse LU (``jacobian.lu_factor``'s ``e``): one past the largest index it writes."""
    f = _def(jacobian.lu_factor)
    top = [n.slice.value for n in ast.walk(f) if isinstance(n, ast.Subscript) and getattr(n.value, "id", "") == "e"]
    return max(top) + 1


def layout() -> tuple[dict[str, int], int]:
    """Each row block's first row, and the rows in all."""
    offsets, row = {}, 0
    for name, size, _ in _LAYOUT:
        offsets[name] = row
        row += _lu_entries() if size is None else size
    return offsets, row


def module() -> str:
    """The generated module's source."""
    off, total = layout()
    arrays = {k: off[k] for k in ("Y", "YS", "D", "F0", "FT", "K1", "K2", "K3", "K4", "K5", "K6", "YN", "X", "AT")}
    scalars = {"hs": off["HS"], "hi": off["HI"], "rtol": off["RT"], "err": off["ERR"]}
    tableau = {k: v for k, v in vars(rodas).items() if k[:1] in "ACD" and k[1:].isdigit()}
    jmap = jacobian_entries()
    model = {"y": off["YS"], "p": off["P"], "u": off["P"]}

    def stage(name, template):
        return lane_source(name, [template.format(i=i) for i in range(N)], arrays, scalars)

    kernels = [
        lane_kernel(equations.rates, "rates", {**model, "dy": off["D"]}),
        lane_kernel(jacobian.jac_y, "jac_y", {**model, "out": off["J"]}, remap={"out": jmap}),
        lane_kernel(jacobian.jac_u, "jac_u", {**model, "out": off["FT"]}),
        lane_kernel(
            jacobian.lu_factor,
            "lu_factor",
            {"J": off["J"], "e": off["E"], "code": off["CODE"]},
            {"d": off["DG"]},
            remap={"J": jmap},
        ),
        lane_kernel(jacobian.lu_solve, "lu_solve", {"e": off["E"], "b": off["X"]}),
        stage("stage1", "X[{i}] = F0[{i}] + hs * D1 * FT[{i}]"),
        stage("ys2", "YS[{i}] = Y[{i}] + A21 * K1[{i}]"),
        stage("stage2", "X[{i}] = D[{i}] + hi * C21 * K1[{i}] + hs * D2 * FT[{i}]"),
        stage("ys3", "YS[{i}] = Y[{i}] + A31 * K1[{i}] + A32 * K2[{i}]"),
        stage("stage3", "X[{i}] = D[{i}] + hi * (C31 * K1[{i}] + C32 * K2[{i}]) + hs * D3 * FT[{i}]"),
        stage("ys4", "YS[{i}] = Y[{i}] + A41 * K1[{i}] + A42 * K2[{i}] + A43 * K3[{i}]"),
        stage("stage4", "X[{i}] = D[{i}] + hi * (C41 * K1[{i}] + C42 * K2[{i}] + C43 * K3[{i}]) + hs * D4 * FT[{i}]"),
        stage("ys5", "YS[{i}] = Y[{i}] + A51 * K1[{i}] + A52 * K2[{i}] + A53 * K3[{i}] + A54 * K4[{i}]"),
        stage("stage5", "X[{i}] = D[{i}] + hi * (C51 * K1[{i}] + C52 * K2[{i}] + C53 * K3[{i}] + C54 * K4[{i}])"),
        stage("ys6", "YS[{i}] = YS[{i}] + K5[{i}]"),
        stage(
            "stage6",
            "X[{i}] = D[{i}] + hi * (C61 * K1[{i}] + C62 * K2[{i}] + C63 * K3[{i}] + C64 * K4[{i}] + C65 * K5[{i}])",
        ),
        stage("step_end", "YN[{i}] = YS[{i}] + K6[{i}]"),
        # the scalar driver's error_norm: the same operations in the same order, for every lane at once
        lane_source(
            "error_norm",
            ["_s = 0.0"]
            + [f"_s += (K6[{i}] / (AT[{i}] + rtol * max(abs(Y[{i}]), abs(YN[{i}])))) ** 2" for i in range(N)]
            + [f"err = np.sqrt(_s / {N})"],
            arrays,
            scalars,
        ),
    ]
    rows = "\n".join(f"R_{name} = {off[name]}  # {what}" for name, _, what in _LAYOUT)
    constants = "\n".join(f"{k} = {v!r}" for k, v in sorted(tableau.items()))
    drugs = repr(forcing.EFFECT_ROWS.tolist()), repr(forcing.HOOK_STARTS.tolist())
    return (
        HEADER.format(
            lanes=LANES,
            n=N,
            na=NA,
            rows=rows,
            total=total,
            constants=constants,
            effect_rows=drugs[0],
            hook_starts=drugs[1],
        )
        + "\n\n\n"
        + "\n\n\n".join(kernels)
        + "\n"
    )


HEADER = '''"""The model's RODAS4 kernels for LANES patients at once. GENERATED by tools/generate_lanes.py: do not edit.

Each kernel reads and writes the workspace ``W`` (float64[ROWS * LANES]): row block ``R_<NAME>``
holds LANES values per row, ``W[(R_<NAME> + k) * LANES + lane]``.  ``rasim.lockstep`` drives them.
The drugs' factors are unrolled for ``EFFECT_ROWS`` and ``HOOK_STARTS`` (``rasim.model.forcing``
when generated); ``rasim.lockstep`` uses these kernels only while the package's registry matches.
"""

import numpy as np
from numba import njit

from ..solver._driver import NO_NRT

LANES = {lanes}
N = {n}  # states
NA = {na}  # the args prefix the kernels read
ROWS = {total}
{rows}

EFFECT_ROWS = {effect_rows}
HOOK_STARTS = {hook_starts}

# the RODAS4 tableau (``rasim.solver.rodas``)
{constants}'''


def main() -> None:
    ap = argparse.ArgumentParser(description="generate src/rasim/model/lanes.py")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    text = module()
    if ap.parse_args().check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python tools/generate_lanes.py", file=sys.stderr)
            sys.exit(1)
        print(f"{TARGET.relative_to(ROOT)} is current")
        return
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
