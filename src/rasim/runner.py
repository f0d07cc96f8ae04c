"""Run a scenario's arms as cohorts and stream the results into a folder.

``run_scenario(scenario, out_dir)`` checks everything first (threads, the
folder, the scenario), then runs each arm chunk by chunk: every chunk's files
and the arm's running statistics are committed atomically and recorded in
``manifest.json`` (see :mod:`rasim.output`), so memory stays flat in the
number of patients and an interrupted run continues with ``resume_run``
(``rasim run --resume DIR``) to the same files.  Per chunk, with
``keep="patients"``:

* ``patients/arm=<arm>/part-<chunk>.parquet`` (pyarrow): one row per patient
  and observation day: ``id`` (as in the dataset), ``patient`` (index in the
  arm), ``day``, ``status`` (0 success, solver codes, 101 not enrolled),
  ``resolved``, every measured item and biomarker, and the covariates;
* the rows of ``dataset.csv``, a NONMEM-style dataset (:func:`nonmem_dataset`).

Last, from the streaming statistics (``StreamingSummary``):

* ``summary.csv``: arm, day, endpoint, mean, sd, p05, p25, p50, p75, p95, n
  (ESR mm/h, CRP mg/L, DAS28-ESR, DAS28-CRP, HAQ-DI, TJC28, SJC28 and their
  ``*_change`` from day 0, over the patients whose solve succeeded;
  percentiles within half a histogram bin, ``streaming.QUANTILE_ERROR``);
* ``responders.csv``: arm, day, criterion, rate (fraction), n;
* ``counts.csv``: per arm, patients, n (succeeded), n_failed (solver),
  n_not_enrolled, candidates redrawn, failures per solver status name, and the
  patients who dropped out of or were rescued from the randomised arm and the
  analysis rule of the arm's summaries and rates (``rasim.cohort.analysis``);
* ``warnings.txt`` (if any); ``bands.png`` and ``responders.png``;

then the manifest's status becomes ``complete``.  ``scenario.toml`` (the
resolved scenario) is written first.  Before the folder is touched the run's cost is
estimated (:func:`estimate`: memory, disk, time) and refused above the ceilings of
``rasim.gate.LIMITS`` or when the disk estimate exceeds the free space of the folder's
filesystem; the manifest records it (``estimate``).  A full disk during the run
(``ENOSPC``, ``EDQUOT``) stops it as Ctrl-C does (:class:`DiskFull`): the committed chunks
are kept and ``rasim run --resume DIR`` continues.  The manifest and the Parquet files carry
the parameter set in use by this rasim (``parameter_set``,
``parameter_fingerprint``) and the one the scenario simulates
(``scenario_parameter_set``, ``scenario_parameter_fingerprint``: its
``parameter_set`` key or ``rasim run --parameter-set``; by default the same).
"""

from __future__ import annotations

import errno
import logging
import math
import re
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numba
import numpy as np

from . import gate, output, plots
from .cohort import Arm, Cohort, CohortResult, warm_up
from .cohort.cohort import capped_threads, enrolment_note
from . import endpoints
from .cohort.analysis import RULES
from .cohort.result import CohortSummary
from .cohort.status import SOLVER_FAILURES, PatientStatus
from .cohort.streaming import StreamingSummary
from .errors import FolderError, IncompleteRunError, LimitError, RasimError, RasimWarning, RunInterrupted

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
    "DVID",
    *COVARIATE_COLUMNS,
    "ARM",
    "NAME",
)
log = logging.getLogger(__name__)  # the scenario's warnings; the compile notice and files written (INFO)
KEEP = ("patients", "summary")
CHUNK_PATIENT_DAYS = 6000  # patients x observation days per chunk: bounds a chunk's memory
MAX_CHUNK = 1000  # patients per chunk
# Measured on ``sources`` (3 arms x 2000 patients, 12 visits, one chunk of 2000; issue 21):
DATASET_TEXT_BYTES = 13_000  # memory per patient-visit of a chunk while its dataset.csv rows are made
PARQUET_BYTES_PER_VISIT = 180  # disk per patient-visit of patients/ (Parquet, compressed)
STATE_BYTES_PER_DAY = 10_000  # disk per observation day of an arm's saved statistics (.state/)
FIGURE_BYTES = 1_000_000  # the figures and summary files
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(RunInterrupted):
    """The disk filled up during a run (``ENOSPC``, ``EDQUOT``): as after Ctrl-C, the committed
    chunks are kept and the message says how to resume (``rasim run --resume DIR``)."""


def run_scenario(
    scenario,
    out_dir,
    threads: int | None = None,
    quiet: bool = False,
    progress=None,
    keep: str = "patients",
    overwrite: bool = False,
    chunk_size: int | None = None,
) -> dict[str, StreamingSummary]:
    """Simulate every arm of ``scenario`` and write the result files into ``out_dir``.

    Everything is checked before the folder is touched: ``threads`` (Numba's
    thread cap, at most the machine's), ``keep`` ("patients": per-patient
    files too; "summary": summaries only), the folder (refused if another
    process is writing it, or, unless ``overwrite``, if it holds anything).
    ``progress(done, total)`` (patients over all arms) is called after each
    chunk; without it a tqdm bar is drawn on stderr (if tqdm is installed and
    not ``quiet``).  ``chunk_size``: patients per committed chunk (default
    :func:`default_chunk_size`); results do not depend on it.
    Returns {arm name: StreamingSummary}."""
    check_threads(threads)
    if keep not in KEEP:
        raise RasimError(f"keep must be one of {', '.join(KEEP)}, got {keep!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise RasimError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    output.check_writable(out_dir)
    warnings = [*scenario.warnings(), *_missing_parquet(keep)]
    toml = scenario.to_toml()
    size = min(chunk_size, scenario.patients) if chunk_size else default_chunk_size(scenario)
    n_chunks = -(-scenario.patients // size)
    parquet = keep == "patients" and not _missing_parquet(keep)
    cost = estimate(scenario, keep, size, parquet)
    lines = _check_cost(cost, out_dir, overwrite)
    manifest = {
        "format": output.FORMAT,
        "status": "running",
        "scenario": scenario.name,
        "scenario_sha256": output.sha256(toml),
        "seed": scenario.seed,
        "rasim_version": output.version(),
        **output.parameter_identity(),
        **_scenario_identity(scenario),
        "keep": keep,
        "chunk_size": size,
        "parquet": parquet,
        "chunks": {a.name: n_chunks for a in scenario.arms},
        "chunks_done": {a.name: 0 for a in scenario.arms},
        "warnings": warnings,
        "estimate": {
            "memory_bytes": round(cost.memory),
            "disk_bytes": round(cost.disk),
            "seconds": round(cost.seconds, 1),
        },
        "chunk_files": {},
    }
    folder = output.RunFolder.start(out_dir, manifest, toml, overwrite)
    for line in lines:
        log.info(line)
    return _execute(folder, scenario, threads, quiet, progress)


def resume_run(out_dir, threads: int | None = None, quiet: bool = False, progress=None):
    """Continue the interrupted run in ``out_dir`` (its scenario.toml and manifest) to the
    files an uninterrupted run writes.  Returns {arm name: StreamingSummary}."""
    from .scenario import load

    check_threads(threads)
    folder = output.RunFolder.reopen(out_dir)
    try:
        scenario = load(Path(out_dir) / "scenario.toml")
        started = folder.manifest.get("scenario_parameter_fingerprint")
        now = _scenario_identity(scenario)
        if started is not None and started != now["scenario_parameter_fingerprint"]:
            raise FolderError(
                f"{out_dir}: the run was started with parameter set {now['scenario_parameter_set']} "
                f"at fingerprint {started} and this rasim's {now['scenario_parameter_set']} is "
                f"{now['scenario_parameter_fingerprint']}; start again with --overwrite"
            )
        m = folder.manifest
        done = sum(min(k * m["chunk_size"], scenario.patients) for k in m["chunks_done"].values())
        lines = _check_cost(estimate(scenario, m["keep"], m["chunk_size"], m["parquet"], done), out_dir, False)
    except BaseException:
        folder.release()
        raise
    for line in lines:
        log.info(line)
    return _execute(folder, scenario, threads, quiet, progress)


def _scenario_identity(scenario) -> dict[str, str]:
    """The parameter set ``scenario`` simulates, as manifest and Parquet metadata keys."""
    return {f"scenario_{k}": v for k, v in scenario.parameter_identity().items()}


def check_threads(threads: int | None) -> None:
    """Refuse a thread count this machine (or NUMBA_NUM_THREADS) does not allow."""
    limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba.config sets its options at run time
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= limit
    ):
        raise RasimError(
            f"threads: expected an integer in 1..{limit} (the cores of this machine, "
            f"or NUMBA_NUM_THREADS), got {threads!r}"
        )


def default_chunk_size(scenario) -> int:
    """Patients per chunk: at most ``CHUNK_PATIENT_DAYS`` patient-visits and ``MAX_CHUNK`` patients."""
    return max(1, min(MAX_CHUNK, CHUNK_PATIENT_DAYS // len(scenario.observe), scenario.patients))


def estimate(
    scenario, keep: str = "patients", chunk_size: int | None = None, parquet: bool = True, done: int = 0
) -> gate.Cost:
    """What running ``scenario`` (its patients after the first ``done``, over all arms) into a
    folder will take (``rasim.gate.Cost``): memory (a chunk at a time, and with
    ``keep="patients"`` its dataset rows as text), peak disk (with ``keep="patients"`` the
    chunks' dataset.csv rows and the joined dataset.csv side by side until the run completes,
    and Parquet if ``parquet``) and time."""
    size = chunk_size or default_chunk_size(scenario)
    visits, arms, total = len(scenario.observe), len(scenario.arms), scenario.patients * len(scenario.arms)
    rows = keep == "patients"
    c = gate.cost(scenario.patients, arms, visits, float(scenario.days), in_memory=False, chunk_size=size, csv=rows)
    left = max(total - done, 0) / total
    memory = c.memory + (min(size, scenario.patients) * visits * DATASET_TEXT_BYTES if rows else 0)
    parquet_disk = total * visits * PARQUET_BYTES_PER_VISIT if rows and parquet else 0
    disk = c.disk * (1 + left) + parquet_disk * left + arms * 2 * visits * STATE_BYTES_PER_DAY + FIGURE_BYTES
    return gate.Cost(memory, disk, c.seconds * left)


def _check_cost(cost: gate.Cost, out_dir, overwrite: bool) -> list[str]:
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


# ---- the run ---------------------------------------------------------------------------------


def _execute(folder: output.RunFolder, scenario, threads, quiet, progress) -> dict[str, StreamingSummary]:
    """Run the missing chunks, write the whole-run files, mark the folder complete.  Ctrl-C or
    a full disk stop the run resumably (``RunInterrupted``, ``DiskFull``): the committed chunks
    stay, any whole-run file already written goes (nothing looks complete)."""
    m = folder.manifest
    for line in m["warnings"]:
        log.warning(line)
    t0 = time.perf_counter()
    try:
        for name in (output.STATE, output.PARTS):
            (folder.path / name).mkdir(exist_ok=True)
        results = _simulate(folder, scenario, threads, quiet, progress)
        files = write_results(scenario, results, folder.path, m["warnings"], dataset_parts=True)
        names = sorted({p.name for p in files} | ({output.PATIENTS} if m["parquet"] else set()))
        folder.complete(names)
    except KeyboardInterrupt:
        _stop(folder)
        raise RunInterrupted(f"interrupted: {_resume_hint(folder)}") from None
    except OSError as e:
        if not (e.errno in DISK_FULL or "No space left on device" in str(e)):
            folder.release()
            raise
        _stop(folder)
        raise DiskFull(
            f"the disk is full ({e.strerror or e}) in {folder.path}: {_resume_hint(folder, 'free some space, then ')}"
        ) from None
    except BaseException:
        folder.release()
        raise
    log.info("wrote %s in %.1f s", ", ".join(names), time.perf_counter() - t0)
    return results


def _stop(folder: output.RunFolder) -> None:
    """Leave a stopped run resumable and not looking complete: unless its manifest already says
    complete, the whole-run files it may have begun writing are removed; the folder is released."""
    try:
        if output.read_manifest(folder.path)["status"] != "complete":
            for name in output.WHOLE_RUN_FILES:
                (folder.path / name).unlink(missing_ok=True)
    except (OSError, RasimError):
        pass
    finally:
        folder.release()


def _resume_hint(folder: output.RunFolder, first: str = "") -> str:
    """How much of an interrupted run is saved (as its manifest on disk says) and how to continue it."""
    try:
        m = output.read_manifest(folder.path)
    except RasimError:
        m = folder.manifest
    return (
        f"{sum(m['chunks_done'].values())} of {sum(m['chunks'].values())} chunks are saved in "
        f"{folder.path}; {first}continue with: rasim run --resume {folder.path}"
    )


def _simulate(folder, scenario, threads, quiet, progress) -> dict[str, StreamingSummary]:
    """Every arm's remaining chunks, with the compile line and progress on stderr."""
    m = folder.manifest
    log.info("compiling the kernels (first run only; cached afterwards)...")
    warm_up()
    done = sum(min(k * m["chunk_size"], scenario.patients) for k in m["chunks_done"].values())
    bar = _Progress(scenario.patients * len(scenario.arms), done, quiet, progress)
    try:
        with capped_threads(threads):
            return {a.name: _run_arm(folder, scenario, i, a, bar) for i, a in enumerate(scenario.arms)}
    finally:
        bar.close()


def _run_arm(folder, scenario, i: int, a, bar) -> StreamingSummary:
    """The remaining chunks of arm number ``i``; its running statistics.  A resumed arm's
    committed files are verified first (``RunFolder.intact``): damaged or missing statistics
    redo the arm, a damaged or missing chunk file redoes that chunk."""
    m = folder.manifest
    size, n_chunks, done = m["chunk_size"], m["chunks"][a.name], m["chunks_done"][a.name]
    cohort = arm_cohort(scenario, a)
    if done and not folder.intact(folder.state_path(i, done)):
        log.warning(
            "%s: the statistics of arm %s after chunk %d are damaged or missing; redoing the arm",
            folder.path,
            a.name,
            done,
        )
        folder.commit(a.name, i, 0)
        done = 0
    for k in range(done):
        damaged = [p for p in folder.chunk_paths(a.name, i, k) if not folder.intact(p)]
        if damaged:
            log.warning(
                "%s: %s damaged or missing; redoing chunk %d of arm %s",
                folder.path,
                ", ".join(str(p.relative_to(folder.path)) for p in damaged),
                k,
                a.name,
            )
            start = k * size
            chunk = cohort.run_chunk(start, min(start + size, scenario.patients))
            part = CohortResult.from_chunks(cohort, [chunk], {})
            folder.commit(a.name, i, done, _write_chunk(folder, scenario, i, k, part, start))
    if done:
        with np.load(folder.state_path(i, done)) as z:
            stream = StreamingSummary.from_arrays(z)
    else:
        stream = StreamingSummary(a.name, cohort.plan.t_out, analysis=cohort._arm.analysis)
    for k in range(done, n_chunks):
        start = k * size
        chunk = cohort.run_chunk(start, min(start + size, scenario.patients))
        part = CohortResult.from_chunks(cohort, [chunk], {})
        stream.add(part)
        if k == n_chunks - 1:
            stream.finish()
        files = _write_chunk(folder, scenario, i, k, part, start)
        with output.atomic(folder.state_path(i, k + 1)) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **stream.to_arrays())  # type: ignore[arg-type]  # names never clash with allow_pickle
        folder.commit(a.name, i, k + 1, [*files, folder.state_path(i, k + 1)])
        bar.update(chunk.stop - chunk.start)
    enrolled = sum(stream.status.values()) - stream.n_not_enrolled
    note = enrolment_note(cohort._arm, enrolled, stream.not_inflamed, stream.screen_failures)
    if note:
        log.warning(note)
    return stream


def arm_cohort(scenario, a) -> Cohort:
    """The ``Cohort`` of scenario arm ``a``."""
    with warnings.catch_warnings():  # the scenario's own warnings already name doses after the horizon
        warnings.simplefilter("ignore", RasimWarning)
        return Cohort(
            Arm(
                a.name,
                scenario.population(a.population),
                a.regimen,
                a.background,
                dropout=a.dropout,
                rescue=a.rescue,
                analysis=a.analysis,
            ),
            patients=scenario.patients,
            seed=scenario.seed,
            observe=scenario.observe,
            **scenario.cohort_overrides(),
        )


def run_in_memory(scenario, threads: int | None = None) -> dict[str, CohortResult]:
    """Every arm's per-patient results in memory (grows with the number of patients: for
    analyses that need each patient, e.g. ``trial_replicates``); ``write_results`` writes them."""
    check_threads(threads)
    cost = gate.cost(scenario.patients, len(scenario.arms), len(scenario.observe), float(scenario.days), in_memory=True)
    for line in cost.check("run_in_memory"):
        log.info(line)
    out = {}
    for i, a in enumerate(scenario.arms):
        out[a.name] = arm_cohort(scenario, a).run(threads=threads)
        out[a.name].first_id = i * scenario.patients + 1  # dataset.csv's ID
    return out


def _write_chunk(folder, scenario, i: int, k: int, part: CohortResult, start: int) -> list[Path]:
    """The per-patient files of chunk ``k`` of arm number ``i`` (patients from ``start``), if the
    run keeps them; their paths."""
    arm = scenario.arms[i]
    paths = folder.chunk_paths(arm.name, i, k)
    if not paths:
        return []
    if folder.manifest["parquet"]:
        write_parquet(
            paths[1], patient_table(part, i * scenario.patients + start + 1, start), _scenario_identity(scenario)
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
    if not _missing_parquet("patients"):
        for i, a in enumerate(scenario.arms):
            if a.name in per_patient:
                path = out / output.PATIENTS / f"arm={a.name}" / "part-000000.parquet"
                files.append(
                    write_parquet(
                        path,
                        patient_table(per_patient[a.name], i * scenario.patients + 1, 0),
                        _scenario_identity(scenario),
                    )
                )
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


# ---- tables ------------------------------------------------------------------------------------


def table(scenario, results: dict[str, CohortSummary], seconds: float) -> str:
    """Per arm: patients, failures, day-0 -> last-day means and last-day rates; for arms with
    dropout or rescue, the patients who left and the analysis rule of those figures."""
    last = float(scenario.observe[-1])
    head = (
        f"{scenario.name}: {len(results)} arm(s) x {scenario.patients} patients, days "
        f"{scenario.observe[0]:g}-{last:g}, {seconds:.1f} s (means day {scenario.observe[0]:g} -> "
        f"day {last:g}; rates at day {last:g})"
    )
    cols = (
        "arm",
        "n",
        "failed",
        "not_enrolled",
        "DAS28-ESR",
        "ESR mm/h",
        "CRP mg/L",
        "HAQ",
        "EULAR",
        "remission",
        "resolved",
    )
    rows, notes = [], []
    conducted = {a.name for a in scenario.arms if a.dropout or a.rescue or a.analysis != "observed"}
    for name, res in results.items():
        means = [res.mean(k)[[0, -1]] for k in ("DAS28_ESR", "ESR", "CRP", "HAQ")]
        rates = [res.rate(c)[-1] for c in ("EULAR_response", "DAS28_remission")] + [res.resolved_fraction()[-1]]
        rows.append(
            (
                name,
                str(res.n),
                str(res.n_failed),
                str(res.n_not_enrolled),
                *(_pair(a, b, 2 if k in (0, 3) else 1) for k, (a, b) in enumerate(means)),
                *(f"{100 * r:.0f}%" if math.isfinite(r) else "-" for r in rates),
            )
        )
        if name in conducted:
            notes.append(
                f"{name}: {res.n_dropped_out} dropped out, {res.n_rescued} rescued; means and rates: "
                f"{res.analysis}, {RULES[res.analysis]}"
            )
        failed = {k: v for k, v in res.status_counts().items() if k in FAILURES}
        if failed:
            notes.append(f"{name}: solver failures " + ", ".join(f"{k} {v}" for k, v in failed.items()))
            notes += [f"  {k}: {PatientStatus[k.upper()].remedy}" for k in failed]
    widths = [max(len(r[i]) for r in (cols, *rows)) for i in range(len(cols))]

    def line(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([head, line(cols), *map(line, rows), *notes])


def _pair(a: float, b: float, digits: int) -> str:
    return f"{a:.{digits}f}->{b:.{digits}f}" if math.isfinite(a) and math.isfinite(b) else "-"


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


def _missing_parquet(keep: str) -> list[str]:
    """A warning if ``keep="patients"`` cannot write Parquet (pyarrow not installed)."""
    if keep != "patients":
        return []
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return [
            "patients/ (Parquet) not written: pyarrow is not installed (pip install 'rasim[parquet]'); "
            "dataset.csv holds the measured values"
        ]
    return []


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
    streamed = [k for k, r in results.items() if not r.keeps_patients]
    if streamed:
        raise RasimError(
            f"a NONMEM dataset needs per-patient results; arm(s) {', '.join(streamed)} kept "
            "summaries only: run with keep='patients'"
        )
    parts = [arm_dataset(scenario, k, results[a.name], 0) for k, a in enumerate(scenario.arms)]
    return {c: np.concatenate([p[c] for p in parts]) for c in DATASET_COLUMNS}


def arm_dataset(scenario, k: int, res: CohortResult, start: int) -> dict[str, np.ndarray]:
    """:func:`nonmem_dataset` columns of arm number ``k``'s patients ``start`` .. in ``res``."""
    a = scenario.arms[k]
    idx = np.flatnonzero(res.ok)
    ids = k * scenario.patients + start + idx + 1
    cov = {c: res.covariates[name][idx] for c, name in COVARIATE_COLUMNS.items()}
    m, n_items = len(res.days), len(MEASURED)
    dv = np.stack([res.values[name][idx] for name in MEASURED], axis=-1)  # (k, m, items)
    obs: dict[str, Any] = {
        "ID": np.repeat(ids, m * n_items),
        "TIME": np.tile(np.repeat(res.days, n_items), len(idx)),
        "DV": dv.reshape(-1),
        "MDV": 0,
        "EVID": 0,
        "AMT": 0.0,
        "CMT": 0,
        "II": 0.0,
        "ADDL": 0,
        "SS": 0,
        "DVID": np.tile(np.arange(1, n_items + 1), len(idx) * m),
        "NAME": np.tile(np.array(MEASURED), len(idx) * m),
    }
    obs.update({c: np.repeat(v, m * n_items) for c, v in cov.items()})
    blocks = [obs]
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
            lines.append(
                {
                    "TIME": t["TIME"][i],
                    "AMT": t["AMT"][i],
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


class _Progress:
    """Patients done: to ``callback(done, total)`` if given, else a tqdm bar on stderr
    (rate and ETA) when tqdm is installed and not ``quiet``; else nothing."""

    def __init__(self, total: int, done: int, quiet: bool, callback=None):
        self.total, self.done, self.callback, self.bar = total, done, callback, None
        if callback is None and not quiet:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(
                total=total, initial=done, unit="patient", file=sys.stderr, mininterval=1.0, dynamic_ncols=True
            )

    def update(self, n: int) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
