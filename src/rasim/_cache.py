"""Where Numba caches rasim's compiled kernels: a directory keyed by the package source.

Numba invalidates a cached function only when its own file changes, not when a
function or constant it imports from another file does (numba/numba#1833, still
open; numba/numba#8396 would fix it).  rasim's kernels inline functions from
several files, so the cache directory is keyed by a hash of every source file of
the package (but the explorer's, which holds no kernel): ``<cache root>/numba/<version>-<hash>``.  A changed source gets a
fresh directory; nothing in the package tree is written or deleted, so read-only
installs are safe.

Concurrent processes (pytest-xdist workers, the compile helpers, Dask workers) share that
directory, and Numba's cache is not safe for them on its own (numba/numba#10128): every
closure a factory makes (the rodas4 and dopri5 drivers from one ``make_driver``, say) shares
one index file, and ``save`` reads the index, picks the first free data-file number, writes
the index and then the data, so two processes compiling two closures at once can both pick
the same number and leave one closure's key pointing at the other's machine code.  (Closures
of one factory also shared symbol names: ``solver._driver.pin_uuids`` gives them their own.)
``configure`` therefore makes Numba's ``save`` and ``load`` of a cache entry hold a file lock on
the function's index (``filelock``), for every Numba cache of the process.

The cache root is ``$RASIM_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/rasim``, else the
user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``; ``%LOCALAPPDATA%``
on Windows) ``/rasim``; if none is writable, the system's temporary directory.
Setting it sets ``numba.config.CACHE_DIR`` for the process, so Numba functions
of other packages compiled afterwards are cached there too.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numba
from filelock import FileLock
from numba.core import caching

_ROOT = Path(__file__).resolve().parent
NO_KERNELS = ("explore",)  # subpackages no kernel imports from: left out of the key


def source_fingerprint() -> str:
    """SHA-256 over the package's Python sources (paths and contents), but ``NO_KERNELS``."""
    digest = hashlib.sha256()
    for path in sorted(_ROOT.rglob("*.py")):
        if path.relative_to(_ROOT).parts[0] in NO_KERNELS:
            continue
        digest.update(str(path.relative_to(_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_root() -> Path:
    """The directory under which rasim keeps its Numba caches (see the module docstring)."""
    if os.environ.get("RASIM_CACHE_DIR"):
        return Path(os.environ["RASIM_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "rasim"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "rasim"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rasim"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _under_index_lock(method):
    """``method`` of Numba's ``IndexDataCacheFile`` run holding a file lock on its index file."""

    @functools.wraps(method)
    def locked(self, *args):
        with FileLock(self._index_path + ".lock"):
            return method(self, *args)

    locked.rasim_locked = True  # type: ignore[attr-defined]  # marks the patch, applied once
    return locked


def lock_cache_entries() -> None:
    """Make Numba's cache entries read and written under a lock on their index (module
    docstring); once per process."""
    cls = caching.IndexDataCacheFile
    for name in ("save", "load"):
        if not getattr(getattr(cls, name), "rasim_locked", False):
            setattr(cls, name, _under_index_lock(getattr(cls, name)))


def configure(version: str) -> Path:
    """Point Numba's cache at ``<cache root>/numba/<version>-<source hash>``, its entries read and
    written under a lock (``lock_cache_entries``), and return it."""
    lock_cache_entries()
    key = f"{version}-{source_fingerprint()[:16]}"
    path = cache_root() / "numba" / key
    if not _writable(path):
        path = Path(tempfile.gettempdir()) / f"rasim-cache-{os.getuid() if hasattr(os, 'getuid') else 0}" / key
        path.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(path)  # type: ignore[attr-defined]  # numba.config sets its options at run time
    return path


def extend_key(extra: str) -> Path:
    """Key the kernels compiled from now on also by ``extra`` (drugs registered from outside the
    package: the kernels bake the drug tables in, and the source hash does not see them)."""
    path = Path(numba.config.CACHE_DIR + "-" + hashlib.sha256(extra.encode()).hexdigest()[:12])  # type: ignore[attr-defined]
    path.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(path)  # type: ignore[attr-defined]
    return path
