"""A cohort run as a pipeline of values: chunk tasks, an executor, chunk results, sinks.

* ``ChunkTask`` (``Cohort.chunks()``): a small picklable description of one unit of
  work: the frozen cohort (its plan and seed), the chunk's number and patient range, and
  Numba's thread cap inside it.  ``task.run()`` on any process gives its ``Chunk``.
* An executor runs tasks and yields their chunks in task order: ``InProcess`` (one after
  another in this process, Numba's threads inside each chunk) or ``Dask`` (a Dask
  distributed ``Client``: chunks are tasks on its workers, a bounded window in flight,
  results streamed back as they finish with ``distributed.as_completed`` and put back in
  order; a chunk that finishes early waits in the window).
* ``run_chunks`` hands each ``ChunkResult`` to every sink in turn: the streaming summary
  (its sums run in patient order, so results are the same bit for bit whatever order the
  chunks finish in), the run folder's writers and manifest, the progress bar.

``rasim run --dask ADDRESS`` (or ``local[:N]``), ``Cohort.run(executor=...)`` and the
``RASIM_DASK`` environment variable (``default_executor``: every cohort run of the
process, e.g. sweeps, sensitivity and calibration) choose the executor.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from .. import gate
from ..errors import RasimError
from .cohort import Chunk, Cohort, capped_threads, warm_up
from .result import CohortResult

ENV = "RASIM_DASK"  # a Dask scheduler address, or local[:N], for every cohort run of the process
WINDOW_PER_WORKER = 2  # chunks in flight (or finished, waiting for an earlier one) per worker thread


@dataclass(frozen=True)
class ChunkTask:
    """Patients ``start`` .. ``stop - 1`` of ``cohort``, its chunk number ``index``; ``threads``
    caps Numba's threads while it runs (None: as the process has them)."""

    cohort: Cohort
    index: int
    start: int
    stop: int
    threads: int | None = None

    def run(self) -> Chunk:
        """The chunk's results (the kernels compiled or loaded first, once per process)."""
        warm_up(self.cohort.solver)
        with capped_threads(self.threads):
            return self.cohort.run_chunk(self.start, self.stop)


@dataclass(frozen=True)
class ChunkResult:
    """A task and its chunk; ``part`` the chunk as a ``CohortResult`` (made once, for all sinks)."""

    task: ChunkTask
    chunk: Chunk

    @cached_property
    def part(self) -> CohortResult:
        return CohortResult.from_chunks(self.task.cohort, [self.chunk], {})


Sink = Callable[[ChunkResult], None]


def run_chunks(tasks: Sequence[ChunkTask], sinks: Iterable[Sink], executor=None) -> None:
    """Run ``tasks`` on ``executor`` (default ``InProcess()``) and give each result, in task
    order, to every sink: the one chunk loop of rasim."""
    sinks = list(sinks)
    executor = InProcess() if executor is None else executor
    for task, chunk in zip(tasks, executor.map(tasks), strict=True):
        result = ChunkResult(task, chunk)
        for sink in sinks:
            sink(result)


class InProcess:
    """Chunks one after another in this process (Numba's threads inside each)."""

    def warm_up(self, solver: str) -> float:
        """Seconds to compile or load the kernels here (0 once done)."""
        return warm_up(solver)

    def map(self, tasks: Iterable[ChunkTask]) -> Iterator[Chunk]:
        return (task.run() for task in tasks)


class Dask:
    """Chunks as tasks on a Dask distributed ``client``, results in task order.  ``threads``:
    Numba's threads per chunk on the workers (None: the task's own cap).  ``connect`` makes one
    from an address or ``local[:N]``; a cluster it started is closed by ``close``."""

    def __init__(self, client, threads: int | None = None, cluster=None):
        self.client, self.threads, self.cluster = client, threads, cluster

    @classmethod
    def connect(cls, spec: str, path: str = "--dask") -> "Dask":
        """A client of the scheduler at ``spec``, or of a new ``LocalCluster`` of N worker
        processes (one thread each; Numba's threads share the cores) for ``local[:N]``;
        ``spec`` is checked first (``gate.dask``; ``path`` names it in the error)."""
        kind, where = gate.dask(path, spec)
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RasimError(f"{path} {spec}: Dask is not installed; pip install 'rasim[dask]'") from None
        if kind == "address":
            return cls(Client(where))
        n = int(where)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return cls(Client(cluster), max(1, (os.cpu_count() or 1) // n), cluster)

    def close(self) -> None:
        """Close the client, and the cluster if this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> "Dask":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def workers(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def warm_up(self, solver: str) -> float:
        """Seconds for every worker to compile or load the kernels (Numba's on-disk cache is
        shared by the workers of a machine; a worker that joins later warms up on its first chunk)."""
        t0 = time.perf_counter()
        self.client.run(warm_up, solver)
        return time.perf_counter() - t0

    def map(self, tasks: Iterable[ChunkTask]) -> Iterator[Chunk]:
        """Submit tasks while fewer than ``WINDOW_PER_WORKER`` x workers are in flight or
        waiting; yield the chunks in task order as they complete.  A lost worker's tasks are
        run again by Dask; stopping the iteration cancels the tasks in flight."""
        from distributed import as_completed

        todo = iter(tasks)
        window = WINDOW_PER_WORKER * self.workers()
        pending: dict = {}  # future -> position
        done: dict[int, Chunk] = {}
        completed = as_completed()
        submitted = following = 0
        try:
            while True:
                while len(pending) + len(done) < window and (task := next(todo, None)) is not None:
                    if self.threads is not None:
                        task = replace(task, threads=self.threads)
                    future = self.client.submit(ChunkTask.run, task, pure=False)
                    pending[future] = submitted
                    completed.add(future)
                    submitted += 1
                while following in done:
                    yield done.pop(following)
                    following += 1
                if not pending:
                    return
                future = next(completed)
                done[pending.pop(future)] = future.result()
                future.release()
        finally:
            for future in pending:
                future.cancel()


_SHARED: dict[str, Dask] = {}


def default_executor():
    """The executor of cohort runs that name none: the Dask cluster of ``$RASIM_DASK`` (one per
    process, closed at exit) if set, else ``InProcess()``."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return InProcess()
    if spec not in _SHARED:
        _SHARED[spec] = Dask.connect(spec, ENV)
        atexit.register(_SHARED[spec].close)
    return _SHARED[spec]


class ProgressBar:
    """A sink counting patients done: to ``callback(done, total)`` if given, else a tqdm bar on
    stderr (rate and ETA) when tqdm is installed and not ``quiet``; else nothing."""

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

    def __call__(self, result: ChunkResult) -> None:
        n = result.task.stop - result.task.start
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


__all__ = ["ChunkTask", "ChunkResult", "Dask", "InProcess", "ProgressBar", "default_executor", "run_chunks"]
