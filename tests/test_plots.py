"""Figures: Figure objects without pyplot, captions, published markers by trial and design,
units and complete legends, the distribution view."""

import subprocess
import sys

import numpy as np
import pytest

from rasim import files, plots
from rasim.cohort import Cohort
from rasim.scenario import Scenario


@pytest.fixture(scope="module")
def results():
    c = Cohort("dmard", patients=12, seed=3, observe=(0, 28, 91))
    return {"dmard": c.run(threads=1), "streamed": c.run(threads=1, keep="summary")}


@pytest.fixture
def figures(monkeypatch):
    """The figures drawn, by file name, instead of only their files."""
    drawn = {}
    save = plots._save

    def keep(fig, path, title=""):
        drawn[str(path).rsplit("/", 1)[-1]] = fig
        return save(fig, path, title)

    monkeypatch.setattr(plots, "_save", keep)
    return drawn


def labels(fig) -> set[str]:
    return {t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel()) if t}


def test_no_pyplot_and_no_backend_switch(tmp_path):
    code = f"""
import sys, matplotlib
matplotlib.use("svg")
from rasim import plots
plots.lines([1, 2], {{"a": [1, 2]}}, {str(tmp_path / "l.png")!r}, "x (days)", "y (mm/h)", "t")
assert "matplotlib.pyplot" not in sys.modules
assert matplotlib.get_backend() == "svg"
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "l.png").stat().st_size > 0


def test_published_markers_only_on_arms_of_the_trials_design():
    s = Scenario.from_dict(
        {
            "name": "t",
            "days": 365,
            "arms": [
                {
                    "name": "control",
                    "population": "refractory",
                    "regimen": {"doses": []},
                    "background": {"doses": [{"drug": "mtx", "dose_mg": 15}]},
                },  # RADIATE's placebo + MTX design
                {
                    "name": "dmard",
                    "population": "moderate_mtx",
                    "regimen": {"doses": []},  # same name, other design
                    "background": {"doses": [{"drug": "mtx", "dose_mg": 15}]},
                },
            ],
        }
    )
    pub = files._published(s)
    assert pub and {p.arm for p in pub} == {"control"}
    assert "RADIATE (Emery 2008)" in {p.trial for p in pub}
    assert all(p.day <= 365 for p in pub)


def test_bands_caption_units_and_legend(tmp_path, results, figures):
    pub = [
        plots.Published("dmard", "DAS28_ESR", 0.0, 6.8, 1.06, "RADIATE (Emery 2008)"),
        plots.Published("dmard", "CRP", 0.0, 37.1, 41.2, "RADIATE (Emery 2008)"),
    ]
    title = plots.caption("trial", 3, 12, "0.1.0")
    plots.bands({"dmard": results["dmard"]}, tmp_path / "bands.png", pub, caption=title)
    fig = figures["bands.png"]
    assert fig._suptitle.get_text() == "scenario trial | seed 3 | 12 patients per arm | rasim 0.1.0"
    assert {"DAS28-ESR (score)", "CRP (mg/L)", "ESR (mm/h)", "day"} <= labels(fig)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "RADIATE (Emery 2008) (mean +/- SD)" in legend and "RADIATE (Emery 2008) (mean)" in legend
    assert "model median" in legend
    crp = fig.axes[2]
    assert crp.get_ylim()[0] == 0


def test_responders_legend_names_the_trials(tmp_path, results, figures):
    pub = [plots.Published("dmard", "ACR20", 28.0, 0.1, np.nan, "RADIATE (Emery 2008)")]
    plots.responders({"dmard": results["dmard"]}, tmp_path / "responders.png", pub)
    legend = [t.get_text() for t in figures["responders.png"].axes[0].get_legend().get_texts()]
    assert legend == ["dmard", "RADIATE (Emery 2008) (published)"]
    assert "patients (%)" in labels(figures["responders.png"])


def test_distribution_view_from_patients_and_from_streams(tmp_path, results, figures):
    full, stream = results["dmard"], results["streamed"]
    for day in (28.0, 91.0):
        a = full.histogram("DAS28_ESR_change", day, plots.CHANGE_BINS)
        assert a.sum() == full.n
        np.testing.assert_array_equal(a, stream.histogram("DAS28_ESR_change", day, plots.CHANGE_BINS))
    plots.distribution(results, tmp_path / "d.png", [28.0, 91.0])
    fig = figures["d.png"]
    assert "change in DAS28-ESR from day 0 (points)" in labels(fig)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["day 28", "day 91"]
    assert files.distribution_days((0, 14, 28, 91, 182, 365, 730)) == [91.0, 365.0, 730.0]
    assert files.distribution_days((0, 28)) == [28.0]


def test_sweep_heatmap_has_units_on_axes_and_colour_bar(tmp_path, figures):
    from rasim.sweep import SweepResult

    rows = [
        {"msc_cells": c, "msc_interval": i, "mean": 5.0 - c / 1e8 - i / 1e3} for c in (0.0, 4e7) for i in (0.0, 90.0)
    ]
    SweepResult(("msc_cells", "msc_interval"), "DAS28_ESR", 365.0, "msc", 0, rows).heatmap(
        "msc_cells", "msc_interval", tmp_path / "h.png"
    )
    fig = figures["h.png"]
    assert {"msc_cells (cells per infusion)", "msc_interval (days to a 2nd infusion)"} <= labels(fig)
    assert fig.axes[1].get_ylabel() == "DAS28_ESR (score)"  # the colour bar
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["one infusion", "90"]
