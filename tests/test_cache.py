"""Numba's cache: outside the package tree, keyed by the source, reused by a second process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import rasim

CHILD = """
import numpy as np, rasim
from rasim.model import build_args, parameter_vector
from rasim.model.rhs import rhs
from rasim.model.states import N_STATES
args = build_args(parameter_vector(), np.empty(0), np.empty(0, np.int64), np.empty(0))
rhs(0.0, np.ones(N_STATES), args, np.empty(N_STATES))
print(sum(rhs.stats.cache_hits.values()), rasim.CACHE_DIR)
"""


def _child(env: dict) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    hits, path = out.stdout.split()
    return int(hits), path


def test_a_second_process_loads_kernels_from_the_cache_outside_the_package(tmp_path):
    env = {**os.environ, "RASIM_CACHE_DIR": str(tmp_path)}
    package = Path(rasim.__file__).parent
    start = time.time()
    first, path = _child(env)
    second, again = _child(env)
    assert (first, second) == (0, 1)
    assert path == again and Path(path).parent == tmp_path / "numba"
    assert Path(path).name.startswith(rasim.__version__ + "-")
    assert any(Path(path).rglob("*.nbi"))
    written = [p for p in package.rglob("*.nb[ic]") if p.stat().st_mtime >= start]
    assert not written, written


def test_cache_directory_is_keyed_by_the_source(tmp_path, monkeypatch):
    from rasim import _cache

    monkeypatch.setenv("RASIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_cache, "source_fingerprint", lambda: "a" * 64)
    import numba

    before = numba.config.CACHE_DIR
    try:
        one = _cache.configure("9.9")
        monkeypatch.setattr(_cache, "source_fingerprint", lambda: "b" * 64)
        two = _cache.configure("9.9")
    finally:
        numba.config.CACHE_DIR = before
    assert one != two and one.name == "9.9-" + "a" * 16 and two.is_dir()


def test_numba_cache_entries_are_saved_and_loaded_under_the_index_lock(tmp_path):
    """Two processes saving entries of closures that share an index could both pick data file 1
    (numba/numba#10128): rasim makes Numba's save and load wait for a lock on the index."""
    import threading

    from filelock import FileLock
    from numba.core import caching

    cache = caching.IndexDataCacheFile(str(tmp_path), "f-1.py311", source_stamp=(0.0, 0))
    done = {}

    def save_then_load():
        cache.save(("key",), b"data")
        done["loaded"] = cache.load(("key",))

    with FileLock(os.path.join(str(tmp_path), "f-1.py311.nbi.lock")):
        worker = threading.Thread(target=save_then_load)
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive() and not list(tmp_path.glob("*.nbc"))  # waiting for the lock
    worker.join(timeout=10)
    assert done["loaded"] == b"data" and len(list(tmp_path.glob("*.nbc"))) == 1
