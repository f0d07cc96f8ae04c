"""Scenarios: a virtual trial (arms, cohort size, horizon, outputs) read from TOML.

A scenario file (see ``docs/scenarios.md``)::

    name = "trial3y"            # required; letters, digits and _ . + = - (file-name safe)
    description = "..."         # optional
    patients = 1000             # per arm, integer > 0 (default 1000)
    seed = 2026                 # integer >= 0 (default 2026)
    days = 1095                 # horizon, number > 0 (default 1095)
    observe = [0, 28, 91, 365]  # output days, increasing, within [0, days]; day 0 (the
                                # baseline visit) is added if missing
                                # (default: DEFAULT_OBSERVE days up to `days`, plus `days`)
    allow_out_of_range = false  # accept [params] outside their plausible range (a warning
                                # is written with the results)
    parameter_set = "literature"  # optional: a named parameter set (`rasim params --set`;
                                # default: the one in use): every table of it (parameters,
                                # measurement, variability, ...); [params] and [variability] apply on top

    [params]                    # parameter overrides, name = value in its plausible range
                                # (`rasim params`); fractions within [0, 1] always
    [variability]               # between-patient SD of log(parameter), name = sd >= 0

    [[populations]]             # optional: trial populations of this file (docs/scenarios.md)
    name = "mtx_ir"             # age = {mean, sd, min, max}, female, duration = {median, sd_log},
                                # seropositive, weight = {median, sd_log}, entry = {...}, background

    [[arms]]                    # one or more
    name = "msc+dmard"          # unique, file-name safe
    population = "refractory"   # a [[populations]] name or a key of rasim.cohort.POPULATIONS
    regimen = { doses = [...] } # Regimen.to_dict() form (Regimen.from_dict reads it)
    background = { doses = [...] }  # optional: running since before day 0 ({ doses = [] }: none)

    dropout = { rate = 0.1, nonresponder_factor = 3 }  # optional: withdrawal hazard (per year)
    rescue = { start = 112 }    # optional: escape from day 112 for < 20% better TJC28 and SJC28
    analysis = "nri"            # optional: observed (default), completers, nri, locf

    [[arms]]
    arm = "dmard"               # a built-in arm (rasim.cohort.ARMS); the keys above override it

Sizes are capped (``LIMITS``; each raised by an environment variable
``RASIM_MAX_<NAME>``), and doses after the horizon are refused.
A UTF-8 byte-order mark is skipped.  Every problem raises :class:`~rasim.errors.ScenarioError` before anything runs,
naming the file, the key path (``trial.toml: arms[1].regimen.doses[0].cells``,
indices from 0) and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any, NoReturn
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import tomli_w

from . import gate, model
from .gate import LIMITS  # noqa: F401  (rasim.scenario.LIMITS: the ceilings, documented here first)
from .errors import CovariateError, ParameterError, RasimError, RegimenError, ScenarioError, unknown_name
from .model import PINDEX
from .cohort.analysis import Dropout, Rescue, check_analysis
from .drugs import DRUGS
from .regimen import Regimen, after_horizon
from .lowering import COVARIATES, background_period, check_combinable, check_covariates, parameter_vector

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark some editors write: skipped
DEFAULT_OBSERVE = (0.0, 14.0, 28.0, 56.0, 91.0, 182.0, 273.0, 365.0, 548.0, 730.0, 912.0, 1095.0)
TOP_KEYS = (
    "name",
    "description",
    "patients",
    "seed",
    "days",
    "observe",
    "allow_out_of_range",
    "parameter_set",
    "params",
    "variability",
    "populations",
    "arms",
)
POPULATION_KEYS = ("name", "description", "age", "female", "duration", "seropositive", "weight", "entry", "background")
_POPULATION_TABLES = {
    "age": ("mean", "sd", "min", "max"),
    "duration": ("median", "sd_log"),
    "weight": ("median", "sd_log"),
}
ENTRY_KEYS = ("das28_min", "das28_max", "tjc_min", "sjc_min", "esr_min", "crp_min", "acute_phase")
ARM_KEYS = ("name", "arm", "population", "regimen", "background", "dropout", "rescue", "analysis")
DROPOUT_KEYS = ("rate", "nonresponder_factor")
RESCUE_KEYS = ("start", "until", "improvement", "short_in")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*\Z")
_NAME_RULE = "a name of letters, digits and _ . + = - (starting with a letter or digit)"


@dataclass(frozen=True)
class ScenarioArm:
    """One arm: a population of patients under a regimen (and a background regimen); how
    patients leave it and the analysis rule of its summaries (``rasim.cohort.analysis``)."""

    name: str
    population: str
    regimen: Regimen
    background: Regimen | None = None
    dropout: Dropout | None = None
    rescue: Rescue | None = None
    analysis: str = "observed"

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "population": self.population, "regimen": self.regimen.to_dict()}
        if self.background is not None:
            d["background"] = self.background.to_dict()
        if self.dropout is not None:
            d["dropout"] = dataclasses.asdict(self.dropout)
        if self.rescue is not None:
            d["rescue"] = {k: v for k, v in dataclasses.asdict(self.rescue).items() if v != math.inf}
        if self.analysis != "observed":
            d["analysis"] = self.analysis
        return d


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build with :func:`load` or :meth:`from_dict`."""

    name: str
    arms: tuple[ScenarioArm, ...]
    description: str = ""
    patients: int = 1000
    seed: int = 2026
    days: float = 1095.0
    observe: tuple[float, ...] = DEFAULT_OBSERVE
    params: dict[str, float] = field(default_factory=dict)
    variability: dict[str, float] = field(default_factory=dict)
    allow_out_of_range: bool = False
    source: str = field(default="<dict>", compare=False, repr=False)
    populations: tuple = ()  # the file's own ``Population`` s
    parameter_set: str | None = None  # a name of ``rasim.parameter_sets()``; None: the set in use

    def parameter_identity(self) -> dict[str, str]:
        """The parameter set the arms are simulated with: its name and fingerprint."""
        s = model.sets.parameter_set(self.parameter_set or model.SET_NAME)
        return {"parameter_set": s.name, "parameter_fingerprint": s.fingerprint}

    def cohort_overrides(self) -> dict[str, dict[str, float]]:
        """The arms' ``Cohort`` keywords params, measurement, variability and covariate_effects:
        the parameter set's values that differ from the set in use, with [params] and
        [variability] applied on top."""
        tables = model.sets.parameter_set(self.parameter_set or model.SET_NAME).cohort_overrides()
        tables["params"].update(self.params)
        tables["variability"].update(self.variability)
        return tables

    def cohort(self, a: ScenarioArm, chunk_size: int = 2000):
        """The ``Cohort`` of arm ``a`` (one of ``arms``), ``chunk_size`` patients per chunk."""
        import warnings

        from .cohort import Arm, Cohort
        from .errors import RasimWarning

        with warnings.catch_warnings():  # the scenario's own warnings already name doses after the horizon
            warnings.simplefilter("ignore", RasimWarning)
            pop = self.population(a.population)
            arm = Arm(a.name, pop, a.regimen, a.background, dropout=a.dropout, rescue=a.rescue, analysis=a.analysis)
            kw: dict[str, Any] = {"patients": self.patients, "seed": self.seed, "observe": self.observe}
            kw.update(self.cohort_overrides())
            return Cohort(arm, chunk_size=chunk_size, **kw)

    def population(self, name: str):
        """The ``Population`` ``name``: the file's own, else a built-in one."""
        own = {p.name: p for p in self.populations}
        return own[name] if name in own else catalog()[1][name]

    @classmethod
    def from_dict(cls, d: Mapping, source: str = "<dict>") -> Scenario:
        """Scenario from parsed TOML (or the same dict); ScenarioError names `source`."""
        return _Reader(source).scenario(d)

    def to_dict(self) -> dict:
        """Plain dict in file form (every arm written out); from_dict inverts it."""
        d: dict[str, Any] = {"name": self.name}
        if self.description:
            d["description"] = self.description
        d.update(patients=self.patients, seed=self.seed, days=self.days, observe=list(self.observe))
        if self.allow_out_of_range:
            d["allow_out_of_range"] = True
        if self.parameter_set is not None:
            d["parameter_set"] = self.parameter_set
        d.update(params=dict(self.params), variability=dict(self.variability))
        if self.populations:
            d["populations"] = [population_to_dict(p) for p in self.populations]
        d["arms"] = [a.to_dict() for a in self.arms]
        return d

    def to_toml(self) -> str:
        """TOML text of :meth:`to_dict`; ``load`` of it gives an equal Scenario."""
        return tomli_w.dumps(self.to_dict())

    def warnings(self) -> list[str]:
        """What the results should carry: parameters used outside their plausible range
        (``allow_out_of_range``) and MTX titration steps after the horizon."""
        from .model.parameters import out_of_range

        out = [f"{w} (allow_out_of_range)" for w in out_of_range(self.params)]
        return out + [f"arm {a.name}: {note}" for a in self.arms for note in after_horizon(a.regimen, self.days)[1]]

    def replace(self, source: str | None = None, **changes) -> Scenario:
        """A revalidated copy with top-level keys changed (``days`` alone also trims ``observe``)."""
        d = self.to_dict()
        if "days" in changes and "observe" not in changes:
            changes["observe"] = _default_observe(float(changes["days"]), self.observe)
        d.update(changes)
        return Scenario.from_dict(d, source or self.source)


def population_to_dict(p) -> dict:
    """A ``Population`` as its ``[[populations]]`` table (``_Reader.population_table`` reads it)."""
    entry = {k: getattr(p.entry, k) for k in ENTRY_KEYS}
    if not math.isfinite(entry["das28_max"]):
        del entry["das28_max"]
    d = {"name": p.name}
    if p.description:
        d["description"] = p.description
    d.update(
        age=dict(zip(_POPULATION_TABLES["age"], p.age)),
        female=p.female,
        duration=dict(zip(_POPULATION_TABLES["duration"], p.duration)),
        seropositive=p.seropositive,
        weight=dict(zip(_POPULATION_TABLES["weight"], p.weight)),
        entry=entry,
    )
    if p.background is not None:
        d["background"] = p.background.to_dict()
    return d


def builtin_names() -> list[str]:
    """Names of the scenarios shipped in ``rasim/scenarios``."""
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def builtin_description(name: str) -> str:
    """The description of a built-in scenario, read without validating it."""
    with _builtin_dir().joinpath(f"{name}.toml").open("rb") as f:
        return tomllib.load(f).get("description", "")


def load(scenario: str | Path, allow_out_of_range: bool = False) -> Scenario:
    """A scenario from a TOML file path or a built-in name (see :func:`builtin_names`);
    ``allow_out_of_range`` sets that key (``rasim run --unsafe-params``)."""
    text = str(scenario)
    if isinstance(scenario, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path, source = Path(scenario), text
    elif text in builtin_names():
        path, source = _builtin_dir().joinpath(f"{text}.toml"), f"{text}.toml"
    else:
        raise ScenarioError(
            unknown_name("scenario", text, builtin_names(), "`rasim scenarios`") + " Or give the path of a .toml file."
        )
    try:
        data = tomllib.loads(path.read_bytes().removeprefix(BOM).decode("utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such scenario file") from None
    except OSError as e:
        raise ScenarioError(f"{source}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: arrays or tables nested too deeply to be a scenario") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(
            f"{source}: not UTF-8 text (TOML files are UTF-8): byte {e.start} cannot be decoded"
        ) from None
    if allow_out_of_range:
        data["allow_out_of_range"] = True
    return Scenario.from_dict(data, source)


def catalog() -> tuple[Mapping, Mapping]:
    """(ARMS, POPULATIONS) of ``rasim.cohort``: the built-in arms and populations."""
    from rasim.cohort import ARMS, POPULATIONS  # the cohort layer imports this module's users

    return ARMS, POPULATIONS


def _builtin_dir():
    return resources.files("rasim").joinpath("scenarios")


def _default_observe(days: float, base=DEFAULT_OBSERVE) -> list[float]:
    """The days of `base` up to `days`, plus `days` itself."""
    return [t for t in base if t < days] + [days]


class _Reader:
    """Validation of a scenario dict; every error names the file and key path."""

    def __init__(self, source: str):
        self.source = source
        self.own: dict[str, Any] = {}  # the file's own populations, by name

    def fail(self, path: str, message: str) -> NoReturn:
        raise ScenarioError(f"{self.source}: {path}: {message}")

    # -- typed values --------------------------------------------------------
    def table(self, v, path: str, keys: tuple[str, ...] | None, required=()) -> Mapping:
        if not isinstance(v, Mapping):
            self.fail(path, f"expected a table, got {gate.got(v)}")
        for k in v:
            if keys is not None and k not in keys:
                self.fail(_join(path, k), unknown_name("key", str(k), keys) + f" Valid keys: {', '.join(keys)}.")
        for k in required:
            if k not in v:
                self.fail(_join(path, k), "required key is missing")
        return v

    def string(self, v, path: str, name: bool = False) -> str:
        self.gate(gate.text, path, v)
        if name and not _NAME.match(v):
            self.fail(path, f"expected {_NAME_RULE}, got {v!r}")
        return v

    def gate(self, check, path: str, v, *args, **kw):
        """``check(path, v, ...)`` of ``rasim.gate``, its refusal naming the file."""
        try:
            return check(path, v, *args, **kw)
        except RasimError as e:
            raise ScenarioError(f"{self.source}: {e}") from None

    def integer(self, v, path: str, low: int) -> int:
        return self.gate(gate.integer, path, v, low)

    def number(self, v, path: str, low: float = 0.0, strict: bool = False) -> float:
        return self.gate(gate.number, path, v, low, open_low=strict)

    def names(self, v, path: str) -> dict[str, float]:
        """A [params]/[variability] table: rasim parameter names -> numbers >= 0."""
        out = {}
        for k, x in self.table(v, path, None).items():
            if k not in PINDEX:
                self.fail(_join(path, k), unknown_name("parameter", str(k), PINDEX, "`rasim params`"))
            out[k] = self.number(x, _join(path, k))
        return out

    # -- scenario ------------------------------------------------------------
    def scenario(self, d) -> Scenario:
        d = self.table(d, "(top level)", TOP_KEYS, ("name", "arms"))
        name = self.string(d["name"], "name", name=True)
        description = self.string(d.get("description", ""), "description")
        patients = self.limit("patients", self.integer(d.get("patients", 1000), "patients", 1))
        seed = self.integer(d.get("seed", 2026), "seed", 0)
        days = self.limit("days", self.number(d.get("days", 1095.0), "days", strict=True))
        observe = self.observe(d.get("observe", None), days)
        allow = self.boolean(d.get("allow_out_of_range", False), "allow_out_of_range")
        parameter_set = self.parameter_set(d.get("parameter_set", None))
        params = self.params(d.get("params", {}), allow)
        variability = self.names(d.get("variability", {}), "variability")
        populations = self.populations(d.get("populations", []))
        self.own = {p.name: p for p in populations}
        if not isinstance(d["arms"], (list, tuple)) or not d["arms"]:
            self.fail("arms", f"expected one or more [[arms]] tables, got {gate.got(d['arms'])}")
        self.limit("arms", len(d["arms"]))
        self.limit("size", patients * len(d["arms"]) * len(observe) * days)
        arms = tuple(self.arm(a, f"arms[{i}]", days, observe) for i, a in enumerate(d["arms"]))
        seen: dict[str, int] = {}
        for i, arm in enumerate(arms):
            if arm.name in seen:
                self.fail(f"arms[{i}].name", f"duplicate arm name {arm.name!r} (also arms[{seen[arm.name]}])")
            seen[arm.name] = i
        return Scenario(
            name,
            arms,
            description,
            patients,
            seed,
            days,
            observe,
            params,
            variability,
            allow,
            self.source,
            populations,
            parameter_set,
        )

    def limit(self, key: str, value):
        """``value`` of ``key`` (a name of ``LIMITS``), refused above its ceiling."""
        try:
            return gate.limit(key, value, key)
        except RasimError as e:
            raise ScenarioError(f"{self.source}: {e}") from None

    def boolean(self, v, path: str) -> bool:
        if not isinstance(v, bool):
            self.fail(path, f"expected true or false, got {gate.got(v)}")
        return v

    def parameter_set(self, v) -> str | None:
        """parameter_set: a name of ``rasim.parameter_sets()`` (None: the set in use)."""
        if v is None:
            return None
        name = self.string(v, "parameter_set")
        valid = model.sets.names()
        if name not in valid:
            self.fail(
                "parameter_set", unknown_name("parameter set", name, valid) + f" Parameter sets: {', '.join(valid)}."
            )
        return name

    def params(self, v, allow: bool) -> dict[str, float]:
        """[params]: names of ``rasim params`` with values in range (unless ``allow``); a
        covariate set here is checked as a covariate."""
        out = self.names(v, "params")
        for k, x in out.items():
            try:
                check_covariates({k: x}) if k in COVARIATES else model.parameter_vector({k: x}, None, allow)
            except (CovariateError, ParameterError) as e:
                self.fail(_join("params", k), str(e))
        return out

    def observe(self, v, days: float) -> tuple[float, ...]:
        if v is None:
            return tuple(_default_observe(days))
        if not isinstance(v, (list, tuple)):
            self.fail("observe", f"expected a list of days, got {gate.got(v)}")
        out = tuple(self.gate(gate.days, "observe", v, days).tolist())
        return out if out[0] == 0.0 else (0.0, *out)  # day 0: the baseline visit

    # -- populations ---------------------------------------------------------
    def populations(self, v) -> tuple:
        if not isinstance(v, (list, tuple)):
            self.fail("populations", f"expected [[populations]] tables, got {gate.got(v)}")
        out: list = []
        seen: dict[str, int] = {}
        builtin = catalog()[1]
        for i, d in enumerate(v):
            p = self.population_table(d, f"populations[{i}]")
            if p.name in builtin:
                self.fail(f"populations[{i}].name", f"{p.name!r} is a built-in population; give yours another name")
            if p.name in seen:
                self.fail(
                    f"populations[{i}].name", f"duplicate population name {p.name!r} (also populations[{seen[p.name]}])"
                )
            seen[p.name] = i
            out.append(p)
        return tuple(out)

    def population_table(self, d, path: str):
        """A ``Population`` from its table; errors name the key."""
        from .cohort import Entry, Population

        d = self.table(d, path, POPULATION_KEYS, ("name", "age", "female", "duration", "seropositive"))
        kw: dict[str, Any] = {
            "name": self.string(d["name"], f"{path}.name", name=True),
            "description": self.string(d.get("description", ""), f"{path}.description"),
        }
        for key, keys in _POPULATION_TABLES.items():
            if key in d:
                t = self.table(d[key], f"{path}.{key}", keys, keys)
                kw[key] = tuple(self.real(t[k], f"{path}.{key}.{k}") for k in keys)
        for key in ("female", "seropositive"):
            kw[key] = self.real(d[key], f"{path}.{key}")
        entry = dict(self.table(d.get("entry", {}), f"{path}.entry", ENTRY_KEYS))
        for k, x in entry.items():
            entry[k] = (
                self.string(x, f"{path}.entry.{k}")
                if k == "acute_phase"
                else self.integer(x, f"{path}.entry.{k}", 0)
                if k in ("tjc_min", "sjc_min")
                else self.real(x, f"{path}.entry.{k}")
            )
        try:
            kw["entry"] = Entry(**entry)
        except RasimError as e:
            self.fail(_at(f"{path}.entry", str(e), entry), str(e))
        if "background" in d:
            kw["background"] = self.regimen(d["background"], f"{path}.background")
            try:
                kw["background"] and background_period(kw["background"])
            except RasimError as e:
                self.fail(f"{path}.background", str(e))
        try:
            return Population(**kw)
        except RasimError as e:
            self.fail(_at(path, str(e), d), str(e))

    def real(self, v, path: str) -> float:
        return self.gate(gate.number, path, v)

    # -- arms ----------------------------------------------------------------
    def arm(self, d, path: str, days: float, observe: tuple[float, ...]) -> ScenarioArm:
        d = self.table(d, path, ARM_KEYS)
        fields_ = {}
        if "arm" in d:
            fields_ = self.builtin_arm(d["arm"], f"{path}.arm")
        else:
            self.table(d, path, ARM_KEYS, ("name", "population", "regimen"))
        if "name" in d:
            fields_["name"] = self.string(d["name"], f"{path}.name", name=True)
        if "population" in d:
            fields_["population"] = self.population(d["population"], f"{path}.population")
        if "regimen" in d:
            fields_["regimen"] = self.regimen(d["regimen"], f"{path}.regimen")
        if "background" in d:
            fields_["background"] = self.regimen(d["background"], f"{path}.background") or None
        elif "arm" not in d and fields_["population"] in self.own:  # on the population's history
            fields_["background"] = self.own[fields_["population"]].background or None
        if "dropout" in d:
            fields_["dropout"] = self.conduct(Dropout, d["dropout"], f"{path}.dropout", DROPOUT_KEYS, ("rate",))
        if "rescue" in d:
            fields_["rescue"] = self.conduct(Rescue, d["rescue"], f"{path}.rescue", RESCUE_KEYS, ("start",))
        if "analysis" in d:
            fields_["analysis"] = self.analysis(d["analysis"], f"{path}.analysis")
        arm = ScenarioArm(**fields_)
        self.check_arm(arm, path, d, observe)
        late = after_horizon(arm.regimen, days)[0]
        if late:
            where = f"{path}.regimen" if "regimen" in d else f"{path}.arm"
            self.fail(
                where, f"{late[0]} is after the horizon days = {days:g} and would not be given; drop it or raise days"
            )
        return arm

    def builtin_arm(self, v, path: str) -> dict:
        arms = catalog()[0]
        name = self.string(v, path)
        if name not in arms:
            self.fail(path, unknown_name("built-in arm", name, arms) + f" Built-in arms: {', '.join(arms)}.")
        a = arms[name]
        return {
            "name": a.name,
            "population": a.population,
            "regimen": a.regimen,
            "background": a.background or None,
            "dropout": a.dropout,
            "rescue": a.rescue,
            "analysis": a.analysis,
        }

    def conduct(self, kind, v, path: str, keys: tuple[str, ...], required: tuple[str, ...]):
        """A ``Dropout`` or ``Rescue`` from its table (numbers; ``short_in`` a string)."""
        d = self.table(v, path, keys, required)
        kw = {
            k: self.string(x, _join(path, k)) if k == "short_in" else self.real(x, _join(path, k)) for k, x in d.items()
        }
        try:
            return kind(**kw)
        except RasimError as e:
            self.fail(_at(path, str(e), d), str(e))

    def analysis(self, v, path: str) -> str:
        """An analysis rule (``rasim.cohort.analysis.ANALYSES``)."""
        rule = self.string(v, path)
        try:
            return check_analysis(rule)
        except RasimError as e:
            self.fail(path, str(e))

    def population(self, v, path: str) -> str:
        pops = [*self.own, *catalog()[1]]
        name = self.string(v, path)
        if name not in pops:
            self.fail(path, unknown_name("population", name, pops) + f" Populations: {', '.join(pops)}.")
        return name

    def regimen(self, v, path: str) -> Regimen:
        """A Regimen from its to_dict form; a bad dose is blamed on its field."""
        v = self.table(v, path, ("doses",), ("doses",))
        doses = v["doses"]
        if not isinstance(doses, (list, tuple)):
            self.fail(f"{path}.doses", f"expected a list of dose tables, got {gate.got(doses)}")
        for i, dose in enumerate(doses):
            self.dose(dose, f"{path}.doses[{i}]")
        try:
            return Regimen.from_dict(v)
        except (TypeError, ValueError) as e:  # RegimenError is a ValueError
            self.fail(f"{path}.doses", str(e))

    def dose(self, d, path: str) -> None:
        d = self.table(d, path, None, ("drug",))
        drug = self.string(d["drug"], f"{path}.drug")
        if drug not in DRUGS:
            self.fail(f"{path}.drug", unknown_name("drug", drug, DRUGS) + f" Drugs: {', '.join(DRUGS)}.")
        keys = tuple(f.name for f in dataclasses.fields(DRUGS[drug]))
        required = tuple(f.name for f in dataclasses.fields(DRUGS[drug]) if f.default is dataclasses.MISSING)
        self.table(d, path, ("drug", *keys), required)
        try:
            Regimen.from_dict({"doses": [d]})
        except RegimenError as e:  # blamed on the field the dose's check names
            self.fail(_join(path, e.key) if e.key else path, str(e))

    def check_arm(self, arm: ScenarioArm, path: str, d: Mapping, observe: tuple[float, ...]) -> None:
        """The regimen/background checks simulate makes and the rescue's visits (some day of
        ``observe`` in its window), blamed on the key that set them."""

        def blame(*keys):  # the first of `keys` the arm table sets, else its built-in `arm`
            return next((f"{path}.{k}" for k in keys if k in d), f"{path}.arm")

        def period() -> None:
            if arm.background:
                background_period(arm.background)

        def combinable() -> None:
            if arm.background:
                check_combinable(arm.regimen, arm.background)

        def visits() -> None:
            if arm.rescue:
                arm.rescue.check_visits(observe)

        checks = [
            (lambda: parameter_vector(arm.regimen, None, None), blame("regimen")),
            (period, blame("background")),
            (combinable, blame("background", "regimen")),
            (visits, blame("rescue")),
        ]
        for check, where in checks:
            try:
                check()
            except RasimError as e:
                self.fail(where, str(e))


def _at(path: str, message: str, keys) -> str:
    """``path``.key for the key of ``keys`` that ``message`` names first (else ``path``)."""
    found = [(m.start(), k) for k in keys if (m := re.search(rf"\b{k}\b", message))]
    return f"{path}.{min(found)[1]}" if found else path


def _join(path: str, key) -> str:
    key = key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]+(\[\d+\])?", key) else repr(key)
    return key if path == "(top level)" else f"{path}.{key}"
