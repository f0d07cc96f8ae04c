"""Calibrate rasim's declared parameter subset to the ``calibrate`` rows of targets.csv.

    python tools/calibrate.py --write          # fit, leave-one-trial-out refits, store
    python tools/calibrate.py --report-only    # docs/calibration.md and its figures

Fits ``rasim.calibration.FITTED`` (log scale, within each parameter's plausible
range) by ``scipy.optimize.least_squares`` on the residuals (simulated -
published) / tolerance.  Monte Carlo noise is handled in three ways: common
random numbers (one fixed seed, so the objective is a deterministic function of
the parameters), a finite-difference step (``--diff-step``, 10% on the log
scale) wider than the jumps that single patients crossing a responder threshold
cause, and a continuation in sample size: the fit at ``--patients`` per arm is
polished at ``--polish-patients`` (``--polish-evals`` > 0), where the residual
Jacobian is taken in any case for the parameters' approximate standard errors and
correlations.

Each trial with calibrate rows is then left out in turn and the parameters are
refitted without it (``--loto-evals`` evaluations from the full fit, repeated on the
common random numbers of ``--loto-seeds`` cohorts, or with ``--loto-evals 0`` one
damped Gauss-Newton step on the full fit's residual Jacobian without the trial's
rows; ``--loto-trials`` limits the real refits to the trials named); the report's
headline is how well each left-out trial is predicted, over those cohorts.  One
cohort is not enough: a refit of two or three steps follows the Monte Carlo noise,
and a start moved by one part in a million changed the count by four rows.  A Jacobian costs one evaluation per fitted parameter and one more, so a
budget smaller than that would end before the first step: such budgets are refused.

The defaults are the settings of the committed fit, which they reproduce: from the
committed values the fit takes no step (no point within reach of a 10% step lowers
the objective at 120 patients per arm), so ``--write`` rewrites the same values and
diagnostics.  ``calibrated.json`` records the settings of the run that wrote it.

The fit starts from the committed values, or from ``--start "table:name=value,..."`` for a
named few (the placebo terms of this calibration started from an in-sample grid over
``placebo_pro``, ``placebo_assessor`` and ``placebo_sd``, the start kept by its
leave-one-trial-out count: the finite-difference search, its steps no wider than the Monte
Carlo noise allows, stays in the basin it starts in).

``--write`` stores the values in ``src/rasim/data/calibrated.json`` and the fit
diagnostics (Jacobian, residuals, leave-one-trial-out values) in
``docs/calibration_fit.json``; the report is written from those at
``--report-patients`` per arm with a fresh seed, so its Monte Carlo error is honest.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from rasim import calibration as cal
from rasim.model import parameter

ROOT = Path(__file__).resolve().parents[1]
CALIBRATED = ROOT / "src" / "rasim" / "data" / "calibrated.json"
DIAGNOSTICS = ROOT / "docs" / "calibration_fit.json"


def bounds(table: str, name: str) -> tuple[float, float]:
    """Plausible range of a fitted entry (its table's low/high, above 0 for the log scale)."""
    p = parameter(name, table)
    return max(p.low, 1e-6 if table == "params" else 1e-3), p.high


def current(table: str, name: str) -> float:
    """The value in use (committed calibration applied)."""
    return parameter(name, table).value


def log_bounds() -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.log(np.array([bounds(*f) for f in cal.FITTED])).T
    return lo, hi


class _Budget(Exception):
    """The evaluation budget of a fit is spent."""


def least_squares_fit(
    tlist: list, x0: np.ndarray, patients: int, seed: int, max_evals: int, diff_step: float, label: str
) -> dict:
    """One least-squares run on ``tlist`` from ``x0`` (natural scale) within ``max_evals``
    evaluations (the finite-difference ones included); the best evaluation is kept."""
    lo, hi = log_bounds()
    start = np.clip(np.log(x0), lo + 1e-9, hi - 1e-9)
    history: list[float] = []
    best: dict = {}

    def fun(logx):
        if len(history) >= max_evals:
            raise _Budget
        r = residuals_at(tlist, np.exp(logx), patients, seed)
        history.append(float(r @ r))
        if history[-1] <= min(history):
            best.update(logx=logx.copy(), resid=r)
        print(f"  {label} eval {len(history):3d}  objective {history[-1]:9.3f}", flush=True)
        return r

    try:
        sol = least_squares(fun, start, bounds=(lo, hi), diff_step=diff_step, x_scale=1.0)
        status, message = int(sol.status), sol.message
    except _Budget:
        status, message = 0, f"evaluation budget ({max_evals}) spent; best evaluation kept"
    x = np.exp(best["logx"])
    print(
        f"  {label}: objective {history[0]:.3f} -> {min(history):.3f}; x = {[float(f'{v:.4g}') for v in x]}", flush=True
    )
    return {
        "x": x,
        "resid": best["resid"],
        "objective": min(history),
        "start": history[0],
        "status": status,
        "message": message,
        "nfev": len(history),
        "patients": patients,
        "seed": seed,
    }


def residuals_at(tlist: list, x: np.ndarray, patients: int, seed: int) -> np.ndarray:
    """(simulated - published) / tolerance at FITTED values ``x``."""
    return cal.residuals(cal.simulate_targets(tlist, cal.overrides_from(x), patients, seed))


def jacobian_at(tlist: list, x: np.ndarray, r0: np.ndarray, patients: int, seed: int, step: float) -> np.ndarray:
    """Forward-difference d residual / d log(x), with the fit's step and common random numbers."""
    lo, hi = log_bounds()
    jac = np.empty((len(r0), len(x)))
    for k in range(len(x)):
        h = step if np.log(x[k]) + step <= hi[k] else -step
        xk = x.copy()
        xk[k] *= np.exp(h)
        jac[:, k] = (residuals_at(tlist, xk, patients, seed) - r0) / h
    return jac


def starting_values(spec: str) -> np.ndarray:
    """The committed values of ``cal.FITTED``, with "table:name=value,..." from ``spec`` in their place."""
    x0 = np.array([current(*f) for f in cal.FITTED])
    keys = [f"{table}:{name}" for table, name in cal.FITTED]
    for item in filter(None, spec.split(",")):
        key, _, value = (part.strip() for part in item.partition("="))
        if key not in keys:
            raise SystemExit(f"--start: {key!r} is not fitted; fitted: {', '.join(keys)}")
        x0[keys.index(key)] = float(value)
    return x0


def check_budgets(args) -> None:
    """Refuse, before any work, an evaluation budget that cannot complete one step."""
    step = len(cal.FITTED) + 1  # one Jacobian
    for flag, value, zero in (
        ("--max-evals", args.max_evals, None),
        ("--polish-evals", args.polish_evals, "skips the polish"),
        ("--loto-evals", args.loto_evals, "takes one Gauss-Newton step per trial"),
    ):
        if value < 0 or (0 < value < step) or (value == 0 and zero is None):
            hint = f"; 0 {zero}" if zero else ""
            raise SystemExit(
                f"{flag} {value}: a least-squares step needs at least {step} evaluations "
                f"(a Jacobian: one per fitted parameter, {len(cal.FITTED)}, and one more){hint}"
            )
    if args.loto_seeds < 1:
        raise SystemExit(f"--loto-seeds {args.loto_seeds}: at least one cohort to refit on")


def settings_of(args) -> dict:
    """The settings of this run, as calibrated.json records them."""
    keys = ("patients", "max_evals", "polish_patients", "polish_evals", "loto_evals", "loto_seeds", "loto_trials")
    return {k: getattr(args, k) for k in (*keys, "seed", "diff_step", "start")}


def command_line(settings: dict) -> str:
    """The command that runs a fit with ``settings`` (as ``settings_of`` records them)."""
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings.items() if k not in ("start", "loto_trials"))
    extra = "".join(f' --{k.replace("_", "-")} "{settings[k]}"' for k in ("start", "loto_trials") if settings.get(k))
    return f"python tools/calibrate.py --write {flags}{extra}"


def noise_aware_fit(args) -> dict:
    """Fit at ``args.patients`` per arm, polish at ``args.polish_patients`` (same seed) unless
    ``args.polish_evals`` is 0, and take the residual Jacobian there (for the standard errors)."""
    tlist = cal.targets()
    x0 = starting_values(args.start)
    first = least_squares_fit(tlist, x0, args.patients, args.seed, args.max_evals, args.diff_step, "fit")
    stages = [{k: first[k] for k in ("patients", "nfev", "objective")}]
    if args.polish_evals:
        final = least_squares_fit(
            tlist, first["x"], args.polish_patients, args.seed, args.polish_evals, args.diff_step, "polish"
        )
        stages.append({k: final[k] for k in ("patients", "nfev", "objective")})
    else:
        final = dict(first, resid=residuals_at(tlist, first["x"], args.polish_patients, args.seed))
    final["jac"] = jacobian_at(tlist, final["x"], final["resid"], args.polish_patients, args.seed, args.diff_step)
    final["start"] = first["start"]
    final["stages"] = stages
    final["diagnostics"] = {"patients": args.polish_patients, "objective": float(final["resid"] @ final["resid"])}
    return final


def diagnostics_at_current(args) -> dict:
    """Residuals and Jacobian at the values in use, at ``args.polish_patients`` (no refit)."""
    tlist = cal.targets()
    x = np.array([current(*f) for f in cal.FITTED])
    r = residuals_at(tlist, x, args.polish_patients, args.seed)
    return {
        "x": x,
        "resid": r,
        "jac": jacobian_at(tlist, x, r, args.polish_patients, args.seed, args.diff_step),
        "diagnostics": {"patients": args.polish_patients, "objective": float(r @ r)},
    }


def leave_one_trial_out(result: dict, args) -> tuple[dict[str, list[list[float]]], dict[str, str]]:
    """For each trial with calibrate rows: the parameters refitted without its rows, by
    ``args.loto_evals`` least-squares evaluations from the full fit on the common random numbers
    of each of ``args.loto_seeds`` seeds (``args.seed`` and the next ones), or (0, or a trial not
    in ``args.loto_trials``) by one damped Gauss-Newton step on the full fit's residual Jacobian
    without the trial's rows; and how each was refitted.

    A refit of two or three steps on a few hundred virtual patients is itself noisy (its path
    turns on which patients cross a responder threshold), so it is repeated on fresh cohorts
    and the report gives the left-out count over them."""
    tlist = cal.targets()
    lo, hi = log_bounds()
    out, how = {}, {}
    refit = set(args.loto_trials.split(",")) if args.loto_trials else None
    seeds = range(args.seed, args.seed + args.loto_seeds)
    for trial in sorted({cal.trial_of(t) for t in tlist}):
        keep = np.array([cal.trial_of(t) != trial for t in tlist])
        if args.loto_evals == 0 or (refit is not None and trial not in refit):
            xs = [
                np.exp(
                    cal.refit_step(
                        np.asarray(result["jac"])[keep], np.asarray(result["resid"])[keep], np.log(result["x"]), lo, hi
                    )
                )
            ]
            how[trial] = "Gauss-Newton step"
        else:
            rest = [t for t, k in zip(tlist, keep) if k]
            xs = [
                least_squares_fit(
                    rest, result["x"], args.patients, s, args.loto_evals, args.diff_step, f"without {trial}, seed {s}"
                )["x"]
                for s in seeds
            ]
            how[trial] = f"refit ({args.loto_evals} evaluations, {len(xs)} seeds)"
        out[trial] = [[float(v) for v in x] for x in xs]
    return out, how


def write(
    result: dict, loto: dict[str, list[list[float]]], how: dict[str, str], seconds: float, settings: dict
) -> None:
    """calibrated.json (values, balance, fit summary and the run's settings) and the diagnostics file."""
    data: dict = cal.overrides_from(result["x"])
    previous = json.loads(CALIBRATED.read_text()).get("fit", {}) if CALIBRATED.exists() else {}
    previous.pop("diagnostics", None)  # an evaluation at the previous values: stale once these are written
    data["fit"] = {
        **previous,
        **{
            k: result[k]
            for k in ("start", "objective", "status", "message", "nfev", "patients", "seed", "stages", "diagnostics")
            if k in result
        },
    }
    data["fit"]["settings"] = settings
    data["fit"]["seconds"] = round(seconds, 1)
    data["fit"]["date"] = time.strftime("%Y-%m-%d")
    CALIBRATED.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    DIAGNOSTICS.write_text(
        json.dumps(
            {
                "fitted": [list(f) for f in cal.FITTED],
                "x": [float(v) for v in result["x"]],
                "targets": [t.id for t in cal.targets()],
                "jacobian": np.asarray(result["jac"]).tolist(),
                "residuals": [float(v) for v in result["resid"]],
                "loto": loto,
                "loto_method": how,
            },
            indent=1,
        )
        + "\n"
    )


def parser() -> argparse.ArgumentParser:
    """The command line; its defaults are the committed fit's settings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=120, help="patients per arm in the first fit and the refits")
    ap.add_argument("--polish-patients", type=int, default=250, help="patients per arm in the polishing fit")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the fit's common random numbers")
    ap.add_argument("--max-evals", type=int, default=60, help="evaluations of the first fit")
    ap.add_argument(
        "--polish-evals",
        type=int,
        default=0,
        help="evaluations of the polishing fit (0: none; the residual Jacobian is still taken at --polish-patients)",
    )
    ap.add_argument(
        "--loto-evals",
        type=int,
        default=35,
        help="evaluations of each leave-one-trial-out refit; 0: one damped Gauss-Newton step "
        "on the full fit's residual Jacobian",
    )
    ap.add_argument(
        "--loto-seeds",
        type=int,
        default=3,
        help="cohorts (seeds --seed, --seed + 1, ...) each leave-one-trial-out refit is repeated on",
    )
    ap.add_argument(
        "--loto-trials",
        default="",
        help="comma-separated trials refitted with --loto-evals evaluations; the others take the "
        "Gauss-Newton step (default: every trial refitted)",
    )
    ap.add_argument(
        "--diff-step",
        type=float,
        default=0.1,
        help="relative finite-difference step (log scale); wide enough to see through Monte Carlo jumps",
    )
    ap.add_argument(
        "--start",
        default="",
        help='starting values "table:name=value,..." of fitted parameters (default: the committed values)',
    )
    ap.add_argument("--write", action="store_true", help="store the fit in calibrated.json and the diagnostics")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument(
        "--diagnostics-only",
        action="store_true",
        help="no fit: Jacobian and leave-one-trial-out refits at the values in use",
    )
    ap.add_argument("--report-patients", type=int, default=1000)
    ap.add_argument("--report-seed", type=int, default=7)
    return ap


def main() -> None:
    args = parser().parse_args()
    if not args.report_only:
        check_budgets(args)
        t0 = time.perf_counter()
        result = diagnostics_at_current(args) if args.diagnostics_only else noise_aware_fit(args)
        print({k: result[k] for k in ("start", "objective", "message", "diagnostics") if k in result})
        loto, how = leave_one_trial_out(result, args)
        if args.write:
            write(result, loto, how, time.perf_counter() - t0, settings_of(args))
            print(f"wrote {CALIBRATED} and {DIAGNOSTICS}; run --report-only for the report")
        return
    from calibration_report import report  # tools/ is on sys.path when run as a script

    report(args.report_patients, args.report_seed)


if __name__ == "__main__":
    main()
