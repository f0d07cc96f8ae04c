"""A second process that compiles half of the cohort kernels into the cache while this one
compiles the other half: a cold start in about half the wall time on two cores.

Numba compiles under one lock per process, so a cold ``warm_up`` uses one core for about
20 s.  When the kernel cache (``rasim._cache``) lacks any of the kernels ``jobs`` lists, ``start`` launches
``python -m rasim.cohort.compile_helper <cache dir>``, which compiles them in order (the
generated Jacobian and LU first, which the solver needs halfway through its own compilation;
then the day-0 and dose-table kernels, which the warm-up reaches last) and writes each to the
cache.  Numba looks in the cache before it compiles a signature, so the warm-up loads what the
helper has finished and compiles the rest itself: the same machine code either way, and nothing
depends on the helper finishing, starting, or existing (``stop`` kills it when the warm-up is
done; Numba writes each cache file under a temporary name and renames it into place).

The lockstep lanes (``rasim.lockstep``: about 45-70 s to compile, more than the rest together)
are not part of the warm-up.  When the cache lacks them, ``start_lanes`` launches
``python -m rasim.cohort.compile_helper <cache dir> --lanes`` once the warm-up is done, at a lower
priority, and leaves it to finish after this process exits: the runs use the scalar kernel until
the lanes are in the cache, then the lanes, with the same results (a marker file in the cache
keeps two processes from compiling them at once).

No helper when ``RASIM_COMPILE_HELPER=0``, with fewer than two usable cores, in a frozen
application, or when the process compiles with a drug registered from outside the package
(its cache key then differs from a fresh process's, and so would the kernels); no lanes helper
either when ``RASIM_LOCKSTEP`` is 0 or 1 (1 compiles them in the process that needs them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numba
from numba import types as nt

F1, F2, F3, F4 = (nt.Array(nt.float64, k, "C") for k in (1, 2, 3, 4))
I1, I2, B1, B2 = (
    nt.Array(nt.int64, 1, "C"),
    nt.Array(nt.int64, 2, "C"),
    nt.Array(nt.boolean, 1, "C"),
    nt.Array(nt.boolean, 2, "C"),
)
ENV = "RASIM_COMPILE_HELPER"
MISMATCH = 3  # the helper's exit code when its cache directory is not the parent's
LANES_MARKER = "lanes.compiling"  # in the cache directory while a helper compiles the lanes
STALE_S = 900.0  # a marker older than this is a helper that died: compile again
_LANES_HELPER: list[subprocess.Popen] = []  # kept referenced: it outlives the warm-up


def jobs() -> list[tuple[object, tuple]]:
    """(dispatcher, signature) the helper compiles, in its order: signatures the warm-up looks up
    itself (a callee compiled inside another job, like the dose tables inside ``_write_rows``, is
    not listed; ``tests/test_compile_helper.py`` checks the warm-up finds each in the cache)."""
    from .. import day0
    from ..model import args, jacobian
    from . import kernel

    return [
        (jacobian.jac_y, (F1, F1, F1, F2)),
        (jacobian.lu_factor, (F1, nt.float64, F1)),
        (jacobian.lu_solve, (F1, F1)),
        (jacobian.jac_u, (F1, F1, F1, F1)),
        (kernel.exposures, (F2, F1, F3)),
        (args.args_size, (I1,)),
        (kernel._write_rows, (F2, F2, F1, I1, F1)),
        (day0._growth_blocks, (F2, F2, B1, F3, B1)),
        (day0._polish, (F2, F2, I1, nt.float64, B1, F1)),
    ]


def lane_job() -> tuple[object, tuple]:
    """(dispatcher, signature) of the lockstep lanes (``integrate.integrate_batch``'s call)."""
    from ..integrate import lanes

    f8, i8 = nt.float64, nt.int64
    return lanes(), (f8, F2, F2, F1, F1, I1, F2, f8, F1, i8, F3, I2, I1, F1, F4, I2, B2, F2, F2)


def _cached(dispatcher) -> bool:
    """Whether Numba's cache has an index for ``dispatcher`` (True when that cannot be told)."""
    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:  # another Numba's internals: start no helper
        return True


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _own_cache() -> bool:
    """Whether this process's kernel cache is the one a fresh ``import rasim`` configures."""
    from .. import CACHE_DIR

    return numba.config.CACHE_DIR == str(CACHE_DIR)  # type: ignore[attr-defined]  # numba.config sets its options at run time


def _allowed() -> bool:
    return os.environ.get(ENV, "1") != "0" and not getattr(sys, "frozen", False) and _cores() >= 2 and _own_cache()


def start() -> subprocess.Popen | None:
    """Launch the helper if it can save time (see the module docstring), else None."""
    if not _allowed():
        return None
    if all(_cached(d) for d, _ in jobs()):
        return None
    cache = numba.config.CACHE_DIR  # type: ignore[attr-defined]
    quiet = subprocess.DEVNULL
    try:
        return subprocess.Popen([sys.executable, "-m", __name__, cache], stdin=quiet, stdout=quiet, stderr=quiet)
    except OSError:
        return None


def stop(helper: subprocess.Popen | None) -> None:
    """End the helper (done or not: what it has not compiled, this process has)."""
    if helper is not None:
        helper.kill()
        helper.wait()


def _claim(marker: Path) -> bool:
    """Create ``marker`` if no live helper holds it (one older than ``STALE_S`` is taken over)."""
    for _ in range(2):
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            try:
                if time.time() - marker.stat().st_mtime < STALE_S:
                    return False
                marker.unlink()
            except FileNotFoundError:
                pass
        except OSError:
            return False
    return False


def start_lanes() -> subprocess.Popen | None:
    """Launch the lanes helper when the cache lacks the lanes (see the module docstring), else None."""
    from .. import lockstep

    if not _allowed() or lockstep.mode() != "auto" or not lockstep.registry_matches():
        return None
    dispatcher, _ = lane_job()
    if lockstep.compiled(dispatcher):
        return None
    cache = numba.config.CACHE_DIR  # type: ignore[attr-defined]
    marker = Path(cache) / LANES_MARKER
    if not _claim(marker):
        return None
    quiet = subprocess.DEVNULL
    try:
        helper = subprocess.Popen(
            [sys.executable, "-m", __name__, cache, "--lanes"], stdin=quiet, stdout=quiet, stderr=quiet
        )
    except OSError:
        marker.unlink(missing_ok=True)
        return None
    _LANES_HELPER.append(helper)
    return helper


def main(cache: str, lanes: bool = False) -> int:
    """Compile ``jobs()`` (or, with ``lanes``, ``lane_job()`` at a lower priority) into the cache;
    ``MISMATCH`` without compiling if this process's cache directory is not ``cache`` (the parent's)."""
    if numba.config.CACHE_DIR != cache:  # type: ignore[attr-defined]
        return MISMATCH
    if not lanes:
        for dispatcher, signature in jobs():
            dispatcher.compile(signature)  # type: ignore[attr-defined]  # a Numba dispatcher
        return 0
    try:
        if hasattr(os, "nice"):
            os.nice(10)
        dispatcher, signature = lane_job()
        dispatcher.compile(signature)  # type: ignore[attr-defined]
    finally:
        (Path(cache) / LANES_MARKER).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], lanes="--lanes" in sys.argv[2:]))
