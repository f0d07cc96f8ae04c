"""``Cohort``: N virtual patients of one arm, run in compiled parallel chunks.

One patient's life in the cohort:

1. candidates are drawn from the patient's own random stream (``streams``)
   until one has an active disease state and passes screening: parameters and
   covariates (``variability``), the day-0 state replayed over the disease
   duration under the mean background exposure (``day0.replay``, with damage
   accrued over the duration by ``day0.accrue_damage``), then
   noisy screening measurements against the population's entry criteria
   (``measurement.qualifies``).  Candidates without an inflamed state and
   screen failures are counted (a candidate that qualifies is also checked to
   be a stable state, ``day0.growth``);
2. the enrolled patient runs in (background doses for ``day0.REPLAY.runin_days``) and
   through the arm's regimen to the last observation day (``kernel.trial``);
3. the clinic measures at each observation day with the patient's own
   visit noise (``measurement.measure``);
4. if the arm has dropout or rescue, the visits decide when the patient leaves the
   randomised arm (``analysis.exits``; the simulation itself does not change).

A chunk (arm, seed, patient index range) is an independent unit: every
random number a patient uses comes from streams keyed on (seed, population,
patient index), so results are identical bit for bit whatever the chunk
size, the thread count or the order in which chunks run.
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from .. import day0, endpoints, gate, model
from ..clinical import LOW
from ..day0 import NOT_SETTLED
from ..errors import ParameterError, RasimError, RasimWarning, SolverOptionsError, unknown_name
from ..integrate import KERNELS, lanes
from ..model.parameters import REFERENCE_STATES
from .. import lowering
from ..drugs.base import PATIENT_DRAWS
from ..regimen import after_horizon
from ..solver import SolverOptions
from . import analysis, compile_helper, measurement, safety, streams, variability
from .arms import Arm, Population, arm as builtin_arm
from .kernel import patient_args, patient_exposures, run_trial
from .result import NOT_ENROLLED, responder_masks  # NOT_ENROLLED: no candidate qualified within MAX_CANDIDATES

if TYPE_CHECKING:
    from .pipeline import ChunkTask

DEFAULT_DAYS = (0, 14, 28, 56, 91, 182, 273, 365, 548, 730, 912, 1095)
MAX_CANDIDATES = 200  # candidates per patient before it is reported NOT_ENROLLED
ROUND_CANDIDATES = 128  # candidates an enrolment round evaluates at least (``_enrol``): the lanes stay full
DRUG_STREAM = 4  # a patient's random stream of drug-specific draws (``_patient_draws``)
SAFETY_GRID_DAYS = 2.0  # spacing of the exposures the adverse-event hazards integrate (days)
BIOMARKERS = endpoints.BIOMARKERS


def patient_rng(seed: int, key: int, patient: int, stream: int) -> np.random.Generator:
    """The random stream ``stream`` (0 candidates; 1, 2 visits: ``measurement.visit_noise``;
    3 dropout: ``analysis.STREAM``; 4 drug-specific draws: ``DRUG_STREAM``; 5 adverse events:
    ``safety.SAFETY_STREAM``) of one patient (``streams.generators`` makes a chunk's at once, the same)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key, patient, stream))))


@dataclass(frozen=True)
class Enrolment:
    """Patients enrolled (``Cohort.enrol``): parameters P (k, n_params), day-0 states y0
    (k, n_states), covariates, candidates redrawn (not inflamed, screen failures), who
    enrolled (k,) and the fluctuation at screening (k,) in SD units."""

    P: np.ndarray
    y0: np.ndarray
    covariates: dict[str, np.ndarray]
    not_inflamed: int
    screen_failures: int
    enrolled: np.ndarray
    flare: np.ndarray


@dataclass(frozen=True)
class Chunk:
    """Results for patients ``start`` .. ``stop - 1`` of one cohort; ``seconds`` spent per stage
    (enrol, trial, observe)."""

    start: int
    stop: int
    status: np.ndarray  # (k,) 0 = success, solver codes, NOT_ENROLLED
    values: dict[str, np.ndarray]  # measured items, DAS28s, expected biomarkers: (k, m)
    expected_das28: np.ndarray  # (k, m) noise-free DAS28-ESR
    resolved: np.ndarray  # (k, m) bool: the state is past the saddle toward remission
    covariates: dict[str, np.ndarray]  # (k,)
    not_inflamed: int  # candidates redrawn for having no active disease state
    screen_failures: int  # candidates that failed the entry criteria
    steps: np.ndarray  # (k,) accepted solver steps of the trial
    exit_visit: np.ndarray  # (k,) the last visit in the randomised arm (an index of the days)
    exit_reason: np.ndarray  # (k,) analysis.EXITS code: completed, dropped out, rescued
    events: safety.Events  # adverse events over each patient's follow-up in the arm
    states: np.ndarray | None = None  # (k, m, n_states) if dense
    seconds: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Cohort:
    """N virtual patients of one arm.

    arm: a built-in arm name (``rasim.cohort.ARMS``) or an ``Arm``; patients,
    seed; observe: observation days (default ``DEFAULT_DAYS``); params:
    typical-value overrides; variability: SD-of-log overrides; measurement:
    measurement-setting overrides; covariate_effects: overrides of
    ``variability.COVARIATE_EFFECTS``; solver: "rodas4" or "dopri5"; rtol and
    max_steps (per patient) of the trial solve;
    chunk_size: patients per compiled call; dense: also keep the states;
    enrolments: a memo shared by cohorts of the same patients (sweeps: the regimen
    changes, the enrolment does not), keyed by parameter vector and patient range.
    A cohort is a frozen value: edit one with ``dataclasses.replace``, which derives
    its ``plan`` anew.
    ``params`` must be finite and >= 0 (fractions within [0, 1], covariates within
    their range) but are not held to the plausible ranges: scenario files and
    ``simulate`` check those, calibration explores beyond them.  Day 0 (the
    baseline of every change and responder criterion) is added to ``observe``
    if missing."""

    arm: str | Arm
    patients: int = 1000
    seed: int = 0
    observe: tuple = DEFAULT_DAYS
    params: Mapping[str, float] | None = None
    variability: Mapping[str, float] | None = None
    measurement: Mapping[str, float] | None = None
    covariate_effects: Mapping[str, float] | None = None
    solver: str = "rodas4"
    # The project's accuracy rule (1e-4, tests/test_accuracy.py): over 3 years DAS28 within 1.5e-4 and
    # CRP within 1e-4 (relative) of an rtol-1e-9 solve (200 patients; one CRP reading of 1,200 at seed 2
    # is off by 4.4e-4, 0.007 mg/L), far below the 0.01 DAS28 is reported to; 30% fewer steps than
    # rtol 1e-5 (811 against 1,160 per msc+dmard patient).
    rtol: float = 1e-4
    max_steps: int = 100_000
    chunk_size: int = 2000
    dense: bool = False
    enrolments: dict | None = field(default=None, repr=False, compare=False)
    plan: CohortPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arm = builtin_arm(self.arm) if isinstance(self.arm, str) else self.arm
        if not isinstance(arm, Arm):
            raise RasimError(f"Cohort.arm: expected a built-in arm name or an Arm, got {gate.got(self.arm)}")
        patients = int(gate.limit("patients", gate.integer("Cohort.patients", self.patients, 1), "Cohort.patients"))
        days = gate.days("Cohort.observe", self.observe)
        gate.limit("days", days[-1], "Cohort.observe")
        gate.limit("size", patients * len(days) * days[-1], "Cohort")
        tables = {}
        for name in ("params", "variability", "measurement", "covariate_effects"):
            gate.table(f"Cohort.{name}", getattr(self, name), None, "name", error=ParameterError)
            tables[name] = None if getattr(self, name) is None else dict(getattr(self, name))  # a private copy
        if not isinstance(self.solver, str) or self.solver not in KERNELS:
            raise SolverOptionsError(
                unknown_name("cohort solver", str(self.solver), KERNELS, f"the cohort solvers {', '.join(KERNELS)}")
            )
        gate.number("Cohort.rtol", self.rtol, 0.0, 1.0, open_low=True, open_high=True, error=SolverOptionsError)
        checked: dict[str, Any] = {
            "arm": arm,
            "patients": patients,
            "seed": gate.integer("Cohort.seed", self.seed, 0),
            "observe": tuple(days.tolist()),
            **tables,
            "max_steps": gate.integer("Cohort.max_steps", self.max_steps, 1, error=SolverOptionsError),
            "chunk_size": gate.integer("Cohort.chunk_size", self.chunk_size, 1),
            "dense": gate.flag("Cohort.dense", self.dense),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "plan", make_plan(self))

    def cost(self, keep: str = "patients") -> gate.Cost:
        """What ``run(keep=keep)`` will take (``rasim.gate.cost``): memory, disk, time."""
        return gate.cost(
            self.patients,
            1,
            len(self.plan.t_out),
            float(self.plan.t_out[-1]),
            in_memory=keep == "patients",
            states=model.N_STATES if self.dense else 0,
            chunk_size=self.chunk_size,
        )

    @property
    def _arm(self) -> Arm:
        """``arm`` as an ``Arm`` (a name given to the constructor is looked up there)."""
        assert isinstance(self.arm, Arm)
        return self.arm

    # ---- running
    def chunks(self, threads: int | None = None) -> tuple[ChunkTask, ...]:
        """The cohort's independent units of work, ``chunk_size`` patients each, in patient
        order (``pipeline.ChunkTask``; ``threads`` caps Numba's threads inside each)."""
        from .pipeline import ChunkTask

        stops = [min(start + self.chunk_size, self.patients) for start in range(0, self.patients, self.chunk_size)]
        return tuple(ChunkTask(self, k, k * self.chunk_size, stop, threads) for k, stop in enumerate(stops))

    def run(self, threads: int | None = None, progress=None, keep: str = "patients", executor=None):
        """All patients, chunk by chunk (``pipeline.run_chunks``); ``threads`` caps Numba's threads.

        keep="patients" returns a ``CohortResult`` (per-patient values);
        keep="summary" folds each chunk into a ``StreamingSummary`` and drops it,
        so memory does not grow with the number of patients.
        ``progress(done, total)`` is called after each chunk if given; ``timing`` holds seconds
        (compile_s, run_s, and enrol_s, trial_s, observe_s summed over chunks).  ``executor``: where
        the chunks run (``pipeline.InProcess``, ``pipeline.Dask``); by default this process,
        or the Dask cluster named by ``$RASIM_DASK`` (``pipeline.default_executor``).  The
        results are the same bit for bit whatever the executor."""
        from .pipeline import default_executor, run_chunks
        from .result import CohortResult
        from .streaming import StreamingSummary

        if keep not in ("patients", "summary"):
            raise RasimError(f"keep must be 'patients' or 'summary', got {keep!r}")
        if threads is not None:
            gate.integer("Cohort.run threads", threads, 1)
        self.cost(keep).check("Cohort.run")
        executor = default_executor() if executor is None else executor
        t_compile = executor.warm_up(self.solver)
        t0 = time.perf_counter()
        stream = StreamingSummary(self._arm.name, self.plan.t_out, analysis=self._arm.analysis)
        chunks: list[Chunk] = []
        seconds = dict.fromkeys(("enrol", "trial", "observe"), 0.0)  # summed over chunks
        sinks = [(lambda r: stream.add(r.part)) if keep == "summary" else (lambda r: chunks.append(r.chunk))]
        sinks.append(lambda r: seconds.update({k: seconds[k] + v for k, v in r.chunk.seconds.items()}))
        if progress is not None:
            sinks.append(lambda r: progress(r.task.stop, self.patients))
        run_chunks(self.chunks(threads), sinks, executor)
        timing = {
            "compile_s": t_compile,
            "run_s": time.perf_counter() - t0,
            **{f"{k}_s": v for k, v in seconds.items()},
        }
        res = stream if keep == "summary" else CohortResult.from_chunks(self, chunks, timing)
        stream.timing = timing
        enrolled = sum(stream.status.values()) if keep == "summary" else len(res.status)
        note = enrolment_note(self._arm, enrolled - res.n_not_enrolled, res.not_inflamed, res.screen_failures)
        if note:
            warnings.warn(note, RasimWarning, stacklevel=2)
        return res

    def run_chunk(self, start: int, stop: int) -> Chunk:
        """Patients ``start`` .. ``stop - 1``: an independent unit of work."""
        if not 0 <= start < stop <= self.patients:
            raise RasimError(f"chunk [{start}, {stop}) is outside the cohort's {self.patients} patients")
        s = self.plan
        idx = np.arange(start, stop)
        t0 = time.perf_counter()
        e = self.enrol(idx)
        P = _patient_draws(self, e.P, idx)
        t1 = time.perf_counter()
        args = _args(self, P)
        status, y, steps = _trial(self, args, e.y0, s.dosing.amounts(e.covariates["weight"]))
        t2 = time.perf_counter()
        status[~e.enrolled] = NOT_ENROLLED
        y[~e.enrolled] = np.nan
        values, expected_das, resolved = _observe(self, P, args, y, idx, e.flare)
        exit_visit, exit_reason = _exits(self, values, status == 0, idx)
        events = _safety(self, P, args, idx, np.where(status == 0, s.t_out[exit_visit], 0.0))
        return Chunk(
            start,
            stop,
            status,
            values,
            expected_das,
            resolved,
            e.covariates,
            e.not_inflamed,
            e.screen_failures,
            steps,
            exit_visit,
            exit_reason,
            events,
            y if self.dense else None,
            {"enrol": t1 - t0, "trial": t2 - t1, "observe": time.perf_counter() - t2},
        )

    def enrol(self, idx: np.ndarray) -> Enrolment:
        """Patients ``idx`` enrolled (from ``enrolments`` if another cohort of the same patients
        enrolled them already)."""
        if self.enrolments is None:
            return _enrol(self, idx)
        s = self.plan
        tables = repr([self.variability, self.measurement, self.covariate_effects])
        key = (self.seed, s.pop_key, self.solver, tables, s.base.tobytes(), int(idx[0]), len(idx))
        if key not in self.enrolments:
            self.enrolments[key] = _enrol(self, idx)
        return self.enrolments[key]

    def __getstate__(self) -> dict:
        """Pickled (e.g. sent to a Dask worker) without the ``enrolments`` memo."""
        return {**self.__dict__, "enrolments": None}

    def problems(self) -> "CohortProblem":
        """The enrolled patients' solver inputs (day-0 search done, regimen not solved)."""
        s = self.plan
        e = _enrol(self, np.arange(self.patients))
        args = np.stack([model.build_args(p, *s.dosing.table) for p in e.P])
        return CohortProblem(
            args, e.y0, s.t0, s.t_out, s.dosing.ev_t, s.dosing.ev_cmt, s.dosing.amounts(e.covariates["weight"]), s.atol
        )


@dataclass(frozen=True)
class CohortProblem:
    """Solver inputs of a cohort: args (n, L), y0 (n, n_states) at t0, output days,
    solver events (shared times and states, per-patient amounts (n, k): MSC boluses in
    1e6 cells, and zero-amount breakpoints at MTX dose times), absolute tolerances."""

    args: np.ndarray
    y0: np.ndarray
    t0: float
    t_out: np.ndarray
    ev_t: np.ndarray
    ev_cmt: np.ndarray
    ev_amt: np.ndarray
    atol: np.ndarray


# ---- plan (once per cohort) --------------------------------------------------------------


@dataclass(frozen=True)
class CohortPlan:
    """A cohort's inputs lowered once (``Cohort.plan``): who enrols (``pop``, its random-stream
    key, the typical parameters ``base``, variability, measurement settings and covariate
    effects), the output days ``t_out`` from ``t0`` (< 0: a run-in of the background's real
    doses), the background's mean exposure for day 0 (``pg_dose``: mg, every days, depot),
    the regimen lowered (``dosing``), absolute tolerances, the replay's start state and the
    drugs given (``given``; ``base`` is adjusted for them being given together)."""

    pop: Population
    pop_key: int
    base: np.ndarray
    var: variability.Variability
    meas: dict[str, float]
    effects: dict[str, float]
    t_out: np.ndarray
    t0: float
    pg_dose: tuple[float, float, int] | None
    dosing: lowering.Dosing
    atol: np.ndarray
    y_start: np.ndarray
    given: frozenset[str] = frozenset()  # the drugs the arm gives (regimen and background)


def make_plan(c: Cohort) -> CohortPlan:
    """Lower cohort ``c``'s arm, observation days and settings (checked) into a ``CohortPlan``."""
    arm = c._arm
    pop = arm.pop
    screened_on = arm.background if pop.background is None else pop.background  # the treatment history
    t_out = np.asarray(c.observe, dtype=np.float64)  # checked by the Cohort
    t_out = t_out if t_out[0] == 0.0 else np.concatenate([[0.0], t_out])  # day 0: the baseline visit
    days = float(t_out[-1])
    if arm.rescue is not None:
        arm.rescue.check_visits(t_out.tolist())
    for note in after_horizon(arm.regimen, days)[1]:
        warnings.warn(f"arm {arm.name}: {note}; observe later days to include them", RasimWarning, stacklevel=4)
    pg_dose = lowering.background_dose(screened_on)
    t0 = -day0.REPLAY.runin_days if pg_dose else 0.0
    given = lowering.drugs_given(arm.regimen, arm.background)
    options = SolverOptions(method=c.solver, rtol=c.rtol)
    return CohortPlan(
        pop=pop,
        pop_key=zlib.crc32(pop.name.encode()),
        base=lowering.with_comedication(
            lowering.parameter_vector(arm.regimen, c.params, None, allow_out_of_range=True), given
        ),
        given=given,
        var=variability.variability(c.variability),
        meas=measurement.settings(dict(c.measurement or {})),
        effects=variability.covariate_effects(c.covariate_effects),
        t_out=t_out,
        t0=t0,
        pg_dose=pg_dose,
        dosing=lowering.dosing(arm.regimen, arm.background, days, t0, pop.background, day0.REPLAY.runin_days),
        atol=options.atol_vector(model.N_STATES) * model.STATE_SCALE,
        y_start=day0.REPLAY_START,
    )


# ---- enrolment -----------------------------------------------------------------------------


def _enrol(c: Cohort, idx: np.ndarray) -> Enrolment:
    """Draw candidates per patient, in the order of the patient's stream, until one qualifies.

    A round evaluates at least ``ROUND_CANDIDATES`` candidates: once few patients are pending,
    each evaluates its next several candidates at once and takes the first that qualifies,
    so the rounds stay large enough for the lanes; the patients and counts are those of one
    candidate a round, the later candidates drawn in that round are discarded unread."""
    s = c.plan
    var, pop = s.var, s.pop
    k_norm = variability.draws_per_candidate(var) + measurement.N_NORMALS
    gens = streams.generators(c.seed, s.pop_key, idx, 0)
    n = len(idx)
    P = np.repeat(s.base[None, :], n, axis=0)
    y0 = np.full((n, model.N_STATES), np.nan)
    cov = {
        name: np.full(n, np.nan)
        for name in ("age", "female", "weight", "creatinine_clearance", "duration", "seropositive")
    }
    flare = np.zeros(n)  # the enrolled candidate's fluctuation at screening (SD units)
    pending = np.arange(n)
    counts = [0, 0]
    drawn = 0  # candidates each pending patient has drawn
    while pending.size and drawn < MAX_CANDIDATES:
        per = min(-(-ROUND_CANDIDATES // pending.size), MAX_CANDIDATES - drawn)
        z, u = _candidate_draws(gens, np.repeat(pending, per), k_norm)
        Pc, covc = variability.sample(s.base, var, pop, z, u, s.effects)
        pg = day0.mean_exposure(Pc, s.pg_dose)
        state, status = day0.replay(Pc, pg, covc["duration"], c.solver)
        y = day0.accrue_damage(state, Pc, covc["duration"])
        inflamed = (status == 0) & (model.observables(y, Pc)["DAS28_ESR"] > LOW)
        z_meas = z[:, -measurement.N_NORMALS :]
        f = z_meas[:, -1:]  # the fluctuation at screening (SD units), one visit
        seen = model.observables(y[:, None, :], Pc, measurement.activity(f, s.meas))
        screen = measurement.measure(seen, z_meas[:, None, :], np.zeros(1), s.meas, f)
        ok = inflamed & measurement.qualifies({k: v[:, 0] for k, v in screen.items()}, pop.entry)
        stable = day0.growth(Pc[ok], pg[ok], state[ok]) < 0.0  # checked only where it matters
        inflamed[ok] = stable
        ok[ok] = stable
        ok, inflamed = ok.reshape(pending.size, per), inflamed.reshape(pending.size, per)
        found = ok.any(axis=1)
        first = np.where(found, np.argmax(ok, axis=1), per)  # the candidate taken (per: none)
        read = np.arange(per)[None, :] < first[:, None]  # the candidates drawn before it
        counts[0] += int(np.sum(~inflamed & read))
        counts[1] += int(np.sum(inflamed & ~ok & read))
        rows = np.flatnonzero(found) * per + first[found]
        take = pending[found]
        P[take], y0[take], flare[take] = Pc[rows], y[rows], z_meas[rows, -1]
        for name in cov:
            cov[name][take] = covc[name][rows]
        pending = pending[~found]
        drawn += per
    enrolled = np.ones(n, dtype=bool)
    enrolled[pending] = False
    y0[pending] = s.y_start
    return Enrolment(P, y0, cov, counts[0], counts[1], enrolled, flare)


def _candidate_draws(gens, pending: np.ndarray, k_norm: int) -> tuple[np.ndarray, np.ndarray]:
    """(normals (m, k_norm), uniforms (m, 2)) of the next candidate of each patient of ``pending``,
    from the patient's own stream: its normals, then its uniforms."""
    z, u = np.empty((pending.size, k_norm)), np.empty((pending.size, 2))
    for row, i in enumerate(pending):
        gens[i].standard_normal(out=z[row])
        gens[i].random(out=u[row])
    return z, u


# ---- trial and observation ---------------------------------------------------------------------


def _patient_draws(c: Cohort, P: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``P`` with the patient-level parameters of the drugs given (``drugs.base.PATIENT_DRAWS``,
    e.g. the day a patient forms anti-adalimumab antibodies), from each patient's own stream
    ``DRUG_STREAM``; ``P`` itself when no drug given draws."""
    s = c.plan
    draws = [PATIENT_DRAWS[d] for d in sorted(s.given & PATIENT_DRAWS.keys())]
    if not draws:
        return P
    k = sum(n for n, _ in draws)
    u = np.stack([g.random(k) for g in streams.generators(c.seed, s.pop_key, idx, DRUG_STREAM)])
    P = P.copy()
    for n, draw in draws:
        draw(u[:, :n], P, s.given)
        u = u[:, n:]
    return P


def _args(c: Cohort, P: np.ndarray) -> np.ndarray:
    """Each patient's ``args`` (parameters ``P`` and the arm's dose tables), once per chunk."""
    d = c.plan.dosing
    return patient_args(P, d.table_t, d.table_depot, d.table_amount)


def _trial(c: Cohort, args: np.ndarray, y0: np.ndarray, ev_amt: np.ndarray):
    s = c.plan
    d = s.dosing
    status, y, stats = run_trial(
        c.solver, args, y0, s.t0, s.t_out, d.ev_t, d.ev_cmt, ev_amt, c.rtol, s.atol, c.max_steps
    )
    return status, y, stats[:, 0].copy()


def _observe(c: Cohort, P: np.ndarray, args: np.ndarray, y: np.ndarray, idx: np.ndarray, flare_screen: np.ndarray):
    """Measured items (visit noise keyed by patient and visit day) and expected biomarkers."""
    s = c.plan
    t = s.t_out
    u = _exposures(c, args)
    expected = model.observables(y, P, exposure=u)
    z, flare, responsiveness = measurement.visit_noise(c.seed, s.pop_key, idx, t, flare_screen, s.meas)
    seen = model.observables(y, P, measurement.activity(flare, s.meas), u)  # at each visit's joint activity
    values = measurement.measure(seen, z, t, s.meas, flare, responsiveness)
    values.update({name: expected[name] for name in BIOMARKERS})
    resolved = y[..., model.INDEX["m1"]] < REFERENCE_STATES["resolved"]["m1"]
    return values, expected["DAS28_ESR"], resolved


def _exposures(c: Cohort, args: np.ndarray) -> np.ndarray | None:
    """The drugs' exposures at the visits (n, m, n_forcings) when a drug acting on what a visit
    reads (an NSAID) is given; else None."""
    d = c.plan.dosing
    if not np.isin(model.forcing.SLOT_OF_DEPOT[d.table_depot], model.forcing.observed_slots()).any():
        return None
    return patient_exposures(args, c.plan.t_out, model.forcing.N_FORCINGS)


def _safety(c: Cohort, P: np.ndarray, args: np.ndarray, idx: np.ndarray, at_risk: np.ndarray) -> safety.Events:
    """Adverse events (``safety``) over follow-ups of ``at_risk`` days, the exposures read every
    ``SAFETY_GRID_DAYS`` days."""
    s = c.plan
    grid = np.unique(np.append(np.arange(0.0, s.t_out[-1], SAFETY_GRID_DAYS), s.t_out[-1]))
    d = s.dosing
    cum = safety.dosed_cumulative_hazards(P, args, grid)  # a drug not given: its exposure is 0
    infusions = np.unique(d.ev_t[(d.ev_flat + d.ev_per_kg > 0.0) & (d.ev_t >= 0.0)])
    gens = streams.generators(c.seed, s.pop_key, idx, safety.SAFETY_STREAM)
    return safety.draw(gens, P, cum, grid, at_risk, infusions, safety.drug_event_days(P, s.given))


def _exits(c: Cohort, values: dict[str, np.ndarray], ok: np.ndarray, idx: np.ndarray):
    """(last visit in the arm, exit reason) of patients ``idx`` (``analysis.exits``; the failed
    and the never enrolled complete); the dropout draws are made only if the arm has dropout."""
    arm, t = c._arm, c.plan.t_out
    if arm.dropout is None and arm.rescue is None:
        return np.full(len(idx), len(t) - 1, dtype=np.int64), np.full(len(idx), analysis.COMPLETED, dtype=np.int8)
    e = None
    if arm.dropout is not None:
        e = np.array(
            [g.standard_exponential() for g in streams.generators(c.seed, c.plan.pop_key, idx, analysis.STREAM)]
        )
    acr20 = responder_masks(values)["ACR20"]
    last, reason = analysis.exits(t, values["TJC28"], values["SJC28"], acr20, e, arm.dropout, arm.rescue)
    last[~ok], reason[~ok] = len(t) - 1, analysis.COMPLETED
    return last, reason


# ---- compile and threads ---------------------------------------------------------------------

_COMPILE_S: dict[str, float] = {}


def lanes_in_use() -> bool:
    """Whether cohorts run rodas4 in lockstep lanes now (``rasim.lockstep.available``)."""
    from .. import lockstep

    return lockstep.available(lanes())


def warm_up(solver: str = "rodas4") -> float:
    """Compile (or load from cache) the cohort kernels, the lockstep lanes among them when they are
    in use (``rasim.lockstep``); seconds it took (0 after the first call).  On a cold cache a second
    process compiles half of them meanwhile, and another the lockstep lanes afterwards
    (``compile_helper``)."""
    if solver in _COMPILE_S:
        return 0.0
    t0 = time.perf_counter()
    helper = compile_helper.start()
    try:
        P = model.DEFAULTS[None, :].copy()
        y, st = day0.replay(P, np.zeros(1), np.ones(1), solver)
        day0.growth(P, np.zeros(1), y)
        one, none = np.ones(1), np.zeros(0)
        args = patient_args(P, one, one, one)
        run_trial(solver, args, y, 0.0, one, none, none, np.zeros((1, 0)), 1e-3, np.full(model.N_STATES, 1e-6), 10)
        patient_exposures(args, one, model.forcing.N_FORCINGS)
        safety.dosed_cumulative_hazards(P, args, np.array([0.0, 1.0]))
        if solver == "rodas4" and lanes_in_use():  # RASIM_LOCKSTEP=1, or in the cache
            dispatcher, signature = compile_helper.lane_job()
            dispatcher.compile(signature)  # type: ignore[attr-defined]  # a Numba dispatcher
    finally:
        compile_helper.stop(helper)
    _COMPILE_S[solver] = time.perf_counter() - t0
    if solver == "rodas4":
        compile_helper.start_lanes()  # in the background, for the next runs (``rasim.lockstep``)
    return _COMPILE_S[solver]


def enrolment_note(arm: Arm, enrolled: int, not_inflamed: int, screen_failures: int) -> str | None:
    """A loud note when nobody enrolled in ``arm`` (its entry criteria or parameters), else None."""
    if enrolled:
        return None
    return (
        f"arm {arm.name}: no patient enrolled in population {arm.pop.name!r} "
        f"({not_inflamed} candidates had no active disease, {screen_failures} failed the entry criteria "
        f"{arm.pop.entry}); the results are empty: loosen the entry criteria or check the parameters"
    )


class capped_threads:
    """Context manager capping Numba's thread count (None: leave as is)."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        self.old = numba.get_num_threads()
        if self.n is not None:
            limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba.config sets its options at run time
            gate.integer("threads", self.n, 1, limit)
            numba.set_num_threads(int(self.n))

    def __exit__(self, *exc):
        numba.set_num_threads(self.old)


__all__ = [
    "Cohort",
    "Chunk",
    "Enrolment",
    "CohortProblem",
    "DEFAULT_DAYS",
    "NOT_ENROLLED",
    "NOT_SETTLED",
    "patient_rng",
    "warm_up",
]
