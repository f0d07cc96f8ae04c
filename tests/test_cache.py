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


FACTORY = """
import numpy as np
from numba import njit
from rasim.solver._driver import pin_uuids


def make(k):
    @njit(cache=True)
    def inner(x, a):  # too large for LLVM to inline: called by its symbol name
        s = x
{body}
        return s + k * 1000.0

    @njit(cache=True)
    def outer(x):
        a = np.ones(50)
        return inner(x, a) + inner(x + 1.0, a)

    pin_uuids(outer)
    return outer
"""
BODY = "\n".join(f"        s = s * 0.999 + np.sin(a[{i % 50}] * s + {i}.0) * k" for i in range(400))


def test_closures_of_one_factory_compiled_in_two_processes_keep_their_own_code(tmp_path):
    """Numba names a compiled function by its qualified name and a per-process counter: two
    closures of one factory compiled in two fresh processes got one symbol name, and a third
    process that loaded both from the cache ran the first one's code for the second
    (``pin_uuids`` now puts a digest of the closure in its name)."""
    (tmp_path / "factory_mod.py").write_text(FACTORY.format(body=BODY))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    run = "import sys; from factory_mod import make; print(repr(float(make({k})(0.0))))"

    def value(code: str) -> str:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    own = [value(run.format(k=k)) for k in (1, 2)]  # each compiled (and cached) in its own process
    both = value(
        "from factory_mod import make; f, g = make(1), make(2); print(repr(float(f(0.0))), repr(float(g(0.0))))"
    )
    assert own[0] != own[1] and both.split() == own
