"""Every method of the work-precision sweep behind one interface.

A method solves a batch of prepared patients (``cases.Problems``) at one
relative tolerance, with absolute tolerances ``cases.atol_vector(rtol)``, and
returns the states at the output days.  ``methods()`` lists rasim's compiled
rodas4 and dopri5 and the peers (numbalsoda, scipy solve_ivp and odeint, diffrax's stiff
solvers, one method each); a peer
that cannot run is returned with ``available = False`` and the reason.

Bolus events (MSC infusions) follow rasim's convention for every method: an
output at an event time reads the pre-event state (``segments``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rasim.integrate import integrate_batch

from cases import Problems, atol_vector

MAX_STEPS = 1_000_000  # attempted steps per patient (rasim) before MAX_STEPS is reported


@dataclass
class Output:
    """States at the output days, y (N, m, n), and a status per patient (0 = success)."""

    y: np.ndarray
    status: np.ndarray


@dataclass(frozen=True)
class Segments:
    """The shared integration plan: integrate over [bounds[s], bounds[s + 1]] after applying
    events ``ev_hi[s - 1]:ev_hi[s]`` at bounds[s]; outputs ``out_hi[s - 1]:out_hi[s]`` fall in
    (bounds[s], bounds[s + 1]]; the first ``n_pre`` outputs are at t0 (pre-event y0)."""

    bounds: np.ndarray
    ev_hi: np.ndarray
    out_hi: np.ndarray
    n_pre: int
    ev_cmt: np.ndarray  # the events the plan applies (state index, per-patient amount (N, k))
    ev_amt: np.ndarray


def segments(prob: Problems, breakpoints: bool = True) -> Segments:
    """Split [t0, t_out[-1]] at the event times (days); events at or after t_out[-1] are ignored.

    ``breakpoints=False`` drops zero-amount events (rasim's breakpoints at the kinks of the
    MTX forcing): the integration then runs through those kinks under error control."""
    if not breakpoints:
        keep = np.any(prob.ev_amt != 0.0, axis=0)
        prob = Problems(
            prob.args,
            prob.y0,
            prob.t0,
            prob.t_out,
            prob.ev_t[keep],
            prob.ev_cmt[keep],
            np.ascontiguousarray(prob.ev_amt[:, keep]),
        )
    t_last = prob.t_out[-1]
    inner = prob.ev_t[(prob.ev_t > prob.t0) & (prob.ev_t < t_last)]
    bounds = np.unique(np.concatenate([[prob.t0], inner, [t_last]]))
    ev_hi = np.searchsorted(prob.ev_t, bounds[:-1], side="right").astype(np.int64)
    out_hi = np.searchsorted(prob.t_out, bounds[1:], side="right").astype(np.int64)
    return Segments(
        bounds, ev_hi, out_hi, int(np.searchsorted(prob.t_out, prob.t0, side="right")), prob.ev_cmt, prob.ev_amt
    )


def integrate_segments(plan: Segments, prob: Problems, i: int, advance) -> np.ndarray:
    """Patient ``i``'s states at the output days (m, n), for a Python-level peer.

    ``advance(y, t0, t1, ts) -> (states at ts (len(ts), n), state at t1)`` integrates one segment."""
    y = prob.y0[i].copy()
    out = np.full((prob.t_out.size, y.size), np.nan)
    out[: plan.n_pre] = y
    ev_lo, out_lo = 0, plan.n_pre
    for s in range(plan.bounds.size - 1):
        for e in range(ev_lo, plan.ev_hi[s]):
            y[plan.ev_cmt[e]] += plan.ev_amt[i, e]
        ev_lo = plan.ev_hi[s]
        ys, y = advance(y, plan.bounds[s], plan.bounds[s + 1], prob.t_out[out_lo : plan.out_hi[s]])
        out[out_lo : plan.out_hi[s]] = ys
        out_lo = plan.out_hi[s]
    return out


COHORT_BATCH = 64  # patients rasim solves at once in the sweep: enough to fill its lockstep lanes on every core


def solve_rasim(name: str, prob: Problems, rtol: float) -> Output:
    """rasim's ``name`` solver ("rodas4" or "dopri5") as a cohort runs it: ``integrate.integrate_batch``,
    in threads, rodas4 in lockstep lanes once compiled (``rasim.lockstep``; the same numbers)."""
    status, y, _ = integrate_batch(
        name, prob.t0, prob.y0, prob.args, prob.t_out, prob.ev_t, prob.ev_cmt, prob.ev_amt, rtol, atol_vector(rtol),
        MAX_STEPS,
    )  # fmt: skip
    return Output(y, status)


def tiled(prob: Problems, copies: int) -> Problems:
    """``prob``'s patients repeated ``copies`` times (a cohort-sized batch of the same problems)."""
    return Problems(
        np.tile(prob.args, (copies, 1)),
        np.tile(prob.y0, (copies, 1)),
        prob.t0,
        prob.t_out,
        prob.ev_t,
        prob.ev_cmt,
        np.tile(prob.ev_amt, (copies, 1)),
    )


class Method:
    """One solver of the sweep; ``available``/``reason``: whether it runs here, and why not."""

    name = ""
    label = ""
    available = True
    reason = ""

    def warm(self, prob: Problems) -> None:
        """Compile / start up outside the timed runs."""
        self.solve(prob.take(1), 1e-4)

    def solve(self, prob: Problems, rtol: float) -> Output:
        raise NotImplementedError

    def close(self) -> None:
        """Release worker processes, if any."""


class Rasim(Method):
    """rasim's own compiled solver as a cohort runs it, on a batch of at least ``COHORT_BATCH``
    patients (the sweep's patients repeated): ``copies`` says how many times each was solved, so
    that time per patient is over the whole batch."""

    def __init__(self, kernel: str):
        self.kernel = kernel
        self.name = f"rasim-{kernel}"
        self.label = f"rasim {kernel} (Numba threads; rodas4 in lockstep lanes)"
        self.copies = 1

    def solve(self, prob: Problems, rtol: float) -> Output:
        self.copies = -(-COHORT_BATCH // prob.n)
        out = solve_rasim(self.kernel, tiled(prob, self.copies), rtol)
        return Output(out.y[: prob.n], out.status[: prob.n])


class Missing(Method):
    """A peer that cannot run here; ``reason`` says why."""

    available = False

    def __init__(self, name: str, label: str, reason: str):
        self.name, self.label, self.reason = name, label, reason


def methods(want_peers: bool = True) -> list[Method]:
    """rasim's methods followed by every peer (``Missing`` where a peer cannot run)."""
    found: list[Method] = [Rasim("rodas4"), Rasim("dopri5")]
    if not want_peers:
        return found
    from peer_numbalsoda import numbalsoda_method
    from peer_scipy import scipy_methods
    from peer_diffrax import diffrax_methods

    return found + [numbalsoda_method()] + scipy_methods() + diffrax_methods()
