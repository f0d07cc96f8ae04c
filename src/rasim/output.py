"""A run's output folder: a lock, a manifest, and files committed atomically.

Layout of a folder written by ``rasim run``::

    manifest.json     run identity (scenario hash, seed, rasim version, parameter set and its
                      fingerprint, keep, chunk size),
                      chunks done per arm, warnings; "status": "running" until every
                      whole-run file is in place, then "complete"
    scenario.toml     the resolved scenario (written first: the run's identity)
    .rasim.lock       held (an exclusive ``filelock.FileLock``) by the process writing the
                      folder; the file stays (removing a lock file is what lets two hold it)
    .state/           per arm, the streaming statistics after its last committed chunk
    .parts/           per chunk, the NONMEM-style dataset rows (joined into dataset.csv)
    patients/arm=<arm>/part-<chunk>.parquet   per-patient results (``keep="patients"``)

Every file is written under a temporary name and renamed into place, so a
reader (or a resumed run) sees a whole file or none.  A chunk counts as done
once the manifest lists it; its files are written before that, and the
manifest's ``chunk_files`` records each one's size and SHA-256 (relative path
-> {"size", "sha256"}), so a resumed run verifies them and redoes a damaged or
missing chunk.  ``rasim sweep`` and ``rasim sensitivity`` write their folders
under the same rules (:func:`claimed`): the lock, no non-empty folder without
``--overwrite``, atomic files.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import shutil
from pathlib import Path

import filelock
import numpy as np

from .errors import FolderError, RasimError

MANIFEST = "manifest.json"
LOCK = ".rasim.lock"
STATE = ".state"
PARTS = ".parts"
PATIENTS = "patients"
FORMAT = 1  # manifest layout version
# What a run may create (and patients.npz/.nc of rasim 0.1): all that --overwrite removes.
WHOLE_RUN_FILES = (  # a run's files written last (files.write_results): a resumed run writes them again
    "summary.csv",
    "responders.csv",
    "counts.csv",
    "dataset.csv",
    "warnings.txt",
    "bands.png",
    "responders.png",
    "distribution.png",
)
OUTPUTS = (
    MANIFEST,
    "scenario.toml",
    STATE,
    PARTS,
    PATIENTS,
    *WHOLE_RUN_FILES,
    "patients.npz",
    "patients.nc",
    "sweep.csv",
    "sweep.png",
    "sensitivity.csv",
    "sensitivity.png",
)


def parameter_identity() -> dict[str, str]:
    """The parameter set in use: its name and fingerprint (``rasim.model.fingerprint``)."""
    from .model import SET_NAME, fingerprint

    return {"parameter_set": SET_NAME, "parameter_fingerprint": fingerprint()}


def version() -> str:
    """The rasim version (``rasim.__version__``, from the installed package's metadata)."""
    from . import __version__

    return __version__


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def csv_cell(v) -> str:
    """One CSV cell: strings as they are, integers exactly, floats as %.6g (non-finite: empty)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.6g}" if math.isfinite(v) else ""


def write_csv(path, columns, rows) -> Path:
    """The CSV file ``path`` (atomically): header ``columns``, then a line per mapping of ``rows``."""
    with atomic(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(csv_text([columns, *([csv_cell(r[c]) for c in columns] for r in rows)]))
    return Path(path)


def csv_text(rows) -> str:
    """CSV lines (``\\n``-terminated) of ``rows``, sequences of cell strings: rasim's one CSV dialect."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    with atomic(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@contextlib.contextmanager
def atomic(path: Path):
    """Yield a temporary path next to ``path``; on success rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")  # same suffix: same format
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class RunFolder:
    """An output folder this process holds the lock of; ``manifest`` is its state."""

    def __init__(self, path: Path, lock, manifest: dict):
        self.path, self._lock, self.manifest = path, lock, manifest

    # ---- opening
    @classmethod
    def start(cls, path, manifest: dict, scenario_toml: str, overwrite: bool) -> "RunFolder":
        """A fresh run in ``path`` (created): refused if the folder is busy or, unless
        ``overwrite``, holds anything; writes scenario.toml and the manifest."""
        path = Path(path)
        lock = _claim(path, overwrite)
        try:
            folder = cls(path, lock, manifest)
            write_atomic(path / "scenario.toml", scenario_toml)
            folder.save()
        except BaseException:
            _release(lock, path)
            raise
        return folder

    @classmethod
    def reopen(cls, path) -> "RunFolder":
        """The interrupted run in ``path``, locked for this process."""
        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise FolderError(f"{path}: no {MANIFEST}: not a folder written by `rasim run` (nothing to resume)")
        lock = _acquire(path)
        try:
            folder = cls(path, lock, read_manifest(path))
            m = folder.manifest
            if m["status"] == "complete":
                raise FolderError(f"{path}: the run is already complete (nothing to resume)")
            if m["rasim_version"] != version():
                raise FolderError(
                    f"{path}: the run was started by rasim {m['rasim_version']} and this is "
                    f"rasim {version()}: resuming would mix results of two versions; "
                    "start again with --overwrite"
                )
            if m.get("parameter_fingerprint") != parameter_identity()["parameter_fingerprint"]:
                raise FolderError(
                    f"{path}: the run was started with parameter set {m.get('parameter_set')} "
                    f"({m.get('parameter_fingerprint')}) and this rasim uses "
                    f"{parameter_identity()['parameter_set']}; start again with --overwrite"
                )
            if sha256((path / "scenario.toml").read_text()) != m["scenario_sha256"]:
                raise FolderError(
                    f"{path}: scenario.toml does not match the manifest's scenario hash; start again with --overwrite"
                )
            _probe(path)
            for tmp in path.rglob(".*.tmp*"):  # half-written files of the interrupted process
                tmp.unlink()
        except BaseException:
            _release(lock, path)
            raise
        return folder

    # ---- writing
    def save(self) -> None:
        write_atomic(self.path / MANIFEST, json.dumps(self.manifest, indent=1) + "\n")

    def state_path(self, arm: int, chunks: int) -> Path:
        return self.path / STATE / f"{arm:03d}.{chunks:06d}.npz"

    def part_path(self, arm: int, chunk: int) -> Path:
        return self.path / PARTS / f"{arm:03d}.{chunk:06d}.csv"

    def parquet_path(self, arm_name: str, chunk: int) -> Path:
        return self.path / PATIENTS / f"arm={arm_name}" / f"part-{chunk:06d}.parquet"

    def chunk_paths(self, arm_name: str, arm: int, chunk: int) -> list[Path]:
        """The per-patient files of a chunk (none with ``keep="summary"``)."""
        if self.manifest["keep"] != "patients":
            return []
        return [self.part_path(arm, chunk), *([self.parquet_path(arm_name, chunk)] if self.manifest["parquet"] else [])]

    def record(self, files) -> None:
        """Note the size and SHA-256 of ``files`` (written) in the manifest (saved by ``commit``)."""
        records = self.manifest.setdefault("chunk_files", {})
        for p in files:
            records[p.relative_to(self.path).as_posix()] = file_record(p)

    def intact(self, path: Path) -> bool:
        """Whether ``path`` is as recorded (size and SHA-256; a file with no record: present)."""
        rec = self.manifest.get("chunk_files", {}).get(path.relative_to(self.path).as_posix())
        if rec is None or not path.is_file():
            return path.is_file()
        return path.stat().st_size == rec["size"] and file_record(path) == rec

    def commit(self, arm_name: str, arm: int, done: int, files=()) -> None:
        """Record ``done`` chunks of arm number ``arm`` and the files just written for them."""
        self.record(files)
        self.manifest["chunks_done"][arm_name] = done
        if done > 1:
            self.manifest.get("chunk_files", {}).pop(f"{STATE}/{arm:03d}.{done - 1:06d}.npz", None)
        self.save()
        if done > 1:
            self.state_path(arm, done - 1).unlink(missing_ok=True)

    def complete(self, files: list[str]) -> None:
        """Mark the run complete, remove the working files and release the folder."""
        kept = {k: v for k, v in self.manifest.get("chunk_files", {}).items() if k.startswith(f"{PATIENTS}/")}
        self.manifest.update(status="complete", files=files, chunk_files=kept)
        self.save()
        for name in (STATE, PARTS):
            _remove(self.path / name)
        self.release()

    def stop(self) -> None:
        """Leave a stopped run resumable and not looking complete: unless the manifest on disk
        says complete, the whole-run files it may have begun writing go; the folder is released."""
        try:
            if read_manifest(self.path)["status"] != "complete":
                for name in WHOLE_RUN_FILES:
                    (self.path / name).unlink(missing_ok=True)
        except (OSError, RasimError):
            pass
        finally:
            self.release()

    def resume_hint(self, first: str = "") -> str:
        """How much of an interrupted run is saved (as the manifest on disk says) and how to continue it."""
        try:
            m = read_manifest(self.path)
        except RasimError:
            m = self.manifest
        return (
            f"{sum(m['chunks_done'].values())} of {sum(m['chunks'].values())} chunks are saved in "
            f"{self.path}; {first}continue with: rasim run --resume {self.path}"
        )

    def release(self) -> None:
        if self._lock is not None:
            _release(self._lock, self.path)
            self._lock = None


def read_manifest(path: Path) -> dict:
    try:
        m = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise FolderError(f"{path}: unreadable {MANIFEST} ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise FolderError(f"{path}: {MANIFEST} is not a rasim run manifest (format {FORMAT})")
    return m


def file_record(path: Path) -> dict:
    """{"size": bytes, "sha256": hex digest} of the file ``path`` (read in blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return {"size": Path(path).stat().st_size, "sha256": h.hexdigest()}


def refuse_occupied(path, overwrite: bool) -> None:
    """Refuse, before any work, a folder that is not empty (unless ``overwrite``) or not writable;
    :func:`claimed` checks again under the lock."""
    check_writable(path)
    path = Path(path)
    if path.is_dir() and not overwrite:
        leftovers = [p.name for p in path.iterdir() if p.name != LOCK]
        if leftovers:
            raise FolderError(_occupied(path, leftovers))


@contextlib.contextmanager
def claimed(path, overwrite: bool):
    """The folder ``path`` (created) under the run-folder rules, for a command's whole-run files
    (``rasim sweep``, ``rasim sensitivity``): locked while the block runs, refused if another
    process writes it or, unless ``overwrite``, if it holds anything (``overwrite`` removes
    rasim's result files, ``OUTPUTS``, first).  Write the files with :func:`atomic`."""
    path = Path(path)
    lock = _claim(path, overwrite)
    try:
        yield path
    finally:
        _release(lock, path)


def check_writable(path) -> None:
    """Refuse an output folder that cannot be created or written, without creating it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FolderError(f"--out {path}: exists and is not a folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FolderError(f"--out {path}: {parent} is not writable")


def check_free_space(path, needed: float, overwrite: bool = False) -> None:
    """Refuse an output folder whose filesystem has less free space than ``needed`` bytes (a
    run's estimated disk), counting, with ``overwrite``, rasim's result files in it (removed)."""
    path = Path(path)
    parent = path
    while not parent.exists():
        parent = parent.parent
    free = shutil.disk_usage(parent).free
    if needed > free and overwrite and path.is_dir():
        free += sum(_size(path / name) for name in OUTPUTS)
    if needed > free:
        raise FolderError(
            f"--out {path}: the run needs about {size_text(needed)} of disk (estimated) and its filesystem "
            f"has {size_text(free)} free; free some space, choose another --out, or run with --keep summary "
            "(no per-patient files)"
        )


def size_text(n: float) -> str:
    """A size in bytes as text: '512 B', '3.2 MiB', '1.5 GiB'."""
    for unit, scale in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20), ("KiB", 2.0**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


# ---- helpers ------------------------------------------------------------------------------------


def _size(p: Path) -> int:
    """Bytes of the file or folder ``p`` (0 if missing)."""
    if p.is_symlink() or p.is_file():
        return p.lstat().st_size
    if p.is_dir():
        return sum(f.lstat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    return 0


def _claim(path: Path, overwrite: bool):
    """Take the lock of ``path`` (created) and clear it for new results: refused if it holds
    anything and not ``overwrite``; else rasim's result files are removed."""
    lock = _acquire(path)
    try:
        leftovers = [p.name for p in path.iterdir() if p.name != LOCK]
        if leftovers and not overwrite:
            raise FolderError(_occupied(path, leftovers))
        for name in OUTPUTS:
            _remove(path / name)
        _probe(path)
    except BaseException:
        _release(lock, path)
        raise
    return lock


def _acquire(path: Path) -> filelock.FileLock:
    """Create ``path`` and take its lock (exclusive, ``filelock``), or refuse if another process
    holds it.  The holder's pid is written into the lock file (shown to a refused process)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path / LOCK, timeout=0, is_singleton=False, thread_local=False)
        lock.acquire()
    except filelock.Timeout:
        try:
            holder = (path / LOCK).read_text().strip()
        except OSError:
            holder = ""
        pid = f" (pid {holder})" if holder.isdigit() else ""
        raise FolderError(
            f"--out {path}: another rasim process{pid} is writing this folder; "
            "wait for it to finish or choose another --out"
        ) from None
    except OSError as e:
        raise FolderError(f"--out {path}: cannot create or write the folder ({e.strerror or e})") from None
    with contextlib.suppress(OSError):  # never truncate: a refused process may read it
        fd = os.open(path / LOCK, os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode().ljust(12))
        finally:
            os.close(fd)
    return lock


def _release(lock: filelock.FileLock, path: Path) -> None:
    """Release the folder's lock; the lock file stays (unlinking it would let two processes hold it)."""
    lock.release()


def _occupied(path: Path, names: list[str]) -> str:
    if MANIFEST not in names:
        return (
            f"--out {path}: the folder is not empty ({', '.join(sorted(names)[:5])}"
            f"{', ...' if len(names) > 5 else ''}); choose another --out, or --overwrite to replace "
            "rasim's result files in it"
        )
    try:
        m = read_manifest(path)
    except FolderError as e:
        return f"{e}; choose another --out, or --overwrite to replace it"
    if m["status"] == "complete":
        return (
            f"--out {path}: holds the complete results of scenario {m['scenario']!r}; choose another "
            "--out, or --overwrite to replace them"
        )
    done, total = sum(m["chunks_done"].values()), sum(m["chunks"].values())
    return (
        f"--out {path}: holds an interrupted run of scenario {m['scenario']!r} ({done} of {total} chunks "
        f"done); continue it with `rasim run --resume {path}`, or --overwrite to start again"
    )


def _probe(path: Path) -> None:
    """Refuse a folder where files cannot be created (read-only, full)."""
    try:
        write_atomic(path / ".rasim.probe", b"")
        (path / ".rasim.probe").unlink()
    except OSError as e:
        raise FolderError(f"--out {path}: cannot write files there ({e.strerror or e})") from None


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink(missing_ok=True)
