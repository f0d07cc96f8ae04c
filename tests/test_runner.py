"""``run_scenario``: a small two-arm scenario streamed into a folder, checked against
in-memory cohorts; folder rules (busy, occupied, overwrite), interruption and resume."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import rasim
from rasim.cohort import CRITERIA, ENDPOINTS, Arm, Cohort
from rasim.cohort.streaming import QUANTILE_ERROR, StreamingSummary
from rasim.errors import IncompleteRunError, RasimError
from rasim.output import FolderError
from rasim.files import COUNT_COLUMNS, DATASET_COLUMNS, MEASURED, _csv_text, nonmem_dataset, write_results
from rasim.runner import RunInterrupted, resume_run, run_scenario
from rasim.scenario import Scenario

from conftest import TINY_SCENARIO

TOML = TINY_SCENARIO
FILES = (
    "summary.csv",
    "responders.csv",
    "counts.csv",
    "dataset.csv",
    "scenario.toml",
    "bands.png",
    "responders.png",
    "manifest.json",
)
SAME = ("summary.csv", "responders.csv", "counts.csv", "dataset.csv", "scenario.toml")  # byte for byte


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    from rasim.scenario import load

    path = tmp_path_factory.mktemp("scen") / "tiny.toml"
    path.write_text(TOML)
    return load(path)


@pytest.fixture(scope="module")
def run(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"  # created by run_scenario
    calls = []
    results = run_scenario(
        scenario, out, threads=1, quiet=True, progress=lambda d, t: calls.append((d, t)), chunk_size=5
    )
    return out, results, calls


@pytest.fixture(scope="module")
def memory(scenario):
    """The same arms run in memory (per-patient ``CohortResult``)."""
    return {
        a.name: Cohort(
            Arm(a.name, a.population, a.regimen, a.background),
            patients=scenario.patients,
            seed=scenario.seed,
            observe=scenario.observe,
        ).run(threads=1)
        for a in scenario.arms
    }


def read(path):
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def files(out, names=SAME) -> dict[str, bytes]:
    got = {name: (out / name).read_bytes() for name in names}
    got.update({str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "patients").rglob("*.parquet"))})
    return got


def test_results_and_progress(run):
    _, results, calls = run
    assert list(results) == ["dmard", "bm"]
    assert all(isinstance(r, StreamingSummary) and r.days.tolist() == [0.0, 28.0, 91.0] for r in results.values())
    assert calls[-1] == (24, 24) and [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) == 6


def test_files_and_manifest(run, scenario):
    out, _, _ = run
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    assert (out / "bands.png").read_bytes()[:4] == b"\x89PNG"
    from PIL import Image

    with Image.open(out / "bands.png") as png:
        assert png.text["parameter_fingerprint"] == rasim.model.fingerprint()
        assert png.text["Software"] == f"rasim {rasim.__version__}"
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["seed"] == 3 and m["chunks"] == m["chunks_done"] == {"dmard": 3, "bm": 3}
    assert m["chunk_size"] == 5 and "summary.csv" in m["files"]
    assert m["parameter_set"] == rasim.model.SET_NAME and m["parameter_fingerprint"] == rasim.model.fingerprint()
    leftovers = {p.name for p in out.iterdir()} - set(m["files"]) - {"manifest.json"}
    assert leftovers == {".rasim.lock"}  # no state, parts or temporary files; the lock file stays (unlocked)
    parts = sorted(p.relative_to(out).as_posix() for p in (out / "patients").rglob("*.parquet"))
    assert sorted(m["chunk_files"]) == parts and len(parts) == 6  # size and SHA-256 of every Parquet part
    assert all(m["chunk_files"][p] == rasim.output.file_record(out / p) for p in parts)


def test_summary_from_streaming_statistics(run, memory):
    out, _, _ = run
    head, rows = read(out / "summary.csv")
    assert head == ["arm", "day", "endpoint", "mean", "sd", "p05", "p25", "p50", "p75", "p95", "n"]
    assert {r[2] for r in rows} == {*ENDPOINTS, *(f"{e}_change" for e in ENDPOINTS)}
    exact = {(r["arm"], r["day"], r["endpoint"]): r for res in memory.values() for r in res.summary()}
    assert len(rows) == len(exact)
    for r in rows:
        ref = exact[(r[0], float(r[1]), r[2])]
        assert int(r[10]) == ref["n"] and float(r[3]) == pytest.approx(ref["mean"], rel=1e-5, abs=1e-9)
        assert float(r[4]) == pytest.approx(ref["sd"], rel=1e-4, abs=1e-6)
        base = r[2].removesuffix("_change")
        spread = ref["p95"] - ref["p05"]  # a percentile of 12 patients lies between two of them
        assert abs(float(r[7]) - ref["p50"]) <= QUANTILE_ERROR[base] * 2 + spread


def test_responders_and_counts_equal_in_memory(run, memory):
    out, results, _ = run
    head, rows = read(out / "responders.csv")
    assert head == ["arm", "day", "criterion", "rate", "n"] and {r[2] for r in rows} == set(CRITERIA)
    ref = [
        [a, f"{r['day']:g}", r["criterion"], f"{r['rate']:.6g}", str(r["n"])]
        for a, res in memory.items()
        for r in res.responders()
    ]
    assert rows == ref
    head, rows = read(out / "counts.csv")
    assert tuple(head) == COUNT_COLUMNS
    for row, (name, res) in zip(rows, memory.items()):
        got = dict(zip(head, row))
        assert got["arm"] == name and int(got["n"]) == res.n == results[name].n
        assert int(got["n_failed"]) == res.n_failed and int(got["n_not_enrolled"]) == res.n_not_enrolled
        assert int(got["n"]) + int(got["n_failed"]) + int(got["n_not_enrolled"]) == int(got["patients"]) == 12


def test_parquet_equals_in_memory(run, memory, scenario):
    pytest.importorskip("pyarrow")
    from rasim.files import read_patients

    out, _, _ = run
    part = next((out / "patients").rglob("*.parquet"))
    import pyarrow.parquet as pq

    meta = pq.read_schema(part).metadata
    assert meta[b"parameter_fingerprint"].decode() == rasim.model.fingerprint() and b"rasim_version" in meta
    table = read_patients(out).to_pandas()
    for k, (name, res) in enumerate(memory.items()):
        mine = table[table["arm"] == name].sort_values(["patient", "day"])
        assert mine["id"].tolist() == list(np.repeat(np.arange(12) + 1 + 12 * k, 3))
        np.testing.assert_array_equal(mine["status"].to_numpy()[::3], res.status)
        for key in ("CRP", "DAS28_ESR", "RF"):
            np.testing.assert_array_equal(mine[key].to_numpy(), res.values[key].reshape(-1))
        np.testing.assert_array_equal(mine["weight"].to_numpy()[::3], res.covariates["weight"])


def test_dataset_equals_in_memory(run, memory, scenario):
    out, _, _ = run
    text = (out / "dataset.csv").read_text()
    assert text == ",".join(DATASET_COLUMNS) + "\n" + _csv_text(nonmem_dataset(scenario, memory))
    head, rows = read(out / "dataset.csv")
    col = {name: i for i, name in enumerate(head)}
    obs = [r for r in rows if r[col["EVID"]] == "0"]
    assert len(obs) == sum(r.n for r in memory.values()) * 3 * len(MEASURED)
    first = min(int(r[0]) for r in rows if r[col["ARM"]] == "bm")
    mine = [r for r in rows if int(r[0]) == first and r[col["EVID"]] == "1"]
    assert sorted((r[col["NAME"]], float(r[col["TIME"]]), r[col["SS"]]) for r in mine) == [
        ("MSC", 0.0, "0"),
        ("MSC", 28.0, "0"),
        ("MTX", 0.0, "1"),
    ]
    msc = [r for r in mine if r[col["NAME"]] == "MSC"][0]
    assert float(msc[col["AMT"]]) == pytest.approx(1e6 * float(msc[col["WT"]]), rel=1e-5)


def test_chunk_size_does_not_change_the_files(run, scenario, tmp_path):
    out, _, _ = run
    run_scenario(scenario, tmp_path / "b", threads=1, quiet=True, chunk_size=7)
    a, b = files(out, SAME), files(tmp_path / "b", SAME)
    assert {k: a[k] for k in SAME} == {k: b[k] for k in SAME}


def test_write_results_takes_per_patient_or_streamed_results(run, memory, scenario, tmp_path):
    from rasim.cohort.result import ArmSummary

    out, results, _ = run
    assert all(isinstance(r, ArmSummary) for r in [*memory.values(), *results.values()])
    for name, given in (("mem", memory), ("stream", results)):
        paths = write_results(scenario, given, tmp_path / name)
        assert {"summary.csv", "responders.csv", "counts.csv", "bands.png"} <= {p.name for p in paths}
    assert (tmp_path / "mem" / "responders.csv").read_bytes() == (out / "responders.csv").read_bytes()
    assert (tmp_path / "mem" / "dataset.csv").read_bytes() == (out / "dataset.csv").read_bytes()
    assert (tmp_path / "stream" / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_interrupted_then_resumed_gives_the_same_files(run, scenario, tmp_path):
    out, _, _ = run

    def stop(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match=f"continue with: rasim run --resume {tmp_path / 'r'}"):
        run_scenario(scenario, tmp_path / "r", threads=1, quiet=True, progress=stop, chunk_size=5)
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["status"] == "running" and m["chunks_done"] == {"dmard": 2, "bm": 0}
    assert not (tmp_path / "r" / "summary.csv").exists()
    with pytest.raises(FolderError, match=r"holds an interrupted run .*\(2 of 6 chunks done\).* --resume"):
        run_scenario(scenario, tmp_path / "r", threads=1, quiet=True)
    resume_run(tmp_path / "r", threads=1, quiet=True)
    assert files(tmp_path / "r") == files(out)
    with pytest.raises(FolderError, match="already complete"):
        resume_run(tmp_path / "r", quiet=True)


def test_ctrl_c_inside_the_state_write_stops_resumably(run, scenario, tmp_path, monkeypatch):
    """A Ctrl-C that lands inside ``numpy.savez_compressed`` surfaces as zipfile's ValueError
    ("Can't close the ZIP file while there is an open writing handle") with the
    KeyboardInterrupt as its context: still an interruption, resumable to the same files."""
    out, _, _ = run
    calls = {"n": 0}
    real = np.savez_compressed

    def interrupted_write(f, **arrays):
        calls["n"] += 1
        if calls["n"] == 3:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise ValueError("Can't close the ZIP file while there is an open writing handle on it.")
        real(f, **arrays)

    monkeypatch.setattr(np, "savez_compressed", interrupted_write)
    with pytest.raises(RunInterrupted, match="continue with: rasim run --resume"):
        run_scenario(scenario, tmp_path / "r", threads=1, quiet=True, chunk_size=5)
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["status"] == "running" and m["chunks_done"] == {"dmard": 2, "bm": 0}
    monkeypatch.setattr(np, "savez_compressed", real)
    resume_run(tmp_path / "r", threads=1, quiet=True)
    assert files(tmp_path / "r") == files(out)


@pytest.fixture
def interrupted(scenario, tmp_path):
    """A run stopped after 2 of its 6 chunks (arm dmard's first two)."""

    def stop(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        run_scenario(scenario, tmp_path / "r", threads=1, quiet=True, progress=stop, chunk_size=5)
    return tmp_path / "r"


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda r: _truncate(r / ".parts" / "000.000000.csv"), id="truncated-chunk"),
        pytest.param(lambda r: (r / "patients" / "arm=dmard" / "part-000001.parquet").unlink(), id="deleted-parquet"),
        pytest.param(lambda r: _truncate(r / ".state" / "000.000002.npz"), id="truncated-state"),
        pytest.param(lambda r: (r / ".state" / "000.000002.npz").unlink(), id="deleted-state"),
    ],
)
def test_resume_redoes_a_damaged_chunk(run, interrupted, damage, caplog):
    pytest.importorskip("pyarrow")
    out, _, _ = run
    m = json.loads((interrupted / "manifest.json").read_text())
    assert sorted(m["chunk_files"]) == [
        ".parts/000.000000.csv",
        ".parts/000.000001.csv",
        ".state/000.000002.npz",
        "patients/arm=dmard/part-000000.parquet",
        "patients/arm=dmard/part-000001.parquet",
    ]
    assert all(set(v) == {"size", "sha256"} for v in m["chunk_files"].values())
    damage(interrupted)
    with caplog.at_level("WARNING", logger="rasim.runner"):
        resume_run(interrupted, threads=1, quiet=True)
    assert "damaged or missing" in caplog.text
    assert files(interrupted) == files(out)
    assert json.loads((interrupted / "manifest.json").read_text())["status"] == "complete"


def test_read_patients_refuses_an_interrupted_folder(interrupted):
    pytest.importorskip("pyarrow")
    from rasim.files import read_patients

    with pytest.raises(IncompleteRunError, match=rf"{interrupted}: the run is incomplete \(2 of 6 chunks") as e:
        read_patients(interrupted)
    assert f"rasim run --resume {interrupted}" in str(e.value) and "partial=True" in str(e.value)
    (interrupted / "patients" / "arm=dmard" / "part-000002.parquet").write_bytes(b"not committed")
    table = read_patients(interrupted, partial=True).to_pandas()  # the committed chunks' rows only
    assert sorted(set(table["patient"])) == list(range(10)) and set(table["arm"]) == {"dmard"}
    (interrupted / "patients" / "arm=dmard" / "part-000002.parquet").unlink()
    resume_run(interrupted, threads=1, quiet=True)
    assert len(read_patients(interrupted)) == 2 * 12 * 3
    (interrupted / "patients" / "arm=bm" / "part-000001.parquet").unlink()
    with pytest.raises(FolderError, match="recorded Parquet part.* missing .*arm=bm/part-000001"):
        read_patients(interrupted)


def _hold(path, deadline, overlaps, acquired):
    """Take and release the folder lock of ``path`` until ``deadline``; count the times another
    process held it at the same time (a marker file created exclusively while holding)."""
    import os
    import time

    from rasim import output

    marker = path / "holder"
    while time.time() < deadline:
        try:
            lock = output._acquire(path)
        except FolderError:
            continue
        try:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.close(fd)
            except FileExistsError:
                with overlaps.get_lock():
                    overlaps.value += 1
                continue
            with acquired.get_lock():
                acquired.value += 1
            time.sleep(0.001)
            marker.unlink()
        finally:
            output._release(lock, path)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_folder_lock_is_exclusive_across_processes(tmp_path):
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("fork")
    overlaps, acquired = ctx.Value("i", 0), ctx.Value("i", 0)
    deadline = time.time() + 2.0
    procs = [ctx.Process(target=_hold, args=(tmp_path, deadline, overlaps, acquired)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert acquired.value > 20 and overlaps.value == 0


def test_occupied_folder_refused_unless_overwrite(scenario, tmp_path):
    small = scenario.replace(patients=2)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FolderError, match="not empty .*notes.txt.* --overwrite"):
        run_scenario(small, tmp_path, threads=1, quiet=True)
    run_scenario(small, tmp_path / "o", threads=1, quiet=True)
    with pytest.raises(FolderError, match="holds the complete results of scenario 'tiny'.*--overwrite"):
        run_scenario(small, tmp_path / "o", threads=1, quiet=True)
    run_scenario(small.replace(seed=4), tmp_path / "o", threads=1, quiet=True, overwrite=True)
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["seed"] == 4


def test_checks_before_the_folder_is_made(scenario, tmp_path):
    import numba

    for kwargs, message in (
        ({"threads": numba.config.NUMBA_NUM_THREADS + 1}, "threads: expected an integer"),
        ({"keep": "all"}, "keep must be one of patients, summary"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ):
        with pytest.raises(RasimError, match=message):
            run_scenario(scenario, tmp_path / "new", quiet=True, **kwargs)
        assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(FolderError, match="exists and is not a folder"):
        run_scenario(scenario, tmp_path / "file", quiet=True)


@pytest.mark.skipif(sys.platform == "win32" or __import__("os").geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_refused(scenario, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(FolderError, match="not writable"):
        run_scenario(scenario, tmp_path / "ro" / "out", quiet=True)


def test_keep_summary_writes_no_per_patient_files(scenario, tmp_path):
    run_scenario(scenario.replace(patients=3), tmp_path, threads=1, quiet=True, keep="summary")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"summary.csv", "responders.csv", "counts.csv"} <= names and not names & {"dataset.csv", "patients"}


def test_printed_table(tmp_path, capsys):
    from rasim.cli import main

    (tmp_path / "tiny.toml").write_text(TOML)
    assert (
        main(
            [
                "run",
                str(tmp_path / "tiny.toml"),
                "--patients",
                "3",
                "--days",
                "28",
                "--threads",
                "1",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("tiny: 2 arm(s) x 3 patients")
    assert lines[1].split()[:4] == ["arm", "n", "failed", "not_enrolled"] and "DAS28-ESR" in lines[1]
    assert lines[2].split()[0] == "dmard" and lines[3].split()[0] == "bm"
    assert lines[-1] == f"results: {tmp_path / 'o'}"
    assert "rasim: compiling the kernels (first run only" in err and "summary.csv" in err


def test_library_logs_instead_of_printing(scenario, tmp_path, capsys, caplog):
    with caplog.at_level("INFO", logger="rasim"):
        run_scenario(scenario.replace(patients=3, days=28), tmp_path, threads=1, quiet=True)
    assert capsys.readouterr().out == ""
    assert any("compiling the kernels" in r.getMessage() for r in caplog.records)


def test_cli_run_custom_scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TOML)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasim",
            "run",
            str(path),
            "--patients",
            "20",
            "--observe",
            "28,91",
            "--days",
            "91",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "dmard" in r.stdout and f"results: {tmp_path / 'out'}" in r.stdout
    assert "compiling the kernels (first run only" in r.stderr  # also without a terminal
    head, rows = read(tmp_path / "out" / "summary.csv")
    assert {r[0] for r in rows} == {"dmard", "bm"} and all(0 < int(r[-1]) <= 20 for r in rows)
    assert {float(r[1]) for r in rows} == {0.0, 28.0, 91.0}  # day 0 added as the baseline visit


def test_memory_does_not_grow_with_patients(scenario, tmp_path):
    """Python-heap peak (numpy arrays included) of a 10x larger run stays within 50 % (building
    the dataset in memory, as before issue 13, took ~140 kB per patient: 100 MB here)."""
    import gc
    import tracemalloc

    def peak(patients: int) -> int:
        gc.collect()  # garbage of earlier tests out of the peak
        tracemalloc.start()
        run_scenario(
            scenario.replace(patients=patients), tmp_path / str(patients), threads=1, quiet=True, chunk_size=20
        )
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    peak(20)  # one-time allocations (imports, font cache) out of the way
    small, large = peak(40), peak(400)
    assert large < 1.5 * small, (small, large)


def test_warnings_are_written_with_the_results(tmp_path):
    s = Scenario.from_dict(
        {
            "name": "w",
            "patients": 2,
            "days": 28.0,
            "allow_out_of_range": True,
            "params": {"msc_homing_max": 1.0},
            "arms": [{"arm": "mtx_naive"}],
        }
    )
    run_scenario(s, tmp_path, threads=1, quiet=True, keep="summary")
    lines = (tmp_path / "warnings.txt").read_text().splitlines()
    assert lines == json.loads((tmp_path / "manifest.json").read_text())["warnings"] == s.warnings()
    assert "msc_homing_max = 1 is outside its plausible range" in lines[0]
    assert "MTX titration steps on day(s) 56 come after the horizon" in lines[1]


def test_resume_needs_a_run_folder(tmp_path):
    with pytest.raises(FolderError, match="no manifest.json: not a folder written by `rasim run`"):
        resume_run(tmp_path, quiet=True)


# ---- a full disk (issue 21) ----------------------------------------------------------------------


def _full_after(n: int, real):
    """``real`` until it has been called ``n`` times, then OSError ENOSPC (a full disk)."""
    import errno

    calls = []

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    return write


def test_full_disk_stops_the_run_resumably(run, scenario, tmp_path, monkeypatch):
    """ENOSPC while a chunk is written: as after Ctrl-C, the committed chunks stay, nothing
    looks complete, and --resume (with space again) gives the same files."""
    import rasim.runner as R

    out = tmp_path / "full"
    monkeypatch.setattr(rasim.files, "write_chunk", _full_after(2, rasim.files.write_chunk))
    with pytest.raises(R.DiskFull, match=f"the disk is full .*2 of 6 chunks are saved in {out}; free some space, "):
        run_scenario(scenario, out, threads=1, quiet=True, chunk_size=5)
    with pytest.raises(RunInterrupted, match=f"continue with: rasim run --resume {out}$"):  # a RunInterrupted
        resume_run(out, threads=1, quiet=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "running" and m["chunks_done"] == {"dmard": 2, "bm": 0}
    assert not any((out / name).exists() for name in rasim.output.WHOLE_RUN_FILES)
    assert not list(out.rglob(".*.tmp*"))  # no half-written file
    monkeypatch.undo()
    resume_run(out, threads=1, quiet=True)
    assert files(out) == files(run[0])


def test_full_disk_while_the_whole_run_files_are_written(run, scenario, tmp_path, monkeypatch):
    """ENOSPC while dataset.csv is joined, after summary.csv is in place: summary.csv goes too."""
    import rasim.runner as R

    out = tmp_path / "full"
    monkeypatch.setattr(rasim.files, "_join_parts", _full_after(0, rasim.files._join_parts))
    with pytest.raises(R.DiskFull, match="6 of 6 chunks are saved"):
        run_scenario(scenario, out, threads=1, quiet=True, chunk_size=5)
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert not any((out / name).exists() for name in rasim.output.WHOLE_RUN_FILES)
    monkeypatch.undo()
    resume_run(out, threads=1, quiet=True)
    assert files(out) == files(run[0])


def test_full_disk_on_the_command_line(scenario, tmp_path, monkeypatch, capsys):
    from rasim.cli import main

    monkeypatch.setattr(rasim.files, "write_chunk", _full_after(0, rasim.files.write_chunk))
    out = tmp_path / "full"
    code = main(["run", str(scenario.source), "--patients", "4", "--threads", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rasim: error: the disk is full (No space left on device)")
    assert f"continue with: rasim run --resume {out}" in err and "Traceback" not in err


def test_other_write_errors_are_not_a_full_disk(scenario, tmp_path, monkeypatch):
    import errno

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(rasim.files, "write_chunk", denied)
    with pytest.raises(PermissionError):
        run_scenario(scenario.replace(patients=2), tmp_path / "o", threads=1, quiet=True)
    monkeypatch.undo()
    run_scenario(scenario.replace(patients=2), tmp_path / "o", threads=1, quiet=True, overwrite=True)  # released


def test_manifest_records_the_estimate(run, scenario):
    out = run[0]
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["estimate"]) == {"memory_bytes", "disk_bytes", "seconds"}
    on_disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert on_disk < m["estimate"]["disk_bytes"] < 10 * on_disk  # the peak: dataset rows twice, until complete
