"""Drugs beyond MTX and MSC: their PK families against scipy references, their regimens,
and their actions through the model's states (knockouts, dose-response, antibodies); a toy
drug added from outside the package."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import rasim
from rasim import Regimen, adalimumab, model, mtx, prednisolone
from rasim.errors import RegimenError
from rasim.lowering import dosing
from rasim.model import forcing
from rasim.model.presets import MTX_REFRACTORY

TIGHT = dict(method="LSODA", rtol=1e-11, atol=1e-12)


def forcing_path(reg, name, t, params=None, days=400.0):
    """(u, du/dt) of forcing ``name`` at days ``t`` under ``reg``, and the parameters."""
    p = model.parameter_vector(params or {})
    args = model.build_args(p, *dosing(reg, None, days).table)
    k = forcing.NAMES.index(name)
    values = [tuple(a[k] for a in forcing.at(tj, args)) for tj in t]
    return np.array([v[0] for v in values]), np.array([v[1] for v in values]), p


def piecewise(f, y0, bounds, jumps, t):
    """solve_ivp of ``f`` segment by segment between ``bounds``, adding ``jumps[b]`` at bound b."""
    out = np.empty((len(t), len(y0)))
    y = np.array(y0, dtype=float)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        y = y + jumps.get(lo, 0.0)
        inside = (t >= lo) & (t < hi)
        sol = solve_ivp(f, (lo, hi), y, t_eval=t[inside], **TIGHT)
        out[inside] = sol.y.T
        y = solve_ivp(f, (lo, hi), y, **TIGHT).y[:, -1]
    return out


def test_effect_rate_family_matches_its_ode_through_a_taper():
    reg = prednisolone({0: 30, 7: 15, 21: 7.5}, until=60)
    t = np.linspace(0.0, 90.0, 181)
    u, du, p = forcing_path(reg, "prednisolone", t)
    ke0 = p[model.PINDEX["prednisolone_ke0"]]
    steps = [(0.0, 30.0), (7.0, 15.0), (21.0, 7.5), (60.0, 0.0)]

    def rate(s):
        return [r for day, r in steps if day <= s][-1]

    ref = piecewise(lambda s, e: ke0 * (rate(s) - e), [0.0], [0.0, 7.0, 21.0, 60.0, 90.01], {}, t)
    np.testing.assert_allclose(u, ref[:, 0], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(du, ke0 * (np.array([rate(s) for s in t]) - u), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ada_day", [1e9, 75.5, 0.0])
def test_sc_family_matches_its_ode_with_antibodies(ada_day):
    """Concentrations and their derivative against the ODE, clearance raised from the day
    antibodies form (never, between doses, before the first dose)."""
    reg = adalimumab(40, until=200)
    t = np.linspace(0.0, 300.0, 601)
    u, du, p = forcing_path(reg, "adalimumab", t, {"adalimumab_ada_day": ada_day})
    ka, cl, v, factor = (
        p[model.PINDEX[n]] for n in ("adalimumab_ka", "adalimumab_cl", "adalimumab_v", "adalimumab_ada_cl_factor")
    )

    def f(s, x):
        k = cl * (factor if s >= ada_day else 1.0) / v
        return [-ka * x[0], ka * x[0] - k * x[1]]

    doses = np.arange(0.0, 200.0, 14.0)
    bounds = sorted({*doses.tolist(), *([ada_day] if ada_day < 300 else []), 300.01})
    ref = piecewise(f, [0.0, 0.0], bounds, {d: np.array([40.0, 0.0]) for d in doses}, t)
    np.testing.assert_allclose(u, ref[:, 1] / v, rtol=1e-7, atol=1e-9)
    k = cl * np.where(t >= ada_day, factor, 1.0) / v
    np.testing.assert_allclose(du, (ka * ref[:, 0] - k * ref[:, 1]) / v, rtol=1e-6, atol=1e-8)


def test_adalimumab_trough_at_steady_state_is_the_labels():
    """40 mg every other week: trough about 5 mg/L without MTX (label; Pouw 2015 median 4.1)."""
    t = np.array([14.0 * 25 - 1e-9])
    u, _, _ = forcing_path(adalimumab(40), "adalimumab", t, days=400.0)
    assert 3.0 < u[0] < 8.0


def test_antibodies_lower_the_trough_as_bartelds_reports():
    """Bartelds 2011: trough 12 mg/L without antibodies, 0-5 mg/L with them."""
    t = np.array([14.0 * 20 - 1e-9])
    without, _, _ = forcing_path(adalimumab(40), "adalimumab", t)
    with_ada, _, _ = forcing_path(adalimumab(40), "adalimumab", t, {"adalimumab_ada_day": 100.0})
    assert with_ada[0] < 0.25 * without[0]


# --- regimens --------------------------------------------------------------------------------


def test_new_drugs_round_trip_and_lower_to_rate_changes():
    reg = prednisolone({0: 60, 7: 40, 14: 7.5}, until=196) + adalimumab(40, start=28) + mtx(15)
    assert Regimen.from_dict(reg.to_dict()) == reg
    d = dosing(reg, None, 365.0)
    pred = d.table_depot == 5
    assert d.table_t[pred].tolist() == [0.0, 7.0, 7.0, 14.0, 14.0, 196.0]
    assert d.table_amount[pred].tolist() == [60.0, 40.0, -60.0, 7.5, -40.0, -7.5]
    ada = d.table_depot == 6
    assert d.table_t[ada][0] == 28.0 and np.all(np.diff(d.table_t[ada]) == 14.0)
    table = reg.event_table(365.0)
    assert table["DUR"].tolist()[:3] == [7.0, 7.0, 182.0] and table["UNIT"][0] == "mg/day"


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: prednisolone(70), "<= 60 mg/day"),
        (lambda: prednisolone(5, route="iv"), "PREDNISOLONE routes are: oral"),
        (lambda: prednisolone(5, start=10, until=5), "must be after start"),
        (lambda: prednisolone(5, until=100) + prednisolone(10, start=50), "overlap"),
        (lambda: adalimumab(120), "<= 80 mg"),
        (lambda: adalimumab(40, every=3), "weekly"),
        (lambda: adalimumab(40, route="oral"), "ADALIMUMAB routes are: subcutaneous"),
        (lambda: adalimumab(40) + adalimumab(40, start=100), "overlap"),
    ],
)
def test_bad_doses_are_refused_when_built(build, match):
    with pytest.raises(RegimenError, match=match):
        build()


def test_subcutaneous_names_the_drug_it_doses():
    """Two drugs share the route name: each dose goes to its own drug's depot."""
    ev = (mtx(15, route="sc") + adalimumab(40)).events(1.0)
    assert sorted(ev.depot.tolist()) == [2, 6]


# --- actions through the model's states --------------------------------------------------------


def _run(reg, params=None):
    obs = [0.0, 28.0, 84.0, 168.0, 364.0]
    r = rasim.simulate(reg, days=364.0, observe=obs, background=mtx(15), params={**MTX_REFRACTORY, **(params or {})})
    assert r.ok
    return r


def test_adalimumab_neutralises_tnf_and_lowers_crp_and_das28():
    none, ada = _run(Regimen()), _run(adalimumab(40))
    assert np.all(ada.state("tnf")[1:] < 0.2 * none.state("tnf")[1:])
    assert np.all(ada.observables["CRP"][1:] < none.observables["CRP"][1:])
    change = ada.observables["DAS28_ESR"][3] - ada.observables["DAS28_ESR"][0]
    assert -3.5 < change < -1.0  # ARMADA-like MTX-inadequate responders; Pouw 2015: maximal mean change ~2


def test_antibodies_cost_response_in_the_patient_who_forms_them():
    ada = _run(adalimumab(40))
    formed = _run(adalimumab(40), {"adalimumab_ada_day": 84.0})
    das, das_formed = ada.observables["DAS28_ESR"], formed.observables["DAS28_ESR"]
    assert das_formed[2] == pytest.approx(das[2], abs=1e-6)  # the same until antibodies form
    assert das_formed[4] > das[4] + 0.2


def test_prednisolone_dose_response_and_washout():
    none, low, high = _run(Regimen()), _run(prednisolone(7.5)), _run(prednisolone(15))
    d = [r.observables["DAS28_ESR"][1] for r in (none, low, high)]
    assert d[0] > d[1] > d[2]
    crp = [r.observables["CRP"][1] for r in (none, low, high)]
    assert crp[0] > crp[1] > crp[2]
    stopped = _run(prednisolone(15, until=84))
    gap = none.observables["DAS28_ESR"] - stopped.observables["DAS28_ESR"]
    assert gap[4] < 0.5 * gap[2]  # the effect fades once it stops (COBRA: the gap closed)


TOY = textwrap.dedent(
    """
    \"\"\"A daily anti-TNF pill from another package (entry point group rasim.drugs).\"\"\"
    from dataclasses import dataclass

    from rasim.drugs.base import DoseLine, Effect, Forcing, register


    @dataclass(frozen=True)
    class ToyDose:
        mg: float
        day: float = 0.0

        def lines(self):
            return (DoseLine("toy", self.day, self.mg, "mg/day", "oral", 0.0, 0, dur=float("inf")),)

        def to_dict(self):
            return {"drug": "toy", "mg": self.mg, "day": self.day}

        def after(self, horizon):
            return [], []

        @staticmethod
        def check_together(doses):
            pass


    DOSE = ToyDose
    register(
        "toy",
        {"oral": 9},
        forcing=Forcing("toy", "mg/day", "effect_rate", (9,), ("prednisolone_ke0",), "toy exposure"),
        effects=(Effect("tnf_clearance", "toy", "adalimumab_emax_tnf", "prednisolone_ec50", sign=+1),),
    )
    """
)
USE = textwrap.dedent(
    """
    import rasim
    from rasim.model import forcing

    assert forcing.NAMES[0] == "mtx_pg" and forcing.NAMES[-1] == "toy", forcing.NAMES
    kw = dict(days=60.0, observe=[0.0, 30.0, 60.0])
    none = rasim.simulate(rasim.Regimen(), **kw)
    toy = rasim.simulate(rasim.Regimen.from_dict({"doses": [{"drug": "toy", "mg": 10.0, "day": 1.0}]}), **kw)
    tnf, tnf_toy = none.state("tnf"), toy.state("tnf")
    assert tnf_toy[0] == tnf[0] and tnf_toy[-1] < 0.5 * tnf[-1], (tnf, tnf_toy)
    """
)


def test_a_toy_drug_from_another_package_needs_only_its_module_and_an_entry_point(tmp_path):
    """Its forcing and its effect reach the compiled kernels (compiled afresh: its tables
    are part of the cache key), with no file of rasim edited."""
    (tmp_path / "toy_drug.py").write_text(TOY)
    info = tmp_path / "toy_drug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-drug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rasim.drugs]\ntoy = toy_drug\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", USE], capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]


def test_registering_after_the_model_is_built_is_refused():
    from rasim.drugs.base import Forcing, register

    with pytest.raises(RuntimeError, match="before rasim.model is imported"):
        register("late", {"late_route": 99}, forcing=Forcing("late", "-", "effect_rate", (99,), ("x",), "late"))


def test_nsaid_relieves_symptoms_and_leaves_the_disease_where_it_was():
    """Tarp 2012: CRP unchanged over 19 trials; no structural effect.  Every model state is
    the same to the bit; tenderness, pain and patient global are lower, swelling is not."""
    none, naproxen = _run(Regimen()), _run(rasim.nsaid("naproxen", 1000))
    np.testing.assert_array_equal(naproxen.states, none.states)
    for item in ("CRP", "ESR", "SJC28", "physician_global", "HAQ", "cartilage", "erosion"):
        np.testing.assert_array_equal(naproxen.observables[item], none.observables[item])
    for item in ("TJC28", "pain", "patient_global", "DAS28_ESR"):
        assert np.all(naproxen.observables[item][1:] < none.observables[item][1:]), item
    celecoxib = _run(rasim.nsaid("celecoxib", 400))
    assert celecoxib.observables["pain"][2] < none.observables["pain"][2]


def test_nsaid_doses_are_checked_per_agent():
    with pytest.raises(RegimenError, match="<= 800 mg/day"):
        rasim.nsaid("celecoxib", 1000)
    with pytest.raises(RegimenError, match="Did you mean 'naproxen'"):
        rasim.nsaid("naproxn", 1000)
    reg = rasim.nsaid("naproxen", 1000, until=84)
    assert Regimen.from_dict(reg.to_dict()) == reg


def test_mtx_lowers_adalimumab_clearance():
    """Label: MTX lowers adalimumab CL/F by 29-44%; troughs rise (Pouw 2015: 7.4 vs 4.1 mg/L)."""
    alone = rasim.simulate(adalimumab(40), days=200.0, observe=[0.0, 196.0 - 1e-6], params=MTX_REFRACTORY)
    on_mtx = _run(adalimumab(40))
    i = model.PINDEX["adalimumab_cl"]
    assert on_mtx.params[i] == pytest.approx(alone.params[i] * model.DEFAULTS[model.PINDEX["adalimumab_cl_mtx_factor"]])
    k = forcing.NAMES.index("adalimumab")
    assert alone.exposure[-1, k] == pytest.approx(
        forcing_path(adalimumab(40), "adalimumab", [196.0 - 1e-6])[0][0], rel=1e-9
    )


def test_antibody_formation_matches_bartelds_in_a_large_cohort():
    """Drawn per patient: 28% by 3 years and two thirds of them within 28 weeks at Bartelds'
    MTX co-use (79%), fewer with MTX; CL/F and V/F spread as Ternant's."""
    from rasim.drugs.adalimumab import NEVER, patient_pk

    n = 40_000
    rng = np.random.default_rng(1)
    counts = {}
    for given in (frozenset({"adalimumab"}), frozenset({"adalimumab", "mtx"})):
        P = np.repeat(model.DEFAULTS[None, :], n, axis=0)
        patient_pk(rng.random((n, 5)), P, given)
        day = P[:, model.PINDEX["adalimumab_ada_day"]]
        counts[given] = (np.mean(day <= 1095.0), np.mean(day <= 196.0), day)
        sd = np.std(np.log(P[:, model.PINDEX["adalimumab_cl"]]))
        assert sd == pytest.approx(model.DEFAULTS[model.PINDEX["adalimumab_cl_sd"]], rel=0.03)
    (mono3, mono28, _), (mtx3, mtx28, day) = counts.values()
    assert mtx3 < 0.4 * mono3
    overall3, overall28 = 0.79 * mtx3 + 0.21 * mono3, 0.79 * mtx28 + 0.21 * mono28
    assert overall3 == pytest.approx(0.28, abs=0.03)
    assert overall28 / overall3 == pytest.approx(0.67, abs=0.03)
    assert np.all((day == NEVER) | (day < 1e5))


@pytest.fixture(scope="module")
def ada_cohort():
    from rasim.cohort.arms import Arm

    return Arm("ada+mtx", "mtx_inadequate", adalimumab(40), mtx(15), "adalimumab on MTX")


def test_adalimumab_cohorts_are_bit_for_bit_across_threads_and_chunks(ada_cohort):
    from rasim.cohort import Cohort

    a = Cohort(ada_cohort, patients=10, seed=5, observe=(0, 84)).run(threads=1)
    b = Cohort(ada_cohort, patients=10, seed=5, observe=(0, 84), chunk_size=3).run(threads=2)
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k])
    base = Cohort(ada_cohort.__class__("mtx", "mtx_inadequate", Regimen(), mtx(15), "MTX"), patients=10, seed=5)
    c = base.run()  # the same patients enrol: the drug's own draws use a stream of their own
    np.testing.assert_array_equal(a.covariates["age"], c.covariates["age"])
    np.testing.assert_allclose(a.values["DAS28_ESR"][:, 0], c.values["DAS28_ESR"][:, 0], rtol=1e-6)
