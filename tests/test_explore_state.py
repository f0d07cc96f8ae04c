"""The explorer's pure layer (``rasim.explore.state``), without a browser or Panel."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rasim import RasimError, RegimenError
from rasim.explore import state
from rasim.scenario import Scenario


def last_line(code: str, tmp_path) -> list:
    script = tmp_path / "script.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", state.KINDS)
def test_the_python_text_reproduces_the_patient(kind, tmp_path):
    p = state.Patient(kind=kind, msc_cells=1e8, msc_days="0, 120", mtx_dose=0.0, age=40, duration=2.0, seed=3)
    t = state.run_patient(p)
    printed = last_line(state.patient_python(p), tmp_path)
    np.testing.assert_allclose(printed, t.markers["DAS28_ESR"], atol=1e-3)


def test_stopping_mtx_at_day_0_worsens_the_typical_patient():
    on = state.run_patient(state.Patient(msc_cells=0.0))
    off = state.run_patient(state.Patient(msc_cells=0.0, mtx_dose=0.0))
    assert on.markers["DAS28_ESR"][0] == pytest.approx(off.markers["DAS28_ESR"][0], abs=1e-6)  # same day 0
    assert off.markers["DAS28_ESR"][-1] > on.markers["DAS28_ESR"][-1] + 0.1


def test_bad_values_raise_rasims_own_errors():
    with pytest.raises(RegimenError, match="MSC infusion day must be >= 0"):
        state.check(state.Patient(msc_days="-7"))
    with pytest.raises(RegimenError, match="must be a number"):
        state.run_patient(state.Patient(msc_days="soon"))
    with pytest.raises(RasimError, match="patient kind"):
        state.check(state.Patient(kind="median"))
    with pytest.raises(RasimError, match="sweep axis"):
        state.grid(state.Patient(), "dose", [1.0], "age", [40.0])
    with pytest.raises(RasimError, match="value 2"):
        state.parse_values("mtx_dose", "7.5, lots")


def test_the_scenario_toml_runs_the_sampled_patient():
    p = state.Patient(kind="sampled", seed=5, msc_every=91, msc_until=400)
    s = Scenario.from_dict(__import__("tomllib").loads(state.patient_scenario(p).to_toml()), "test")
    res = state.run_cohort(s)["patient"]
    np.testing.assert_allclose(res["DAS28_ESR"][0], state.run_patient(p).markers["DAS28_ESR"], atol=1e-9)


def test_a_sweep_grid_runs_every_cell_and_its_script_agrees(tmp_path):
    base = state.Patient()
    cells = state.grid(base, "msc_cells", [0.0, 1e8], "msc_potency_immune", [0.5, 1.0])
    assert [(c.msc_cells, c.params["msc_potency_immune"]) for c in cells] == [(0, 0.5), (1e8, 0.5), (0, 1), (1e8, 1)]
    values = state.sweep_values(cells, "DAS28_ESR_change", 91)
    assert values[0] == pytest.approx(values[2], abs=0.02) and values[3] < values[1] < values[0]
    code = state.sweep_python(base, "msc_cells", [0.0, 1e8], "msc_potency_immune", [0.5, 1.0], "DAS28_ESR_change", 91)
    assert last_line(code, tmp_path) == pytest.approx(values, abs=1e-3)


def test_a_cohort_run_reports_progress_and_is_cancelled_on_request():
    s = state.scenario_from("dose_response", patients=100, seed=1)
    seen = []
    results = state.run_cohort(s, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (400, 400) and len(seen) == 4
    rows = state.responder_table(results, 365)
    assert [r["arm"] for r in rows] == [a.name for a in s.arms] and all(0 <= r["ACR20"] <= 1 for r in rows)
    with pytest.raises(state.Cancelled):
        state.run_cohort(s, cancelled=lambda: True)


def test_published_points_only_where_the_design_matches():
    trial = state.published(state.covariate_arm(state.Patient()))  # UC-MSC 4e7 on MTX 15: He 2020
    assert trial and {pt.trial for pt in trial} == {"He 2020"}
    assert state.published(state.covariate_arm(state.Patient(msc_cells=2e7))) == []


def test_cohort_python_names_the_scenario():
    s = state.scenario_from("trial3y", patients=200, seed=4)
    code = state.cohort_python(s, "trial3y")
    assert "load('trial3y').replace(patients=200, seed=4)" in code
    compile(code, "cohort", "exec")


def test_rasim_imports_without_panel_and_the_command_says_how_to_install(monkeypatch, capsys):
    r = subprocess.run([sys.executable, "-c", "import sys, rasim; print('panel' in sys.modules)"], capture_output=True)
    assert r.stdout.strip() == b"False"
    from rasim import cli

    monkeypatch.setitem(sys.modules, "panel", None)  # as if not installed
    assert cli.main(["explore", "--no-browser"]) == 2
    assert "pip install rasim[explore]" in capsys.readouterr().err
