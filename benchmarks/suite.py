"""rasim performance suite: one command, one table, one JSON file.

    python benchmarks/suite.py [--quick] [--json FILE] [--no-peers] [--case-budget SECONDS]

Sections (all figures measured in this one run, on this machine):

1. JIT start: cold compile (fresh NUMBA_CACHE_DIR), the lockstep lanes' compile and cached start,
   each as import + a first 8-patient cohort run minus a warm run, in fresh processes;
2. one patient, 3 years (UC-MSC day 0 + MTX 15 mg weekly): rodas4 / dopri5 run time;
3. work-precision on the ``msc+dmard`` arm: rasim rodas4/dopri5 and the peers
   (numbalsoda, scipy solve_ivp LSODA/BDF/Radau and odeint, diffrax Kvaerno5 /
   Kvaerno3 / its Rosenbrock solvers if it has them, each with the patients
   split over two threads) at several tolerances, errors against scipy Radau at
   rtol 1e-11; speed ratios at equal achieved error, for diffrax also against
   the lower envelope of its solvers' fronts ("diffrax-best");
4. cohort runs of 1,000 / 10,000 / 100,000 patients (summary only), each in a
   fresh process: patients per second, wall time, peak memory; a size whose
   projected time exceeds ``--case-budget`` is skipped and its time projected;
5. the standard stiff problems HIRES, ROBER, POLLU (``standard.py``): rasim
   rodas4 against scipy Radau/BDF/LSODA/odeint and numbalsoda, errors against
   the test set's published reference solutions;
6. where the time goes (solver cost model, cohort pipeline stages) and the
   compute floor beside the measured throughput: flops per step (counted in the
   code a step runs) x steps per patient (measured) against this machine's
   measured flop rate, as patients/s on its cores; then the cohort's lockstep lanes
   (``rasim.lockstep``: B patients at once) against its scalar kernel, one thread:
   bit for bit, and how much faster;
7. the issue's targets: met / missed and by how much.

The JSON follows pytest-benchmark's layout (machine_info, commit_info,
benchmarks[] with stats and extra_info, datetime, version) plus the targets,
ratios, the diffrax solver behind diffrax-best at each error level and missing
peers; by default it goes to ``benchmarks/results/<UTC time>_<commit>.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import cases  # noqa: E402
import costs  # noqa: E402
import solvers  # noqa: E402
import standard  # noqa: E402
import targets  # noqa: E402
import workprec  # noqa: E402
from child import START_PATIENTS  # noqa: E402


@dataclass(frozen=True)
class Config:
    """Sizes of one suite run."""

    sizes: tuple[int, ...]
    tolerances: tuple[float, ...]
    wp_patients: int  # patients every method solves in the work-precision sweep
    rounds: int  # turns each method takes at each tolerance
    min_seconds: float  # within a turn, repeat a solve until this much time is spent
    case_budget: float  # skip a cohort size projected to take longer than this (s)
    profile_patients: int
    single_repeat: int
    lockstep_patients: int  # patients of the lockstep comparison (one thread)


FULL = Config((1_000, 10_000, 100_000), workprec.TOLERANCES, 24, 3, 0.3, 900.0, 500, 7, 512)
QUICK = Config((100, 1_000, 100_000), workprec.QUICK_TOLERANCES, 6, 2, 0.1, 120.0, 100, 3, 64)
DIFFRAX_NAMES = ("diffrax-kvaerno5", "diffrax-kvaerno3", "diffrax-ros3p", "diffrax-rodas5p")  # peer_diffrax's methods
DIFFRAX_BEST = "diffrax-best"  # their lower envelope, the "diffrax"
PACKAGES = ("rasim", "numpy", "scipy", "numba", "llvmlite", "numbalsoda", "jax", "jaxlib", "diffrax")


def say(text: str = "") -> None:
    """Print a line of the report now."""
    print(text, flush=True)


# ---- environment --------------------------------------------------------------------------


def machine_info() -> dict:
    """pytest-benchmark's machine_info fields, plus the package versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "release": platform.release(),
        "system": platform.system(),
        "cpu": {"count": os.cpu_count()},
        "versions": versions,
    }


def commit_info() -> dict:
    """Commit id, time, branch and whether the work tree has changes."""

    def git(*a):
        out = subprocess.run(["git", *a], cwd=HERE, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    return {
        "id": git("rev-parse", "HEAD"),
        "time": git("log", "-1", "--format=%cI"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
        "project": "rasim",
    }


def run_child(*argv: str, env: dict | None = None) -> dict:
    """Run ``child.py`` in a fresh process; its JSON line."""
    out = subprocess.run(
        [sys.executable, str(HERE / "child.py"), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if out.returncode != 0:
        raise RuntimeError(f"child.py {' '.join(argv)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- sections -------------------------------------------------------------------------------


def startup_section() -> dict:
    """Cold compile and cached start (s), each first run minus a warm run."""
    with tempfile.TemporaryDirectory() as cache_dir:
        # a first run compiles the scalar kernels (the lockstep lanes compile in the background
        # afterwards: here in the second child, so that nothing else runs meanwhile)
        cold = run_child("start", env={"NUMBA_CACHE_DIR": cache_dir, "RASIM_LOCKSTEP": "0"})
        lanes = run_child("start", env={"NUMBA_CACHE_DIR": cache_dir, "RASIM_LOCKSTEP": "1"})
        cached = run_child("start", env={"NUMBA_CACHE_DIR": cache_dir, "RASIM_LOCKSTEP": "auto"})
    out = {
        "cold_s": cold["first_s"] - cold["warm_s"],
        "lanes_s": lanes["first_s"] - lanes["warm_s"],
        "cached_s": cached["first_s"] - cached["warm_s"],
        "cold": cold,
        "lanes": lanes,
        "cached": cached,
    }
    say(
        f"JIT start: cold compile {out['cold_s']:.1f} s; the lockstep lanes {out['lanes_s']:.1f} s more (compiled in "
        f"the background after a cold start); cached start {out['cached_s']:.2f} s, lanes included "
        f"(import + first {START_PATIENTS}-patient cohort run minus a warm run; the cohort's own "
        f"compile_s: cold {_fmt(cold['reported_compile_s'])} s, cached {_fmt(cached['reported_compile_s'])} s)"
    )
    return out


def single_section(cfg: Config) -> dict:
    """One patient, 3 years, rasim's compiled solvers at rtol 1e-6 (median run, ms)."""
    from benchmark_case import problem, solve

    prob = problem()
    out = {}
    for method in ("rodas4", "dopri5"):
        solve(prob, method)
        times = []
        for _ in range(cfg.single_repeat):
            t = time.perf_counter()
            status, _, stats = solve(prob, method)
            times.append(time.perf_counter() - t)
        out[method] = {
            "median_s": float(np.median(times)),
            "min_s": min(times),
            "max_s": max(times),
            "rounds": len(times),
            "accepted_steps": int(stats[0]),
            "rejected_steps": int(stats[1]),
            "status": status.name,
        }
    say(
        "one patient, 3 years (UC-MSC 4e7 IV day 0 + MTX 15 mg weekly), rtol 1e-6, one thread: "
        + "; ".join(f"{m} {1e3 * v['median_s']:.1f} ms ({v['accepted_steps']} steps)" for m, v in out.items())
    )
    return out


def workprec_section(cfg: Config, want_peers: bool) -> dict:
    """Work-precision points per method, ratios at equal error, missing peers."""
    sample = cases.problems(cfg.wp_patients)
    ref, check = workprec.reference(sample)
    say(
        f"work-precision: {cases.SOURCE}; {cfg.wp_patients} patients, every method on the same ones, "
        f"taking turns {cfg.rounds} rounds per tolerance (best time kept); error = max over patients, days and "
        f"states vs scipy Radau rtol {workprec.REFERENCE_RTOL:g} (rodas4 at that rtol differs by {check:.1e}); "
        f"atol = 1e-3 rtol x state scale"
    )
    missing, labels, runnable = {}, {}, []
    for method in solvers.methods(want_peers):
        labels[method.name] = method.label
        if method.available:
            runnable.append(method)
        else:
            missing[method.name] = method.reason
            say(f"  {method.name:18s} MISSING: {method.reason}")
    if not want_peers:
        for name in ("numbalsoda", "scipy-lsoda", "scipy-bdf", "scipy-radau", "scipy-odeint", *DIFFRAX_NAMES):
            missing[name] = "peers not run (--no-peers)"
            say(f"  {name:18s} MISSING: {missing[name]}")
    try:
        points, failed = workprec.sweep(runnable, sample, ref, cfg.tolerances, cfg.rounds, cfg.min_seconds, say)
    finally:
        for method in runnable:
            method.close()
    missing.update(failed)
    base = points["rasim-rodas4"]
    ratio = {name: workprec.ratios(base, pts) for name, pts in points.items() if name != "rasim-rodas4"}
    family = {name: pts for name, pts in points.items() if name.startswith("diffrax-")}
    best_of = {}
    if family:  # the best diffrax solver at each error level: lower envelope of their fronts
        envelope = workprec.envelope_ratios(base, family)
        ratio[DIFFRAX_BEST] = [(e, r) for e, r, _ in envelope]
        best_of = {"members": sorted(family), "at": [{"error": e, "method": m} for e, _, m in envelope]}
        labels[DIFFRAX_BEST] = "diffrax, best of " + " / ".join(n[len("diffrax-") :] for n in sorted(family))
    else:
        missing[DIFFRAX_BEST] = "no diffrax solver ran"
    print_workprec(points, ratio, labels, best_of)
    return {
        "points": points,
        "ratios": ratio,
        "missing": missing,
        "labels": labels,
        "reference_check": check,
        "diffrax_best_of": best_of,
    }


def print_workprec(points: dict, ratio: dict, labels: dict, best_of: dict) -> None:
    """Table: per method and rtol, error and patients/s; then ratios at equal error."""
    say(f"  {'method':18s} {'rtol':>7s} {'error':>9s} {'patients/s':>11s} {'ms/patient':>11s}  failures")
    for name, pts in points.items():
        for p in pts:
            say(
                f"  {name:18s} {p.rtol:7.0e} {p.error:9.2e} {p.patients / p.seconds:11.1f} "
                f"{1e3 * p.per_patient:11.2f}  {p.failures}"
            )
    say("  speed of rasim rodas4 relative to each method at equal achieved error (x faster):")
    for name, levels in ratio.items():
        text = ", ".join(f"{r:.2f}x @ {e:.0e}" for e, r in levels) or "no overlap of achieved errors"
        if name == DIFFRAX_BEST and best_of.get("at"):
            text = ", ".join(
                f"{r:.2f}x @ {e:.0e} ({a['method'][len('diffrax-') :]})" for (e, r), a in zip(levels, best_of["at"])
            )
            text += f"  [{labels[name]}: lower envelope of their fronts]"
        say(f"    {name:18s} {text}")


def cohort_section(cfg: Config) -> list[dict]:
    """Summary-only cohort runs in fresh processes; sizes projected past the budget are skipped."""
    runs, rate, measured_n = [], None, None
    for n in cfg.sizes:
        projected = None if rate is None else n / rate
        if projected is not None and projected > cfg.case_budget:
            runs.append(
                {
                    "patients": n,
                    "projected_s": projected,
                    "projected_from": measured_n,
                    "skipped": f"projected {projected:.0f} s > budget {cfg.case_budget:.0f} s",
                }
            )
            say(
                f"cohort N={n:>7,}: SKIPPED, projected {projected:.0f} s from N={measured_n:,} "
                f"(> --case-budget {cfg.case_budget:.0f} s)"
            )
            continue
        r = run_child("cohort", str(n))
        rate, measured_n = n / r["run_s"], n
        runs.append(r)
        say(
            f"cohort N={n:>7,}: wall {r['wall_s']:8.1f} s (compile/load before it {r['compile_s']:.1f} s), "
            f"{n / r['wall_s']:8.1f} patients/s end to end, {n / r['trial_s']:8.1f} solve-only (trial "
            f"integration), peak memory {r['peak_mib']:.0f} MiB "
            f"(before run {r['peak_mib_before']:.0f}), status != 0: {r['failures']}"
        )
    return runs


def dask_section(cfg: Config) -> dict | None:
    """The Dask case (``dask_scaling.py``) in a fresh process; None without ``rasim[dask]``."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        say("dask: SKIPPED (pip install 'rasim[dask]')")
        return None
    n = 1000 if cfg is QUICK else 4000
    out = subprocess.run(
        [sys.executable, str(HERE / "dask_scaling.py"), "--patients", str(n)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"dask_scaling.py failed:\n{out.stderr[-3000:]}")
    say(out.stderr.strip())
    return json.loads(out.stdout.strip().splitlines()[-1])


def standard_section(cfg: Config) -> dict:
    """HIRES, ROBER, POLLU: work-precision against the published reference solutions."""
    say("standard problems (IVP test set, one solve at a time, one core; error vs published reference):")
    quick = cfg.tolerances == workprec.QUICK_TOLERANCES
    return standard.run(standard.QUICK_TOLERANCES if quick else standard.TOLERANCES, 0.05 if quick else 0.2, say)


def profile_section(cfg: Config, runs: list[dict]) -> dict:
    """Solver cost model, with rasim.cohort the cohort pipeline stages, and the compute floor
    beside the measured throughput of the cohort runs ``runs``."""
    kp = costs.kernel_profile(cases.problems(1))
    say(
        f"where rodas4's time goes, one patient, rtol {kp['rtol']:g}, one thread: {1e3 * kp['seconds']:.1f} ms, "
        f"{kp['accepted']} accepted + {kp['rejected']} rejected steps, {kp['rhs_calls']} RHS calls"
    )
    for part, s in kp["parts_s"].items():
        say(f"  {part:46s} {1e3 * s:7.2f} ms  {s / kp['seconds']:6.1%}")
    say(
        f"  (MTX forcing alone, inside RHS/Jacobian/df/dt: {1e3 * kp['mtx_forcing_s']:.2f} ms; unit costs ns: "
        + ", ".join(f"{k} {v:.0f}" for k, v in kp["unit_ns"].items())
        + ")"
    )
    say(
        f"  flops per step (counted in the code a step runs, x this solve's calls per step): "
        f"{kp['flops_per_step']:.0f} = " + " + ".join(f"{k} {v:.0f}" for k, v in kp["flops_parts"].items())
    )
    out = {"kernel": kp}
    try:
        sp = costs.stage_profile(cfg.profile_patients)
    except Exception as exc:  # noqa: BLE001  (depends on the cohort module's internals)
        say(f"  cohort pipeline stages: not available ({type(exc).__name__}: {exc})")
        out["floor"] = print_floor(costs.floor(kp, None, runs, os.cpu_count() or 1))
        return out
    say(
        f"cohort pipeline, {sp['patients']} patients, all cores: {sp['run_s']:.1f} s; "
        f"{sp['candidates_per_patient']:.2f} candidates per enrolled patient; "
        f"{sp['mean_trial_steps']:.0f} accepted trial steps per patient"
    )
    for stage, s in sp["stages_s"].items():
        say(f"  {stage:54s} {s:7.2f} s  {s / sp['run_s']:6.1%}")
    out["stages"] = sp
    out["floor"] = print_floor(costs.floor(kp, sp, runs, os.cpu_count() or 1))
    return out


def lanes_ready(rtol: float = 1e-4) -> dict:
    """The lockstep lanes compiled into the cache (or loaded from it) before the cohort runs, so
    that their fresh processes use them and no background compile runs meanwhile."""
    import lockstep

    return lockstep.compile_lanes(cases.problems(2), rtol)


def lockstep_section(cfg: Config, compiled: dict | None = None, rtol: float = 1e-4) -> dict:
    """The cohort's lockstep lanes (``rasim.lockstep``, ``lockstep.py``) against its scalar kernel,
    one thread, taking turns: whether every output and count is the same bit for bit, and the speed-up."""
    import lockstep

    prob = cases.problems(cfg.lockstep_patients)
    c = compiled or lockstep.compile_lanes(prob, rtol)
    check = lockstep.compare(prob, rtol)
    t = lockstep.timed(prob, rtol, cfg.rounds)
    s, v = t["scalar_s"], t["lanes_s"]
    say(
        f"lockstep ({lockstep.B} lanes, rasim.lockstep), {prob.n} patients, rtol {rtol:g}, one thread: "
        f"bit for bit {check['equal']}; scalar {1e3 * s / prob.n:.3f} ms/patient, lanes {1e3 * v / prob.n:.3f} "
        f"({s / v:.2f}x); the lanes {'loaded from the cache' if c['from_cache'] else 'compiled'} in {c['compile_s']:.1f} s"
    )
    return {"lanes": lockstep.B, "patients": prob.n, **c, **t, **check}


def print_floor(fl: dict) -> dict:
    """The compute floor beside the measured throughput."""
    lo, hi = fl["floor_patients_per_s"]["scalar"], fl["floor_patients_per_s"]["simd"]
    rate = fl["flops_per_s_per_core"]
    say(
        f"compute floor: {fl['flops_per_step']:.0f} flops/step x {fl['steps_per_patient']:.0f} steps/patient "
        f"({fl['steps_source']}) = {fl['flops_per_patient'] / 1e6:.2f} Mflop/patient; {fl['cores']} cores at "
        f"{rate['scalar'] / 1e9:.1f} (scalar) - {rate['simd'] / 1e9:.1f} (SIMD) Gflop/s each (measured) -> "
        f"floor {lo:,.0f} - {hi:,.0f} patients/s"
    )
    for name, v in fl.get("measured_patients_per_s", {}).items():
        say(
            f"  measured {name} (N={fl['measured_patients']:,}): {v:,.0f} patients/s, "
            f"{lo / v:.1f} - {hi / v:.1f}x from the floor"
        )
    return fl


def print_targets(results: list[dict]) -> None:
    say("targets:")
    for t in results:
        say(f"  [{t['status'].upper():>13s}] {t['name']}: {t['detail']}")


# ---- JSON ----------------------------------------------------------------------------------


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _bench(group: str, name: str, values: list[float], params: dict | None = None, **extra) -> dict:
    """One pytest-benchmark style entry (seconds)."""
    v = np.asarray(values, dtype=float)
    stats = {
        "min": float(v.min()),
        "max": float(v.max()),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "stddev": float(v.std()),
        "rounds": int(v.size),
    }
    return {
        "group": group,
        "name": name,
        "fullname": f"benchmarks/suite.py::{group}::{name}",
        "params": params or {},
        "stats": stats,
        "extra_info": extra,
    }


def benchmarks_json(startup, single, wp, runs, profile, std) -> list[dict]:
    """Every figure as a benchmark entry."""
    out = [
        _bench("compile", "cold", [startup["cold_s"]], **startup["cold"]),
        _bench("compile", "cached", [startup["cached_s"]], **startup["cached"]),
    ]
    for m, v in single.items():
        out.append(_bench("single-patient", m, [v["median_s"]], {"rtol": 1e-6}, **v))
    for name, pts in wp["points"].items():
        for p in pts:
            out.append(_bench("work-precision", name, [p.seconds], {"rtol": p.rtol}, **p.as_dict()))
    for r in runs:
        vals = [r["wall_s"]] if "wall_s" in r else [r["projected_s"]]
        out.append(_bench("cohort", f"N={r['patients']}", vals, {"patients": r["patients"]}, **r))
    for problem, pts in std["points"].items():
        for name, ps in pts.items():
            for p in ps:
                out.append(_bench(f"standard-{problem}", name, [p.seconds], {"rtol": p.rtol}, **p.as_dict()))
    out.append(_bench("profile", "rodas4-one-patient", [profile["kernel"]["seconds"]], **profile["kernel"]))
    if "stages" in profile:
        out.append(_bench("profile", "cohort-stages", [profile["stages"]["run_s"]], **profile["stages"]))
    return out


def _clean(x):
    """JSON-safe copy: non-finite floats become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(doc), indent=1))
    say(f"JSON: {path}")


# ---- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer tolerances, patients and sizes")
    parser.add_argument("--json", type=Path, default=None, help="JSON output file")
    parser.add_argument("--no-peers", action="store_true", help="rasim only (peers reported as missing)")
    parser.add_argument("--case-budget", type=float, default=None, help="max projected seconds per cohort size")
    a = parser.parse_args()
    cfg = QUICK if a.quick else FULL
    if a.case_budget is not None:
        cfg = Config(**{**cfg.__dict__, "case_budget": a.case_budget})
    started = datetime.datetime.now(datetime.timezone.utc)
    machine, commit = machine_info(), commit_info()
    say(
        f"rasim suite ({'quick' if a.quick else 'full'}), commit {str(commit['id'])[:10]}"
        f"{' (dirty)' if commit['dirty'] else ''}, python {machine['python_version']}, {os.cpu_count()} cores, "
        f"numba {machine['versions']['numba']}; patients: {cases.SOURCE}"
    )
    startup = startup_section()
    compiled = lanes_ready()
    single = single_section(cfg)
    wp = workprec_section(cfg, not a.no_peers)
    runs = cohort_section(cfg)
    dask = dask_section(cfg)
    std = standard_section(cfg)
    profile = profile_section(cfg, runs)
    lanes = lockstep_section(cfg, compiled)
    verdicts = targets.evaluate(wp["ratios"], wp["missing"], runs, startup)
    print_targets(verdicts)
    doc = {
        "machine_info": machine,
        "commit_info": commit,
        "datetime": started.isoformat(),
        "version": "rasim-suite/1",
        "config": cfg.__dict__,
        "source": cases.SOURCE,
        "benchmarks": benchmarks_json(startup, single, wp, runs, profile, std),
        "standard_ratios_at_equal_error": {
            pr: {k: [{"error": e, "ratio": r} for e, r in v] for k, v in rat.items()}
            for pr, rat in std["ratios"].items()
        },
        "ratios_at_equal_error": {k: [{"error": e, "ratio": r} for e, r in v] for k, v in wp["ratios"].items()},
        "diffrax_best_of": wp["diffrax_best_of"],
        "missing": {**wp["missing"], **{f"standard-{k}": v for k, v in std["missing"].items()}},
        "targets": verdicts,
        "floor": profile.get("floor"),
        "lockstep": lanes,
        "dask": dask,
    }
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    write_json(a.json or HERE / "results" / f"{stamp}_{str(commit['id'])[:10]}.json", doc)


if __name__ == "__main__":
    main()
