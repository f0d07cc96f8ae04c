"""What every drug module shares: the checks of dose fields (each refusal a
:class:`~rasim.errors.RegimenError` naming the field it blames), the route registry
(so a drug refuses another drug's route by name) and the NONMEM-like ``DoseLine``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import RegimenError, unknown_name


@dataclass(frozen=True)
class Bolus:
    """How a depot's doses enter the model as jumps of a state: ``state`` (a name of
    ``rasim.model.STATES``) gains a dose divided by ``per_unit`` (dose units per state unit)."""

    state: str
    per_unit: float


@dataclass(frozen=True)
class Forcing:
    """A drug's exposure as the model sees it: one slot ``u[k]`` of the forcing vector, in
    ``unit``, computed in closed form from the doses into ``depots`` by a PK ``family`` of
    ``rasim.model.forcing.FAMILIES`` whose parameters are ``params`` (names of the parameter
    table, in the family's order)."""

    name: str
    unit: str
    family: str
    depots: tuple[int, ...]
    params: tuple[str, ...]
    meaning: str


@dataclass(frozen=True)
class Effect:
    """A drug's action on the model: the rate factor at ``hook`` (one of
    ``rasim.model.forcing.HOOKS``) is multiplied by 1 - emax * u / (u + ec50) (``sign`` -1,
    inhibition) or 1 + emax * u / (u + ec50) (``sign`` +1), u the exposure ``forcing``;
    ``emax`` and ``ec50`` are names of the parameter table."""

    hook: str
    forcing: str
    emax: str
    ec50: str
    sign: int = -1


ROUTE_ALIASES = {"ia": "intra_articular", "sc": "subcutaneous"}
ROUTES: dict[str, tuple[str, ...]] = {}  # drug -> its routes (each drug module registers its own)
DEPOT_OF_ROUTE: dict[tuple[str, str], int] = {}  # (drug, route) -> dosing compartment code (NONMEM CMT)
BOLUSES: dict[int, Bolus] = {}  # depot -> the state its doses jump (solver events)
TABLE_DEPOTS: set[int] = set()  # depots whose doses feed a forcing's closed-form PK table in the args
FORCINGS: list[Forcing] = []  # the forcing vector's slots, in registration order
EFFECTS: list[Effect] = []  # every drug's actions on the rate laws
FROZEN = False  # set when rasim.model.forcing has lowered FORCINGS and EFFECTS to its tables
COMEDICATION: dict[
    str, Callable[[np.ndarray, frozenset[str]], None]
] = {}  # drug -> adjusts p for the drugs given with it
PATIENT_DRAWS: dict[
    str, tuple[int, Callable[[np.ndarray, np.ndarray, frozenset[str]], None]]
] = {}  # drug -> (uniforms, draw)
DRUG_EVENTS: dict[str, tuple[str, str]] = {}  # event -> (drug, the parameter holding each patient's day of it)


def register(
    drug: str,
    depots: Mapping[str, int],
    *,
    boluses: Mapping[int, Bolus] | None = None,
    forcing: Forcing | None = None,
    effects: tuple[Effect, ...] = (),
    comedication: Callable[[np.ndarray, frozenset[str]], None] | None = None,
    patient_draw: tuple[int, Callable[[np.ndarray, np.ndarray, frozenset[str]], None]] | None = None,
    events: Mapping[str, str] | None = None,
) -> None:
    """Register ``drug``'s routes and the depot each doses into, and how the depots lower
    (``rasim.lowering``): state ``boluses``, or the closed-form PK table of its ``forcing``
    (one slot of the forcing vector), which acts on the rate laws through ``effects``.

    ``comedication(p, given)`` adjusts a parameter vector (in place) for the drugs ``given``
    with this one (e.g. MTX lowers adalimumab's clearance); ``patient_draw = (k, draw)``:
    ``draw(u, P, given)`` sets patient-level parameters of the rows of ``P`` (in place) from
    ``k`` uniforms per patient ``u`` (n, k), drawn from each patient's own stream by cohorts;
    ``events``: event name -> the parameter holding the day (from day 0) each patient has it
    while on the drug (e.g. anti-drug antibodies forming), set by ``patient_draw``; cohorts
    record it beside the adverse events (``rasim.cohort.safety``)."""
    if drug in ROUTES:
        raise ValueError(f"drug {drug!r} is registered twice")
    if FROZEN and (forcing is not None or effects):
        raise RuntimeError(
            f"drug {drug!r}: register drugs with a forcing before rasim.model is imported (its kernels bake "
            "the drug tables in)"
        )
    ROUTES[drug] = tuple(depots)
    DEPOT_OF_ROUTE.update({(drug, route): depot for route, depot in depots.items()})
    BOLUSES.update(boluses or {})
    if forcing is not None:
        TABLE_DEPOTS.update(forcing.depots)
        FORCINGS.append(forcing)
    EFFECTS.extend(effects)
    if comedication is not None:
        COMEDICATION[drug] = comedication
    if patient_draw is not None:
        PATIENT_DRAWS[drug] = patient_draw
    DRUG_EVENTS.update({event: (drug, day) for event, day in (events or {}).items()})


def real(what: str, x) -> float:
    """`x` as a finite float, or RegimenError."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise RegimenError(f"{what} must be a number, got {x!r}")
    try:
        x = float(x)
    except OverflowError:  # an integer beyond any float
        x = math.inf
    if not math.isfinite(x):
        raise RegimenError(f"{what} must be finite, got {x!r}")
    return x


def positive(what: str, x, unit: str) -> float:
    """`x` as a finite float > 0."""
    x = real(what, x)
    if x <= 0:
        raise RegimenError(f"{what} must be > 0 {unit}, got {fmt(x)}")
    return x


def as_day(what: str, x, key: bool = False) -> float:
    """`x` as a day >= 0 (a string only as a table ``key``: TOML/JSON keys are strings)."""
    if isinstance(x, str) and key:
        try:
            x = float(x)
        except ValueError:
            raise RegimenError(f"{what} must be a number of days, got {x!r}") from None
    x = real(what, x)
    if x < 0:
        raise RegimenError(f"{what} must be >= 0 days (from the simulation start), got {fmt(x)}")
    return x


def amount(what: str, x, limit: float, unit: str, why: str) -> float:
    """`x` as an amount in (0, limit] `unit`."""
    x = real(what, x)
    if not 0 < x <= limit:
        raise RegimenError(f"{what} must be > 0 and <= {limit:g} {unit} ({why}), got {fmt(x)}")
    return x


@contextmanager
def blame(key: str) -> Iterator[None]:
    """Tag a RegimenError raised inside with the dose field ``key`` it concerns (if untagged)."""
    try:
        yield
    except RegimenError as e:
        e.key = e.key or key
        raise


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def choose(kind: str, name, valid: tuple[str, ...], aliases: Mapping[str, str]) -> str:
    """Full name of `name` among `valid` (case-insensitive, aliases resolved)."""
    if not isinstance(name, str):
        raise RegimenError(f"{kind} must be a string, got {name!r}")
    key = aliases.get(_normal(name), _normal(name))
    if key not in valid:
        raise RegimenError(f"{unknown_name(kind, name, valid)} Valid {kind}s: {', '.join(valid)}.")
    return key


def choose_route(drug: str, route) -> str:
    """Route of ``drug`` (a name of ``ROUTES``); refuses another drug's routes by name."""
    own = ROUTES[drug]
    key = ROUTE_ALIASES.get(_normal(route), _normal(route)) if isinstance(route, str) else None
    for other, routes in ROUTES.items():
        if key not in own and key in routes:
            raise RegimenError(
                f"route {route!r} is an {other.upper()} route; {drug.upper()} routes are: {', '.join(own)}"
            )
    return choose(f"{drug.upper()} route", route, own, ROUTE_ALIASES)


Steps = tuple[tuple[float, float], ...]


def set_window(dose, label: str) -> None:
    """Check and normalise a schedule's ``start`` (a day >= 0) and ``until`` (None, or a day
    after ``start``) in place on the frozen record ``dose``; ``label`` names the drug ("MTX")."""
    with blame("start"):
        set_field(dose, "start", as_day(f"{label} start", dose.start))
    with blame("until"):
        if dose.until is not None:
            until = real(f"{label} `until` (days)", dose.until)
            if until <= dose.start:
                raise RegimenError(f"{label} until={fmt(until)} must be after start={fmt(dose.start)}")
            set_field(dose, "until", until)


def no_overlap(label: str, doses, advice: str) -> None:
    """Refuse two schedules of ``doses`` (records with ``start`` and ``end``) in force at once."""
    ordered = sorted(doses, key=lambda d: d.start)
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise RegimenError(
                f"{label} schedules overlap: {a!r} is still running on day {fmt(b.start)} when {b!r} starts; {advice}"
            )


def titration(label: str, dose, start: float, check: Callable[[str, object], float]) -> Steps:
    """Sorted, validated titration steps ((day, dose), ...) from a dict {day: dose} (or pairs):
    the dose in force from that day on, each checked by ``check(what, dose)``; the first step
    must be on or before ``start``.  ``label`` names the drug in messages ("MTX")."""
    try:
        pairs = [(day, x) for day, x in (dose.items() if isinstance(dose, Mapping) else dose)]
    except (TypeError, ValueError):
        raise RegimenError(f"{label} titration must be a dict {{day: mg}}, got {dose!r}") from None
    steps = sorted(
        (as_day(f"{label} titration day", day, key=True), check(f"{label} dose from day {day}", x)) for day, x in pairs
    )
    if not steps:
        raise RegimenError(f"{label} titration dict is empty: give {{day: mg, ...}}")
    for (a, _), (b, _) in zip(steps, steps[1:]):
        if a == b:
            raise RegimenError(f"{label} titration day {fmt(a)} is given twice")
    if steps[0][0] > start:
        raise RegimenError(
            f"{label} titration starts on day {fmt(steps[0][0])} but start="
            f"{fmt(start)}: no dose is defined at the first dose; "
            f"pass start={fmt(steps[0][0])}"
        )
    return tuple(steps)


def fmt(x: float) -> str:
    """Short exact text of a float: 4e+07, 120, 7.5."""
    short = f"{x:.6g}"
    return short if float(short) == x else repr(x)


def day_key(day: float) -> str:
    """TOML/JSON table key of a day: "28" or "3.5"."""
    return str(int(day)) if day.is_integer() else repr(day)


def set_field(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)  # normalise a field of a frozen dataclass


# -- dose records ------------------------------------------------------------


@dataclass(frozen=True)
class DoseLine:
    """One NONMEM-like dose record: addl + 1 doses of `amount` every `ii` days from `time`."""

    drug: str  # "msc" | "mtx"
    time: float  # day of the first dose
    amount: float  # in `unit`
    unit: str  # "mg", "cells" or "cells/kg"
    route: str
    ii: float  # interdose interval, days; 0 for a single dose
    addl: int | None  # number of additional doses; None = repeated up to the horizon
    source: str = ""  # MSC only
    donor: str = ""  # MSC only
    joints: int = 0  # injected joints; intra-articular MSC only
    dur: float = 0.0  # > 0: zero-order input over `dur` days (NONMEM DUR), `amount` a rate; inf: to the horizon

    @property
    def depot(self) -> int:
        """Dosing compartment code (NONMEM CMT), see DEPOTS."""
        return DEPOT_OF_ROUTE[(self.drug, self.route)]

    def count(self, horizon: float) -> int:
        """Doses to compute up to `horizon` (days): at most one more than are given by then."""
        if self.addl is None:
            return max(0, math.floor(min((horizon - self.time) / self.ii, 1e18)) + 2)  # inf: refused later
        return self.addl + 1

    def times(self, horizon: float) -> np.ndarray:
        """Dose days (float64) up to and including `horizon` (days)."""
        t = self.time + self.ii * np.arange(self.count(horizon), dtype=np.float64)
        return t[t <= horizon]
