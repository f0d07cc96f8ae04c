"""Run a scenario's arms as cohorts and write the results to a folder.

``run_scenario(scenario, out_dir)`` writes:

* ``summary.csv``: arm, day, endpoint, mean, sd, p05, p25, p50, p75, p95, n
  (ESR mm/h, CRP mg/L, DAS28-ESR, DAS28-CRP, HAQ-DI, TJC28, SJC28 and their
  ``*_change`` from day 0, over the patients whose solve succeeded);
* ``responders.csv``: arm, day, criterion, rate (fraction), n;
* ``patients.npz``: per patient, keys ``<arm>/<name>`` (n, m) for every
  measured item and biomarker, ``<arm>/status``, ``<arm>/resolved``, the
  covariates ``<arm>/<covariate>`` (n,), and ``days``, ``arms``;
  ``patients.nc`` holds the same as an (arm, patient, day) cube if xarray is
  importable;
* ``dataset.csv``: a NONMEM-style simulated dataset (see :func:`nonmem_dataset`);
* ``scenario.toml``: the resolved scenario; ``bands.png`` and ``responders.png``.
"""
from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import plots
from .cohort import Arm, Cohort, CohortResult, warm_up
from .model import OBSERVABLES

SUMMARY_COLUMNS = ("arm", "day", "endpoint", "mean", "sd", "p05", "p25", "p50", "p75", "p95", "n")
RESPONDER_COLUMNS = ("arm", "day", "criterion", "rate", "n")
MEASURED = ("ESR", "CRP", "DAS28_ESR", "DAS28_CRP", "HAQ", "TJC28", "SJC28", "pain", "patient_global",
            "physician_global")  # DV names of dataset.csv (clinic values, with measurement error)
COVARIATE_COLUMNS = {"AGE": "age", "SEX": "female", "WT": "weight", "CRCL": "creatinine_clearance",
                     "DUR": "duration", "SERO": "seropositive"}
DATASET_COLUMNS = ("ID", "TIME", "DV", "MDV", "EVID", "AMT", "CMT", "II", "ADDL", "SS", "DVID",
                   *COVARIATE_COLUMNS, "ARM", "NAME")


def run_scenario(scenario, out_dir, threads: int | None = None, quiet: bool = False,
                 progress=None) -> dict[str, CohortResult]:
    """Simulate every arm of ``scenario`` and write the result files into ``out_dir`` (created).

    threads caps Numba's threads; ``progress(done, total)`` (patients over all
    arms) is called after each chunk; without it a bar is drawn on stderr when
    that is a terminal and not ``quiet``.  Returns {arm name: CohortResult}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    total = scenario.patients * len(scenario.arms)
    bar = _Bar(total) if progress is None and not quiet and sys.stderr.isatty() else None
    report = progress or (bar.update if bar else None)
    if bar:
        sys.stderr.write("preparing the compiled kernels (compiled on first use, then cached)...")
        sys.stderr.flush()
        warm_up()
    t0 = time.perf_counter()
    results: dict[str, CohortResult] = {}
    for k, a in enumerate(scenario.arms):
        cohort = Cohort(Arm(a.name, a.population, a.regimen, a.background), patients=scenario.patients,
                        seed=scenario.seed, observe=scenario.observe, params=scenario.params,
                        variability=scenario.variability, chunk_size=max(64, -(-scenario.patients // 10)))
        done = k * scenario.patients
        results[a.name] = cohort.run(threads=threads, progress=None if report is None else
                                     (lambda d, _, done=done: report(done + d, total)))
    if bar:
        bar.close()
    files = write_results(scenario, results, out)
    if not quiet:
        print(table(scenario, results, time.perf_counter() - t0))
        print(f"wrote {', '.join(p.name for p in files)}")
    return results


def write_results(scenario, results: dict[str, CohortResult], out: Path) -> list[Path]:
    """All result files of one run; returns their paths."""
    files = [_csv(out / "summary.csv", SUMMARY_COLUMNS, (r for res in results.values() for r in res.summary())),
             _csv(out / "responders.csv", RESPONDER_COLUMNS,
                  (r for res in results.values() for r in res.responders())),
             write_npz(results, out / "patients.npz")]
    nc = write_netcdf(scenario, results, out / "patients.nc")
    files += [nc] if nc else []
    files.append(_write_columns(out / "dataset.csv", nonmem_dataset(scenario, results)))
    (out / "scenario.toml").write_text(scenario.to_toml())
    files.append(out / "scenario.toml")
    published = _published(scenario)
    files.append(plots.bands(results, out / "bands.png", published))
    files.append(plots.responders(results, out / "responders.png", published))
    return files


# ---- tables ------------------------------------------------------------------------------------

def _fmt(v) -> str:
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "" if not math.isfinite(v) else f"{v:.6g}"


def _csv(path: Path, columns, rows) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows([_fmt(r[c]) for c in columns] for r in rows)
    return path


def table(scenario, results: dict[str, CohortResult], seconds: float) -> str:
    """Per arm: patients, failures, day-0 -> last-day means and last-day rates."""
    last = float(scenario.observe[-1])
    head = (f"{scenario.name}: {len(results)} arm(s) x {scenario.patients} patients, days "
            f"{scenario.observe[0]:g}-{last:g}, {seconds:.1f} s (means day {scenario.observe[0]:g} -> "
            f"day {last:g}; rates at day {last:g})")
    cols = ("arm", "n", "failed", "DAS28-ESR", "ESR mm/h", "CRP mg/L", "HAQ", "EULAR", "remission", "resolved")
    rows = []
    for name, res in results.items():
        ok = res.ok.any()
        means = [res[k].mean(axis=0)[[0, -1]] if ok else (math.nan, math.nan)
                 for k in ("DAS28_ESR", "ESR", "CRP", "HAQ")]
        masks = res.responder_masks() if ok else {}
        rate = [f"{100 * masks[c][:, -1].mean():.0f}%" if ok else "-" for c in ("EULAR_response", "DAS28_remission")]
        resolved = f"{100 * res.resolved_fraction()[-1]:.0f}%" if ok else "-"
        rows.append((name, str(int(res.ok.sum())), str(res.n_failed),
                     *(f"{a:.2f}->{b:.2f}" if k in (0, 3) else f"{a:.1f}->{b:.1f}" for k, (a, b) in enumerate(means)),
                     *rate, resolved))
    widths = [max(len(r[i]) for r in (cols, *rows)) for i in range(len(cols))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([head, line(cols), *map(line, rows)])


# ---- per-patient arrays ----------------------------------------------------------------------

def write_npz(results: dict[str, CohortResult], path: Path) -> Path:
    """``<arm>/<name>`` arrays, ``<arm>/status``, ``<arm>/resolved``, covariates, ``days``, ``arms``."""
    arrays = {"arms": np.array(list(results)), "days": next(iter(results.values())).days}
    for name, res in results.items():
        arrays.update({f"{name}/{k}": v for k, v in {**res.values, **res.covariates}.items()})
        arrays[f"{name}/status"] = res.status
        arrays[f"{name}/resolved"] = res.resolved
    np.savez_compressed(path, **arrays)
    return path


def write_netcdf(scenario, results: dict[str, CohortResult], path: Path) -> Path | None:
    """The per-patient values as an xarray Dataset (arm, patient, day); None without xarray."""
    try:
        import xarray as xr
    except ImportError:
        return None
    arms = list(results)
    first = results[arms[0]]
    dims3 = ("arm", "patient", "day")
    data = {k: (dims3, np.stack([results[a].values[k] for a in arms]), {"units": OBSERVABLES.get(k, "")})
            for k in first.values}
    data.update({k: (dims3[:2], np.stack([results[a].covariates[k] for a in arms])) for k in first.covariates})
    data["status"] = (dims3[:2], np.stack([results[a].status for a in arms]).astype(np.int32))
    data["resolved"] = (dims3, np.stack([results[a].resolved for a in arms]).astype(np.int8))
    ds = xr.Dataset(data, coords={"arm": arms, "patient": np.arange(len(first.status)), "day": first.days},
                    attrs={"scenario": scenario.name, "scenario_toml": scenario.to_toml(),
                           "note": "measured items include measurement error; status 0 = success"})
    try:
        ds.to_netcdf(path)
    except (ValueError, ImportError) as e:  # no netCDF engine installed
        print(f"rasim: patients.nc not written ({e})", file=sys.stderr)
        return None
    return path


# ---- NONMEM-style dataset ----------------------------------------------------------------------

def nonmem_dataset(scenario, results: dict[str, CohortResult]) -> dict[str, np.ndarray]:
    """Columns of a NONMEM-style dataset of the successful patients, sorted by ID, TIME, EVID.

    ID = arm index * patients + patient index + 1 (unique across arms); TIME day.
    Dose records (EVID 1, MDV 1): each arm's regimen event table (AMT mg MTX
    or cells MSC, per-kg doses times the patient's weight; CMT the dosing
    compartment of ``rasim.regimen.DEPOTS``; II, ADDL) and the background
    (SS 1: at steady state since before day 0).  Observation records (EVID 0,
    MDV 0, CMT 0): the clinic values of ``MEASURED`` (with measurement error),
    NAME and DVID (1-based index in ``MEASURED``).  Covariates: AGE years,
    SEX (1 female, 0 male), WT kg, CRCL mL/min, DUR years, SERO (1 seropositive)."""
    cols: dict[str, list] = {c: [] for c in DATASET_COLUMNS}
    for k, a in enumerate(scenario.arms):
        res = results[a.name]
        idx = np.flatnonzero(res.ok)
        ids = k * scenario.patients + idx + 1
        cov = {c: res.covariates[name][idx] for c, name in COVARIATE_COLUMNS.items()}
        doses = _dose_lines(a, float(scenario.days))
        # observations: patient x day x item
        m, n_items = len(res.days), len(MEASURED)
        dv = np.stack([res.values[name][idx] for name in MEASURED], axis=-1)  # (k, m, items)
        obs = {"ID": np.repeat(ids, m * n_items), "TIME": np.tile(np.repeat(res.days, n_items), len(idx)),
               "DV": dv.reshape(-1), "MDV": 0, "EVID": 0, "AMT": 0.0, "CMT": 0, "II": 0.0, "ADDL": 0, "SS": 0,
               "DVID": np.tile(np.arange(1, n_items + 1), len(idx) * m),
               "NAME": np.tile(np.array(MEASURED), len(idx) * m)}
        obs.update({c: np.repeat(v, m * n_items) for c, v in cov.items()})
        blocks = [obs]
        for line in doses:  # one record per patient per dose line
            amt = line["AMT"] * (cov["WT"] if line["per_kg"] else 1.0)
            blocks.append({"ID": ids, "TIME": line["TIME"], "DV": 0.0, "MDV": 1, "EVID": 1, "AMT": amt,
                           "CMT": line["CMT"], "II": line["II"], "ADDL": line["ADDL"], "SS": line["SS"],
                           "DVID": 0, "NAME": line["NAME"], **cov})
        for block in blocks:
            size = len(block["ID"])
            for c in DATASET_COLUMNS:
                v = a.name if c == "ARM" else block[c]
                cols[c].append(np.broadcast_to(v, (size,)) if np.ndim(v) == 0 else np.asarray(v))
    out = {c: np.concatenate(v) if v else np.empty(0) for c, v in cols.items()}
    order = np.lexsort((out["EVID"], out["TIME"], out["ID"]))  # an observation at a dose time is pre-dose
    return {c: v[order] for c, v in out.items()}


def _dose_lines(arm, days: float) -> list[dict]:
    """Dose lines of an arm: background (SS=1) then regimen, from ``Regimen.event_table``."""
    lines = []
    for regimen, ss in ((arm.background, 1), (arm.regimen, 0)):
        if regimen is None or not len(regimen):
            continue
        t = regimen.event_table(days)
        for i in range(len(t["TIME"])):
            lines.append({"TIME": t["TIME"][i], "AMT": t["AMT"][i], "CMT": t["CMT"][i], "II": t["II"][i],
                          "ADDL": t["ADDL"][i], "SS": ss, "NAME": str(t["DRUG"][i]).upper(),
                          "per_kg": t["UNIT"][i] == "cells/kg"})
    return lines


def _write_columns(path: Path, cols: dict[str, np.ndarray]) -> Path:
    names = list(cols)
    text = [np.char.mod("%.6g", v) if v.dtype.kind == "f" else v.astype(str) for v in cols.values()]
    with path.open("w") as f:
        f.write(",".join(names) + "\n")
        f.writelines(",".join(row) + "\n" for row in zip(*text))
    return path


def _published(scenario) -> list:
    """Published trial points (``calibration.targets``) of the arms that are a target arm in its population."""
    from .calibration import TARGET_ARMS, targets

    pops = {a.name: a.population for a in scenario.arms}
    return [t for t in targets(use=None) if t.arm in pops and t.arm in TARGET_ARMS
            and TARGET_ARMS[t.arm].population == pops[t.arm] and math.isfinite(t.value)
            and 0 <= t.day <= scenario.observe[-1]]


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, width: int = 30):
        self.total, self.width, self.t0 = total, width, time.perf_counter()

    def update(self, done: int, total: int) -> None:
        filled = int(self.width * done / max(total, 1))
        sys.stderr.write(f"\r\033[K[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} patients "
                         f"{time.perf_counter() - self.t0:.0f} s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
