"""The files of a run: what each chunk and the whole run write, and reading them back.

Per chunk (``write_chunk``), with ``keep="patients"``:

* ``patients/arm=<arm>/part-<chunk>.parquet``: one row per patient and observation day:
  ``id`` (as in the dataset), ``patient`` (index in the arm), ``day``, ``status`` (0
  success, solver codes, 101 not enrolled), ``resolved``, every measured item and
  biomarker, and the covariates (``read_patients`` reads them back);
* the rows of ``dataset.csv``, a NONMEM-style dataset (:func:`nonmem_dataset`).

Whole run (``write_results``), from the streaming statistics (``StreamingSummary``) or
per-patient results:

* ``summary.csv``: arm, day, endpoint, mean, sd, p05, p25, p50, p75, p95, n (ESR mm/h,
  CRP mg/L, DAS28-ESR, DAS28-CRP, HAQ-DI, TJC28, SJC28 and their ``*_change`` from day 0,
  over the patients whose solve succeeded; percentiles within half a histogram bin,
  ``streaming.QUANTILE_ERROR``);
* ``responders.csv``: arm, day, criterion, rate (fraction), n;
* ``counts.csv``: per arm, patients, n (succeeded), n_failed (solver), n_not_enrolled,
  candidates redrawn, failures per solver status name, and the patients who dropped out
  of or were rescued from the randomised arm and the analysis rule of the arm's summaries
  and rates (``rasim.cohort.analysis``);
* ``safety.csv``: arm, day, event, events, patient_years, per_100py, low, high: adverse
  events (and the drugs' own, such as anti-drug antibodies forming) from day 0 to each visit
  per 100 patient-years at risk, with exact 95% Poisson intervals (``rasim.cohort.safety``);
* ``warnings.txt`` (if any), ``scenario.toml``; ``bands.png``, ``responders.png``,
  ``distribution.png`` and ``comparison.png`` (the arms side by side: DAS28, EULAR response,
  radiographic change, adverse events).

The Parquet files carry the parameter set in use by this rasim (``parameter_set``,
``parameter_fingerprint``) and the one the scenario simulates (``scenario_parameter_set``,
``scenario_parameter_fingerprint``).  Every file is written atomically (``rasim.output``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import endpoints, gate, output, plots
from .cohort import safety
from .cohort.result import CohortResult, CohortSummary
from .cohort.status import SOLVER_FAILURES
from .errors import FolderError, IncompleteRunError, LimitError, RasimError

SUMMARY_COLUMNS = ("arm", "day", "endpoint", "mean", "sd", "p05", "p25", "p50", "p75", "p95", "n")
RESPONDER_COLUMNS = ("arm", "day", "criterion", "rate", "n")
FAILURES = tuple(s.label for s in SOLVER_FAILURES)
COUNT_COLUMNS = (
    "arm",
    "patients",
    "n",
    "n_failed",
    "n_not_enrolled",
    "candidates_not_inflamed",
    "candidates_screen_failed",
    *FAILURES,
    "dropped_out",
    "rescued",
    "analysis",
)
MEASURED = endpoints.DATASET  # DV names of dataset.csv (clinic values, with measurement error)
COVARIATE_COLUMNS = {
    "AGE": "age",
    "SEX": "female",
    "WT": "weight",
    "CRCL": "creatinine_clearance",
    "DUR": "duration",
    "SERO": "seropositive",
}
DATASET_COLUMNS = (
    "ID",
    "TIME",
    "DV",
    "MDV",
    "EVID",
    "AMT",
    "CMT",
    "II",
    "ADDL",
    "SS",
    "RATE",
    "DVID",
    *COVARIATE_COLUMNS,
    "ARM",
    "NAME",
)
log = logging.getLogger(__name__)  # files written and per-patient files left out (INFO)
# Measured on ``sources`` (3 arms x 2000 patients, 12 visits, one chunk of 2000; issue 21):
DATASET_TEXT_BYTES = 13_000  # memory per patient-visit of a chunk while its dataset.csv rows are made
PARQUET_BYTES_PER_VISIT = 180  # disk per patient-visit of patients/ (Parquet, compressed)
STATE_BYTES_PER_DAY = 10_000  # disk per observation day of an arm's saved statistics (.state/)
FIGURE_BYTES = 1_000_000  # the figures and summary files


def estimate(
    scenario, keep: str = "patients", chunk_size: int | None = None, parquet: bool = True, done: int = 0
) -> gate.Cost:
    """What running ``scenario`` (its patients after the first ``done``, over all arms) into a
    folder will take (``rasim.gate.Cost``): memory (a chunk at a time, and with
    ``keep="patients"`` its dataset rows as text), peak disk (with ``keep="patients"`` the
    chunks' dataset.csv rows and the joined dataset.csv side by side until the run completes,
    and Parquet if ``parquet``) and time."""
    size = chunk_size or scenario.patients
    visits, arms, total = len(scenario.observe), len(scenario.arms), scenario.patients * len(scenario.arms)
    rows = keep == "patients"
    c = gate.cost(scenario.patients, arms, visits, float(scenario.days), in_memory=False, chunk_size=size, csv=rows)
    left = max(total - done, 0) / total
    memory = c.memory + (min(size, scenario.patients) * visits * DATASET_TEXT_BYTES if rows else 0)
    parquet_disk = total * visits * PARQUET_BYTES_PER_VISIT if rows and parquet else 0
    disk = c.disk * (1 + left) + parquet_disk * left + arms * 2 * visits * STATE_BYTES_PER_DAY + FIGURE_BYTES
    return gate.Cost(memory, disk, c.seconds * left)


def check_cost(cost: gate.Cost, out_dir, overwrite: bool) -> list[str]:
    """Refuse a run above the memory or disk ceiling or the free space of ``out_dir``'s
    filesystem; the estimate as text lines if it is worth printing."""
    try:
        lines = cost.check("run")
    except LimitError as e:
        memory = cost.memory / gate.GIB > gate.ceiling("memory_gib")
        hint = "a smaller --chunk-size" if memory else "--keep summary (no per-patient files)"
        raise LimitError(f"{e}; or run with {hint}") from None
    output.check_free_space(out_dir, cost.disk, overwrite)
    return lines


def scenario_identity(scenario) -> dict[str, str]:
    """The parameter set ``scenario`` simulates, as manifest and Parquet metadata keys."""
    return {f"scenario_{k}": v for k, v in scenario.parameter_identity().items()}


def write_chunk(folder, scenario, i: int, k: int, part: CohortResult, start: int) -> list[Path]:
    """The per-patient files of chunk ``k`` of arm number ``i`` (patients from ``start``), if the
    run keeps them; their paths."""
    arm = scenario.arms[i]
    paths = folder.chunk_paths(arm.name, i, k)
    if not paths:
        return []
    if folder.manifest["parquet"]:
        write_parquet(
            paths[1], patient_table(part, i * scenario.patients + start + 1, start), scenario_identity(scenario)
        )
    output.write_atomic(paths[0], _csv_text(arm_dataset(scenario, i, part, start)))
    return paths


def write_results(
    scenario, results: Mapping[str, CohortSummary], out, warnings=(), dataset_parts: bool = False
) -> list[Path]:
    """The whole-run files of ``results`` (any ``CohortSummary`` per arm: a ``CohortResult``,
    or a ``StreamingSummary`` from ``Cohort.run(keep="summary")`` or ``run_scenario``), each
    written atomically; returns their paths.  Per-patient results also give ``patients/``
    (with pyarrow) and ``dataset.csv``; summary-only arms have none (logged), a streamed
    run's dataset.csv is joined from its chunk files (``dataset_parts``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        output.write_csv(out / "summary.csv", SUMMARY_COLUMNS, (r for res in results.values() for r in res.summary())),
        output.write_csv(
            out / "responders.csv", RESPONDER_COLUMNS, (r for res in results.values() for r in res.responders())
        ),
        output.write_csv(out / "counts.csv", COUNT_COLUMNS, (_counts(scenario, res) for res in results.values())),
        output.write_csv(out / "safety.csv", safety.COLUMNS, (r for res in results.values() for r in res.safety())),
    ]
    if warnings:
        files.append(output.write_atomic(out / "warnings.txt", "".join(f"{w}\n" for w in warnings)))
    if not dataset_parts:
        files += _per_patient_files(scenario, results, out)
    elif (out / output.PARTS).is_dir() and any((out / output.PARTS).iterdir()):
        files.append(_join_parts(out / output.PARTS, out / "dataset.csv"))
    else:
        log.info("summaries only (keep='summary'): no per-patient files (patients/, dataset.csv)")
    files.append(output.write_atomic(out / "scenario.toml", scenario.to_toml()))
    published = _published(scenario)
    title = plots.caption(scenario.name, scenario.seed, scenario.patients, output.version())
    figures = {
        "bands.png": lambda tmp: plots.bands(results, tmp, published, caption=title),
        "responders.png": lambda tmp: plots.responders(results, tmp, published, caption=title),
        "distribution.png": lambda tmp: plots.distribution(
            results, tmp, distribution_days(scenario.observe), caption=title
        ),
        "comparison.png": lambda tmp: plots.comparison(results, tmp, caption=title),
    }
    for name, draw in figures.items():
        with output.atomic(out / name) as tmp:
            draw(tmp)
        files.append(out / name)
    return files


def distribution_days(observe, wanted=(91.0, 365.0)) -> list[float]:
    """Days for the DAS28-change histograms: the observed days nearest 3 months and 1 year,
    and the last day (distinct, after day 0)."""
    days = np.asarray([d for d in observe if d > 0], dtype=float)
    if days.size == 0:
        return []
    near = {float(days[np.argmin(np.abs(days - w))]) for w in wanted}
    return sorted(near | {float(days[-1])})


def _per_patient_files(scenario, results, out: Path) -> list[Path]:
    """patients/ (with pyarrow) and dataset.csv of the arms with per-patient results."""
    per_patient = {k: r for k, r in results.items() if r.keeps_patients}
    summary_only = [k for k in results if k not in per_patient]
    if summary_only:
        log.info(
            "arm(s) %s kept summaries only: no per-patient files (patients/, dataset.csv) for them; "
            "run with keep='patients' for those",
            ", ".join(summary_only),
        )
    if not per_patient:
        return []
    files = []
    for i, a in enumerate(scenario.arms):
        if a.name in per_patient:
            path = out / output.PATIENTS / f"arm={a.name}" / "part-000000.parquet"
            table = patient_table(per_patient[a.name], i * scenario.patients + 1, 0)
            files.append(write_parquet(path, table, scenario_identity(scenario)))
    with output.atomic(out / "dataset.csv") as tmp:
        with open(tmp, "w") as f:
            f.write(output.csv_text([DATASET_COLUMNS]))
            f.writelines(
                _csv_text(arm_dataset(scenario, i, per_patient[a.name], 0))
                for i, a in enumerate(scenario.arms)
                if a.name in per_patient
            )
    return [*files, out / "dataset.csv"]


def _join_parts(parts: Path, path: Path) -> Path:
    """dataset.csv from the chunk files (in arm and chunk order), streamed."""
    with output.atomic(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(output.csv_text([DATASET_COLUMNS]).encode())
            for part in sorted(parts.glob("*.csv")):
                with open(part, "rb") as src:
                    _copy(src, f)
    return path


def _copy(src, dst, block: int = 1 << 20) -> None:
    while data := src.read(block):
        dst.write(data)


def _counts(scenario, res: CohortSummary) -> dict:
    by_name = res.status_counts()
    return {
        "arm": res.arm,
        "patients": scenario.patients,
        "n": res.n,
        "n_failed": res.n_failed,
        "n_not_enrolled": res.n_not_enrolled,
        "candidates_not_inflamed": res.not_inflamed,
        "candidates_screen_failed": res.screen_failures,
        **{f: by_name.get(f, 0) for f in FAILURES},
        "dropped_out": res.n_dropped_out,
        "rescued": res.n_rescued,
        "analysis": res.analysis,
    }


# ---- per-patient files -------------------------------------------------------------------------


def patient_table(res: CohortResult, first_id: int, start: int):
    """A pyarrow Table, one row per patient and day: id, patient, day, status, resolved,
    the values and covariates (``first_id``: the dataset ID of the first patient)."""
    import pyarrow as pa

    n, m = res.status.shape[0], len(res.days)
    cols = {
        "id": np.repeat(np.arange(first_id, first_id + n), m),
        "patient": np.repeat(np.arange(start, start + n), m),
        "day": np.tile(res.days, n),
        "status": np.repeat(res.status.astype(np.int32), m),
        "resolved": res.resolved.reshape(-1),
    }
    cols.update({k: v.reshape(-1) for k, v in res.values.items()})
    cols.update({k: np.repeat(v, m) for k, v in res.covariates.items()})
    return pa.table(cols)


def write_parquet(path: Path, table, identity: dict[str, str] | None = None) -> Path:
    """``table`` as a Parquet file at ``path`` (folders created), atomically; the schema metadata
    hold the rasim version, its parameter set and ``identity`` (more keys)."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"rasim_version": output.version(), **output.parameter_identity(), **(identity or {})}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **{k: str(v) for k, v in meta.items()}})
    with output.atomic(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_patients(out_dir, partial: bool = False):
    """The ``patients/`` files of a run folder as one pyarrow Table (with an ``arm`` column).

    A folder whose run did not finish (``manifest.json`` status "running": interrupted) is
    refused with ``IncompleteRunError``, which says how to finish it (``rasim run --resume
    DIR``); ``partial=True`` reads the rows of its committed chunks instead (some patients
    of some arms only).  A complete folder whose recorded Parquet parts are missing is
    refused too (``FolderError``)."""
    import pyarrow.dataset as ds

    path = Path(out_dir)
    base = path / output.PATIENTS
    m = output.read_manifest(path) if (path / output.MANIFEST).is_file() else None
    if m is None:
        return ds.dataset(base, format="parquet", partitioning="hive").to_table()
    records = m.get("chunk_files", {})
    if m["status"] != "complete":
        done, total = sum(m["chunks_done"].values()), sum(m["chunks"].values())
        if not partial:
            raise IncompleteRunError(
                f"{path}: the run is incomplete ({done} of {total} chunks done: interrupted); finish it "
                f"with `rasim run --resume {path}`, or read the rows written so far with "
                "read_patients(..., partial=True)"
            )
        parts = [base / f"arm={arm}" / f"part-{k:06d}.parquet" for arm, n in m["chunks_done"].items() for k in range(n)]
        parts = [p for p in parts if p.is_file()]
        if not parts:
            raise IncompleteRunError(f"{path}: no patient rows committed yet ({done} of {total} chunks done)")
        return ds.dataset(
            [str(p) for p in parts], format="parquet", partitioning="hive", partition_base_dir=str(base)
        ).to_table()
    missing = [k for k in records if k.startswith(f"{output.PATIENTS}/") and not (path / k).is_file()]
    if missing:
        raise FolderError(
            f"{path}: {len(missing)} recorded Parquet part(s) missing ({', '.join(missing[:3])}); "
            "run the scenario again with --overwrite"
        )
    return ds.dataset(base, format="parquet", partitioning="hive").to_table()


# ---- NONMEM-style dataset ----------------------------------------------------------------------


def nonmem_dataset(scenario, results: dict[str, CohortResult]) -> dict[str, np.ndarray]:
    """Columns of a NONMEM-style dataset of the successful patients, sorted by ID, TIME, EVID.

    ID = arm index * patients + patient index + 1 (unique across arms); TIME day.
    Dose records (EVID 1, MDV 1): each arm's regimen event table (AMT mg MTX
    or cells MSC, per-kg doses times the patient's weight; CMT the dosing
    compartment of ``rasim.regimen.DEPOTS``; II, ADDL; a daily drug as a zero-order
    input: RATE mg/day and AMT its total over the simulated days) and the background
    (SS 1: at steady state since before day 0).  Observation records (EVID 0,
    MDV 0, CMT 0): the clinic values of ``MEASURED`` (with measurement error),
    NAME and DVID (1-based index in ``MEASURED``), and each adverse or drug event
    (``safety.EVENTS``) as DV 1 on its day, NAME the event and DVID ``len(MEASURED)`` + 1 +
    its index in ``safety.EVENTS``.  Covariates: AGE years, SEX (1 female, 0 male), WT kg,
    CRCL mL/min, DUR years, SERO (1 seropositive)."""
    streamed = [k for k, r in results.items() if not r.keeps_patients]
    if streamed:
        raise RasimError(
            f"a NONMEM dataset needs per-patient results; arm(s) {', '.join(streamed)} kept "
            "summaries only: run with keep='patients'"
        )
    parts = [arm_dataset(scenario, k, results[a.name], 0) for k, a in enumerate(scenario.arms)]
    return {c: np.concatenate([p[c] for p in parts]) for c in DATASET_COLUMNS}


OBSERVATION = {"MDV": 0, "EVID": 0, "AMT": 0.0, "CMT": 0, "II": 0.0, "ADDL": 0, "SS": 0, "RATE": 0.0}  # no dose


def arm_dataset(scenario, k: int, res: CohortResult, start: int) -> dict[str, np.ndarray]:
    """:func:`nonmem_dataset` columns of arm number ``k``'s patients ``start`` .. in ``res``."""
    a = scenario.arms[k]
    idx = np.flatnonzero(res.ok)
    ids = k * scenario.patients + start + idx + 1
    cov = {c: res.covariates[name][idx] for c, name in COVARIATE_COLUMNS.items()}
    m, n_items = len(res.days), len(MEASURED)
    dv = np.stack([res.values[name][idx] for name in MEASURED], axis=-1)  # (k, m, items)
    obs: dict[str, Any] = {
        **OBSERVATION,
        "ID": np.repeat(ids, m * n_items),
        "TIME": np.tile(np.repeat(res.days, n_items), len(idx)),
        "DV": dv.reshape(-1),
        "DVID": np.tile(np.arange(1, n_items + 1), len(idx) * m),
        "NAME": np.tile(np.array(MEASURED), len(idx) * m),
    }
    obs.update({c: np.repeat(v, m * n_items) for c, v in cov.items()})
    blocks = [obs]
    if res.events is not None and res.events.day.size:
        ev = res.events
        keep = res.ok[ev.patient]
        row = np.searchsorted(idx, ev.patient[keep])  # the patient's position among the successful
        blocks.append(
            {
                **OBSERVATION,
                "ID": ids[row],
                "TIME": ev.day[keep],
                "DV": 1.0,
                "DVID": n_items + 1 + ev.kind[keep],
                "NAME": np.array(safety.EVENTS)[ev.kind[keep]],
                **{c: v[row] for c, v in cov.items()},
            }
        )
    for line in _dose_lines(a, float(scenario.days)):  # one record per patient per dose line
        amt = line["AMT"] * (cov["WT"] if line["per_kg"] else 1.0)
        blocks.append(
            {
                "ID": ids,
                "TIME": line["TIME"],
                "DV": 0.0,
                "MDV": 1,
                "EVID": 1,
                "AMT": amt,
                "CMT": line["CMT"],
                "II": line["II"],
                "ADDL": line["ADDL"],
                "SS": line["SS"],
                "RATE": line["RATE"],
                "DVID": 0,
                "NAME": line["NAME"],
                **cov,
            }
        )
    cols = {
        c: np.concatenate([np.broadcast_to(a.name if c == "ARM" else b[c], (len(b["ID"]),)) for b in blocks])
        for c in DATASET_COLUMNS
    }
    order = np.lexsort((cols["EVID"], cols["TIME"], cols["ID"]))  # an observation at a dose time is pre-dose
    return {c: v[order] for c, v in cols.items()}


def _dose_lines(arm, days: float) -> list[dict]:
    """Dose lines of an arm: background (SS=1) then regimen, from ``Regimen.event_table``."""
    lines = []
    for regimen, ss in ((arm.background, 1), (arm.regimen, 0)):
        if regimen is None or not len(regimen):
            continue
        t = regimen.event_table(days)
        for i in range(len(t["TIME"])):
            rate = t["AMT"][i] if t["DUR"][i] > 0 else 0.0  # a zero-order input: AMT is mg/day
            lines.append(
                {
                    "TIME": t["TIME"][i],
                    "AMT": rate * min(t["DUR"][i], days - t["TIME"][i]) if rate else t["AMT"][i],
                    "RATE": rate,
                    "CMT": t["CMT"][i],
                    "II": t["II"][i],
                    "ADDL": t["ADDL"][i],
                    "SS": ss,
                    "NAME": str(t["DRUG"][i]).upper(),
                    "per_kg": t["UNIT"][i] == "cells/kg",
                }
            )
    return lines


def _csv_text(cols: dict[str, np.ndarray]) -> str:
    """Rows (no header) of dataset columns: floats as %.6g."""
    text = [np.char.mod("%.6g", v) if v.dtype.kind == "f" else v.astype(str) for v in cols.values()]
    return output.csv_text(zip(*text))


def _published(scenario) -> list:
    """Published trial points (``calibration.targets``) for the scenario arms of the same design
    as the trial arm (population, regimen and background equal), named by trial."""
    from .calibration import TARGET_ARMS, targets

    out = []
    for a in scenario.arms:
        design = (a.population, a.regimen, a.background or None)
        keys = {
            k
            for k, t in TARGET_ARMS.items()
            if (t.population if isinstance(t.population, str) else t.population.name, t.regimen, t.background or None)
            == design
        }
        out += [
            plots.Published(a.name, t.endpoint, t.day, t.value, t.spread, _trial(t.source))
            for t in targets(use=None)
            if t.arm in keys and math.isfinite(t.value) and 0 <= t.day <= scenario.observe[-1]
        ]
    return out


def _trial(source: str) -> str:
    """A trial's short name from its source: 'Emery 2008 Ann Rheum Dis (RADIATE)' ->
    'RADIATE (Emery 2008)', 'Ghoryani 2019 Biomed Pharmacother' -> 'Ghoryani 2019'."""
    cited = re.match(r"([A-Z][a-z]+) (\d{4})", source)
    acronym = next(
        (a for a in re.findall(r"\(([A-Z][A-Z0-9-]{2,}[a-z]*)\)", source) if not a.startswith(("PMC", "NCT"))), None
    )
    if cited:
        return f"{acronym} ({cited.group(0)})" if acronym else cited.group(0)
    return re.split(r" \(| doi:", source)[0]
