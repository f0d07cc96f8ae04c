"""``rasim.sweep`` (typical patient and small cohorts), ``rasim.sensitivity`` and their commands."""

import csv
import re
import sys

import numpy as np
import pytest

import rasim
from rasim import cli
from rasim.errors import RasimError
from rasim.sweep import SweepResult, sweep


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grid": {"msc_homng_max": [0.1]}}, "Did you mean 'msc_homing_max'"),
        ({"grid": {"msc_cels": [1e7]}}, "Did you mean 'msc_cells'"),
        ({"grid": {"msc_homing_max": [0.1, -1]}}, "grid['msc_homing_max'][1]: expected a finite number >= 0, got -1"),
        ({"grid": {"msc_cells": [float("nan")]}}, "expected a finite number >= 0"),
        ({"grid": {"msc_cells": [True]}}, "expected a finite number >= 0, got True (a boolean)"),
        ({"grid": {"msc_cells": ["1e7"]}}, "got '1e7' (a string)"),
        ({"grid": {"msc_cells": []}}, "non-empty list"),
        ({"grid": {}}, "non-empty dict"),
        ({"grid": {"mtx_dose": [40]}}, "MTX dose must be > 0 and <= 30 mg"),
        ({"grid": {"msc_cells": [1e11]}}, "MSC dose must be"),
        ({"grid": {"msc_interval": [90]}, "base_arm": "dmard"}, "gives no MSC: add msc_cells"),
        ({"grid": {"mtx_dose": [10]}, "base_arm": "mtx_naive"}, "MTX schedules overlap"),
        ({"grid": {"msc_cells": [1e7]}, "base_arm": "msc_dmard"}, "Did you mean 'msc+dmard'"),
        ({"grid": {"msc_cells": [1e7]}, "endpoint": "DAS28"}, "unknown endpoint 'DAS28'"),
        ({"grid": {"msc_cells": [1e7]}, "endpoint": "ACR20"}, "needs a cohort"),
        ({"grid": {"msc_cells": [1e7]}, "patients": -1}, "sweep: patients: expected an integer >= 0"),
        ({"grid": {"msc_cells": [1e7]}, "patients": True}, "sweep: patients: expected an integer >= 0, got True"),
        ({"grid": {"msc_cells": [1e7]}, "patients": 2.0}, "sweep: patients: expected an integer >= 0, got 2.0"),
        (
            {"grid": {"msc_cells": [1e7]}, "day": "365"},
            "sweep: day: expected a finite number > 0, got '365' (a string)",
        ),
        ({"grid": {"msc_cells": [1e7]}, "seed": -1}, "sweep: seed: expected an integer >= 0"),
        ({"grid": {"msc_cells": [1e7]}, "day": 0}, "sweep: day: expected a finite number > 0"),
    ],
)
def test_validation_before_running(kwargs, message, monkeypatch):
    import rasim.sweep as S

    monkeypatch.setattr(S, "simulate", lambda *a, **k: pytest.fail("ran before validating"))
    monkeypatch.setattr(S, "Cohort", lambda *a, **k: pytest.fail("ran before validating"))
    with pytest.raises(RasimError, match=re.escape(message)):
        sweep(**kwargs)


def test_typical_patient_grid(tmp_path):
    res = sweep({"msc_cells": [0, 4e7, 1e8], "msc_interval": [0, 120]}, base_arm="msc", day=365)
    assert isinstance(res, SweepResult) and res.names == ("msc_cells", "msc_interval") and len(res.rows) == 6
    assert list(res.rows[0]) == ["msc_cells", "msc_interval", "endpoint", "day", "mean", "status"]
    by = {(r["msc_cells"], r["msc_interval"]): r["mean"] for r in res.rows}
    # no MSC: the interval does not matter; a second infusion does not make things worse
    assert by[(0, 0)] == pytest.approx(by[(0, 120)])
    assert by[(4e7, 120)] <= by[(4e7, 0)] + 1e-6 and by[(1e8, 0)] < by[(0, 0)]
    direct = rasim.simulate(rasim.msc(4e7, days=[0, 120]), days=365, observe=[0, 365])
    assert by[(4e7, 120)] == pytest.approx(direct["DAS28_ESR"][-1])
    assert res.heatmap("msc_cells", "msc_interval", tmp_path / "h.png").stat().st_size > 0
    assert res.plot("msc_cells", tmp_path / "l.png").stat().st_size > 0
    with pytest.raises(RasimError, match="unknown swept name 'msc_cels'"):
        res.heatmap("msc_cells", "msc_cels", tmp_path / "x.png")
    pytest.importorskip("pandas")
    assert res.to_frame().shape == (6, 6)


def test_heatmap_fixes_the_other_names(tmp_path):
    rows = [{"a": a, "b": b, "c": c, "mean": a + b + c} for a in (1.0, 2.0) for b in (1.0, 2.0) for c in (0.0, 5.0)]
    res = SweepResult(("a", "b", "c"), "DAS28_ESR", 365.0, "msc", 0, rows)
    with pytest.raises(RasimError, match=r"c takes 2 values: fix one with where=\{'c': value\}"):
        res.heatmap("a", "b", tmp_path / "x.png")
    assert res.heatmap("a", "b", tmp_path / "x.png", where={"c": 5.0}).is_file()


def test_parameters_and_mtx_dose_change(tmp_path):
    res = sweep({"msc_homing_max": [0.01, 0.1], "mtx_dose": [0, 15]}, endpoint="CRP_change", day=182)
    assert all(r["status"] == "ok" and np.isfinite(r["mean"]) for r in res.rows)
    by = {(r["msc_homing_max"], r["mtx_dose"]): r["mean"] for r in res.rows}
    assert by[(0.1, 0)] < by[(0.01, 0)]  # more homing, lower CRP
    assert by[(0.01, 15)] < by[(0.01, 0)]  # MTX lowers CRP
    path = res.to_csv(tmp_path / "s.csv")
    with path.open() as f:
        assert next(csv.reader(f)) == ["msc_homing_max", "mtx_dose", "endpoint", "day", "mean", "status"]


def test_small_cohort_sweep(tmp_path):
    res = sweep({"msc_cells": [0, 1e8]}, patients=8, day=28, seed=1, threads=1)
    assert list(res.rows[0]) == [
        "msc_cells",
        "endpoint",
        "day",
        "mean",
        "sd",
        "p05",
        "p25",
        "p50",
        "p75",
        "p95",
        "n",
        "failed",
    ]
    assert all(r["n"] + r["failed"] == 8 for r in res.rows)
    assert res.rows[1]["mean"] < res.rows[0]["mean"]  # same patients (common seed), more cells
    rate = sweep({"msc_cells": [1e8]}, patients=8, day=28, seed=1, threads=1, endpoint="EULAR_response")
    assert 0 <= rate.rows[0]["mean"] <= 1
    assert res.plot("msc_cells", tmp_path / "c.png").is_file()


# ---- command line ----------------------------------------------------------------------------------


def test_cli_sweep(capsys, tmp_path):
    code = cli.main(
        ["sweep", "--grid", "msc_cells=0,4e7", "--grid", "msc_interval=0,90", "--arm", "msc", "--out", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0] == "DAS28_ESR at day 365, msc (typical patient)"
    assert out.splitlines()[1].split() == ["msc_cells", "msc_interval", "mean", "status"]
    assert (tmp_path / "sweep.csv").is_file() and (tmp_path / "sweep.png").is_file()


def test_cli_sweep_points_over_the_range(capsys, tmp_path):
    assert cli.main(["sweep", "--grid", "msc_homing_max", "--points", "3", "--out", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    with (tmp_path / "sweep.csv").open() as f:
        values = [float(r["msc_homing_max"]) for r in csv.DictReader(f)]
    entry = rasim.parameter("msc_homing_max")
    assert values == pytest.approx([entry.low, (entry.low * entry.high) ** 0.5, entry.high], rel=1e-3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "--grid", "msc_homng_max=0.1"], "Did you mean 'msc_homing_max'"),
        (["sweep", "--grid", "msc_homing_max=0.1,-1"], "expected a finite number >= 0"),
        (["sweep", "--grid", "msc_cells"], "give the values of the regimen setting msc_cells"),
        (["sweep", "--grid", "=1"], "argument --grid: expected NAME=V,V,... or NAME"),
        (["sweep", "--grid", "msc_cells=1e7", "--endpoint", "ACR20"], "needs a cohort"),
        (["sweep"], "the following arguments are required: --grid"),
        (["sensitivity", "--params", "msc_homing_mx"], "Did you mean 'msc_homing_max'"),
    ],
)
def test_cli_errors(capsys, args, message):
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


# ---- sensitivity -----------------------------------------------------------------------------------

PARAMS = ["msc_homing_max", "mtx_ec50", "msc_treg_induction"]
ACTIVE_ON_MTX = {"mtx_ec50": (2.0, 10.0)}  # the typical msc+dmard patient stays active on MTX 15 mg


def test_sensitivity_needs_salib(monkeypatch):
    from rasim import sensitivity

    for mod in ("SALib", "SALib.sample", "SALib.sample.sobol", "SALib.analyze", "SALib.analyze.sobol"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"pip install rasim\[sensitivity\]"):
        sensitivity.sobol(PARAMS)
    with pytest.raises(RasimError, match="Did you mean 'msc_homing_max'"):  # input checked first
        sensitivity.sobol(["msc_homing_mx"])


def test_sobol_and_morris(tmp_path):
    pytest.importorskip("SALib")
    from rasim import sensitivity

    with pytest.warns(UserWarning, match="too uncertain"):
        s = sensitivity.sobol(PARAMS, n=16, seed=1, bounds=ACTIVE_ON_MTX)
    assert s.X.shape == (16 * 5, 3) and s.Y.shape == (80,) and s.failed == 0
    assert set(s.indices) == {"S1", "S1_conf", "ST", "ST_conf"}
    lo, hi = rasim.parameter("msc_homing_max").low, rasim.parameter("msc_homing_max").high
    assert lo <= s.X[:, 0].min() and s.X[:, 0].max() <= hi
    assert s.bounds["msc_treg_induction"][2] == "linear" and s.bounds["mtx_ec50"][2] == "log"
    assert [r["param"] for r in s.rows] == PARAMS
    assert s.plot(tmp_path / "s.png").stat().st_size > 0
    m = sensitivity.morris(PARAMS, trajectories=4, seed=1, endpoint="CRP", day=182, bounds=ACTIVE_ON_MTX)
    assert m.X.shape == (4 * 4, 3) and set(m.indices) == {"mu", "mu_star", "sigma", "mu_star_conf"}
    assert np.all(m.indices["mu_star"] >= 0)
    assert m.plot(tmp_path / "m.png").is_file()
    pytest.importorskip("pandas")
    assert list(m.to_frame().columns)[:4] == ["param", "low", "high", "scale"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"params": []}, "non-empty list"),
        ({"params": ["mtx_ec50", "mtx_ec50"]}, "duplicates"),
        ({"params": ["mtx_ec50"], "bounds": {"mtx_ec50": (2, 1)}}, "0 <= low < high"),
        ({"params": ["mtx_ec50"], "bounds": {"msc_k_immune": (1, 2)}}, "not in params"),
        ({"params": ["mtx_ec50"], "endpoint": "EULAR_good"}, "needs a cohort"),
        ({"params": ["mtx_ec50"], "n": 1}, "sobol: n: expected an integer >= 2"),
        ({"params": ["mtx_ec50"], "n": 64.0}, "sobol: n: expected an integer >= 2, got 64.0"),
        ({"params": ["mtx_ec50"], "day": True}, "sobol: day: expected a finite number > 0, got True"),
        (
            {"params": ["mtx_ec50"], "bounds": {"mtx_ec50": ("1", 2)}},
            r"bounds\['mtx_ec50'\]\[0\]: expected a finite number",
        ),
        ({"params": ["mtx_ec50"], "max_failed": 2}, "sobol: max_failed: expected a finite number >= 0 and <= 1"),
    ],
)
def test_sensitivity_validation(kwargs, message):
    pytest.importorskip("SALib")
    from rasim import sensitivity

    with pytest.raises(RasimError, match=message):
        sensitivity.sobol(**kwargs)


def test_cli_sensitivity(capsys, tmp_path):
    pytest.importorskip("SALib")
    code = cli.main(
        [
            "sensitivity",
            "--params",
            "msc_homing_max,msc_k_immune",
            "--method",
            "morris",
            "--samples",
            "3",
            "--out",
            str(tmp_path),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("morris: DAS28_ESR at day 365") and "msc_homing_max" in out
    assert (tmp_path / "sensitivity.csv").is_file() and (tmp_path / "sensitivity.png").is_file()


def test_sensitivity_failed_samples(monkeypatch):
    """Samples without active disease: a few are imputed (with a warning), too many raise."""
    pytest.importorskip("SALib")
    from rasim import sensitivity

    def fake(regimen, params, day, endpoint, background, history, cut):
        x = params["mtx_ec50"]
        return (np.nan, "no active disease") if x > cut else (float(np.log(x) + params["msc_k_immune"]), "ok")

    monkeypatch.setattr(sensitivity, "typical_value", lambda *a: fake(*a, cut=9.0))
    with pytest.warns(UserWarning, match="replaced by the mean"):
        s = sensitivity.sobol(["mtx_ec50", "msc_k_immune"], n=64, seed=2)  # (and too uncertain)
    assert 0 < s.failed == int(np.isnan(s.Y).sum()) <= 0.1 * len(s.Y) and np.all(np.isfinite(s.indices["ST"]))
    monkeypatch.setattr(sensitivity, "typical_value", lambda *a: fake(*a, cut=1.0))
    with pytest.raises(RasimError, match="narrow the ranges with bounds"):
        sensitivity.sobol(["mtx_ec50", "msc_k_immune"], n=64, seed=2)


def test_sensitivity_warns_when_the_sample_is_too_small():
    from rasim.sensitivity import too_small

    names = ("a", "b")
    sobol = {
        "S1": np.array([0.6, 0.1]),
        "S1_conf": np.array([0.5, 0.05]),
        "ST": np.array([0.5, 0.2]),
        "ST_conf": np.array([0.05, 0.05]),
    }
    assert len(too_small("sobol", names, sobol)) == 1 and "+/-0.50" in too_small("sobol", names, sobol)[0]
    sobol.update(S1=np.array([0.9, 0.1]), S1_conf=np.array([0.05, 0.05]))
    assert too_small("sobol", names, sobol) == ["S1 > ST for a (impossible: sampling error)"]
    fine = {
        "S1": np.array([0.5, 0.1]),
        "S1_conf": np.array([0.05, 0.05]),
        "ST": np.array([0.6, 0.2]),
        "ST_conf": np.array([0.05, 0.05]),
    }
    assert too_small("sobol", names, fine) == []
    morris = {"mu_star": np.array([1.0, 0.1]), "mu_star_conf": np.array([0.2, 0.3])}
    assert too_small("morris", names, morris) == ["mu* intervals wider than mu* for b"]
    pytest.importorskip("SALib")
    from rasim import sensitivity

    with pytest.warns(UserWarning, match=r"sobol indices with n=8 are too uncertain.*raise n"):
        sensitivity.sobol(["msc_homing_max", "msc_k_immune"], n=8, seed=1)


def test_typical_patient_starts_active_on_the_background_and_switches_dose():
    """msc+dmard's typical patient is active on MTX 15 mg at day 0 whatever the swept dose,
    and more MTX from day 0 lowers DAS28 (a graded dose-response)."""
    res = sweep({"mtx_dose": [0, 7.5, 15, 25]}, day=182, endpoint="DAS28_ESR")
    means = res.column("mean")
    assert np.all(np.diff(means) < 0) and means[0] - means[-1] > 0.1
    base = sweep({"mtx_dose": [7.5, 25]}, day=182, endpoint="DAS28_ESR_change").column("mean")
    assert np.all(means[[1, 3]] - base == pytest.approx(means[1] - base[0]))  # the same day 0 at every dose
    assert res.unit == "score"
    same = sweep({"mtx_dose": [15]}, base_arm="dmard", day=182, endpoint="DAS28_ESR_change").rows[0]["mean"]
    assert abs(same) < 1e-3  # the arm's own dose continued: day 0 is its periodic state, nothing moves


def test_cohort_sweep_enrols_the_same_patients_at_every_mtx_dose():
    from rasim.sweep import screened_on

    assert screened_on(rasim.cohort.arm("msc")) == rasim.Regimen()
    res = sweep({"mtx_dose": [7.5, 25]}, base_arm="dmard", patients=6, day=91, seed=3, threads=1, endpoint="DAS28_ESR")
    base = sweep(
        {"mtx_dose": [7.5, 25]}, base_arm="dmard", patients=6, day=91, seed=3, threads=1, endpoint="DAS28_ESR_change"
    )
    day0 = res.column("mean") - base.column("mean")
    assert day0[0] == pytest.approx(day0[1], abs=1e-9)  # identical baselines: the same patients
    assert res.rows[1]["mean"] < res.rows[0]["mean"]


def test_cli_sensitivity_prints_the_small_sample_warning(capsys, tmp_path):
    pytest.importorskip("SALib")
    code = cli.main(
        ["sensitivity", "--params", "msc_homing_max,msc_k_immune", "--samples", "8", "--out", str(tmp_path), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 0 and "rasim: warning: sobol indices with n=8 are too uncertain" in err


def test_cohort_sweep_enrols_once(monkeypatch):
    """Regimen settings share one enrolment; a swept parameter (another disease) enrols anew."""
    import rasim.cohort.cohort as C

    calls = []
    enrol = C._enrol
    monkeypatch.setattr(C, "_enrol", lambda c, idx: calls.append(len(idx)) or enrol(c, idx))
    sweep({"mtx_dose": [7.5, 15, 25]}, base_arm="dmard", patients=3, day=28, seed=2, threads=1)
    assert calls == [3]
    sweep(
        {"mtx_dose": [7.5, 25], "th1_activation": [1.0, 1.2]}, base_arm="dmard", patients=2, day=28, seed=2, threads=1
    )
    assert calls == [3, 2, 2]
