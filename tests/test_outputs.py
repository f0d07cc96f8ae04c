"""Trajectories and frames: named dense outputs, per-patient frames with the dataset's IDs,
summary-only frames, repeated MSC infusions."""

import numpy as np
import pytest

from rasim import model, msc
from rasim.cohort import Cohort
from rasim.errors import RegimenError
from rasim.scenario import Scenario

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def dense():
    return Cohort("msc+dmard", patients=3, seed=2, observe=(0, 28), dense=True).run(threads=1)


def test_trajectories_as_a_long_frame_with_state_names(dense):
    f = dense.trajectories("frame")
    assert list(f.columns) == ["id", "arm", "day", "state", "value"]
    assert len(f) == 3 * 2 * model.N_STATES and set(f["state"]) == set(model.NAMES)
    row = f[(f["id"] == 2) & (f["day"] == 28) & (f["state"] == "treg_mem")]
    assert row["value"].item() == dense.states[1, 1, model.INDEX["treg_mem"]]


def test_trajectories_as_an_xarray_dataset(dense):
    pytest.importorskip("xarray")
    ds = dense.trajectories()
    assert ds["treg_mem"].dims == ("id", "day") and list(ds["id"].values) == [1, 2, 3]
    np.testing.assert_array_equal(ds["il6"].values, dense.states[..., model.INDEX["il6"]])
    np.testing.assert_array_equal(ds["duration"].values, dense.covariates["duration"])
    assert ds.attrs["arm"] == "msc+dmard"
    with pytest.raises(ValueError, match="dense=True"):
        Cohort("dmard", patients=1, observe=(0, 1)).run(threads=1).trajectories()


def test_patient_frames_carry_arm_covariates_and_the_dataset_ids():
    from rasim import files, runner

    s = Scenario.from_dict(
        {
            "name": "t",
            "patients": 3,
            "days": 28,
            "observe": [0, 28],
            "seed": 1,
            "arms": [{"arm": "dmard"}, {"arm": "msc+dmard"}],
        }
    )
    results = runner.run_in_memory(s, threads=1)
    data = files.nonmem_dataset(s, results)
    for name, res in results.items():
        f = res.to_frame("patients")
        assert {"arm", "age", "female", "weight", "duration", "seropositive", "resolved"} <= set(f.columns)
        assert set(f["arm"]) == {name}
        ok = f[f["status"] == 0]
        for pid, group in ok.groupby("id"):
            rows = (data["ID"] == pid) & (data["NAME"] == "DAS28_ESR")
            assert np.all(data["ARM"][rows] == name)
            np.testing.assert_allclose(data["DV"][rows], group["DAS28_ESR"], rtol=1e-5)
            assert data["DUR"][rows][0] == pytest.approx(group["duration"].iloc[0], rel=1e-5)


def test_summary_only_results_have_frames():
    full = Cohort("dmard", patients=3, seed=1, observe=(0, 28))
    stream = full.run(threads=1, keep="summary")
    f = stream.to_frame()
    assert list(f.columns[:3]) == ["arm", "day", "endpoint"] and len(f) == len(stream.summary())
    assert len(stream.to_frame("responders")) == len(stream.responders())
    with pytest.raises(ValueError, match="keep='patients'"):
        stream.to_frame("patients")
    with pytest.raises(ValueError, match="kind must be"):
        stream.to_frame("patient")


def test_repeated_msc_infusions():
    r = msc(4e7, every=91, until=730)
    assert r.doses[0].days == tuple(91.0 * k for k in range(9))
    assert r.to_dict()["doses"][0]["days"][-1] == 728.0
    assert msc(1e6, days=[14], every=28, until=70, per_kg=True).doses[0].days == (14.0, 42.0)
    for kwargs, message in [
        ({"every": 91}, "both every= .* and until="),
        ({"until": 100}, "both every="),
        ({"days": [0, 5], "every": 9, "until": 30}, "one first infusion day"),
        ({"every": -1, "until": 30}, "every"),
        ({"every": 7, "until": 0}, "must be after"),
    ]:
        with pytest.raises(RegimenError, match=message):
            msc(4e7, **kwargs)


def test_keyed_normals_depend_only_on_patient_and_day():
    from scipy import stats

    from rasim.cohort import measurement

    keys = np.arange(1, 2001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    codes = np.array([0, 28_000, 91_000, 365_500], dtype=np.uint64)
    z = measurement.keyed_normals(keys, codes, 8)
    np.testing.assert_array_equal(measurement.keyed_normals(keys[5:9], codes[[3, 1]], 8), z[5:9][:, [3, 1]])
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    flat = z.reshape(len(keys), -1)
    corr = np.corrcoef(flat.T)[np.triu_indices(flat.shape[1], 1)]
    assert np.max(np.abs(corr)) < 5 / np.sqrt(len(keys))  # independent across days and items
