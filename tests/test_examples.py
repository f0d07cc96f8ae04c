"""Every ``examples/*.py`` runs as a script with small cohorts and writes its files."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rasim
from rasim.scenario import load

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SRC = str(Path(rasim.__file__).resolve().parents[1])  # the rasim under test, for the scripts
RESULT_FILES = (
    "summary.csv",
    "responders.csv",
    "counts.csv",
    "dataset.csv",
    "scenario.toml",
    "bands.png",
    "responders.png",
)
EXPECTED = {
    "01_single_patient.py": ["01_single_patient.png"],
    "02_cohort_msc_vs_mtx.py": ["02_cohort_msc_vs_mtx.png", "02_distribution.png"],
    "03_trial_3y_replicates.py": [f"03_trial3y/{f}" for f in RESULT_FILES],
    "04_dose_response_sweep.py": [
        "04_dose_response.png",
        "04_dose_response.csv",
        "04_dose_response_cohort.png",
        "04_mtx_dose.png",
    ],
    "05_sobol_sensitivity.py": ["05_sobol.png", "05_sobol.csv"],
    "06_custom_scenario.py": [f"06_custom/{f}" for f in RESULT_FILES],
}


def has_salib() -> bool:
    try:
        import SALib  # noqa: F401
    except ImportError:
        return False
    return True


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path):
    env = {
        **os.environ,
        "RASIM_EXAMPLE_PATIENTS": "20",
        "RASIM_EXAMPLE_SAMPLES": "16",
        "MPLBACKEND": "Agg",
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "2"),
        "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
    }
    outdir = tmp_path / "new" / "out"  # OUTDIR need not exist
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(outdir)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    if name == "05_sobol_sensitivity.py" and not has_salib():
        assert "skipped" in r.stdout and "pip install rasim[sensitivity]" in r.stdout
        return
    for f in EXPECTED[name]:
        assert (outdir / f).stat().st_size > 0, f


def test_new_trial_design_runs_through_rasim_run(tmp_path):
    """examples/mtx_ir_24w.toml: its own population (entry on SJC, TJC and CRP alone, on MTX)."""
    s = load(EXAMPLES / "mtx_ir_24w.toml")
    pop = s.population("mtx_ir")
    assert pop.entry.acute_phase == "crp" and pop.entry.das28_min == 0 and pop.background is not None
    assert all(a.background == pop.background for a in s.arms)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasim",
            "run",
            str(EXAMPLES / "mtx_ir_24w.toml"),
            "--patients",
            "4",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    with open(tmp_path / "out" / "counts.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["arm"] for row in rows] == ["placebo+mtx", "msc+mtx"]
    assert all(int(row["n"]) + int(row["n_not_enrolled"]) + int(row["n_failed"]) == 4 for row in rows)
    with open(tmp_path / "out" / "dataset.csv") as f:
        data = list(csv.DictReader(f))
    crp = [float(d["DV"]) for d in data if d["NAME"] == "CRP" and float(d["TIME"]) == 0]
    assert crp  # measured at baseline (screening was 14 days earlier, so some may be below 10 mg/L)
    assert (tmp_path / "out" / "distribution.png").stat().st_size > 0
