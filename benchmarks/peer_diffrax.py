"""Peer: diffrax (JAX) stiff solvers over rasim's model, one ``Method`` per solver.

Solvers: Kvaerno5 and Kvaerno3 (ESDIRK, diffrax's default VeryChord Newton with an autodiff
Jacobian through lineax) with a PID step controller, and diffrax's Rosenbrock methods (``Ros3p``,
``Rodas5p``) when the installed diffrax has them (0.7.2 has none: they are reported missing).  The
suite compares rasim with each and with the lower envelope of their Pareto fronts ("diffrax-best").

The JAX right-hand side is rasim's own ``model.equations.rates`` evaluated on
JAX arrays (it is plain arithmetic on indexable inputs): a recorder object
collects the ``dy[i] = value`` assignments and they are stacked.  The
closed-form MTX forcing ``pk.polyglutamate`` is ported to ``jax.numpy``
below; the port is checked against the compiled RHS before any timing.  As
for numbalsoda, the scaled states z = y / ``model.STATE_SCALE`` take one
scalar atol.  MSC events split the integration (``solvers.segments``).  JAX
runs with 64-bit floats.

Both cores: XLA CPU runs one vmapped solve on about one core (measured, 24
patients, Kvaerno5, rtol 1e-6: CPU time / wall time 1.3), so the patients are
split into one vmapped batch per core, each solved in its own Python thread
through the same compiled function (JAX releases the GIL while XLA runs):
CPU / wall 1.9 and 2.1x less wall time than one batch; one compilation, and
each batch's while loops step only its own patients (lockstep: a vmapped
while loop runs until its slowest patient is done).
"""

from __future__ import annotations

import os
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rasim import model
from rasim.model import equations, forcing, pk

from cases import Problems, atol_vector
from solvers import Method, Missing, Output, segments

N = model.N_STATES
MAX_STEPS = 200_000  # diffrax steps per segment and patient
# Restart at rasim's zero-amount breakpoints (MTX kinks) too: same cost as running through them,
# several times more accurate at equal rtol (measured).
BREAKPOINTS = True
CHECK_RTOL = 1e-10  # agreement required between the JAX port and the compiled RHS
ESDIRK = ("Kvaerno5", "Kvaerno3")
ROSENBROCK = ("Ros3p", "Rodas5p")  # used when this diffrax has them
THREADS = os.cpu_count() or 1  # one vmapped part of the patients per core, each solved in its own thread


def diffrax_methods(threads: int = THREADS) -> list[Method]:
    """One method per diffrax stiff solver, or ``Missing`` with the reason one cannot run."""
    names = [f"diffrax-{s.lower()}" for s in ESDIRK + ROSENBROCK]
    try:
        import diffrax
        import jax
    except Exception as exc:  # noqa: BLE001
        return [
            Missing(
                n,
                f"diffrax {n[8:]} (JAX)",
                f"JAX/diffrax not importable ({type(exc).__name__}: {exc}); "
                f"`pip install jax diffrax` (benchmarks/setup.sh) to add this peer",
            )
            for n in names
        ]
    jax.config.update("jax_enable_x64", True)
    found: list[Method] = [Diffrax(s, threads) for s in ESDIRK]
    for s in ROSENBROCK:
        if hasattr(diffrax, s):
            found.append(Diffrax(s, threads))
        else:
            found.append(
                Missing(
                    f"diffrax-{s.lower()}",
                    f"diffrax {s} (Rosenbrock; not in diffrax {diffrax.__version__})",
                    f"diffrax {diffrax.__version__} has no {s} (no Rosenbrock solver in this version)",
                )
            )
    return found


class _Recorder:
    """Stands in for the ``dy`` array of ``equations.rates``: records ``dy[i] = value``."""

    def __init__(self):
        self.values = {}

    def __setitem__(self, i, value):
        self.values[i] = value


def _phi(jnp, a, b, t):
    """(exp(-a t) - exp(-b t)) / (b - a), as ``pk._phi``."""
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    d = hi - lo
    safe = jnp.where(d == 0.0, 1.0, d)
    return jnp.where(d == 0.0, t * jnp.exp(-lo * t), jnp.exp(-lo * t) * (-jnp.expm1(-d * t)) / safe)


def _polyglutamate(jnp, t, args, n_doses, h):
    """MTX polyglutamate amount (mg) at day ``t``: ``pk.polyglutamate`` on a dose table of ``n_doses`` rows at ``h``."""
    p = args
    kel = p[pk._KEL] * (1.0 - p[pk._FR] + p[pk._FR] * p[pk._CRCL] / 100.0)
    a, b, c, kin, f = p[pk._KA], kel + p[pk._KIN], p[pk._KOUT], p[pk._KIN], p[pk._F_ORAL]
    rows = h + pk.HEADER
    table = args[rows : rows + pk.ROW * n_doses].reshape(n_doses, pk.ROW)
    k = jnp.searchsorted(table[:, 0], t, side="right") - 1
    row = table[jnp.maximum(k, 0)]
    g0, c0, q0, dt = row[1], row[2], row[3], t - row[0]
    pg = (
        q0 * jnp.exp(-c * dt)
        + kin * c0 * _phi(jnp, b, c, dt)
        + kin * f * a * g0 * (_phi(jnp, a, c, dt) - _phi(jnp, b, c, dt)) / (b - a)
    )
    return jnp.where(k < 0, 0.0, pg)


def _drug_factor(p, u, hook):
    """``forcing.drug_factor`` without its branch (JAX cannot branch on a traced value): an absent
    drug's term is exactly 1 (u = 0 gives 1 + sign * emax * 0)."""
    f = 1.0
    for j in range(forcing.HOOK_STARTS[hook], forcing.HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = (int(v) for v in forcing.EFFECT_ROWS[j])
        f = f * (1.0 + sign * p[emax] * (u[slot] / (u[slot] + p[ec50])))
    return f


def _rates():
    """``equations.rates`` with ``_drug_factor``: the same rate laws, traceable by JAX."""
    f = equations.rates
    return types.FunctionType(f.__code__, {**f.__globals__, "drug_factor": _drug_factor}, f.__name__)


def jax_rhs(n_doses: int, h: int):
    """f(t, z, args) -> dz/dt in scaled states, built from ``equations.rates`` (MTX the only drug,
    its table at ``h``)."""
    import jax.numpy as jnp

    scale = jnp.asarray(model.STATE_SCALE)
    rates = _rates()

    def rhs(t, z, args):
        dy = _Recorder()
        u = args.at[forcing.U_START].set(_polyglutamate(jnp, t, args, n_doses, h))  # MTX is u[0]
        rates(z * scale, args, u, dy)
        return jnp.stack([dy.values[i] for i in range(N)]) / scale

    return rhs


def _mtx_table(prob: Problems) -> tuple[int, int]:
    """(rows, offset) of the MTX dose table in the problems' ``args`` (the same for every patient)."""
    h = forcing.table_offset(prob.args[0], "mtx_pg")
    return int(prob.args[0, h]), h


def _check_port(rhs, prob: Problems) -> None:
    """Raise if the JAX RHS differs from the compiled one at a few (t, y) of patient 0."""
    import jax

    f = jax.jit(rhs)
    for t in (prob.t0, 0.0, 3.5, 100.25, prob.t_out[-1]):
        y = prob.y0[0] * (1.0 + 0.1 * np.sin(np.arange(N) + t))
        want = np.empty(N)
        model.rhs(float(t), y, prob.args[0], want)
        got = np.asarray(f(float(t), y / model.STATE_SCALE, prob.args[0])) * model.STATE_SCALE
        if not np.allclose(got, want, rtol=CHECK_RTOL, atol=CHECK_RTOL * model.STATE_SCALE.max()):
            raise AssertionError(f"JAX port of the RHS differs from model.rhs at t = {t}")


class Diffrax(Method):
    """diffrax ``diffeqsolve`` (``solver`` + PIDController): patients vmapped, one batch per thread."""

    def __init__(self, solver: str, threads: int = THREADS):
        self.solver = solver
        self.threads = max(1, threads)
        self.name = f"diffrax-{solver.lower()}"
        how = f"vmap, patients split over {self.threads} threads" if self.threads > 1 else "vmap, one thread"
        self.label = f"diffrax {solver} (JAX, {how})"
        self._solvers: dict = {}
        self._pool = None
        self.breakpoints = BREAKPOINTS

    def warm(self, prob: Problems) -> None:
        """Check the JAX port, then compile for the batch shapes of ``solve`` (vmap compiles per shape),
        one thread at a time (threads compiling the same shape at once would each compile it)."""
        table = _mtx_table(prob)
        _check_port(jax_rhs(*table), prob)
        for size in sorted({len(p) for p in self._parts(prob.n)}):
            self._solve_part(prob.take(size), 1e-3)

    def _parts(self, n: int) -> list[np.ndarray]:
        """Patient indices of each thread's batch."""
        return np.array_split(np.arange(n), min(self.threads, n))

    def _segment_solver(self, table: tuple[int, int]):
        """jit(vmap(one patient, one segment)): (z0, args, t0, t1, ts, rtol, atol) -> (zs, failed)."""
        if table not in self._solvers:
            import diffrax
            import jax

            term = diffrax.ODETerm(jax_rhs(*table))
            adjoint = diffrax.ForwardMode() if hasattr(diffrax, "ForwardMode") else diffrax.RecursiveCheckpointAdjoint()
            solver = getattr(diffrax, self.solver)()

            def one(z0, args, t0, t1, ts, rtol, atol):
                sol = diffrax.diffeqsolve(
                    term,
                    solver,
                    t0,
                    t1,
                    None,
                    z0,
                    args,
                    saveat=diffrax.SaveAt(ts=ts),
                    stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
                    max_steps=MAX_STEPS,
                    adjoint=adjoint,
                    throw=False,
                )
                return sol.ys, sol.result != diffrax.RESULTS.successful

            self._solvers[table] = jax.jit(jax.vmap(one, in_axes=(0, 0, None, None, None, None, None)))
        return self._solvers[table]

    def solve(self, prob: Problems, rtol: float) -> Output:
        """The patients split into ``threads`` parts, each solved as one vmapped batch in its own thread
        (JAX releases the GIL while XLA runs)."""
        parts = self._parts(prob.n)
        if len(parts) == 1:
            return self._solve_part(prob, rtol)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        outs = list(self._pool.map(lambda p: self._solve_part(prob.rows(p[0], p[-1] + 1), rtol), parts))
        return Output(np.concatenate([o.y for o in outs]), np.concatenate([o.status for o in outs]))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _solve_part(self, prob: Problems, rtol: float) -> Output:
        """Every patient of ``prob`` as one vmapped batch, segment by segment."""
        solver = self._segment_solver(_mtx_table(prob))
        plan = segments(prob, self.breakpoints)
        atol = float(atol_vector(rtol)[0] / model.STATE_SCALE[0])
        z = prob.y0 / model.STATE_SCALE
        y = np.full((prob.n, prob.t_out.size, N), np.nan)
        y[:, : plan.n_pre] = prob.y0[:, None, :]
        failed = np.zeros(prob.n, dtype=bool)
        ev_lo, out_lo = 0, plan.n_pre
        for s in range(plan.bounds.size - 1):
            for e in range(ev_lo, plan.ev_hi[s]):
                z[:, plan.ev_cmt[e]] += plan.ev_amt[:, e] / model.STATE_SCALE[plan.ev_cmt[e]]
            ev_lo = plan.ev_hi[s]
            ts_out = prob.t_out[out_lo : plan.out_hi[s]]
            ts = np.unique(np.append(ts_out, plan.bounds[s + 1]))
            zs, bad = solver(z, prob.args, plan.bounds[s], plan.bounds[s + 1], ts, rtol, atol)
            zs = np.asarray(zs)
            y[:, out_lo : plan.out_hi[s]] = zs[:, np.searchsorted(ts, ts_out)] * model.STATE_SCALE
            z = zs[:, -1].copy()
            failed |= np.asarray(bad)
            out_lo = plan.out_hi[s]
        y[failed] = np.nan
        return Output(y, failed.astype(np.int64))
