"""Every ``examples/*.py`` runs as a script with small cohorts and writes its files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RESULT_FILES = ("summary.csv", "responders.csv", "counts.csv", "dataset.csv", "scenario.toml", "bands.png",
                "responders.png")
EXPECTED = {
    "01_single_patient.py": ["01_single_patient.png"],
    "02_cohort_msc_vs_mtx.py": ["02_cohort_msc_vs_mtx.png"],
    "03_trial_3y_replicates.py": [f"03_trial3y/{f}" for f in RESULT_FILES],
    "04_dose_response_sweep.py": ["04_dose_response.png", "04_dose_response.csv", "04_dose_response_cohort.png"],
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
    env = {**os.environ, "RASIM_EXAMPLE_PATIENTS": "20", "RASIM_EXAMPLE_SAMPLES": "16", "MPLBACKEND": "Agg",
           "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "2")}
    r = subprocess.run([sys.executable, str(EXAMPLES / name), str(tmp_path)], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    if name == "05_sobol_sensitivity.py" and not has_salib():
        assert "skipped" in r.stdout and "pip install rasim[sensitivity]" in r.stdout
        return
    for f in EXPECTED[name]:
        assert (tmp_path / f).stat().st_size > 0, f
