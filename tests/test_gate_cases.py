"""Issue 21, "What was measured on main": every bad input listed there, through the gate.

Each case must raise a ``rasim.RasimError`` subclass (the specific one where it has a
meaning: a size above its ceiling is a ``LimitError``, a parameter override a
``ParameterError``, ...) in under a second, without a numpy warning.  The size cases run in
a forked child whose address space is capped (what it inherits plus ``HEADROOM``) and whose
allocations are traced (``tracemalloc`` peak under 300 MB), so a regression fails fast with
MemoryError instead of taking the machine down.  Command-line cases run ``python -m rasim``
in a subprocess (address space capped at ``CLI_ADDRESS_SPACE``) and must exit with status 2
and one ``rasim: error:`` line, no traceback.
"""

from __future__ import annotations

import os
import pickle
import re
import resource
import select
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import rasim
from rasim import Cohort, model, msc, mtx, simulate
from rasim import scenario as S
from rasim.cohort import Arm, Entry, Population
from rasim.errors import (
    CovariateError,
    LimitError,
    ParameterError,
    RasimError,
    RegimenError,
    ScenarioError,
    SolverOptionsError,
)
from rasim.drugs.msc import CELLS_PER_UNIT
from rasim.simulation import prepare

SECONDS = 1.0  # every refusal, in process
PEAK_BYTES = 300 * 2**20  # traced allocations of a size case
HEADROOM = 640 * 2**20  # address space a forked size case may add to what it inherits: fails fast past it
CHILD_TIMEOUT = 5.0  # a forked case still running then is killed (and fails: the budget is 1 s)
# `python -m rasim run trial3y --patients 3` peaks at 1.9 GB of address space (Numba's threads
# and their malloc arenas), a refusal at about 0.6 GB: 2.5 GB leaves a real run room and
# stops a runaway allocation at once.
CLI_ADDRESS_SPACE = int(2.5 * 2**30)
CLI_TIMEOUT = 15.0
CLI_SECONDS = 3.0  # a refused command, beyond the start-up of a command argparse refuses


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Load the Numba kernels the cases reach (day 0, the integrator, a cohort plan) from the
    cache first, so the one-second budget measures the gate, not compilation."""
    prepare(None, days=1, observe=[0.0, 1.0])
    simulate(None, days=1, observe=[0.0, 1.0])
    Cohort("msc+dmard", patients=1)


@pytest.fixture(scope="module")
def cohort_kernel():
    """The compiled cohort kernel loaded (it starts Numba's threads: the forked cases, which
    must not inherit a running thread pool, come first in this file)."""
    rasim.cohort.warm_up()


@dataclass
class Outcome:
    error: type | None  # the exception's class; None if the call returned
    text: str  # the message, or the repr of what was returned
    seconds: float
    peak: int | None = None  # tracemalloc peak (bytes), forked cases only

    def __str__(self) -> str:
        what = "returned" if self.error is None else self.error.__name__
        peak = "" if self.peak is None else f", peak {self.peak / 2**20:.0f} MB"
        return f"{what} after {self.seconds:.2f} s{peak}: {self.text[:300]}"


def attempt(call) -> Outcome:
    """``call()`` in this process, numpy's RuntimeWarnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        t0 = time.perf_counter()
        try:
            value = call()
        except Exception as e:  # noqa: BLE001  (the class is what the test checks)
            return Outcome(type(e), str(e), time.perf_counter() - t0)
    return Outcome(None, repr(value)[:300], time.perf_counter() - t0)


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
    return kb * 1024


def attempt_forked(call) -> Outcome:
    """``call()`` in a forked child: address space capped at what it inherits plus
    ``HEADROOM``, allocations traced, killed after ``CHILD_TIMEOUT`` seconds."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without pytest's teardown
        try:
            os.close(read)
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + HEADROOM, hard))
            tracemalloc.start()
            outcome = attempt(call)
            outcome.peak = tracemalloc.get_traced_memory()[1]
            try:
                data = pickle.dumps(outcome)
            except Exception:  # noqa: BLE001  (an unpicklable class: send its name)
                name = getattr(outcome.error, "__name__", "?")
                data = pickle.dumps(Outcome(RuntimeError, f"{name}: {outcome.text}", outcome.seconds, outcome.peak))
            os.write(write, data)
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                return Outcome(TimeoutError, f"still running after {CHILD_TIMEOUT:g} s: killed", CHILD_TIMEOUT)
            chunk = os.read(read, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    if not chunks:
        return Outcome(RuntimeError, "the child died without a report", 0.0)
    return pickle.loads(b"".join(chunks))


def check_refused(outcome: Outcome, expected, match: str | None = None) -> None:
    assert outcome.error is not None, f"not refused: {outcome}"
    assert issubclass(outcome.error, expected), f"expected {expected}, got {outcome}"
    if match is not None:
        assert re.search(match, outcome.text), f"the message does not match {match!r}: {outcome}"
    assert outcome.seconds < SECONDS, f"refused, but slowly: {outcome}"
    if outcome.peak is not None:
        assert outcome.peak < PEAK_BYTES, f"refused, but after allocating too much: {outcome}"


# -- sizes: forked, memory capped --------------------------------------------------------------

SIZE_CASES = [
    pytest.param(lambda: simulate(msc(4e7), days=1e9), LimitError, "days", id="simulate-days-1e9"),
    pytest.param(lambda: Cohort("msc+dmard", patients=10**10), LimitError, "patients", id="Cohort-patients-1e10"),
    pytest.param(
        lambda: Cohort("msc+dmard", patients=10, observe=(0, 1e9)), LimitError, None, id="Cohort-observe-0-1e9"
    ),
    pytest.param(
        lambda: msc(4e7, every=0.001, until=36000), (LimitError, RegimenError), None, id="msc-every-0.001-until-36000"
    ),
]


@pytest.mark.parametrize(("call", "expected", "match"), SIZE_CASES)
def test_size_refused_fast_and_small(call, expected, match):
    check_refused(attempt_forked(call), expected, match)


# -- types -----------------------------------------------------------------------------------


def _cohort(**kw):
    return lambda: Cohort("msc+dmard", **{"patients": 2, **kw})


def _simulate(**kw):
    return lambda: simulate(None, **{"days": 1, **kw})


TYPE_CASES = [
    pytest.param(_cohort(variability={"msc_k_immune": True}), ParameterError, "msc_k_immune", id="variability-bool"),
    pytest.param(_cohort(variability={"msc_k_immune": "0.5"}), ParameterError, "msc_k_immune", id="variability-str"),
    pytest.param(
        _simulate(observe=[0, 1], allow_out_of_range="no"),
        RasimError,
        "allow_out_of_range",
        id="simulate-allow_out_of_range-no",
    ),
    pytest.param(_cohort(chunk_size=True), RasimError, "chunk_size", id="Cohort-chunk_size-True"),
    pytest.param(_cohort(max_steps=True), SolverOptionsError, "max_steps", id="Cohort-max_steps-True"),
    pytest.param(_cohort(observe=(False, True, 91)), RasimError, "observe", id="Cohort-observe-bools"),
    pytest.param(
        lambda: simulate(None, days=91, observe=(False, True, 91)), RasimError, "observe", id="simulate-observe-bools"
    ),
    pytest.param(_simulate(params={"x": None}), ParameterError, None, id="simulate-params-x-None"),
    pytest.param(
        _simulate(params={"msc_homing_max": None}), ParameterError, "msc_homing_max", id="simulate-params-None"
    ),
    pytest.param(_cohort(params={"msc_homing_max": None}), ParameterError, "msc_homing_max", id="Cohort-params-None"),
    pytest.param(
        _cohort(variability={"msc_k_immune": None}), ParameterError, "msc_k_immune", id="Cohort-variability-None"
    ),
    pytest.param(lambda: simulate(None, days=30, observe="0,28"), RasimError, "observe", id="simulate-observe-str"),
    pytest.param(_cohort(observe="0,28"), RasimError, "observe", id="Cohort-observe-str"),
    pytest.param(
        lambda: simulate(None, days=30, observe=np.array([[0.0, 1.0], [2.0, 3.0]])),
        RasimError,
        "observe",
        id="simulate-observe-2d",
    ),
    pytest.param(_cohort(observe=np.array([[0.0, 1.0], [2.0, 3.0]])), RasimError, "observe", id="Cohort-observe-2d"),
    pytest.param(lambda: Arm("x", 5), RasimError, "population", id="Arm-population-5"),
    pytest.param(lambda: Arm("x", "refractory", regimen={"doses": []}), RasimError, "regimen", id="Arm-regimen-dict"),
    pytest.param(_cohort(observe=()), RasimError, "observe", id="Cohort-observe-empty"),
    pytest.param(lambda: simulate(None, days=30, observe=()), RasimError, "observe", id="simulate-observe-empty"),
]


@pytest.mark.parametrize(("call", "expected", "match"), TYPE_CASES)
def test_type_refused(call, expected, match):
    check_refused(attempt(call), expected, match)


# -- model guards ----------------------------------------------------------------------------


def _balance_parameter() -> str:
    """A parameter of kind ``balance`` (derived from the steady states): tnf_basal."""
    p = model.parameter("tnf_basal")
    assert p.kind == "balance"
    return p.name


GUARD_CASES = [
    pytest.param(
        lambda: simulate(None, days=1, params={_balance_parameter(): 1.0}),
        ParameterError,
        "tnf_basal",
        id="simulate-balance-param",
    ),
    pytest.param(_cohort(params={"tnf_basal": 1.0}), ParameterError, "tnf_basal", id="Cohort-balance-param"),
    pytest.param(_simulate(covariates={"female": 0.5}), CovariateError, "female", id="simulate-female-0.5"),
    pytest.param(_cohort(measurement={"vas_sd": 1e6}), ParameterError, "vas_sd", id="Cohort-measurement-vas_sd-1e6"),
    pytest.param(_cohort(variability={"msc_k_immune": 1e6}), ParameterError, "msc_k_immune", id="variability-sd-1e6"),
    pytest.param(_simulate(rtol=2), SolverOptionsError, "rtol", id="simulate-rtol-2"),
]


@pytest.mark.parametrize(("call", "expected", "match"), GUARD_CASES)
def test_model_guard_refused(call, expected, match):
    check_refused(attempt(call), expected, match)


def test_variability_sd_1e6_leaks_no_numpy_warning_when_run():
    """If construction accepts the SD at all, running it must not overflow."""
    outcome = attempt(lambda: Cohort("msc+dmard", patients=2, observe=(0, 28), variability={"msc_k_immune": 1e6}))
    if outcome.error is None:
        outcome = attempt(
            lambda: Cohort("msc+dmard", patients=2, observe=(0, 28), variability={"msc_k_immune": 1e6}).run()
        )
    assert outcome.error is None or issubclass(outcome.error, RasimError), str(outcome)


def test_per_kg_msc_dose_capped_like_a_flat_dose():
    """msc(1e8, per_kg=True): refused, or no patient up to 200 kg (the weight covariate's top)
    gets more than MAX_MSC_CELLS cells."""
    cap = rasim.regimen.MAX_MSC_CELLS
    heaviest = model.parameter("weight").high
    assert heaviest >= 200.0
    outcome = attempt(lambda: msc(1e8, per_kg=True))
    if outcome.error is not None:
        return check_refused(outcome, RegimenError)
    regimen = msc(1e8, per_kg=True)
    events = attempt(lambda: regimen.events(1.0, weight_kg=heaviest))
    if events.error is None:
        cells = regimen.events(1.0, weight_kg=heaviest).amount.max()
        assert cells <= cap, f"{cells:g} cells at {heaviest:g} kg, above the {cap:g} cap"
    else:
        check_refused(events, RegimenError)
    problem = attempt(lambda: prepare(regimen, days=1, observe=[0, 1], covariates={"weight": heaviest}))
    if problem.error is None:
        amounts = prepare(regimen, days=1, observe=[0, 1], covariates={"weight": heaviest}).events[2]
        cells = float(np.max(amounts)) * CELLS_PER_UNIT
        assert cells <= cap, f"simulate gives {cells:g} cells at {heaviest:g} kg, above the {cap:g} cap"
    else:
        check_refused(problem, RegimenError)


def test_titration_step_after_the_horizon_warns():
    t0 = time.perf_counter()
    with pytest.warns(UserWarning, match=r"\b500\b"):
        simulate(mtx({0: 7.5, 500: 15}), days=365)
    assert time.perf_counter() - t0 < SECONDS


def test_cohort_run_threads_true_refused(cohort_kernel):
    cohort = Cohort("dmard", patients=2, observe=(0, 28))
    check_refused(attempt(lambda: cohort.run(threads=True)), RasimError, "threads")


def test_population_nobody_can_enter_refused_before_the_run(cohort_kernel):
    def run():
        nobody = Arm("nobody", Population("nobody", entry=Entry(das28_min=9.9)), background=mtx(15))
        return Cohort(nobody, patients=2, observe=(0, 28)).run()

    check_refused(attempt(run), RasimError)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: Cohort("msc+dmard", patients=20_000_000), id="Cohort"),
        pytest.param(lambda: S.Scenario.from_dict(_minimal(patients=20_000_000)), id="Scenario.from_dict"),
    ],
)
def test_max_patients_nan_refused(call, monkeypatch):
    """RASIM_MAX_PATIENTS=nan must not disable the ceiling (20 million patients: above the
    default 10 million, below the scenario's size ceiling)."""
    monkeypatch.setenv("RASIM_MAX_PATIENTS", "nan")
    check_refused(attempt_forked(call), (LimitError, ScenarioError), "RASIM_MAX_PATIENTS")


# -- scenario files ----------------------------------------------------------------------------


def _minimal(**kw) -> dict:
    return {"name": "t", "arms": [{"arm": "dmard"}], **kw}


def test_scenario_with_utf8_bom_loads(tmp_path):
    """Handled as documented: a BOM (written by some Windows editors) is not TOML, but the
    file is read as UTF-8 text, so it loads like the same file without it."""
    text = S._builtin_dir().joinpath("trial3y.toml").read_text(encoding="utf-8")
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    outcome = attempt(lambda: S.load(path))
    assert outcome.error is None, str(outcome)
    assert S.load(path) == S.load("trial3y")


def test_scenario_5000_deep_array_is_a_scenario_error(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('name = "t"\nobserve = ' + "[" * 5000 + "]" * 5000 + '\n[[arms]]\narm = "dmard"\n')
    check_refused(attempt(lambda: S.load(path)), ScenarioError, "deep.toml")


# -- command line --------------------------------------------------------------------------------


def rasim_capped(*args, cwd) -> tuple[subprocess.CompletedProcess | None, float]:
    """``python -m rasim *args`` with its address space capped; (result or None on timeout, seconds)."""
    code = (
        "import resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({CLI_ADDRESS_SPACE}, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
        f"sys.argv = ['rasim', *{list(args)!r}]\n"
        "runpy.run_module('rasim', run_name='__main__', alter_sys=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASIM_MAX_")}
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=CLI_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    return r, time.perf_counter() - t0


@pytest.fixture(scope="module")
def startup(tmp_path_factory) -> float:
    """Seconds of a command argparse refuses: interpreter, rasim and Numba start-up."""
    r, seconds = rasim_capped("sweep", "--grid", "msc_homing_max", "--points", "1", cwd=tmp_path_factory.mktemp("s"))
    assert r is not None and r.returncode == 2, r and r.stderr
    return seconds


NOBODY_TOML = """\
name = "nobody"
patients = 2
days = 28
observe = [0, 28]

[[populations]]
name = "nobody"
age = { mean = 53, sd = 12, min = 18, max = 80 }
female = 0.8
duration = { median = 5, sd_log = 0.6 }
seropositive = 0.8
entry = { das28_min = 9.9 }

[[arms]]
name = "a"
population = "nobody"
regimen = { doses = [] }
"""

CLI_CASES = [
    pytest.param(("sweep", "--grid", "msc_homing_max", "--points", "1000000000"), id="sweep-points-1e9"),
    pytest.param(
        ("sweep", *("--grid", "msc_homing_max", "--grid", "msc_joint_loss", "--grid", "msc_lung_clearance"))
        + ("--points", "208"),  # 208**3 = 9.0 million
        id="sweep-9-million-points",
    ),
    pytest.param(
        ("sensitivity", "--params", "msc_homing_max", "--samples", "1000000000"), id="sensitivity-samples-1e9"
    ),
    pytest.param(
        ("sweep", "--grid", "msc_homing_max=0.01,0.02", "--patients", "10000000000"), id="sweep-patients-1e10"
    ),
    pytest.param(("run", "nobody.toml", "--patients", "2"), id="run-population-nobody-enters"),
]


@pytest.mark.parametrize("args", CLI_CASES)
def test_cli_refused_with_exit_2(args, tmp_path, startup):
    (tmp_path / "nobody.toml").write_text(NOBODY_TOML)
    r, seconds = rasim_capped(*args, "--out", str(tmp_path / "out"), "--quiet", cwd=tmp_path)
    assert r is not None, f"still running after {CLI_TIMEOUT:g} s"
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert lines and lines[-1].startswith("rasim: error: "), r.stderr[-2000:]
    assert sum(line.startswith("rasim: error") for line in lines) == 1, r.stderr[-2000:]
    assert seconds < startup + CLI_SECONDS, f"refused after {seconds:.1f} s (start-up {startup:.1f} s)"
