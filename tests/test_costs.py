"""Issue 21: sweeps, sensitivity analyses and runs refused through ``rasim.gate`` before any work
(size ceilings, estimated memory and disk, free space), and the estimate printed and recorded."""

import json
import subprocess
import sys
import time

import pytest

from rasim import cli, files, gate, output, runner
from rasim import sensitivity as SA
from rasim import sweep as SW
from rasim.errors import FolderError, LimitError, RasimError
from rasim.scenario import load

FAST = 5.0  # seconds: a refusal does no work (the bound is generous for a loaded machine)


@pytest.fixture
def no_work(monkeypatch):
    """Every way a sweep, an analysis or a run starts work fails the test."""

    def fail(*a, **k):
        pytest.fail("work started before the refusal")

    monkeypatch.setattr(SW, "simulate", fail)
    monkeypatch.setattr(SW, "Cohort", fail)
    monkeypatch.setattr(SW, "_point", fail)
    monkeypatch.setattr(SA, "_salib", fail)
    monkeypatch.setattr(SA, "_evaluate", fail)
    monkeypatch.setattr(cli, "_grid", fail)  # no grid of values built
    monkeypatch.setattr(runner, "_execute", fail)
    monkeypatch.setattr(output.RunFolder, "start", fail)


def refused(capsys, *args) -> str:
    """The one-line error of ``rasim *args`` (status 2), checked to come fast."""
    t0 = time.perf_counter()
    code = cli.main(list(args))
    seconds = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert code == 2 and seconds < FAST and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rasim: error: ") and "Traceback" not in err
    return lines[0]


# ---- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["--grid", "msc_homing_max", "--points", "1000000000"],
            ["sweep: grid (1000000000 values): 1e+09 grid points", "limit of 10000", "RASIM_MAX_POINTS"],
        ),
        (  # 9.3 million points from three axes of 210, each small on its own
            ["--grid", "msc_homing_max", "--grid", "msc_k_immune", "--grid", "mtx_ec50", "--points", "210"],
            ["sweep: grid (210 x 210 x 210 values): 9.261e+06 grid points", "RASIM_MAX_POINTS"],
        ),
        (
            ["--grid", "msc_homing_max", "--patients", "10000000000"],
            ["sweep: --patients: 1e+10 patients", "limit of 1e+07", "RASIM_MAX_PATIENTS"],
        ),
        (  # patients x points x 2 observation days x day
            ["--grid", "msc_homing_max", "--points", "5000", "--patients", "10000000"],
            ["sweep: 10000000 patients x 5000 points: 3.65e+13", "RASIM_MAX_SIZE"],
        ),
        (  # within every size ceiling, but the enrolments of 1e7 patients do not fit in 8 GiB
            ["--grid", "msc_homing_max=0.1", "--patients", "10000000"],
            ["sweep: ", "GiB of memory (estimated) is above the limit of 8", "RASIM_MAX_MEMORY_GIB"],
        ),
    ],
)
def test_sweep_refused_before_any_work(capsys, no_work, tmp_path, args, words):
    line = refused(capsys, "sweep", *args, "--out", str(tmp_path / "out"))
    assert all(w in line for w in words), line
    assert not (tmp_path / "out").exists()


def test_a_raised_ceiling_lets_the_grid_through(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.setenv("RASIM_MAX_POINTS", "2e9")
    line = refused(capsys, "sweep", "--grid", "msc_homing_max", "--points", "1000000000", "--out", str(tmp_path))
    assert "RASIM_MAX_POINTS" not in line and "RASIM_MAX_MEMORY_GIB" in line  # the grid itself: 2 TB
    monkeypatch.setenv("RASIM_MAX_POINTS", "many")
    line = refused(capsys, "sweep", "--grid", "msc_homing_max", "--out", str(tmp_path))
    assert "environment variable RASIM_MAX_POINTS must be a finite number > 0, got 'many'" in line


@pytest.mark.parametrize("method, per_sample", [("sobol", 5), ("morris", 4)])
def test_sensitivity_refused_before_any_work(capsys, no_work, tmp_path, method, per_sample):
    """Refused before SALib is imported (``_salib`` fails the test), so this needs no SALib."""
    line = refused(
        capsys,
        "sensitivity",
        "--params",
        "msc_homing_max,mtx_ec50,msc_k_immune",
        "--method",
        method,
        "--samples",
        "1000000000",
        "--out",
        str(tmp_path / "out"),
    )
    size = "n" if method == "sobol" else "trajectories"
    assert f"{method}: {size}=1000000000 x {per_sample}" in line
    assert f"{per_sample}e+09 parameter sets to evaluate is above the limit of 1e+06" in line
    assert "RASIM_MAX_SAMPLES" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB")
def test_refusal_takes_little_memory_and_time(tmp_path):
    """The 1e9-point sweep (15.7 GB in 20 s before issue 21) and the 1e9-sample Sobol
    analysis (a MemoryError before) end at once in a process that stays small."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run([sys.executable, '-m', 'rasim', *sys.argv[1:]], capture_output=True, text=True)\n"
        "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(r.stderr)\n"
    )
    for args in (
        ["sweep", "--grid", "msc_homing_max", "--points", "1000000000"],
        ["sensitivity", "--params", "msc_homing_max,mtx_ec50", "--samples", "1000000000"],
    ):
        r = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        head, err = r.stdout.split("\n", 1)
        code, seconds, kb = head.split()
        assert int(code) == 2 and "above the limit" in err and "Traceback" not in err, r.stdout + r.stderr
        assert int(kb) < 300 * 1024 and float(seconds) < 30  # the interpreter and rasim's imports: ~1 s


# ---- the Python API -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"grid": {"msc_homing_max": [0.1] * 10_001}}, LimitError, ["10001 grid points", "RASIM_MAX_POINTS"]),
        (
            {"grid": {"msc_homing_max": [0.1] * 30, "mtx_ec50": [1.0] * 30, "msc_cells": [1e7] * 30}},
            LimitError,
            ["(30 x 30 x 30 values): 27000 grid points", "RASIM_MAX_POINTS"],
        ),
        ({"grid": {"msc_cells": [1e7]}, "patients": 10**10}, LimitError, ["patients", "RASIM_MAX_PATIENTS"]),
        ({"grid": {"msc_cells": [1e7]}, "day": 40_000}, LimitError, ["sweep: day", "RASIM_MAX_DAYS"]),
        ({"grid": {"msc_cells": [1e7]}, "patients": "10"}, RasimError, ["sweep: patients", "(a string)"]),
        ({"grid": {"msc_cells": [1e7]}, "patients": True}, RasimError, ["sweep: patients", "(a boolean)"]),
        ({"grid": {"msc_cells": [1e7]}, "threads": 1.5}, RasimError, ["sweep: threads: expected an integer >= 1"]),
    ],
)
def test_sweep_api_refusals(no_work, kwargs, error, words):
    t0 = time.perf_counter()
    with pytest.raises(error) as e:
        SW.sweep(**kwargs)
    assert time.perf_counter() - t0 < FAST
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize(
    "method, kwargs, error, words",
    [
        ("sobol", {"n": 2**30}, LimitError, ["sobol: n=1073741824 x 4 (len(params) + 2)", "RASIM_MAX_SAMPLES"]),
        ("morris", {"trajectories": 10**6}, LimitError, ["morris: trajectories=1000000 x 3", "RASIM_MAX_SAMPLES"]),
        ("sobol", {"n": True}, RasimError, ["sobol: n: expected an integer >= 2, got True (a boolean)"]),
        ("morris", {"trajectories": "20"}, RasimError, ["morris: trajectories", "(a string)"]),
        ("morris", {"levels": 4.0}, RasimError, ["morris: levels: expected an integer >= 2"]),
        ("sobol", {"seed": -1}, RasimError, ["sobol: seed: expected an integer >= 0"]),
        ("sobol", {"day": 10**6}, LimitError, ["sobol: day", "RASIM_MAX_DAYS"]),
    ],
)
def test_sensitivity_api_refusals(no_work, method, kwargs, error, words):
    with pytest.raises(error) as e:
        getattr(SA, method)(["msc_homing_max", "mtx_ec50"], **kwargs)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_sweep_and_sensitivity_costs():
    typical = SW.cost(1000, 0, 365.0)
    assert typical.seconds == pytest.approx(1000 * SW.SECONDS_PER_TYPICAL) and typical.memory < 1e9
    cohort = SW.cost(10, 1000, 365.0, parameter_sets=10)
    assert cohort.memory == pytest.approx(
        gate.cost(1000, 1, 2, 365.0).memory + 1000 * 10 * SW.ENROLMENT_BYTES + 10 * SW.POINT_BYTES
    )  # one point's cohort at a time, the enrolments of every parameter set kept, the grid
    assert cohort.seconds == pytest.approx(gate.cost(1000, 10, 2, 365.0).seconds)
    assert SA.cost(10**6, 5).seconds == pytest.approx(10**6 * SW.SECONDS_PER_TYPICAL)
    assert SA.cost(10**6, 5).check("sobol")  # an hour-long analysis is printed first


def test_large_sweep_estimate_is_printed_unless_quiet(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(SW, "SECONDS_PER_TYPICAL", 100.0)  # two points "take" over a minute
    monkeypatch.setattr(SW, "typical_value", lambda *a, **k: (5.0, "ok"))
    code = cli.main(["sweep", "--grid", "msc_homing_max=0.01,0.1", "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 0 and "rasim: estimated memory" in err and "time 3 min" in err
    code = cli.main(["sweep", "--grid", "msc_homing_max=0.01,0.1", "--out", str(tmp_path / "b"), "--quiet"])
    assert code == 0 and capsys.readouterr().err == ""


# ---- runs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    return load("sources").replace(patients=20, days=91, observe=(0.0, 28.0, 91.0))


def test_run_estimate(small):
    """Disk: the chunks' dataset rows and the joined dataset.csv side by side, Parquet, the rest;
    memory: a chunk, and its dataset rows as text; time: every patient."""
    visits = 3 * 20 * 3
    c = files.estimate(small, "patients", 10, parquet=True)
    csv = visits * gate.CSV_BYTES_PER_VISIT
    assert c.disk > 2 * csv + visits * files.PARQUET_BYTES_PER_VISIT
    assert c.memory > 10 * 3 * files.DATASET_TEXT_BYTES
    parquet = visits * files.PARQUET_BYTES_PER_VISIT
    summary = files.estimate(small, "summary", 10, parquet=False)
    assert c.disk - summary.disk == pytest.approx(2 * csv + parquet) and summary.memory < c.memory
    half = files.estimate(small, "patients", 10, parquet=True, done=30)  # resumed half way
    assert half.seconds == pytest.approx(c.seconds / 2)
    assert c.disk - half.disk == pytest.approx((csv + parquet) / 2)  # the joined dataset.csv is still to come


def test_run_refused_above_the_ceilings(capsys, monkeypatch, no_work, small, tmp_path):
    monkeypatch.setenv("RASIM_MAX_DISK_GIB", "1e-6")
    with pytest.raises(
        LimitError, match="GiB of disk .estimated. is above the limit of 1e-06.*RASIM_MAX_DISK_GIB.*--keep summary"
    ):
        runner.run_scenario(small, tmp_path / "out", quiet=True)
    monkeypatch.setenv("RASIM_MAX_MEMORY_GIB", "0.01")
    with pytest.raises(LimitError, match="GiB of memory .estimated.*RASIM_MAX_MEMORY_GIB.*--chunk-size"):
        runner.run_scenario(small, tmp_path / "out", quiet=True, keep="summary")
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(cli, "_scenario", lambda args: small)
    line = refused(capsys, "run", "--out", str(tmp_path / "out"))
    assert "RASIM_MAX_MEMORY_GIB" in line and not (tmp_path / "out").exists()


def test_run_refused_when_the_disk_is_too_small(capsys, monkeypatch, no_work, small, tmp_path):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(output.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(FolderError, match=r"needs about .* of disk \(estimated\) and its filesystem has 1000 B free"):
        runner.run_scenario(small, tmp_path / "out", quiet=True)
    monkeypatch.setattr(cli, "_scenario", lambda args: small)
    line = refused(capsys, "run", "--out", str(tmp_path / "out"))
    assert "free some space, choose another --out, or run with --keep summary" in line
    assert not (tmp_path / "out").exists()


def test_run_prints_and_records_its_estimate(capsys, monkeypatch, small, tmp_path):
    monkeypatch.setattr(runner, "_execute", lambda folder, *a: folder.release() or {})
    monkeypatch.setattr(cli, "_scenario", lambda args: small)
    monkeypatch.setenv("RASIM_MAX_MEMORY_GIB", "1")  # the interpreter's 0.2 GiB is above a tenth of it
    assert cli.main(["run", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "rasim: estimated memory " in err and ", disk " in err and ", time " in err
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    c = files.estimate(small, "patients", runner.default_chunk_size(small), m["parquet"])
    assert m["estimate"] == {
        "memory_bytes": round(c.memory),
        "disk_bytes": round(c.disk),
        "seconds": round(c.seconds, 1),
    }
    assert cli.main(["run", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
