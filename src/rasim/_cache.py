"""Keep Numba's on-disk cache consistent with the package source.

Numba invalidates a cached function only when its own file changes, not when
a function or constant it imports from another file does.  At import we hash
every ``.py`` file of the package and, when the hash differs from the one
recorded beside the cache, delete the package's cached kernels so they are
recompiled once.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_STAMP = _ROOT / "__pycache__" / "rasim-source.sha256"


def source_fingerprint() -> str:
    """SHA-256 over the package's Python sources (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(_ROOT.rglob("*.py")):
        digest.update(str(path.relative_to(_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh() -> None:
    """Drop stale Numba cache files when the package source has changed."""
    fingerprint = source_fingerprint()
    try:
        if _STAMP.read_text() == fingerprint:
            return
    except OSError:
        pass
    for pattern in ("*.nbi", "*.nbc"):
        for path in _ROOT.rglob(f"__pycache__/{pattern}"):
            path.unlink(missing_ok=True)
    try:
        _STAMP.parent.mkdir(exist_ok=True)
        _STAMP.write_text(fingerprint)
    except OSError:  # read-only install: numba falls back to its own cache dir
        pass
