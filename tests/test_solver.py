"""Tests of the generic ODE solvers (rasim.solver) against exact solutions and scipy."""

import math

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp

from rasim.solver import SolverOptions, Status, make_dopri5, make_rodas, solve_scipy
from rasim.model import jacobian
from rasim.solver.linalg import lu_factor, lu_solve
from rasim.solver.sparse import lu_source, markowitz_order

NO_EVENTS = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))


def run(solve, t0, y0, args, t_out, events=NO_EVENTS, rtol=1e-8, atol=1e-12, h0=0.0, hmax=np.inf, max_steps=100_000):
    """Call a compiled kernel; return (Status, y_out, stats)."""
    y0 = np.asarray(y0, dtype=np.float64)
    t_out = np.asarray(t_out, dtype=np.float64)
    y_out = np.empty((t_out.size, y0.size))
    stats = np.zeros(5, dtype=np.int64)
    atol = np.full(y0.size, atol)
    code = solve(
        float(t0), y0, np.asarray(args, dtype=np.float64), t_out, *events, rtol, atol, h0, hmax, max_steps, y_out, stats
    )
    return Status(code), y_out, stats


def reference(rhs, jac, t0, y0, args, t_out):
    """Tight scipy Radau solution at t_out (no events)."""
    n = len(y0)

    def f(t, y):
        d = np.empty(n)
        rhs(t, y, args, d)
        return d

    def jm(t, y):
        j = np.zeros((n, n))
        jac(t, y, args, j)
        return j

    sol = solve_ivp(f, (t0, t_out[-1]), y0, method="Radau", t_eval=t_out, rtol=1e-12, atol=1e-14, jac=jm)
    assert sol.success
    return sol.y.T


def assert_close(actual, expected, rtol, atol):
    """Mixed relative/absolute closeness, elementwise."""
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- test models
@njit(cache=True)
def chain_rhs(t, y, a, dydt):
    """Depot -> central -> elimination: a = (ka, ke), rates in 1/time."""
    dydt[0] = -a[0] * y[0]
    dydt[1] = a[0] * y[0] - a[1] * y[1]


@njit(cache=True)
def chain_jac(t, y, a, jm):
    jm[0, 0] = -a[0]
    jm[1, 0] = a[0]
    jm[1, 1] = -a[1]


@njit(cache=True)
def zero_dfdt(t, y, a, out):
    pass


def chain_exact(t, y0, ka, ke, ev_t, ev_cmt, ev_amt):
    """Exact 2-compartment chain with bolus doses (dose counted only for t > dose time)."""

    def response(tau, d0, d1):
        c = ka / (ka - ke)
        return np.array(
            [d0 * math.exp(-ka * tau), d0 * c * (math.exp(-ke * tau) - math.exp(-ka * tau)) + d1 * math.exp(-ke * tau)]
        )

    y = response(t, y0[0], y0[1])
    for te, cmt, amt in zip(ev_t, ev_cmt, ev_amt):
        if te < t:
            y += response(t - te, amt if cmt == 0 else 0.0, amt if cmt == 1 else 0.0)
    return y


@njit(cache=True)
def nonaut_rhs(t, y, a, dydt):
    """y' = -2 t y^2, exact y = 1 / (1 + t^2) for y(0) = 1."""
    dydt[0] = -2.0 * t * y[0] * y[0]


@njit(cache=True)
def nonaut_jac(t, y, a, jm):
    jm[0, 0] = -4.0 * t * y[0]


@njit(cache=True)
def nonaut_dfdt(t, y, a, out):
    out[0] = -2.0 * y[0] * y[0]


@njit(cache=True)
def robertson_rhs(t, y, a, dydt):
    dydt[0] = -0.04 * y[0] + 1e4 * y[1] * y[2]
    dydt[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1]
    dydt[2] = 3e7 * y[1] * y[1]


@njit(cache=True)
def robertson_jac(t, y, a, jm):
    jm[0, 0] = -0.04
    jm[0, 1] = 1e4 * y[2]
    jm[0, 2] = 1e4 * y[1]
    jm[1, 0] = 0.04
    jm[1, 1] = -1e4 * y[2] - 6e7 * y[1]
    jm[1, 2] = -1e4 * y[1]
    jm[2, 1] = 6e7 * y[1]


@njit(cache=True)
def vdp_rhs(t, y, a, dydt):
    """Van der Pol oscillator y'' = mu (1 - y^2) y' - y, a[0] = mu."""
    dydt[0] = y[1]
    dydt[1] = a[0] * (1.0 - y[0] * y[0]) * y[1] - y[0]


@njit(cache=True)
def vdp_jac(t, y, a, jm):
    jm[0, 1] = 1.0
    jm[1, 0] = -2.0 * a[0] * y[0] * y[1] - 1.0
    jm[1, 1] = a[0] * (1.0 - y[0] * y[0])


@njit(cache=True)
def lotka_rhs(t, y, a, dydt):
    dydt[0] = 1.5 * y[0] - y[0] * y[1]
    dydt[1] = -3.0 * y[1] + y[0] * y[1]


@njit(cache=True)
def lotka_jac(t, y, a, jm):
    jm[0, 0] = 1.5 - y[1]
    jm[0, 1] = -y[0]
    jm[1, 0] = y[1]
    jm[1, 1] = -3.0 + y[0]


@njit(cache=True)
def blowup_rhs(t, y, a, dydt):
    """y' = y^2, exact 1 / (1 - t) for y(0) = 1: infinite at t = 1."""
    dydt[0] = y[0] * y[0]


@njit(cache=True)
def blowup_jac(t, y, a, jm):
    jm[0, 0] = 2.0 * y[0]


@njit(cache=True)
def decay_rhs(t, y, a, dydt):
    dydt[0] = -y[0]


@njit(cache=True)
def bad_decay_jac(t, y, a, jm):
    """Deliberately wrong Jacobian: I / (h GAMMA) - J is singular for h = 0.5."""
    jm[0, 0] = 8.0


CHAIN = {"rodas4": make_rodas(chain_rhs, chain_jac, zero_dfdt), "dopri5": make_dopri5(chain_rhs)}
NONAUT = {"rodas4": make_rodas(nonaut_rhs, nonaut_jac, nonaut_dfdt), "dopri5": make_dopri5(nonaut_rhs)}
BLOWUP = {"rodas4": make_rodas(blowup_rhs, blowup_jac, zero_dfdt), "dopri5": make_dopri5(blowup_rhs)}
KA, KE = 1.3, 0.25
CHAIN_ARGS = np.array([KA, KE])
# doses: two at t0 (applied in order), one into the central compartment, one at an output time,
# one at the last output time (ignored) and one after it (ignored)
EVENTS = (
    np.array([0.0, 0.0, 3.0, 5.0, 12.0, 20.0, 30.0]),
    np.array([0, 0, 1, 0, 0, 1, 0], dtype=np.int64),
    np.array([100.0, 50.0, 20.0, 80.0, 60.0, 7.0, 9.0]),
)
T_OUT = np.array([0.0, 0.0, 1.0, 3.0, 4.5, 5.0, 5.0, 7.0, 12.0, 15.5, 20.0])


def chain_expected(y0):
    return np.array([chain_exact(t, y0, KA, KE, *EVENTS) for t in T_OUT])


# ---------------------------------------------------------------- linear algebra
def test_lu_matches_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 3, 30):
        a = rng.normal(size=(n, n))
        b = rng.normal(size=n)
        lu, piv, x = a.copy(), np.empty(n, dtype=np.int64), b.copy()
        assert lu_factor(lu, piv) == 0
        lu_solve(lu, piv, x)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_lu_reports_singular():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    a[:, 2] = a[:, 0] + a[:, 1]  # exactly dependent columns
    assert lu_factor(a.copy(), np.empty(3, dtype=np.int64)) != 0
    assert lu_factor(np.zeros((2, 2)), np.empty(2, dtype=np.int64)) == 1


def compiled_sparse_lu(pattern, n):
    """(lu_factor, lu_solve) generated for ``pattern`` and compiled without a cache file."""
    namespace = {"njit": njit}
    exec(lu_source(pattern, n).replace("cache=True, ", ""), namespace)
    return namespace["lu_factor"], namespace["lu_solve"]


def random_on(pattern, n, rng):
    """A matrix with random entries on ``pattern`` (which holds the diagonal), the diagonal negative."""
    jm = np.zeros((n, n))
    for i, j in pattern:
        jm[i, j] = rng.normal()
    jm[np.diag_indices(n)] = -np.abs(np.diag(jm)) - 1.0
    return jm


@pytest.mark.parametrize("seed", range(4))
def test_generated_sparse_lu_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    n = 12
    pattern = sorted({(int(i), int(j)) for i, j in rng.integers(0, n, size=(30, 2))} | {(i, i) for i in range(n)})
    factor, solve = compiled_sparse_lu(pattern, n)
    for d in (1e3, 1.0, 1e-3):
        jm = random_on(pattern, n, rng)
        e, b = np.zeros(n * n), rng.normal(size=n)
        if factor(jm.ravel(), d, e) == 0:  # else a pivot failed the threshold: the solver goes dense
            x = b.copy()
            solve(e, x)
            np.testing.assert_allclose(x, np.linalg.solve(d * np.eye(n) - jm, b), rtol=1e-9, atol=1e-12)


def test_model_sparse_lu_matches_numpy_and_has_little_fill():
    rng = np.random.default_rng(5)
    n = max(max(ij) for ij in jacobian.SPARSITY) + 1
    order, filled = markowitz_order(jacobian.SPARSITY, n)
    assert sorted(order) == list(range(n))
    assert len(filled) <= len(set(jacobian.SPARSITY) | {(i, i) for i in range(n)}) + 2 * n
    for d in (1e4, 10.0, 0.1):
        jm = random_on(jacobian.SPARSITY, n, rng)
        e, b = np.zeros(n * n), rng.normal(size=n)
        assert jacobian.lu_factor(jm.ravel(), d, e) == 0
        x = b.copy()
        jacobian.lu_solve(e, x)
        np.testing.assert_allclose(x, np.linalg.solve(d * np.eye(n) - jm, b), rtol=1e-10, atol=1e-12)


def test_sparse_lu_reports_a_small_pivot():
    pattern = [(0, 0), (0, 1), (1, 0), (1, 1)]
    factor, _ = compiled_sparse_lu(pattern, 2)
    d = 2.0
    assert factor(np.array([d, 1.0, 1.0, 0.0]), d, np.zeros(4)) == 1  # zero pivot
    assert factor(np.array([d - 1e-9, 1.0, 1.0, 0.0]), d, np.zeros(4)) == 1  # below threshold
    assert factor(np.array([np.nan, 1.0, 1.0, 0.0]), d, np.zeros(4)) == 1
    assert factor(np.array([0.0, 1.0, 1.0, 0.0]), d, np.zeros(4)) == 0


def test_rodas_with_sparse_lu_matches_dense():
    pattern = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 1)]
    sparse = make_rodas(robertson_rhs, robertson_jac, zero_dfdt, sparse_lu=compiled_sparse_lu(pattern, 3))
    dense = make_rodas(robertson_rhs, robertson_jac, zero_dfdt)
    t_out = np.array([0.0, 1.0, 10.0, 1e3, 1e5])
    results = [run(s, 0.0, [1.0, 0.0, 0.0], [], t_out, rtol=1e-8, atol=1e-12) for s in (sparse, dense)]
    assert results[0][0] == results[1][0] == Status.SUCCESS
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-8, atol=1e-14)


# ---------------------------------------------------------------- events and outputs
@pytest.mark.parametrize("method", ["rodas4", "dopri5"])
def test_chain_with_bolus_events_matches_exact(method):
    y0 = np.array([0.0, 10.0])
    y0_copy = y0.copy()
    status, y_out, stats = run(CHAIN[method], 0.0, y0, CHAIN_ARGS, T_OUT, EVENTS, rtol=1e-10, atol=1e-12)
    assert status == Status.SUCCESS
    np.testing.assert_array_equal(y0, y0_copy)
    expected = chain_expected(y0)
    np.testing.assert_array_equal(y_out[:2], [y0, y0])  # outputs at t0 come before the t0 doses
    assert_close(y_out, expected, rtol=1e-7, atol=1e-8)
    # pre-dose (left-limit) values at dose times 3 and 5, not the post-dose ones
    assert y_out[5, 0] == pytest.approx(expected[5, 0], rel=1e-7) and expected[5, 0] < 80.0
    assert stats[0] > 0 and stats[2] > 0
    if method == "rodas4":
        assert stats[3] > 0 and stats[4] >= stats[0]


def test_events_keep_the_step_size_proposal():
    """Many tiny doses must not restart the step size (cost stays close to the dose-free run)."""
    t_out = np.linspace(0.0, 50.0, 6)
    ev_t = np.arange(1.0, 50.0, 1.0)
    events = (ev_t, np.zeros(ev_t.size, dtype=np.int64), np.full(ev_t.size, 1e-9))
    _, _, quiet = run(CHAIN["rodas4"], 0.0, [1.0, 0.0], CHAIN_ARGS, t_out, rtol=1e-6, atol=1e-9)
    status, _, dosed = run(CHAIN["rodas4"], 0.0, [1.0, 0.0], CHAIN_ARGS, t_out, events, rtol=1e-6, atol=1e-9)
    assert status == Status.SUCCESS
    assert dosed[0] <= quiet[0] + ev_t.size + 5  # at most ~one extra (clipped) step per dose


@njit(cache=True)
def weekly_rhs(t, y, a, dydt):
    """A state driven by a forcing u that jumps at every multiple of a[1] and decays at rate a[0],
    feeding a slow second state: a = (decay rate, period, gain)."""
    u = math.exp(-a[0] * (t - math.floor(t / a[1]) * a[1]))
    dydt[0] = a[2] * u - y[0] * (1.0 + y[1])
    dydt[1] = u - 0.1 * y[1]


@njit(cache=True)
def weekly_jac(t, y, a, jm):
    jm[0, 0] = -(1.0 + y[1])
    jm[0, 1] = -y[0]
    jm[1, 1] = -0.1


@njit(cache=True)
def weekly_dfdt(t, y, a, out):
    du = -a[0] * math.exp(-a[0] * (t - math.floor(t / a[1]) * a[1]))
    out[0] = a[2] * du
    out[1] = du


def test_step_size_memory_saves_attempts_at_the_same_accuracy():
    """Breakpoints at the kinks of a weekly forcing: remembering last week's step sizes takes
    fewer attempts than re-estimating the step after every kink, within the tolerance."""
    args, t_out = [0.5, 7.0, 10.0], [420.0]
    kinks = np.arange(7.0, 420.0, 7.0)
    events = (kinks, np.zeros(kinks.size, dtype=np.int64), np.zeros(kinks.size))
    _, ref, _ = run(
        make_rodas(weekly_rhs, weekly_jac, weekly_dfdt, step_memory=False),
        0.0,
        [0.0, 0.0],
        args,
        t_out,
        events,
        rtol=1e-9,
        atol=1e-12,
        max_steps=10**6,
    )
    attempts = {}
    for memory in (True, False):
        solve = make_rodas(weekly_rhs, weekly_jac, weekly_dfdt, step_memory=memory)
        status, y, stats = run(solve, 0.0, [0.0, 0.0], args, t_out, events, rtol=1e-4, atol=1e-7)
        assert status == Status.SUCCESS
        np.testing.assert_allclose(y, ref, rtol=1e-3)
        attempts[memory] = stats[0] + stats[1]
    assert attempts[True] < 0.95 * attempts[False]


# ---------------------------------------------------------------- accuracy on classic problems
def test_rodas_robertson_matches_radau():
    t_out = np.concatenate(([0.0], np.logspace(-5, 5, 21)))
    y0 = np.array([1.0, 0.0, 0.0])
    solve = make_rodas(robertson_rhs, robertson_jac, zero_dfdt)
    status, y_out, stats = run(solve, 0.0, y0, np.zeros(0), t_out, rtol=1e-8, atol=1e-14)
    assert status == Status.SUCCESS
    ref = reference(robertson_rhs, robertson_jac, 0.0, y0, np.zeros(0), t_out)
    assert_close(y_out, ref, rtol=1e-5, atol=1e-12)
    assert stats[0] < 2000  # stiff solver: no explicit-method step explosion


def test_rodas_van_der_pol_stiff_matches_radau():
    t_out = np.linspace(0.0, 3000.0, 13)
    y0 = np.array([2.0, 0.0])
    args = np.array([1000.0])
    solve = make_rodas(vdp_rhs, vdp_jac, zero_dfdt)
    status, y_out, stats = run(solve, 0.0, y0, args, t_out, rtol=1e-9, atol=1e-9)
    assert status == Status.SUCCESS
    ref = reference(vdp_rhs, vdp_jac, 0.0, y0, args, t_out)
    assert_close(y_out[:, 0], ref[:, 0], rtol=1e-4, atol=1e-5)
    assert stats[0] < 20_000


def test_dopri5_lotka_volterra_matches_radau():
    t_out = np.linspace(0.0, 15.0, 16)
    y0 = np.array([10.0, 5.0])
    status, y_out, _ = run(make_dopri5(lotka_rhs), 0.0, y0, np.zeros(0), t_out, rtol=1e-10, atol=1e-12)
    assert status == Status.SUCCESS
    ref = reference(lotka_rhs, lotka_jac, 0.0, y0, np.zeros(0), t_out)
    assert_close(y_out, ref, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("method,order,h_max", [("rodas4", 4, 0.05), ("dopri5", 5, 0.1)])
def test_empirical_order_fixed_steps(method, order, h_max):
    """Constant steps (h0 = hmax = h, tolerances so loose that no step is rejected).

    Measured on the non-autonomous y' = -2 t y^2 (exercises df/dt); the slopes
    approach the order from above (rodas4: 4.20, 4.11, 4.06).
    """
    t_end = 2.0
    errors = []
    for h in h_max / 2.0 ** np.arange(4):
        status, y_out, stats = run(NONAUT[method], 0.0, [1.0], np.zeros(0), [t_end], rtol=1e9, atol=1e9, h0=h, hmax=h)
        assert status == Status.SUCCESS and stats[1] == 0 and stats[0] == round(t_end / h)
        errors.append(abs(y_out[0, 0] - 1.0 / (1.0 + t_end**2)))
    slopes = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((slopes > order - 0.3) & (slopes < order + 0.6)), slopes
    assert abs(slopes[-1] - order) < 0.25, slopes


def test_rodas_tolerance_sweep_error_follows_tolerance():
    """Adaptive runs: the global error drops with the tolerance and stays near it."""
    errs = []
    for tol in (1e-4, 1e-6, 1e-8, 1e-10):
        status, y_out, _ = run(NONAUT["rodas4"], 0.0, [1.0], np.zeros(0), [0.5, 1.0, 3.0], rtol=tol, atol=tol)
        assert status == Status.SUCCESS
        errs.append(np.max(np.abs(y_out[:, 0] - 1.0 / (1.0 + np.array([0.5, 1.0, 3.0]) ** 2))))
    errs = np.array(errs)
    assert np.all(errs[1:] < errs[:-1] / 10)
    assert np.all(errs < 100 * np.array([1e-4, 1e-6, 1e-8, 1e-10]))


# ---------------------------------------------------------------- status codes
@pytest.mark.parametrize("method", ["rodas4", "dopri5"])
def test_max_steps_gives_nan_rows_after_failure(method):
    t_out = np.linspace(0.0, 20.0, 21)
    status, y_out, stats = run(CHAIN[method], 0.0, [1.0, 0.0], CHAIN_ARGS, t_out, max_steps=30, rtol=1e-10)
    assert status == Status.MAX_STEPS
    reached = np.all(np.isfinite(y_out), axis=1)
    assert reached[0] and not reached[-1]
    first_nan = int(np.argmin(reached))
    assert np.all(~reached[first_nan:])  # rows after the failure point are all NaN
    assert stats[0] + stats[1] == 30


@pytest.mark.parametrize("method", ["rodas4", "dopri5"])
def test_blow_up_is_reported_not_raised(method):
    status, y_out, _ = run(BLOWUP[method], 0.0, [1.0], np.zeros(0), [0.5, 2.0], rtol=1e-8, atol=1e-8)
    assert status in (Status.NONFINITE, Status.STEP_TOO_SMALL)
    assert y_out[0, 0] == pytest.approx(2.0, rel=1e-6)
    assert np.isnan(y_out[1, 0])


def bad_calls():
    """(description, kwargs overriding a valid call) pairs that must give BAD_INPUT."""
    ok_ev = (np.array([1.0]), np.array([0], dtype=np.int64), np.array([1.0]))
    return [
        ("unsorted t_out", dict(t_out=np.array([2.0, 1.0]))),
        ("output before t0", dict(t_out=np.array([-1.0, 1.0]))),
        ("event before t0", dict(events=(np.array([-0.5]), ok_ev[1], ok_ev[2]))),
        ("unsorted events", dict(events=(np.array([1.0, 0.5]), np.array([0, 0]), np.array([1.0, 1.0])))),
        ("compartment out of range", dict(events=(ok_ev[0], np.array([2], dtype=np.int64), ok_ev[2]))),
        ("event arrays of different lengths", dict(events=(ok_ev[0], ok_ev[1], np.array([1.0, 2.0])))),
        ("nonfinite dose", dict(events=(ok_ev[0], ok_ev[1], np.array([np.nan])))),
        ("nonfinite y0", dict(y0=np.array([np.nan, 0.0]))),
        ("y_out wrong shape", dict(y_out=np.empty((2, 3)))),
        ("atol wrong length", dict(atol=np.full(3, 1e-9))),
        ("atol not positive", dict(atol=np.array([1e-9, 0.0]))),
        ("rtol not positive", dict(rtol=0.0)),
        ("stats too short", dict(stats=np.zeros(3, dtype=np.int64))),
        ("negative h0", dict(h0=-1.0)),
        ("hmax not positive", dict(hmax=0.0)),
    ]


@pytest.mark.parametrize("method", ["rodas4", "dopri5"])
@pytest.mark.parametrize("case", bad_calls(), ids=lambda c: c[0])
def test_bad_input(method, case):
    _, override = case
    call = dict(
        t_out=np.array([0.0, 2.0]),
        events=(np.array([1.0]), np.array([0], dtype=np.int64), np.array([1.0])),
        y0=np.array([1.0, 0.0]),
        y_out=np.empty((2, 2)),
        atol=np.full(2, 1e-9),
        rtol=1e-6,
        stats=np.zeros(5, dtype=np.int64),
        h0=0.0,
        hmax=np.inf,
    )
    call.update(override)
    code = CHAIN[method](
        0.0,
        call["y0"],
        CHAIN_ARGS,
        call["t_out"],
        *call["events"],
        call["rtol"],
        call["atol"],
        call["h0"],
        call["hmax"],
        100,
        call["y_out"],
        call["stats"],
    )
    assert code == Status.BAD_INPUT
    assert np.all(np.isnan(call["y_out"]))


def test_singular_matrix_halves_the_step_and_recovers():
    solve = make_rodas(decay_rhs, bad_decay_jac, zero_dfdt)
    status, y_out, stats = run(solve, 0.0, [1.0], np.zeros(0), [1.0, 3.0], rtol=1e-6, atol=1e-9, h0=0.5, hmax=0.5)
    assert status == Status.SUCCESS
    assert stats[1] > 0 and stats[4] > stats[0] + stats[1] - 1  # singular attempts count as rejected
    # a wrong Jacobian costs the method its order, so only a loose check of the values
    assert_close(y_out[:, 0], np.exp(-np.array([1.0, 3.0])), rtol=2e-3, atol=0)


def test_empty_output_and_outputs_only_at_t0():
    status, y_out, stats = run(CHAIN["rodas4"], 1.0, [1.0, 2.0], CHAIN_ARGS, [1.0, 1.0], EVENTS_AT_1)
    assert status == Status.SUCCESS and stats[0] == 0
    np.testing.assert_array_equal(y_out, [[1.0, 2.0], [1.0, 2.0]])
    assert run(CHAIN["rodas4"], 0.0, [1.0, 2.0], CHAIN_ARGS, np.zeros(0))[0] == Status.SUCCESS


EVENTS_AT_1 = (np.array([1.0]), np.array([0], dtype=np.int64), np.array([5.0]))


# ---------------------------------------------------------------- scipy backend
@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA", "scipy-radau"])
def test_scipy_backend_matches_exact_and_rodas(method):
    y0 = np.array([0.0, 10.0])
    status, y_out, stats = solve_scipy(
        chain_rhs, 0.0, y0, CHAIN_ARGS, T_OUT, *EVENTS, 1e-10, 1e-12, 100_000, method=method, jac=chain_jac
    )
    assert status == Status.SUCCESS and stats[0] > 0 and stats[2] > 0
    expected = chain_expected(y0)
    assert_close(y_out, expected, rtol=1e-6, atol=1e-7)
    _, y_rodas, _ = run(CHAIN["rodas4"], 0.0, y0, CHAIN_ARGS, T_OUT, EVENTS, rtol=1e-10, atol=1e-12)
    assert_close(y_out, y_rodas, rtol=1e-6, atol=1e-7)


def test_scipy_backend_maps_failures_to_status():
    t_out = np.linspace(0.0, 20.0, 21)
    status, y_out, _ = solve_scipy(chain_rhs, 0.0, [1.0, 0.0], CHAIN_ARGS, t_out, *NO_EVENTS, 1e-10, 1e-12, 5)
    assert status == Status.MAX_STEPS and np.isfinite(y_out[0]).all() and np.isnan(y_out[-1]).all()
    status, y_out, _ = solve_scipy(
        blowup_rhs, 0.0, [1.0], np.zeros(0), [0.5, 2.0], *NO_EVENTS, 1e-8, 1e-8, 100_000, jac=blowup_jac
    )
    assert status in (Status.NONFINITE, Status.STEP_TOO_SMALL)
    assert y_out[0, 0] == pytest.approx(2.0, rel=1e-5) and np.isnan(y_out[1, 0])
    bad = solve_scipy(chain_rhs, 0.0, [1.0, 0.0], CHAIN_ARGS, [2.0, 1.0], *NO_EVENTS, 1e-6, 1e-9, 100)
    assert bad[0] == Status.BAD_INPUT and np.isnan(bad[1]).all()
    assert (
        solve_scipy(chain_rhs, 0.0, [1.0, 0.0], CHAIN_ARGS, [1.0], *NO_EVENTS, 1e-6, 1e-9, 100, method="Euler")[0]
        == Status.BAD_INPUT
    )
    assert solve_scipy(chain_rhs, 0.0, [[1.0]], CHAIN_ARGS, [1.0], *NO_EVENTS, 1e-6, 1e-9, 100)[0] == Status.BAD_INPUT


# ---------------------------------------------------------------- status and options
def test_status_messages():
    assert Status(0) is Status.SUCCESS
    assert all(isinstance(s.message, str) and s.message for s in Status)
    assert [int(s) for s in Status][:6] == [0, 1, 2, 3, 4, 5]


def test_solver_options_defaults_and_atol_vector():
    opts = SolverOptions()
    assert (opts.method, opts.rtol, opts.atol, opts.max_steps, opts.h0, opts.hmax) == (
        "rodas4",
        1e-6,
        1e-9,
        100_000,
        0.0,
        math.inf,
    )
    np.testing.assert_array_equal(opts.atol_vector(3), [1e-9] * 3)
    vec = SolverOptions(atol=np.array([1e-6, 1e-8]))
    assert vec.atol_vector(2).dtype == np.float64 and list(vec.atol_vector(2)) == [1e-6, 1e-8]
    assert hash(vec) == hash(SolverOptions(atol=[1e-6, 1e-8]))
    with pytest.raises(ValueError, match="2 entries"):
        vec.atol_vector(3)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="euler"), "unknown solver method"),
        (dict(rtol=0.0), "rtol"),
        (dict(rtol=float("nan")), "rtol"),
        (dict(atol=-1.0), "atol"),
        (dict(atol=[1e-9, 0.0]), "atol"),
        (dict(atol=np.ones((2, 2))), "atol"),
        (dict(atol="small"), "atol"),
        (dict(max_steps=0), "max_steps"),
        (dict(max_steps=2.5), "max_steps"),
        (dict(h0=-1.0), "h0"),
        (dict(hmax=0.0), "hmax"),
    ],
)
def test_solver_options_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SolverOptions(**kwargs)


def test_block_lu_matches_a_dense_solve():
    """lu_factor_block / lu_solve_block on a matrix with trailing sink states."""
    from rasim.solver.linalg import lu_factor_block, lu_solve_block

    rng = np.random.default_rng(3)
    n, nc = 9, 6
    a = rng.normal(size=(n, n)) + 5 * np.eye(n)
    a[:nc, nc:] = 0.0
    a[nc:, nc:] = np.diag(rng.uniform(1.0, 2.0, n - nc))
    b = rng.normal(size=n)
    lu, piv, x = a.copy(), np.zeros(n, dtype=np.int64), b.copy()
    assert lu_factor_block(lu, piv, nc) == 0
    lu_solve_block(lu, piv, x, nc)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-12)
    singular = a.copy()
    singular[n - 1, n - 1] = 0.0
    assert lu_factor_block(singular, piv, nc) == n
