"""Where the time goes.

* ``kernel_profile``: one patient's rodas4 trial (one thread), split by a cost
  model: measured unit costs (ns per call) of the RHS, the Jacobian, df/dt, the
  MTX forcing alone, forming + factorising the iteration matrix E = d I - J with
  the model's generated sparse LU and one sparse solve, times the solver's own call counts; the rest (measured total minus
  the modelled parts) is the driver (step control, vector updates, outputs),
  give or take the cost model's own error.  Times are minima over repeats, the
  figure least disturbed by other jobs on a shared machine.
* ``stage_profile``: a cohort run split into its pipeline stages (candidate
  draws and screening, settling the day-0 state, the trial, observation) by
  timing the cohort module's stage functions; needs ``rasim.cohort``.
* ``floor``: the compute floor beside the measured throughput: flops per step
  counted in the code a step runs (``flops.step_flops``, with the kernel
  profile's call counts) x steps per patient measured in the cohort run, against
  the floating-point rate of this machine's cores (``flops.machine_rate``).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode

from rasim import model
from rasim.integrate import KERNELS
from rasim.model.forcing import U_START, evaluate
from rasim.model.jacobian import lu_factor, lu_solve

from cases import Problems, atol_vector
import flops
from rasim.solver._driver import error_norm

UNIT_REPS = 200_000


@njit
def time_ns():
    """Wall clock (ns) read from compiled code."""
    with objmode(t="int64"):
        t = time.perf_counter_ns()
    return t


@njit
def _unit_costs(reps, t, y, args, jm, e, b):
    """Nanoseconds per call of (rhs, jac, dfdt, forcings, form E + sparse LU, sparse solve)."""
    n = y.shape[0]
    out = np.empty(n)
    mat = np.zeros((n, n))
    acc = 0.0
    res = np.empty(6)
    for which in range(6):
        t0 = time_ns()
        for r in range(reps):
            tr = t + 1e-7 * r
            if which == 0:
                model.rhs(tr, y, args, out)
            elif which == 1:
                mat[:, :] = 0.0
                model.jac(tr, y, args, mat)
            elif which == 2:
                out[:] = 0.0
                model.dfdt(tr, y, args, out)
            elif which == 3:
                evaluate(tr, args)
                acc += args[U_START]
            elif which == 4:
                lu_factor(jm.reshape(n * n), 4.0 + 1e-9 * r, e)
            else:
                out[:] = b
                lu_solve(e, out)
        res[which] = (time_ns() - t0) / reps
        acc += out[0] + mat[0, 0]
    return res, acc


def kernel_profile(prob: Problems, rtol: float = 1e-6, repeat: int = 7) -> dict:
    """Cost model of patient 0's rodas4 solve at ``rtol`` (one thread)."""
    solve = KERNELS["rodas4"]
    y_out = np.empty((prob.t_out.size, prob.y0.shape[1]))
    stats = np.zeros(5, dtype=np.int64)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        solve(
            prob.t0,
            prob.y0[0],
            prob.args[0],
            prob.t_out,
            prob.ev_t,
            prob.ev_cmt,
            prob.ev_amt[0],
            rtol,
            atol_vector(rtol),
            0.0,
            np.inf,
            1_000_000,
            y_out,
            stats,
        )
        times.append(time.perf_counter() - t)
    total = min(times)
    n = prob.y0.shape[1]
    jm = np.zeros((n, n))
    model.jac(1.0, prob.y0[0], prob.args[0], jm)
    unit = np.min(
        [
            _unit_costs(UNIT_REPS, 1.0, prob.y0[0].copy(), prob.args[0], jm, np.empty(n * n), np.ones(n))[0]
            for _ in range(3)
        ],
        axis=0,
    )
    accepted, rejected, n_rhs, n_jac, n_lu = (int(v) for v in stats)
    step = flops.step_flops(
        model, lu_factor, lu_solve, _closure(_closure(solve, "run_batch"), "attempt"), error_norm, stats
    )
    parts = {
        "rhs (incl. MTX forcing)": n_rhs * unit[0],
        "Jacobian": n_jac * unit[1],
        "df/dt": n_jac * unit[2],
        "form E + sparse LU": n_lu * unit[4],
        "sparse solves (6 per attempt)": 6 * n_lu * unit[5],
    }
    parts = {k: v * 1e-9 for k, v in parts.items()}
    parts["rest: driver, vector updates (+- model error)"] = total - sum(parts.values())
    return {
        "rtol": rtol,
        "seconds": total,
        "accepted": accepted,
        "rejected": rejected,
        "rhs_calls": n_rhs,
        "jac_calls": n_jac,
        "lu": n_lu,
        "unit_ns": dict(zip(("rhs", "jac", "dfdt", "forcings", "lu_factor", "lu_solve"), unit.tolist())),
        "mtx_forcing_s": (n_rhs + 2 * n_jac) * unit[3] * 1e-9,
        "parts_s": parts,
        "flops_per_step": step["per_step"],
        "flops_parts": step["parts"],
        "flops_per_call": step["per_call"],
    }


def _closure(disp, name):
    """The value of closure variable ``name`` of a Numba dispatcher's function."""
    fn = disp.py_func
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))[name]


def floor(kernel: dict, stages: dict | None, runs: list[dict], cores: int) -> dict:
    """The compute floor (patients/s on ``cores`` cores) beside the measured throughput.

    flops per step: ``kernel_profile``'s count (per attempted step); steps per patient:
    the cohort run's mean accepted trial steps (``stage_profile``) times the kernel
    profile's attempts per accepted step, or the kernel profile's own patient without a
    cohort run; rate: ``flops.machine_rate`` per core (scalar and SIMD multiply-add)."""
    attempts_per_accepted = (kernel["accepted"] + kernel["rejected"]) / max(1, kernel["accepted"])
    if stages is not None:
        steps, source = stages["mean_trial_steps"] * attempts_per_accepted, "cohort trial"
    else:
        steps, source = kernel["accepted"] + kernel["rejected"], "one patient"
    rate = flops.machine_rate()
    per_patient = kernel["flops_per_step"] * steps
    out = {
        "flops_per_step": kernel["flops_per_step"],
        "steps_per_patient": steps,
        "steps_source": source,
        "flops_per_patient": per_patient,
        "cores": cores,
        "flops_per_s_per_core": rate,
        "floor_patients_per_s": {k: cores * v / per_patient for k, v in rate.items()},
    }
    measured = [r for r in runs if "trial_s" in r]
    if measured:
        big = max(measured, key=lambda r: r["patients"])
        out["measured_patients"] = big["patients"]
        out["measured_patients_per_s"] = {
            "solve-only": big["patients"] / big["trial_s"],
            "end to end": big["patients"] / big["wall_s"],
        }
    return out


def stage_profile(n: int) -> dict:
    """A summary-only cohort run of ``n`` patients split into pipeline stages (s)."""
    from rasim import day0
    from rasim.cohort import Cohort

    from cases import ARM

    homes = {"replay": day0, "growth": day0}
    spent = dict.fromkeys(homes, 0.0)
    originals = {name: getattr(home, name) for name, home in homes.items()}

    def timed(name):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return originals[name](*a, **k)
            finally:
                spent[name] += time.perf_counter() - t

        return wrapper

    try:
        for name, home in homes.items():
            setattr(home, name, timed(name))
        res = Cohort(ARM, patients=n, seed=0).run()
    finally:
        for name, home in homes.items():
            setattr(home, name, originals[name])
    run_s = res.timing["run_s"]
    stages = {
        "candidate draws + screening": res.timing["enrol_s"] - spent["replay"] - spent["growth"],
        "day-0 replay + Newton polish (every candidate)": spent["replay"],
        "day-0 stability check (qualifying candidates)": spent["growth"],
        "trial (run-in + 3 years, rodas4)": res.timing["trial_s"],
        "observation (measurement noise, observables)": res.timing["observe_s"],
    }
    stages["rest (chunk assembly, summaries)"] = run_s - sum(stages.values())
    candidates = (n + res.not_inflamed + res.screen_failures) / n
    return {
        "patients": n,
        "run_s": run_s,
        "stages_s": stages,
        "candidates_per_patient": candidates,
        "mean_trial_steps": float(np.mean(res.steps)),
    }
