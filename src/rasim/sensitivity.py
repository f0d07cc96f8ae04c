"""Global sensitivity of a typical patient's endpoint to model parameters (SALib).

    morris(["msc_homing_max", "msc_k_immune", "mtx_ec50"])   # screening: mu*, sigma
    sobol(["msc_homing_max", "msc_k_immune", "mtx_ec50"])    # variance shares: S1, ST

Each parameter is drawn uniformly over its plausible range
(``rasim.parameter(name).low/high``, or ``bounds``), on a log scale when the
lower bound is > 0.  The model is the arm's typical patient (as in
:mod:`rasim.sweep`: on an MTX background, one whose disease stays active on
it), from day 0 under the arm's regimen.  Samples without
an active disease state (or a failed solve) are counted in ``failed``;
up to ``max_failed`` of them are replaced by the mean of the others (with a
warning), more raise.  Sampling and estimators are SALib's
(``pip install rasim[sensitivity]``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import gate, plots
from .cohort import Arm
from .cohort import arm as builtin_arm
from .errors import RasimError
from .model import parameter
from .sweep import SECONDS_PER_TYPICAL, _check_endpoint, endpoint_unit, screened_on, typical_patient, typical_value

SOBOL_CONF = 0.1  # widest 95% interval (+/-) of a Sobol index worth ranking on
log = logging.getLogger(__name__)  # the cost estimate of a large analysis (INFO)


@dataclass
class SensitivityResult:
    """Indices per parameter (``indices[key]`` arrays in ``params`` order), samples and outputs."""

    method: str  # "morris" or "sobol"
    params: tuple[str, ...]
    bounds: dict[str, tuple[float, float, str]]  # name -> (low, high, "log" or "linear")
    endpoint: str
    day: float
    arm: str
    indices: dict[str, np.ndarray]  # morris: mu, mu_star, sigma, mu_star_conf; sobol: S1, S1_conf, ST, ST_conf
    X: np.ndarray  # (samples, params) parameter values
    Y: np.ndarray  # (samples,) endpoint, NaN where failed
    failed: int

    @property
    def rows(self) -> list[dict]:
        return [
            {
                "param": p,
                "low": self.bounds[p][0],
                "high": self.bounds[p][1],
                "scale": self.bounds[p][2],
                **{k: float(v[i]) for k, v in self.indices.items()},
            }
            for i, p in enumerate(self.params)
        ]

    def to_frame(self):
        """pandas DataFrame: one row per parameter with its bounds and indices."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def plot(self, path) -> Path:
        """Tornado: mu* (Morris) or S1 with ST (Sobol), with confidence bars."""
        from .output import version

        title = (
            f"{self.method.title()}: {self.endpoint} at day {self.day:g}, {self.arm} (typical patient)\n"
            f"{len(self.Y)} simulations | rasim {version()}"
        )
        if self.method == "morris":
            return plots.bars(
                self.params,
                self.indices["mu_star"],
                self.indices["mu_star_conf"],
                path,
                f"mu*: mean |elementary effect| ({endpoint_unit(self.endpoint)})",
                title,
                label="mu*",
            )
        return plots.bars(
            self.params,
            self.indices["S1"],
            self.indices["S1_conf"],
            path,
            "Sobol index (share of output variance)",
            title,
            label="S1 (first order)",
            second=("ST (total)", self.indices["ST"]),
        )


def morris(
    params: Sequence[str],
    endpoint: str = "DAS28_ESR",
    day: float = 365,
    arm: str | Arm = "msc+dmard",
    trajectories: int = 20,
    levels: int = 4,
    seed: int = 0,
    bounds: Mapping | None = None,
    max_failed: float = 0.1,
) -> SensitivityResult:
    """Morris elementary effects: ``trajectories`` * (len(params) + 1) simulations (refused
    above the ceiling ``samples`` of ``rasim.gate.LIMITS``)."""
    problem, names, spec = _problem(params, bounds)
    _check("morris", endpoint, day, trajectories, "trajectories", len(names) + 1, seed, max_failed)
    levels = gate.integer("morris: levels", levels, 2)
    sample, analyze = _salib("morris")  # after the input checks: bad input is refused without SALib too
    X = sample(problem, int(trajectories), num_levels=levels, seed=seed)
    Y, raw, failed = _evaluate(X, names, spec, endpoint, day, arm, max_failed)
    Si = analyze(problem, X, Y, num_levels=levels, seed=seed)
    keys = ("mu", "mu_star", "sigma", "mu_star_conf")
    indices = {k: np.asarray(Si[k], float) for k in keys}
    _warn_if_too_small("morris", names, indices, f"trajectories={trajectories}")
    return _result("morris", names, spec, endpoint, day, arm, indices, X, raw, failed)


def sobol(
    params: Sequence[str],
    endpoint: str = "DAS28_ESR",
    day: float = 365,
    arm: str | Arm = "msc+dmard",
    n: int = 128,
    seed: int = 0,
    bounds: Mapping | None = None,
    max_failed: float = 0.1,
) -> SensitivityResult:
    """Sobol first-order and total indices (Saltelli sampling): ``n`` * (len(params) + 2)
    simulations (refused above the ceiling ``samples`` of ``rasim.gate.LIMITS``); ``n`` a
    power of 2."""
    problem, names, spec = _problem(params, bounds)
    _check("sobol", endpoint, day, n, "n", len(names) + 2, seed, max_failed)
    sample, analyze = _salib("sobol")  # after the input checks: bad input is refused without SALib too
    X = sample(problem, int(n), calc_second_order=False, seed=seed)
    Y, raw, failed = _evaluate(X, names, spec, endpoint, day, arm, max_failed)
    Si = analyze(problem, Y, calc_second_order=False, seed=seed)
    keys = ("S1", "S1_conf", "ST", "ST_conf")
    indices = {k: np.asarray(Si[k], float) for k in keys}
    _warn_if_too_small("sobol", names, indices, f"n={n}")
    return _result("sobol", names, spec, endpoint, day, arm, indices, X, raw, failed)


# ---- helpers ----------------------------------------------------------------------------------------


def too_small(method: str, names, indices: Mapping[str, np.ndarray]) -> list[str]:
    """Why a sample is too small for its indices (empty if it is not): Sobol 95% intervals
    wider than +/-``SOBOL_CONF`` or S1 above ST beyond them; Morris mu* intervals wider than mu*."""
    if method == "sobol":
        out = []
        conf = max(np.nanmax(indices["S1_conf"]), np.nanmax(indices["ST_conf"]))
        if not conf <= SOBOL_CONF:
            out.append(f"95% intervals up to +/-{conf:.2f} (more than +/-{SOBOL_CONF:g})")
        over = [p for p, s1, st, c in zip(names, indices["S1"], indices["ST"], indices["S1_conf"]) if s1 > st + c]
        if over:
            out.append(f"S1 > ST for {', '.join(over)} (impossible: sampling error)")
        return out
    wide = [p for p, m, c in zip(names, indices["mu_star"], indices["mu_star_conf"]) if c > m]
    return [f"mu* intervals wider than mu* for {', '.join(wide)}"] if wide else []


def _warn_if_too_small(method: str, names, indices, size: str) -> None:
    reasons = too_small(method, names, indices)
    if reasons:
        more = "n (a power of 2, e.g. 1024)" if method == "sobol" else "trajectories (e.g. 50)"
        warnings.warn(
            f"{method} indices with {size} are too uncertain to rank the parameters: "
            f"{'; '.join(reasons)}; raise {more}",
            stacklevel=3,
        )


def _salib(method: str):
    try:
        if method == "morris":
            from SALib.analyze.morris import analyze
            from SALib.sample.morris import sample
        else:
            from SALib.analyze.sobol import analyze
            from SALib.sample.sobol import sample
    except ImportError:
        raise ImportError("sensitivity analysis needs SALib: pip install rasim[sensitivity]") from None
    return sample, analyze


def _problem(params, bounds) -> tuple[dict, tuple[str, ...], dict]:
    """SALib problem (log10 bounds for log-scaled parameters) and name -> (low, high, scale)."""
    if isinstance(params, str) or not params:
        raise RasimError(f"params must be a non-empty list of parameter names, got {params!r}")
    names = tuple(gate.text(f"params[{i}]", p) for i, p in enumerate(params))
    if len(set(names)) != len(names):
        raise RasimError(f"params has duplicates: {list(names)}")
    if bounds is not None and not isinstance(bounds, Mapping):
        raise RasimError(f"bounds: expected a table of name = (low, high), got {gate.got(bounds)}")
    bounds = dict(bounds or {})
    for name, pair in bounds.items():
        if name not in names:
            raise RasimError(f"bounds given for {name!r}, which is not in params {list(names)}")
        if isinstance(pair, (str, bytes, Mapping)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise RasimError(f"bounds[{name!r}]: expected (low, high), got {gate.got(pair)}")
    spec = {}
    for name in names:
        entry = parameter(name)  # raises with suggestions
        given = bounds.get(name)
        low, high = (
            (entry.low, entry.high)
            if given is None
            else (gate.number(f"bounds[{name!r}][{i}]", v) for i, v in enumerate(given))
        )
        if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
            raise RasimError(f"bounds of {name} must satisfy 0 <= low < high, got ({low:g}, {high:g})")
        spec[name] = (low, high, "log" if low > 0 else "linear")
    edges = [[math.log10(lo), math.log10(hi)] if s == "log" else [lo, hi] for lo, hi, s in spec.values()]
    return {"num_vars": len(names), "names": list(names), "bounds": edges}, names, spec


def _check(method: str, endpoint: str, day, count, what: str, per_sample: int, seed, max_failed) -> None:
    """The inputs of an analysis, and its size: ``count`` x ``per_sample`` evaluations refused
    above the ceiling ``samples``, the estimated cost (:func:`cost`) above its ceilings."""
    _check_endpoint(endpoint, 0)
    gate.limit("days", gate.number(f"{method}: day", day, 0.0, open_low=True), f"{method}: day")
    count = gate.integer(f"{method}: {what}", count, 2)
    gate.integer(f"{method}: seed", seed, 0)
    gate.number(f"{method}: max_failed", max_failed, 0.0, 1.0)
    evaluations = count * per_sample
    each = f"len(params) + {2 if method == 'sobol' else 1}"
    gate.limit("samples", evaluations, f"{method}: {what}={count} x {per_sample} ({each}) simulations")
    for line in cost(evaluations, per_sample).check(method):
        log.info(line)


def cost(evaluations: int, per_sample: int) -> gate.Cost:
    """What an analysis of ``evaluations`` typical-patient simulations will take: memory (the
    samples, fewer than ``per_sample`` values each, three copies), no disk, time on one core."""
    base = gate.cost(1, 1, 2, 1.0).memory
    return gate.Cost(base + 3 * 8.0 * evaluations * per_sample, 0.0, evaluations * SECONDS_PER_TYPICAL)


def _evaluate(X, names, spec, endpoint, day, arm, max_failed) -> tuple[np.ndarray, np.ndarray, int]:
    """(outputs with failures imputed, raw outputs (NaN = failed), failures)."""
    a = builtin_arm(arm) if isinstance(arm, str) else arm
    patient, history = typical_patient(a), screened_on(a)
    natural = _natural(X, names, spec)
    Y = np.array(
        [
            typical_value(
                a.regimen, {**patient, **dict(zip(names, map(float, x)))}, float(day), endpoint, a.background, history
            )[0]
            for x in natural
        ]
    )
    bad = ~np.isfinite(Y)
    failed = int(bad.sum())
    if failed > max_failed * len(Y) or failed == len(Y):
        raise RasimError(
            f"{failed} of {len(Y)} samples have no active disease state or failed to solve "
            f"(more than max_failed={max_failed:g}): narrow the ranges with bounds={{name: (low, high)}}"
        )
    if failed:
        warnings.warn(
            f"{failed} of {len(Y)} samples have no active disease state or failed to solve; "
            "they are replaced by the mean of the others",
            stacklevel=3,
        )
    return np.where(bad, Y[~bad].mean(), Y), Y, failed


def _natural(X: np.ndarray, names, spec) -> np.ndarray:
    """Samples in parameter units (undo the log10 of log-scaled parameters)."""
    out = np.array(X, dtype=float, copy=True)
    for j, name in enumerate(names):
        if spec[name][2] == "log":
            out[:, j] = 10.0 ** out[:, j]
    return out


def _result(method, names, spec, endpoint, day, arm, indices, X, Y, failed) -> SensitivityResult:
    name = arm if isinstance(arm, str) else arm.name
    return SensitivityResult(
        method, names, spec, endpoint, float(day), name, indices, _natural(X, names, spec), Y, failed
    )
