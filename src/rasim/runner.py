"""Run a scenario's arms as cohorts into a run folder: the folder, its manifest, resume.

``run_scenario(scenario, out_dir)`` checks everything first (threads, the folder, the
scenario, the run's cost), then runs every arm's chunks through the cohort pipeline
(``rasim.cohort.pipeline``: in this process, or on a Dask cluster with ``executor=``,
``rasim run --dask``).  Each chunk's files (``rasim.files.write_chunk``) and the arm's
running statistics are committed atomically, in chunk order, and recorded in
``manifest.json`` (:mod:`rasim.output`), so memory stays flat in the number of patients
and an interrupted run continues with ``resume_run`` (``rasim run --resume DIR``) to the
same files, byte for byte, whatever executor ran either part.  Last the whole-run files
are written (``rasim.files.write_results``) and the manifest's status becomes ``complete``.

Before the folder is touched the run's cost (``rasim.files.estimate``) is checked against
the ceilings and the free space.  A full disk during the run stops it as Ctrl-C does
(:class:`DiskFull`): the committed chunks are kept and ``rasim run --resume DIR`` continues.
"""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

import numba
import numpy as np

from . import files, gate, output
from .cohort import CohortResult
from .cohort.cohort import enrolment_note
from .cohort.pipeline import ChunkResult, ProgressBar, default_executor, run_chunks
from .cohort.streaming import StreamingSummary
from .errors import FolderError, RasimError, RunInterrupted

log = logging.getLogger(__name__)  # the scenario's warnings; the compile notice and files written (INFO)
KEEP = ("patients", "summary")
CHUNK_PATIENT_DAYS = 6000  # patients x observation days per chunk: bounds a chunk's memory
MAX_CHUNK = 1000  # patients per chunk
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
    executor=None,
) -> dict[str, StreamingSummary]:
    """Simulate every arm of ``scenario`` and write the result files into ``out_dir``.

    Everything is checked before the folder is touched: ``threads`` (Numba's
    thread cap, at most the machine's), ``keep`` ("patients": per-patient
    files too; "summary": summaries only), the folder (refused if another
    process is writing it, or, unless ``overwrite``, if it holds anything).
    ``progress(done, total)`` (patients over all arms) is called after each
    chunk; without it a tqdm bar is drawn on stderr (if tqdm is installed and
    not ``quiet``).  ``chunk_size``: patients per committed chunk (default
    :func:`default_chunk_size`); results do not depend on it, nor on ``executor``
    (``rasim.cohort.pipeline``: ``InProcess()``, ``Dask``; default ``default_executor()``).
    Returns {arm name: StreamingSummary}."""
    check_threads(threads)
    if keep not in KEEP:
        raise RasimError(f"keep must be one of {', '.join(KEEP)}, got {keep!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise RasimError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    executor = default_executor() if executor is None else executor
    output.check_writable(out_dir)
    warnings = scenario.warnings()
    toml = scenario.to_toml()
    size = min(chunk_size, scenario.patients) if chunk_size else default_chunk_size(scenario)
    n_chunks = -(-scenario.patients // size)
    parquet = keep == "patients"
    cost = files.estimate(scenario, keep, size, parquet)
    lines = files.check_cost(cost, out_dir, overwrite)
    manifest = {
        "format": output.FORMAT,
        "status": "running",
        "scenario": scenario.name,
        "scenario_sha256": output.sha256(toml),
        "seed": scenario.seed,
        "rasim_version": output.version(),
        **output.parameter_identity(),
        **files.scenario_identity(scenario),
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
    return _execute(folder, scenario, threads, quiet, progress, executor)


def resume_run(out_dir, threads: int | None = None, quiet: bool = False, progress=None, executor=None):
    """Continue the interrupted run in ``out_dir`` (its scenario.toml and manifest) to the
    files an uninterrupted run writes, on any executor.  Returns {arm name: StreamingSummary}."""
    from .scenario import load

    check_threads(threads)
    executor = default_executor() if executor is None else executor
    folder = output.RunFolder.reopen(out_dir)
    try:
        scenario = load(Path(out_dir) / "scenario.toml")
        started = folder.manifest.get("scenario_parameter_fingerprint")
        now = files.scenario_identity(scenario)
        if started is not None and started != now["scenario_parameter_fingerprint"]:
            raise FolderError(
                f"{out_dir}: the run was started with parameter set {now['scenario_parameter_set']} "
                f"at fingerprint {started} and this rasim's {now['scenario_parameter_set']} is "
                f"{now['scenario_parameter_fingerprint']}; start again with --overwrite"
            )
        m = folder.manifest
        done = sum(min(k * m["chunk_size"], scenario.patients) for k in m["chunks_done"].values())
        lines = files.check_cost(
            files.estimate(scenario, m["keep"], m["chunk_size"], m["parquet"], done), out_dir, False
        )
    except BaseException:
        folder.release()
        raise
    for line in lines:
        log.info(line)
    return _execute(folder, scenario, threads, quiet, progress, executor)


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


# ---- the run ---------------------------------------------------------------------------------


def _execute(folder: output.RunFolder, scenario, threads, quiet, progress, executor) -> dict[str, StreamingSummary]:
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
        results = _simulate(folder, scenario, threads, quiet, progress, executor)
        written = files.write_results(scenario, results, folder.path, m["warnings"], dataset_parts=True)
        names = sorted({p.name for p in written} | ({output.PATIENTS} if m["parquet"] else set()))
        folder.complete(names)
    except BaseException as e:
        if _interrupted(e):
            folder.stop()
            raise RunInterrupted(f"interrupted: {folder.resume_hint()}") from None
        if isinstance(e, OSError) and (e.errno in DISK_FULL or "No space left on device" in str(e)):
            folder.stop()
            raise DiskFull(
                f"the disk is full ({e.strerror or e}) in {folder.path}: {folder.resume_hint('free some space, then ')}"
            ) from None
        folder.release()
        raise
    log.info("wrote %s in %.1f s", ", ".join(names), time.perf_counter() - t0)
    return results


def _interrupts() -> tuple[type[BaseException], ...]:
    """What a Ctrl-C raises: KeyboardInterrupt, or pyarrow's ArrowCancelled when the signal
    arrives inside a pyarrow call (pyarrow turns SIGINT into that error)."""
    from pyarrow.lib import ArrowCancelled

    return (KeyboardInterrupt, ArrowCancelled)


def _interrupted(e: BaseException | None) -> bool:
    """Whether ``e`` is a Ctrl-C or was raised while one was being handled: a library's clean-up
    can put its own error in the interrupt's place (``numpy.savez_compressed`` interrupted
    mid-write: zipfile's close raises ValueError with the KeyboardInterrupt as its context)."""
    while e is not None:
        if isinstance(e, _interrupts()):
            return True
        e = e.__context__
    return False


def _simulate(folder, scenario, threads, quiet, progress, executor) -> dict[str, StreamingSummary]:
    """Every arm's remaining chunks through the pipeline, with the compile line and progress."""
    m = folder.manifest
    log.info("compiling the kernels (first run only; cached afterwards)...")
    arms = {a.name: _Arm(folder, scenario, i) for i, a in enumerate(scenario.arms)}
    done = sum(min(arm.done * m["chunk_size"], scenario.patients) for arm in arms.values())
    bar = ProgressBar(scenario.patients * len(scenario.arms), done, quiet, progress)
    for solver in sorted({arm.cohort.solver for arm in arms.values()}):
        executor.warm_up(solver)
    try:
        tasks = [t for arm in arms.values() for t in arm.tasks(threads)]
        run_chunks(tasks, [lambda r: _commit(arms[r.task.cohort._arm.name], bar, r)], executor)
    finally:
        bar.close()
    for arm in arms.values():
        arm.note()
    return {name: arm.stream for name, arm in arms.items()}


def _commit(arm: _Arm, bar: ProgressBar, r: ChunkResult) -> None:
    """Chunk ``r`` into its arm's files; the progress bar counts it if it is new."""
    if arm(r):
        bar(r)


class _Arm:
    """The sink of arm number ``i``'s chunks: their files, its running statistics (saved after
    every chunk) and the manifest's commit, in chunk order.  A resumed arm's committed files
    are verified first (``RunFolder.intact``): damaged or missing statistics redo the arm, a
    damaged or missing chunk file redoes that chunk."""

    def __init__(self, folder: output.RunFolder, scenario, i: int):
        m = folder.manifest
        self.folder, self.scenario, self.i = folder, scenario, i
        self.name, self.n_chunks, self.done = scenario.arms[i].name, m["chunks"][scenario.arms[i].name], 0
        self.cohort = scenario.cohort(scenario.arms[i], m["chunk_size"])
        done = m["chunks_done"][self.name]
        if done and not folder.intact(folder.state_path(i, done)):
            log.warning(
                "%s: arm %s's statistics after chunk %d damaged or missing; redoing it", folder.path, self.name, done
            )
            folder.commit(self.name, i, 0)
            done = 0
        self.redo = [k for k in range(done) if self._damaged(k)]
        if done:
            with np.load(folder.state_path(i, done)) as z:
                self.stream = StreamingSummary.from_arrays(z)
        else:
            self.stream = StreamingSummary(self.name, self.cohort.plan.t_out, analysis=self.cohort._arm.analysis)
        self.done = done

    def _damaged(self, k: int) -> bool:
        damaged = [p for p in self.folder.chunk_paths(self.name, self.i, k) if not self.folder.intact(p)]
        if damaged:
            names = ", ".join(str(p.relative_to(self.folder.path)) for p in damaged)
            log.warning("%s: %s damaged or missing; redoing chunk %d of arm %s", self.folder.path, names, k, self.name)
        return bool(damaged)

    def tasks(self, threads: int | None) -> list:
        """The chunks to run: the damaged ones, then the rest."""
        chunks = self.cohort.chunks(threads)
        return [chunks[k] for k in self.redo] + list(chunks[self.done :])

    def __call__(self, r: ChunkResult) -> bool:
        """Commit chunk ``r``; True if it is new (not a damaged one redone)."""
        k, start = r.task.index, r.task.start
        paths = files.write_chunk(self.folder, self.scenario, self.i, k, r.part, start)
        if k < self.done:  # a damaged chunk, redone
            self.folder.commit(self.name, self.i, self.done, paths)
            return False
        self.stream.add(r.part)
        if k == self.n_chunks - 1:
            self.stream.finish()
        state = self.folder.state_path(self.i, k + 1)
        with output.atomic(state) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **self.stream.to_arrays())  # type: ignore[arg-type]  # names never clash with allow_pickle
        self.folder.commit(self.name, self.i, k + 1, [*paths, state])
        self.done = k + 1
        return True

    def note(self) -> None:
        """Log a loud note if nobody enrolled."""
        s = self.stream
        enrolled = sum(s.status.values()) - s.n_not_enrolled
        note = enrolment_note(self.cohort._arm, enrolled, s.not_inflamed, s.screen_failures)
        if note:
            log.warning(note)


def run_in_memory(scenario, threads: int | None = None) -> dict[str, CohortResult]:
    """Every arm's per-patient results in memory (grows with the number of patients: for
    analyses that need each patient, e.g. ``trial_replicates``); ``write_results`` writes them."""
    check_threads(threads)
    cost = gate.cost(scenario.patients, len(scenario.arms), len(scenario.observe), float(scenario.days), in_memory=True)
    for line in cost.check("run_in_memory"):
        log.info(line)
    out = {}
    for i, a in enumerate(scenario.arms):
        out[a.name] = scenario.cohort(a).run(threads=threads)
        out[a.name].first_id = i * scenario.patients + 1  # dataset.csv's ID
    return out
