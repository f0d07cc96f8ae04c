"""``run_scenario``: a small two-arm scenario end to end, and ``rasim run`` on a custom file."""
import csv
import subprocess
import sys

import numpy as np
import pytest

from rasim.cohort import CRITERIA, ENDPOINTS
from rasim.runner import DATASET_COLUMNS, MEASURED, nonmem_dataset, run_scenario
from rasim.scenario import Scenario

TOML = """
name = "tiny"
patients = 12
seed = 3
days = 91
observe = [0, 28, 91]

[[arms]]
arm = "dmard"

[[arms]]
name = "bm"
population = "refractory"
regimen.doses = [ { drug = "msc", cells = 1e6, per_kg = true, days = [0, 28], source = "bone_marrow", donor = "autologous" } ]
background.doses = [ { drug = "mtx", dose_mg = 15.0, every = 7.0 } ]
"""
FILES = ("summary.csv", "responders.csv", "patients.npz", "dataset.csv", "scenario.toml", "bands.png",
         "responders.png")


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
    results = run_scenario(scenario, out, threads=1, quiet=True, progress=lambda d, t: calls.append((d, t)))
    return out, results, calls


def read(path):
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_results_and_progress(run):
    _, results, calls = run
    assert list(results) == ["dmard", "bm"]
    assert all(r.status.shape == (12,) and r.days.tolist() == [0.0, 28.0, 91.0] for r in results.values())
    assert calls[-1] == (24, 24) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_files(run):
    out, _, _ = run
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    assert (out / "bands.png").read_bytes()[:4] == b"\x89PNG"
    try:
        import xarray  # noqa: F401
    except ImportError:
        return
    assert (out / "patients.nc").is_file()


def test_summary_csv(run):
    out, results, _ = run
    head, rows = read(out / "summary.csv")
    assert head == ["arm", "day", "endpoint", "mean", "sd", "p05", "p25", "p50", "p75", "p95", "n"]
    assert {r[2] for r in rows} == {*ENDPOINTS, *(f"{e}_change" for e in ENDPOINTS)}
    assert {(r[0], float(r[1])) for r in rows} == {(a, d) for a in ("dmard", "bm") for d in (0, 28, 91)}
    das = [r for r in rows if r[0] == "bm" and r[2] == "DAS28_ESR" and r[1] == "91"][0]
    assert float(das[3]) == pytest.approx(results["bm"]["DAS28_ESR"][:, 2].mean(), rel=1e-5)


def test_responders_csv(run):
    out, _, _ = run
    head, rows = read(out / "responders.csv")
    assert head == ["arm", "day", "criterion", "rate", "n"]
    assert {r[2] for r in rows} == set(CRITERIA) == {
        "EULAR_good", "EULAR_moderate", "EULAR_none", "EULAR_response", "ACR20", "ACR50", "ACR70",
        "DAS28_remission", "DAS28_LDA"}
    assert all(0 <= float(r[3]) <= 1 for r in rows)


def test_patients_npz(run):
    out, results, _ = run
    with np.load(out / "patients.npz") as z:
        assert z["arms"].tolist() == ["dmard", "bm"] and z["days"].tolist() == [0, 28, 91]
        for arm, res in results.items():
            np.testing.assert_array_equal(z[f"{arm}/status"], res.status)
            np.testing.assert_array_equal(z[f"{arm}/CRP"], res.values["CRP"])
            assert z[f"{arm}/weight"].shape == (12,)


def test_nonmem_dataset(run, scenario):
    out, results, _ = run
    head, rows = read(out / "dataset.csv")
    assert head[:7] == ["ID", "TIME", "DV", "MDV", "EVID", "AMT", "CMT"] and head == list(DATASET_COLUMNS)
    assert {"AGE", "SEX", "WT", "CRCL", "DUR", "SERO", "ARM", "NAME"} <= set(head)
    col = {name: i for i, name in enumerate(head)}
    ids = {arm: {int(r[0]) for r in rows if r[col["ARM"]] == arm} for arm in results}
    assert not ids["dmard"] & ids["bm"]  # unique across arms
    obs = [r for r in rows if r[col["EVID"]] == "0"]
    doses = [r for r in rows if r[col["EVID"]] == "1"]
    assert len(obs) == sum(int(r.ok.sum()) for r in results.values()) * 3 * len(MEASURED)
    assert all(r[col["MDV"]] == "0" for r in obs) and all(r[col["MDV"]] == "1" for r in doses)
    # dmard: one steady-state MTX line; bm: MTX line plus two MSC infusions of 1e6 cells/kg times weight
    bm = [r for r in doses if r[col["ARM"]] == "bm"]
    first = min(ids["bm"])
    mine = [r for r in bm if int(r[0]) == first]
    assert sorted((r[col["NAME"]], float(r[col["TIME"]]), r[col["SS"]]) for r in mine) == [
        ("MSC", 0.0, "0"), ("MSC", 28.0, "0"), ("MTX", 0.0, "1")]
    msc = [r for r in mine if r[col["NAME"]] == "MSC"][0]
    assert float(msc[col["AMT"]]) == pytest.approx(1e6 * float(msc[col["WT"]]), rel=1e-5)
    assert msc[col["CMT"]] == "3"
    cols = nonmem_dataset(scenario, results)  # sorted by ID, TIME, then observations before doses
    key = np.stack([cols["ID"], cols["TIME"], cols["EVID"]])
    assert np.all(np.diff(key[0]) >= 0)
    dv = cols["DV"][(cols["ID"] == first) & (cols["NAME"] == "ESR")]
    np.testing.assert_allclose(dv, results["bm"].values["ESR"][first - 12 - 1])


def test_scenario_toml_round_trips(run, scenario):
    from rasim.scenario import load

    out, _, _ = run
    assert load(out / "scenario.toml") == scenario


def test_printed_table(scenario, tmp_path, capsys):
    small = scenario.replace(patients=3, days=28)
    run_scenario(small, tmp_path, threads=1)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("tiny: 2 arm(s) x 3 patients")
    assert lines[1].split()[:3] == ["arm", "n", "failed"] and "DAS28-ESR" in lines[1]
    assert lines[2].split()[0] == "dmard" and lines[3].split()[0] == "bm"
    assert "summary.csv" in lines[-1] and err == ""  # no progress bar when stderr is not a terminal


def test_cli_run_custom_scenario(scenario, tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TOML)
    r = subprocess.run([sys.executable, "-m", "rasim", "run", str(path), "--patients", "20", "--observe",
                        "0,28,91", "--days", "91", "--threads", "1", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "dmard" in r.stdout and f"results: {tmp_path / 'out'}" in r.stdout
    for name in FILES:
        assert (tmp_path / "out" / name).is_file()
    head, rows = read(tmp_path / "out" / "summary.csv")
    assert {r[0] for r in rows} == {"dmard", "bm"} and all(0 < int(r[-1]) <= 20 for r in rows)
