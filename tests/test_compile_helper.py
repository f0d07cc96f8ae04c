"""The cold-start helper: it compiles the signatures the cohort uses, into the cache a fresh
process reads, and only when that can save time."""

from __future__ import annotations

import os
import subprocess
import sys

from rasim.cohort import compile_helper, warm_up

WARM_UP = """
from rasim.cohort import compile_helper, warm_up
warm_up()
jobs = compile_helper.jobs()
print(sum(sum(d.stats.cache_hits.values()) for d, _ in jobs), sum(sum(d.stats.cache_misses.values()) for d, _ in jobs))
"""


def test_no_helper_when_disabled_or_when_the_cache_has_the_kernels(monkeypatch):
    warm_up()
    assert compile_helper.start() is None  # this process's cache now holds every job
    monkeypatch.setenv(compile_helper.ENV, "0")
    monkeypatch.setattr(compile_helper, "_cached", lambda d: False)
    assert compile_helper.start() is None


def test_the_helper_refuses_a_cache_that_is_not_its_own(tmp_path):
    run = subprocess.run([sys.executable, "-m", compile_helper.__name__, str(tmp_path)], capture_output=True)
    assert run.returncode == compile_helper.MISMATCH
    assert not any(tmp_path.iterdir())


def test_the_warm_up_loads_every_kernel_the_helper_compiled(tmp_path):
    """The helper's signatures are the cohort's: a warm-up after it finds each in the cache."""
    env = {**os.environ, "RASIM_CACHE_DIR": str(tmp_path), compile_helper.ENV: "0"}
    code = "import numba, sys; from rasim.cohort import compile_helper as h; sys.exit(h.main(numba.config.CACHE_DIR))"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    out = subprocess.run([sys.executable, "-c", WARM_UP], env=env, capture_output=True, text=True, check=True)
    hits, misses = map(int, out.stdout.split())
    assert (hits, misses) == (len(compile_helper.jobs()), 0)
