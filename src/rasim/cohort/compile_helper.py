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

No helper when ``RASIM_COMPILE_HELPER=0``, with fewer than two usable cores, in a frozen
application, or when the process compiles with a drug registered from outside the package
(its cache key then differs from a fresh process's, and so would the kernels).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numba
from numba import types as nt

F1, F2, F3 = (nt.Array(nt.float64, k, "C") for k in (1, 2, 3))
I1, B1 = nt.Array(nt.int64, 1, "C"), nt.Array(nt.boolean, 1, "C")
ENV = "RASIM_COMPILE_HELPER"
MISMATCH = 3  # the helper's exit code when its cache directory is not the parent's


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


def start() -> subprocess.Popen | None:
    """Launch the helper if it can save time (see the module docstring), else None."""
    if os.environ.get(ENV, "1") == "0" or getattr(sys, "frozen", False) or _cores() < 2 or not _own_cache():
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


def main(cache: str) -> int:
    """Compile ``jobs()`` into the cache; ``MISMATCH`` without compiling if this process's cache
    directory is not ``cache`` (the parent's)."""
    if numba.config.CACHE_DIR != cache:  # type: ignore[attr-defined]
        return MISMATCH
    for dispatcher, signature in jobs():
        dispatcher.compile(signature)  # type: ignore[attr-defined]  # a Numba dispatcher
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
