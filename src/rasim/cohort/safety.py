"""Safety: adverse events drawn per patient from hazards the model's exposures set.

Hazards (events per day), each rate a parameter of the table (``parameters.csv``, with its
source), from the drug exposures the model computes on a daily grid
(``rasim.model.forcing``) over each patient's follow-up (day 0 to the last visit in the arm):

* ``serious_infection``: ``infection_rate`` (RA on conventional DMARDs, BSRBR) times
  1 + ``infection_anti_tnf_excess`` x adalimumab's TNF occupancy u / (u + EC50), times
  1 + ``infection_gc_per_mg`` x the prednisolone daily dose (mg/day);
* ``upper_gi_complication``: ``gi_rate`` + the NSAIDs' excess per g/day (VIGOR, CLASS), times
  1 + ``gi_gc_per_mg`` x the prednisolone daily dose (mg/day): glucocorticoids raise the rate
  with or without an NSAID, and the two together about multiply (GPRD);
* ``alt_3x_uln``: ``alt_mtx_rate`` x the patient's MTX polyglutamate over the typical
  patient's under 15 mg weekly (AMBITION);
* ``infusion_fever``: each MSC infusion with probability ``msc_fever_prob``;
* the drugs' own events (``drugs.base.DRUG_EVENTS``; adalimumab's ``anti_drug_antibodies``): on
  the day each patient's drug draw set, for the patients whose arm gives the drug.

Events are drawn from each patient's own stream (``SAFETY_STREAM``): successive unit
exponential thresholds of the cumulative hazard (at most ``MAX_EVENTS`` of a kind per
patient), so a patient's events do not depend on chunking or threads.  ``rates`` turns
counts and patient-years into events per 100 patient-years with exact Poisson intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import gammaincinv  # scipy.special, not scipy.stats: half a second less import

from .. import model
from ..drugs.base import DRUG_EVENTS
from ..drugs.mtx import MTX_GUT
from ..integrate import in_threads, kernel_inputs
from ..model import forcing

ADVERSE = ("serious_infection", "upper_gi_complication", "alt_3x_uln", "infusion_fever")
EVENTS = ADVERSE + tuple(DRUG_EVENTS)  # the adverse events, then the drugs' own (each patient's drawn day)
HAZARDS = EVENTS[:3]  # drawn from a cumulative hazard; infusion_fever per infusion
SAFETY_STREAM = 5  # a patient's random stream of adverse events (``cohort.patient_rng``)
MAX_EVENTS = 8  # of one kind per patient over a follow-up (expected counts are < 0.5)
DAYS_PER_100PY = 36525.0
PG_15MG_WEEKLY = float(model.pk.mean_polyglutamate(model.DEFAULTS, 15.0, 7.0, MTX_GUT))  # mg: the ALT reference


@dataclass(frozen=True)
class Events:
    """The adverse events of a set of patients: ``patient`` (row), ``kind`` (index of
    ``EVENTS``) and ``day`` of each, and each patient's days at risk (``at_risk``)."""

    patient: np.ndarray
    kind: np.ndarray
    day: np.ndarray
    at_risk: np.ndarray

    def counts_by(self, days: np.ndarray) -> np.ndarray:
        """Events of each kind on or before each of ``days``: (n patients, len(days), len(EVENTS))."""
        out = np.zeros((len(self.at_risk), len(days), len(EVENTS)), dtype=np.int64)
        for i, k, d in zip(self.patient, self.kind, self.day):
            out[i, np.asarray(days) >= d, k] += 1
        return out

    def at_risk_by(self, days: np.ndarray) -> np.ndarray:
        """Days at risk on or before each of ``days``: (n patients, len(days))."""
        return np.minimum(self.at_risk[:, None], np.asarray(days, dtype=np.float64)[None, :])


def _param(P: np.ndarray, name: str) -> np.ndarray:
    return P[:, model.PINDEX[name]]


HAZARD_PARAMS = (  # the parameters the hazards read, in ``_rates``' order
    "infection_rate",
    "infection_anti_tnf_excess",
    "adalimumab_ec50",
    "infection_gc_per_mg",
    "gi_naproxen_per_g",
    "gi_celecoxib_per_g",
    "gi_rate",
    "gi_gc_per_mg",
    "alt_mtx_rate",
)
HAZARD_FORCINGS = ("adalimumab", "prednisolone", "naproxen", "celecoxib", "mtx_pg")  # the exposures they read


@njit(cache=True, error_model="numpy", inline="always")
def _rates(p, u, slot):
    """Events per day of each kind of ``HAZARDS`` for parameters ``p`` (``HAZARD_PARAMS``) and
    exposures ``u`` (n_forcings,), ``slot``: the index in ``u`` of each of ``HAZARD_FORCINGS``."""
    ada, pred, npx, cel, pg = u[slot[0]], u[slot[1]], u[slot[2]], u[slot[3]], u[slot[4]]
    infection = p[0] * (1.0 + p[1] * ada / (ada + p[2])) * (1.0 + p[3] * pred)
    nsaid = (p[4] * npx + p[5] * cel) / 1000.0
    gi = (p[6] + nsaid) * (1.0 + p[7] * pred)
    alt = p[8] * pg / PG_15MG_WEEKLY
    return infection / DAYS_PER_100PY, gi / DAYS_PER_100PY, alt / DAYS_PER_100PY


@njit(cache=True, error_model="numpy", inline="always")
def _integrate(p, u, grid, slot, cum):
    """One patient's cumulative hazards (trapezoidal rule) at each day of ``grid`` into ``cum``
    (days, 3), from parameters ``p`` (``HAZARD_PARAMS``) and exposures ``u`` (days, n_forcings)."""
    h0 = _rates(p, u[0], slot)
    acc = (0.0, 0.0, 0.0)
    cum[0, 0], cum[0, 1], cum[0, 2] = acc
    for j in range(1, grid.shape[0]):
        h1 = _rates(p, u[j], slot)
        step = grid[j] - grid[j - 1]
        acc = (
            acc[0] + 0.5 * (h1[0] + h0[0]) * step,
            acc[1] + 0.5 * (h1[1] + h0[1]) * step,
            acc[2] + 0.5 * (h1[2] + h0[2]) * step,
        )
        cum[j, 0], cum[j, 1], cum[j, 2] = acc
        h0 = h1


@njit(cache=True, error_model="numpy", nogil=True)
def _cumulate(p, u, grid, slot, cum):
    """``_integrate`` of each patient: parameters ``p`` (n, len(HAZARD_PARAMS)), exposures ``u``
    (n, days, n_forcings) -> ``cum`` (n, days, 3)."""
    for i in range(u.shape[0]):
        _integrate(p[i], u[i], grid, slot, cum[i])


@njit(cache=True, error_model="numpy", nogil=True)
def _cumulate_dosed(p, args, grid, slot, cum):
    """``_integrate`` of each patient, the exposures read from its ``args`` row on the grid
    (``forcing.exposures_at``) into one patient's scratch rows, never a (n, days, n_forcings) array."""
    u = np.empty((grid.shape[0], forcing.N_FORCINGS))
    for i in range(args.shape[0]):
        forcing.exposures_at(args[i], grid, u)
        _integrate(p[i], u, grid, slot, cum[i])


def _lowered(P: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(the hazards' parameter columns of ``P``, the grid, the exposure slots, an empty result)."""
    p, grid = kernel_inputs(P[:, [model.PINDEX[name] for name in HAZARD_PARAMS]], grid)
    (slot,) = kernel_inputs(np.array([forcing.NAMES.index(name) for name in HAZARD_FORCINGS]), dtype=np.int64)
    return p, grid, slot, np.empty((len(p), len(grid), len(HAZARDS)))


def cumulative_hazards(P: np.ndarray, u: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Expected events of each kind of ``HAZARDS`` from day ``grid[0]`` to each day of ``grid``
    (n, days, 3): the hazards of patients' parameters ``P`` (n, n_params) under exposures ``u``
    (n, days, n_forcings) integrated by the trapezoidal rule."""
    p, grid, slot, cum = _lowered(P, grid)
    (u,) = kernel_inputs(u)
    in_threads(len(p), lambda r: _cumulate(p[r], u[r], grid, slot, cum[r]))
    return cum


def dosed_cumulative_hazards(P: np.ndarray, args: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``cumulative_hazards`` under the exposures of each patient's ``args`` row (n, L;
    ``cohort.kernel.patient_args``; its forcing scratch slots are overwritten)."""
    p, grid, slot, cum = _lowered(P, grid)
    in_threads(len(p), lambda r: _cumulate_dosed(p[r], args[r], grid, slot, cum[r]))
    return cum


def drug_event_days(P: np.ndarray, given: frozenset[str]) -> np.ndarray:
    """The day of each drug event (``DRUG_EVENTS``) per patient (n, len(DRUG_EVENTS)): the
    parameter the drug's draw set, inf where the arm does not give the drug."""
    days = [_param(P, day) if drug in given else np.full(len(P), np.inf) for drug, day in DRUG_EVENTS.values()]
    return np.stack(days, axis=1) if days else np.zeros((len(P), 0))


def draw(
    gens: list[np.random.Generator],
    P: np.ndarray,
    cum: np.ndarray,
    grid: np.ndarray,
    at_risk: np.ndarray,
    infusions,
    drug_days: np.ndarray | None = None,
) -> Events:
    """The events of patients with random streams ``gens``, parameters ``P``, cumulative hazards
    ``cum`` on the ``grid`` (days; ``cumulative_hazards``) and follow-up ``at_risk`` (days, 0 for
    no follow-up);
    ``infusions``: the MSC infusion days; ``drug_days`` (n, len(DRUG_EVENTS)): the day of each
    drug event (``drug_event_days``; None: none)."""
    n = len(gens)
    if len(grid) < 2:  # no follow-up
        none = np.zeros(0)
        return Events(none.astype(np.int64), none.astype(np.int64), none, np.zeros(n))
    infusions = np.asarray(infusions, dtype=np.float64)
    thresholds = np.stack([g.standard_exponential((len(HAZARDS), MAX_EVENTS)) for g in gens]).cumsum(axis=-1)
    fever = np.stack([g.random(len(infusions)) for g in gens]) < _param(P, "msc_fever_prob")[:, None]
    j = np.clip(np.searchsorted(grid, at_risk, side="right") - 1, 0, len(grid) - 2)
    w = ((at_risk - grid[j]) / (grid[j + 1] - grid[j]))[:, None]
    rows = np.arange(n)
    end = cum[rows, j] * (1.0 - w) + cum[rows, j + 1] * w  # (n, kinds): the cumulative hazard at follow-up's end
    patients, kinds, days = [], [], []
    for i, k, j in zip(*np.nonzero(thresholds < end.reshape(n, len(HAZARDS), 1))):
        patients.append(i)
        kinds.append(k)
        days.append(float(np.interp(thresholds[i, k, j], cum[i, :, k], grid)))
    for i, j in zip(*np.nonzero(fever & (infusions[None, :] <= at_risk[:, None]))):
        patients.append(i)
        kinds.append(EVENTS.index("infusion_fever"))
        days.append(float(infusions[j]))
    if drug_days is not None:
        for i, k in zip(*np.nonzero(drug_days <= at_risk[:, None])):
            patients.append(i)
            kinds.append(len(ADVERSE) + k)
            days.append(float(drug_days[i, k]))
    order = np.lexsort((np.array(days), np.array(kinds, dtype=np.int64), np.array(patients, dtype=np.int64)))
    return Events(
        np.array(patients, dtype=np.int64)[order],
        np.array(kinds, dtype=np.int64)[order],
        np.array(days, dtype=np.float64)[order],
        np.asarray(at_risk, dtype=np.float64),
    )


def rates(events: np.ndarray, years: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per 100 patient-years and the exact Poisson interval (Garwood) of counts
    ``events`` over ``years`` patient-years (arrays of one shape)."""
    events, years = np.asarray(events, dtype=np.float64), np.asarray(years, dtype=np.float64)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(events > 0, gammaincinv(np.maximum(events, 1.0), a), 0.0)  # chi2.ppf(a, 2k) / 2
        high = gammaincinv(events + 1.0, 1.0 - a)  # chi2.ppf(1 - a, 2k + 2) / 2
        scale = np.where(years > 0, 100.0 / years, np.nan)
    return events * scale, low * scale, high * scale


COLUMNS = ("arm", "day", "event", "events", "patient_years", "per_100py", "low", "high")  # safety.csv


def cumulative(events: Events, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(events of each kind (len(days), len(EVENTS)), patient-years at risk (len(days),)) from
    day 0 to each of ``days``, over the patients of ``events``."""
    return events.counts_by(days).sum(axis=0), events.at_risk_by(days).sum(axis=0) / 365.25


def table(arm: str, days: np.ndarray, counts: np.ndarray, years: np.ndarray) -> list[dict]:
    """safety.csv rows of one arm: per day after 0 and event kind, the events from day 0 to
    that day, the patient-years at risk and the rate per 100 patient-years with its exact 95%
    Poisson interval (Monte Carlo error of the cohort)."""
    rows = []
    for j, day in enumerate(days):
        if day <= 0:
            continue
        rate, low, high = rates(counts[j], np.full(len(EVENTS), years[j]))
        for k, event in enumerate(EVENTS):
            rows.append(
                {
                    "arm": arm,
                    "day": float(day),
                    "event": event,
                    "events": int(counts[j, k]),
                    "patient_years": float(years[j]),
                    "per_100py": float(rate[k]),
                    "low": float(low[k]),
                    "high": float(high[k]),
                }
            )
    return rows
