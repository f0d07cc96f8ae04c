"""What the explorer's widgets mean, without any widget: their values as rasim calls, and as
the Python and TOML text that reproduce them.  No panel here, so all of it is testable
without a browser."""

from __future__ import annotations

import dataclasses
import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import endpoints, gate
from ..cohort import POPULATIONS, Arm, Cohort, population
from ..errors import EquilibriumError, RasimError, unknown_name
from ..model import INDEX, PINDEX
from ..model.presets import MTX_REFRACTORY
from ..plots import Published
from ..regimen import Regimen, msc, mtx
from ..scenario import Scenario, ScenarioArm, load
from ..simulation import simulate

DAYS = 1095
OBSERVE = (*range(0, DAYS, 7), DAYS)  # weekly over 3 years, and the last day
MARKERS = ("DAS28_ESR", "CRP", "ESR", "HAQ")
STATES = {  # label -> model state
    "Treg": "treg",
    "memory Treg": "treg_mem",
    "TNF": "tnf",
    "IL-6": "il6",
    "imprinted fibroblasts": "fls_imprint",
    "cartilage loss": "cartilage",
    "erosion": "erosion",
}
TABLE_DAYS = (0, 28, 91, 182, 364, 728, DAYS)  # the rows of the page's number table
KINDS = ("typical", "sampled")
SWEEP_AXES = ("msc_cells", "mtx_dose", "age", "duration", "msc_every")  # patient fields; or a model parameter


@dataclass(frozen=True)
class Patient:
    """One patient as the explorer's patient tab sets it: MSC and MTX, covariates, and
    whether it is the typical patient (``rasim.simulate``) or one sampled from ``population``
    (a one-patient ``Cohort`` with the covariates fixed, measured as a clinic would)."""

    msc_cells: float = 4e7  # 0: no MSC
    msc_source: str = "umbilical_cord"
    msc_route: str = "iv"
    msc_joints: int = 2  # injected joints (intra-articular only)
    msc_days: str = "0"  # comma-separated infusion days, or the first day with msc_every
    msc_every: float = 0.0  # > 0: repeated every so many days before msc_until
    msc_until: float = 730.0
    mtx_dose: float = 15.0  # mg weekly from day 0; 0: none (stopped)
    mtx_before: float = 15.0  # mg weekly before day 0 (the treatment history); 0: MTX-naive
    mtx_route: str = "oral"
    age: float = 55.0
    female: bool = True
    duration: float = 8.0  # years of disease
    kind: str = "typical"  # or "sampled"
    population: str = "refractory"
    seed: int = 1
    params: Mapping[str, float] = field(default_factory=dict)  # model parameter overrides

    def changed(self, **values) -> Patient:
        """This patient with fields or model parameters (any other name) changed."""
        own = {k: v for k, v in values.items() if k in _FIELDS}
        extra = {k: v for k, v in values.items() if k not in _FIELDS}
        return dataclasses.replace(self, **own, params={**self.params, **extra})

    def value(self, name: str) -> float:
        """A field's value, or a model parameter's override."""
        return float(getattr(self, name) if name in _FIELDS else self.params[name])


_FIELDS = {f.name for f in dataclasses.fields(Patient)}


@dataclass(frozen=True)
class Trajectory:
    """What the patient tab plots: days, the clinical markers and the chosen states."""

    days: np.ndarray
    markers: dict[str, np.ndarray]
    states: dict[str, np.ndarray]

    def table(self) -> list[dict[str, float]]:
        """The markers at ``TABLE_DAYS``, one row a day."""
        rows = []
        for day in TABLE_DAYS:
            i = int(np.searchsorted(self.days, day))
            rows.append({"day": int(self.days[i]), **{k: float(v[i]) for k, v in self.markers.items()}})
        return rows


def parse_days(text: str) -> list:
    """Comma-separated days: numbers where they are numbers, the rest left for rasim to refuse."""
    out: list = []
    for word in (w.strip() for w in str(text).split(",")):
        try:
            out.append(float(word))
        except ValueError:
            out.append(word)
    return out


def parse_values(name: str, text: str) -> list[float]:
    """Comma-separated grid values of ``name``, each checked by ``rasim.gate``."""
    words = [w.strip() for w in str(text).split(",") if w.strip()]
    if not words:
        raise RasimError(f"{name}: give comma-separated values, e.g. 1e7, 4e7, 1e8")
    values: list = []
    for i, word in enumerate(words):
        try:
            values.append(float(word))
        except ValueError:
            values.append(word)  # refused below with rasim's own message
        gate.number(f"{name} value {i + 1}", values[-1])
    return values


def msc_regimen(p: Patient) -> Regimen:
    """The patient's MSC infusions (none at 0 cells)."""
    if p.msc_cells == 0:
        return Regimen()
    joints = p.msc_joints if p.msc_route == "intra_articular" else None
    every, until = (p.msc_every, p.msc_until) if p.msc_every else (None, None)
    days = parse_days(p.msc_days)
    return msc(p.msc_cells, days=days, every=every, until=until, source=p.msc_source, route=p.msc_route, joints=joints)


def mtx_background(p: Patient) -> Regimen:
    """Weekly MTX from day 0 (none at 0 mg)."""
    return mtx(p.mtx_dose, every=7, route=p.mtx_route) if p.mtx_dose else Regimen()


def mtx_history(p: Patient) -> Regimen | None:
    """Weekly oral MTX before day 0 (None: MTX-naive)."""
    return mtx(p.mtx_before, every=7) if p.mtx_before else None


def covariates(p: Patient) -> dict[str, float]:
    return {"age": p.age, "female": float(p.female), "duration": p.duration}


def typical_params(p: Patient) -> dict[str, float]:
    """Parameter overrides of the typical patient: on MTX before day 0, one whose disease stayed
    active on it (``MTX_REFRACTORY``)."""
    return {**(MTX_REFRACTORY if p.mtx_before else {}), **p.params}


def check(p: Patient) -> None:
    """Raise the library's own error for a patient rasim would refuse."""
    if p.kind not in KINDS:
        raise RasimError(unknown_name("patient kind", str(p.kind), KINDS))
    msc_regimen(p) + mtx_background(p)
    mtx_history(p)
    covariate_arm(p)


def covariate_arm(p: Patient) -> Arm:
    """The one-arm design of a sampled patient: its population with the covariates fixed."""
    pop = dataclasses.replace(
        population(p.population),
        name="patient",
        age=(p.age, 0.0, 18.0, 90.0),
        female=float(p.female),
        duration=(p.duration, 0.0),
        background=mtx_history(p),
    )
    return Arm("patient", pop, msc_regimen(p), mtx_background(p))


def run_patient(p: Patient, states: Sequence[str] = ("treg_mem",)) -> Trajectory:
    """The patient over ``DAYS`` days, observed weekly (``OBSERVE``)."""
    check(p)
    if p.kind == "typical":
        r = simulate(
            msc_regimen(p),
            background=mtx_background(p),
            history=mtx_history(p),
            params=typical_params(p),
            covariates=covariates(p),
            day0="replay",
            observe=OBSERVE,
        )
        if not r.ok:
            raise RasimError(f"the solver stopped: {r.status.name}")
        return Trajectory(r.t, {k: r[k] for k in MARKERS}, {s: r.state(s) for s in states})
    res = Cohort(covariate_arm(p), patients=1, seed=p.seed, observe=OBSERVE, params=p.params, dense=True).run()
    if not res.ok[0]:
        status = res.status_counts()
        raise RasimError(f"no sampled patient: {', '.join(status)}; try another seed")
    assert res.states is not None
    return Trajectory(
        np.asarray(res.days),
        {k: res[k][0] for k in MARKERS},
        {s: res.states[0, :, INDEX[s]] for s in states},
    )


def endpoint_value(t: Trajectory, endpoint: str, day: float) -> float:
    """A marker (or its ``_change`` from day 0) at ``day``."""
    base, suffix = endpoints.split(endpoint)
    if base not in t.markers:
        raise RasimError(f"endpoint {endpoint!r}: choose one of {', '.join(MARKERS)} (or its _change)")
    i = int(np.searchsorted(t.days, day))
    return float(endpoints.derive(t.markers[base], suffix)[i])


# ---- the sweep tab --------------------------------------------------------------------------


def check_axis(name: str) -> str:
    """A sweep axis: a patient field of ``SWEEP_AXES`` or a model parameter."""
    if name not in SWEEP_AXES and name not in PINDEX:
        raise RasimError(f"sweep axis {name!r}: choose one of {', '.join(SWEEP_AXES)} or a model parameter")
    return name


def grid(base: Patient, x: str, xs: Sequence[float], y: str, ys: Sequence[float]) -> list[Patient]:
    """Every combination of the axes' values, x fastest."""
    check_axis(x), check_axis(y)
    if x == y:
        raise RasimError(f"sweep: the two axes must differ, both are {x!r}")
    gate.limit("points", len(xs) * len(ys), "sweep grid")
    cells = [base.changed(**{x: a, y: b}) for b, a in itertools.product(ys, xs)]
    for cell in cells:
        check(cell)
    return cells


def sweep_values(cells: Sequence[Patient], endpoint: str, day: float) -> list[float]:
    """The endpoint of each grid cell at ``day`` (NaN where the cell has no active disease)."""
    gate.number("sweep day", day, 0.0, DAYS)
    out = []
    for cell in cells:
        try:
            out.append(endpoint_value(run_patient(cell, ()), endpoint, day))
        except EquilibriumError:
            out.append(math.nan)
    return out


# ---- the cohort tab ---------------------------------------------------------------------------


def scenario_from(name_or_toml: str, patients: int, seed: int) -> Scenario:
    """A built-in scenario by name, or a scenario file's TOML text, with its size and seed set."""
    text = str(name_or_toml)
    s = Scenario.from_dict(tomllib.loads(text), "loaded file") if "\n" in text else load(text)
    return s.replace(patients=patients, seed=seed)


def scenario_arm(s: Scenario, a: ScenarioArm) -> Arm:
    """Scenario arm ``a`` as a cohort ``Arm``."""
    return Arm(
        a.name,
        s.population(a.population),
        a.regimen,
        a.background,
        dropout=a.dropout,
        rescue=a.rescue,
        analysis=a.analysis,
    )


class Cancelled(Exception):
    """A cohort run stopped because its inputs changed."""


def run_cohort(s: Scenario, progress=None, cancelled=lambda: False) -> dict:
    """Every arm of ``s`` (arm name -> CohortResult); ``progress(done, total)`` after each chunk;
    raises ``Cancelled`` at the next chunk once ``cancelled()`` is true."""
    total, before = s.patients * len(s.arms), 0
    out = {}

    def step(done: int, _n: int) -> None:
        if cancelled():
            raise Cancelled
        if progress is not None:
            progress(before + done, total)

    for a in s.arms:
        out[a.name] = s.cohort(a, chunk_size=100).run(progress=step)  # chunks for progress
        before += s.patients
    return out


def published(arm: Arm) -> list[Published]:
    """Published trial points of calibration arms of ``arm``'s design (regimen and background;
    population too for a built-in one), named by trial, as ``rasim.plots`` draws them."""
    from ..calibration import TARGET_ARMS, targets

    def design(a: Arm) -> tuple:
        return (a.pop.name, a.regimen, a.background or None)

    keys = {k for k, t in TARGET_ARMS.items() if design(t)[1:] == design(arm)[1:]}
    if arm.pop.name in POPULATIONS:
        keys = {k for k in keys if TARGET_ARMS[k].pop.name == arm.pop.name}
    return [
        Published(arm.name, t.endpoint, t.day, t.value, t.spread, " ".join(t.source.split()[:2]))
        for t in targets(use=None)
        if t.arm in keys and t.statistic == "mean" and math.isfinite(t.value) and 0 <= t.day <= DAYS
    ]


def responder_table(results: Mapping, day: float) -> list[dict[str, float | str]]:
    """EULAR response, ACR20/50/70 and DAS28 remission rates of each arm at ``day``."""
    rows = []
    for name, res in results.items():
        i = res.day_index(day)
        rates = {c: float(res.rate(c)[i]) for c in ("EULAR_response", "ACR20", "ACR50", "ACR70", "DAS28_remission")}
        rows.append({"arm": name, "n": int(res.n), **rates})
    return rows


# ---- copy as Python, download TOML -------------------------------------------------------------


def _msc_call(p: Patient) -> str:
    if p.msc_cells == 0:
        return "Regimen()"
    kw = f', source="{p.msc_source}", route="{p.msc_route}"'
    if p.msc_route == "intra_articular":
        kw += f", joints={p.msc_joints}"
    days = f"days=[{', '.join(_num(d) for d in parse_days(p.msc_days))}]"
    if p.msc_every:
        days += f", every={_num(p.msc_every)}, until={_num(p.msc_until)}"
    return f"msc({p.msc_cells:g}, {days}{kw})"


def _mtx_call(p: Patient) -> str:
    return f'mtx({_num(p.mtx_dose)}, every=7, route="{p.mtx_route}")' if p.mtx_dose else "Regimen()"


def _history_call(p: Patient) -> str:
    return f"mtx({_num(p.mtx_before)}, every=7)" if p.mtx_before else "None"


def _num(v) -> str:
    return repr(int(v)) if isinstance(v, float) and v.is_integer() else repr(v)


def patient_python(p: Patient) -> str:
    """A script that simulates the patient and prints the plotted DAS28-ESR (weekly)."""
    check(p)
    head = "import dataclasses\n\n" if p.kind == "sampled" else ""
    head += "import rasim\nfrom rasim import Regimen, msc, mtx\n"
    observe = f"observe=[*range(0, {DAYS}, 7), {DAYS}]"
    params = dict(p.params)
    if p.kind == "typical":
        if p.mtx_before:
            head += "from rasim.model.presets import MTX_REFRACTORY\n"
        overrides = ("{**MTX_REFRACTORY, " + repr(params)[1:]) if p.mtx_before and params else None
        overrides = overrides or ("MTX_REFRACTORY" if p.mtx_before else repr(params))
        body = (
            f"result = rasim.simulate(\n    {_msc_call(p)},\n    background={_mtx_call(p)},  # from day 0\n"
            f"    history={_history_call(p)},  # before day 0\n"
            f"    params={overrides},  # on MTX before: a patient whose disease stayed active on it\n"
            f'    covariates={covariates(p)!r},\n    day0="replay",  # disease replayed over its duration\n'
            f'    {observe},\n)\nprint(result["DAS28_ESR"].round(4).tolist())\n'
        )
        return f"{head}\n{body}"
    body = (
        f"# one patient of population {p.population!r}, its age, sex and disease duration fixed\n"
        f'pop = dataclasses.replace(\n    rasim.cohort.population({p.population!r}),\n    name="patient",\n'
        f"    age=({_num(p.age)}, 0, 18, 90),\n    female={float(p.female)},\n    duration=({_num(p.duration)}, 0),\n    background={_history_call(p)},  # before day 0\n)\n"
        f'arm = rasim.cohort.Arm("patient", pop, {_msc_call(p)}, {_mtx_call(p)})\n'
        f"result = rasim.Cohort(arm, patients=1, seed={p.seed}, {observe}, params={params!r}, dense=True).run()\n"
        f'print(result["DAS28_ESR"][0].round(4).tolist())\n'
    )
    return f"{head}\n{body}"


def patient_scenario(p: Patient) -> Scenario:
    """The sampled patient as a one-arm scenario (``rasim run`` of it runs the same patient)."""
    check(p)
    arm = covariate_arm(p)
    d = {
        "name": "explore_patient",
        "description": f"one patient of {p.population} (rasim explore)",
        "patients": 1,
        "seed": p.seed,
        "days": DAYS,
        "observe": list(OBSERVE),
        "params": dict(p.params),
        "populations": [_population_dict(arm)],
        "arms": [ScenarioArm("patient", "patient", arm.regimen, arm.background).to_dict()],
    }
    return Scenario.from_dict(d, "rasim explore")


def _population_dict(arm: Arm) -> dict:
    from ..scenario import population_to_dict

    return population_to_dict(arm.pop)


def cohort_python(s: Scenario, source: str) -> str:
    """A script that runs the cohort tab's scenario and prints each arm's responder rates."""
    load_line = f"load({source!r})" if "\n" not in source else 'load("my_scenario.toml")  # the downloaded file'
    return (
        "from rasim.runner import run_in_memory\nfrom rasim.scenario import load\n\n"
        f"scenario = {load_line}.replace(patients={s.patients}, seed={s.seed})\n"
        "results = run_in_memory(scenario)  # arm name -> CohortResult\n"
        "for name, res in results.items():\n"
        f'    print(name, res.n, res.rate("EULAR_response")[res.day_index({s.observe[-1]:g})])\n'
    )


def sweep_python(
    base: Patient, x: str, xs: Sequence[float], y: str, ys: Sequence[float], endpoint: str, day: float
) -> str:
    """A script that runs the sweep tab's grid: the patient tab's patient with two values changed."""
    return (
        "from rasim.explore.state import Patient, grid, sweep_values\n\n"
        f"base = {base!r}\n"
        f"cells = grid(base, {x!r}, {list(xs)!r}, {y!r}, {list(ys)!r})  # {x} fastest\n"
        f"print([round(v, 4) for v in sweep_values(cells, {endpoint!r}, {day:g})])\n"
    )
