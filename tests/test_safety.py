"""Adverse events: exact Poisson intervals, hazards that reproduce their cited rates in a
large cohort within Monte Carlo error, reproducible draws, and the summaries' agreement."""

import numpy as np
import pytest
from scipy.stats import chi2

from rasim import Regimen, adalimumab, model, mtx, nsaid, prednisolone
from rasim.cohort import Cohort, safety
from rasim.cohort.arms import Arm
from rasim.model import forcing

N = 20_000
YEARS = 3.0


def test_garwood_interval_by_hand():
    rate, low, high = safety.rates(np.array([0, 4]), np.array([200.0, 200.0]))
    assert rate.tolist() == [0.0, 2.0]
    assert low[0] == 0.0 and high[0] == pytest.approx(100 * 3.6889 / 200, rel=1e-4)  # -ln(0.025)
    assert low[1] == pytest.approx(100 * chi2.ppf(0.025, 8) / 2 / 200) and low[1] == pytest.approx(0.5450, rel=1e-3)
    assert high[1] == pytest.approx(100 * chi2.ppf(0.975, 10) / 2 / 200) and high[1] == pytest.approx(5.1208, rel=1e-3)


def _events(exposure: dict[str, float], infusions=()):
    """Events of N typical patients followed YEARS under constant exposures."""
    grid = np.arange(0.0, 365.25 * YEARS + 1.0, 7.0)
    u = np.zeros((N, len(grid), forcing.N_FORCINGS))
    for name, value in exposure.items():
        u[..., forcing.NAMES.index(name)] = value
    P = np.repeat(model.DEFAULTS[None, :], N, axis=0)
    gens = [np.random.default_rng([7, i]) for i in range(N)]
    cum = safety.cumulative_hazards(P, u, grid)
    return safety.draw(gens, P, cum, grid, np.full(N, grid[-1]), np.asarray(infusions, dtype=float))


def _rate(events, kind: str) -> tuple[float, float]:
    """(events per 100 patient-years, its Poisson SE) of ``kind``."""
    k = int(np.sum(events.kind == safety.EVENTS.index(kind)))
    years = events.at_risk.sum() / 365.25
    return 100 * k / years, 100 * np.sqrt(max(k, 1)) / years


def _param(name: str) -> float:
    return float(model.DEFAULTS[model.PINDEX[name]])


@pytest.mark.parametrize(
    "exposure, kind, expected",
    [
        ({}, "serious_infection", 3.2),  # BSRBR nbDMARD
        ({"adalimumab": 1e6}, "serious_infection", 3.2 * 1.2),  # full TNF blockade: HR 1.2
        ({"prednisolone": 10.0}, "serious_infection", 3.2 * 2.1),  # RABBIT 7.5-14 mg/day: IRR 2.1
        ({"naproxen": 1000.0}, "upper_gi_complication", 1.4),  # VIGOR
        ({"prednisolone": 10.0}, "upper_gi_complication", 0.3 * 1.7),  # GPRD: glucocorticoids RR 1.5-1.8
        ({"naproxen": 1000.0, "prednisolone": 10.0}, "upper_gi_complication", 1.4 * 1.7),  # both: about the product
        ({}, "upper_gi_complication", 0.3),
    ],
)
def test_hazards_reproduce_their_cited_rates(exposure, kind, expected):
    rate, se = _rate(_events(exposure), kind)
    assert abs(rate - expected) < 4 * se, (rate, se, expected)


def test_cumulative_hazards_integrate_the_documented_rates():
    """safety.cumulative_hazards against the module docstring's rates written out here, integrated
    by scipy's cumulative trapezoid, on random exposures and parameters (uneven grid)."""
    from scipy.integrate import cumulative_trapezoid

    rng = np.random.default_rng(4)
    n, grid = 7, np.sort(np.concatenate([[0.0], rng.uniform(0.0, 400.0, 30)]))
    u = rng.uniform(0.0, 2.0, (n, len(grid), forcing.N_FORCINGS)) * np.array(
        [5.0 if name == "mtx_pg" else 20.0 for name in forcing.NAMES]
    )
    P = np.repeat(model.DEFAULTS[None, :], n, axis=0) * rng.uniform(0.5, 1.5, (n, len(model.DEFAULTS)))

    def x(name):
        return u[..., forcing.NAMES.index(name)]

    def p(name):
        return P[:, model.PINDEX[name]][:, None]

    ada, pred = x("adalimumab"), x("prednisolone")
    infection = p("infection_rate") * (1 + p("infection_anti_tnf_excess") * ada / (ada + p("adalimumab_ec50")))
    infection *= 1 + p("infection_gc_per_mg") * pred
    nsaid_g = (p("gi_naproxen_per_g") * x("naproxen") + p("gi_celecoxib_per_g") * x("celecoxib")) / 1000
    gi = (p("gi_rate") + nsaid_g) * (1 + p("gi_gc_per_mg") * pred)
    alt = p("alt_mtx_rate") * x("mtx_pg") / safety.PG_15MG_WEEKLY
    rates = np.stack([infection, gi, alt], axis=-1) / safety.DAYS_PER_100PY
    expected = cumulative_trapezoid(rates, grid, axis=1, initial=0.0)
    np.testing.assert_allclose(safety.cumulative_hazards(P, u, grid), expected, rtol=1e-12, atol=0.0)


def test_hazards_read_from_the_dose_tables_equal_those_of_the_exposures():
    """dosed_cumulative_hazards (exposures read inside the kernel) equals cumulative_hazards of the
    exposures patient_exposures computes, bit for bit, on an arm giving every drug."""
    from rasim.cohort.kernel import patient_args, patient_exposures

    d = Cohort(ARM, patients=3, seed=1).plan.dosing
    P = np.repeat(model.DEFAULTS[None, :], 3, axis=0) * np.array([[1.0], [0.7], [1.4]])
    args = patient_args(P, d.table_t, d.table_depot, d.table_amount)
    grid = np.append(np.arange(0.0, 364.0, 2.0), 364.0)
    u = patient_exposures(args.copy(), grid, forcing.N_FORCINGS)
    given = ("adalimumab", "prednisolone", "naproxen", "mtx_pg")
    assert all(u[..., forcing.NAMES.index(name)].max() > 0.0 for name in given)  # each drug's exposure is read
    np.testing.assert_array_equal(safety.dosed_cumulative_hazards(P, args, grid), safety.cumulative_hazards(P, u, grid))


def test_alt_on_mtx_scales_with_polyglutamates():
    pg = model.pk.mean_polyglutamate(model.DEFAULTS, 15.0, 7.0, 1)
    rate, se = _rate(_events({"mtx_pg": 2 * pg}), "alt_3x_uln")
    assert abs(rate - 2 * _param("alt_mtx_rate")) < 4 * se
    assert _rate(_events({}), "alt_3x_uln")[0] == 0.0


def test_infusion_fever_per_infusion():
    events = _events({}, infusions=[0.0, 120.0])
    k = np.sum(events.kind == safety.EVENTS.index("infusion_fever"))
    p = _param("msc_fever_prob")
    assert abs(k / (2 * N) - p) < 4 * np.sqrt(p * (1 - p) / (2 * N))
    assert set(events.day[events.kind == safety.EVENTS.index("infusion_fever")]) == {0.0, 120.0}


def test_no_event_after_follow_up_ends():
    grid = np.arange(0.0, 366.0)
    u = np.zeros((200, len(grid), forcing.N_FORCINGS))
    u[..., forcing.NAMES.index("prednisolone")] = 60.0
    P = np.repeat(model.DEFAULTS[None, :], 200, axis=0)
    stop = np.linspace(0.0, 365.0, 200)
    cum = safety.cumulative_hazards(P, u, grid)
    ev = safety.draw([np.random.default_rng(i) for i in range(200)], P, cum, grid, stop, np.array([100.0]))
    assert np.all(ev.day <= stop[ev.patient]) and ev.day.size > 0
    counts = ev.counts_by(np.array([365.0]))
    assert counts.sum() == ev.day.size


ARM = Arm("all", "mtx_inadequate", adalimumab(40) + prednisolone(5) + nsaid("naproxen", 1000), mtx(15), "three drugs")


def test_events_are_bit_for_bit_across_chunks_and_summaries_agree():
    a = Cohort(ARM, patients=12, seed=2, observe=(0, 91, 364)).run(threads=1)
    b = Cohort(ARM, patients=12, seed=2, observe=(0, 91, 364), chunk_size=5).run(threads=2)
    for field in ("patient", "kind", "day", "at_risk"):
        np.testing.assert_array_equal(getattr(a.events, field), getattr(b.events, field))
    streamed = Cohort(ARM, patients=12, seed=2, observe=(0, 91, 364), chunk_size=5).run(keep="summary")
    for x, y in zip(streamed.safety(), a.safety(), strict=True):
        assert {k: x[k] for k in ("arm", "day", "event", "events")} == {
            k: y[k] for k in ("arm", "day", "event", "events")
        }
        assert x["patient_years"] == pytest.approx(y["patient_years"], rel=1e-12)
    rows = {(r["day"], r["event"]): r for r in a.safety()}
    assert rows[(364.0, "serious_infection")]["patient_years"] == pytest.approx(12 * 364 / 365.25)


def test_anti_drug_antibodies_are_recorded_on_each_patients_drawn_day():
    """Adalimumab's antibody day (its patient draw) is an event of the patients who form
    antibodies within follow-up, on that day, in arms that give it only."""
    from rasim.cohort.cohort import _patient_draws

    observe = (0, 364, 1092)
    ada = Cohort(Arm("ada", "mtx_inadequate", adalimumab(40), mtx(15), "ada"), patients=60, seed=4, observe=observe)
    res = ada.run()
    idx = np.arange(60)
    day = _patient_draws(ada, ada.enrol(idx).P, idx)[:, model.PINDEX["adalimumab_ada_day"]]
    got = res.events.kind == safety.EVENTS.index("anti_drug_antibodies")
    formed = np.flatnonzero(day <= 1092.0)
    assert formed.size > 0 and sorted(res.events.patient[got]) == sorted(formed)
    np.testing.assert_array_equal(res.events.day[got], day[res.events.patient[got]])
    control = Cohort(
        Arm("mtx", "mtx_inadequate", Regimen(), mtx(15), "mtx"), patients=60, seed=4, observe=observe
    ).run()
    assert not np.any(control.events.kind == safety.EVENTS.index("anti_drug_antibodies"))
    rows = {(r["day"], r["event"]): r["events"] for r in res.safety()}
    assert rows[(1092.0, "anti_drug_antibodies")] == formed.size
