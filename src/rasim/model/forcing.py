"""The forcing vector: each registered drug's exposure, in closed form, and its actions on
the rate laws.

Every drug of ``rasim.drugs`` with a PK table has one slot ``k`` of the forcing vector
``u`` (``FORCINGS``, registration order: MTX polyglutamates are ``u[0]``).  A slot's PK
family (``FAMILIES``) computes it from the doses into the drug's depots:

* ``mtx_chain``: the MTX chain gut -> plasma -> polyglutamates (``pk.py``);
* ``effect_rate``: daily doses as a rate through an effect compartment (``pk_rate.py``);
* ``sc_one_compartment``: a subcutaneous antibody with a clearance that may rise (``pk_sc.py``).

``args`` layout (``rasim.model.args``): the parameters, then ``N_FORCINGS`` slots holding
each forcing's table offset (-1: the drug is not given, its forcing is 0), then
``2 * N_FORCINGS`` scratch slots for ``u`` and ``du/dt`` (``U_START``, ``DU_START``), the day
they hold (``T_EVALUATED``), then the tables.  ``evaluate`` writes the scratch slots and the
rate laws read them from ``args`` itself (the forcing vector is ``args[U_START:DU_START]``; no
array view is made per call).

A drug acts on the rate laws at a ``HOOKS`` point through an Emax factor of its forcing
(``drugs.base.Effect``): ``drug_factor(p, u, hook)`` is the product of the factors acting
at ``hook`` (1 when no drug given acts there), and the equations multiply the hook's rate
by it.  The generated Jacobian treats each hook's factor as an opaque F_h, computed here at
run time with its time derivative (``drug_factor_rate``), so it holds no drug.  ``OBSERVED_HOOKS`` act on what a visit reads instead (``observed_factor``, from the
exposures at the visits, ``exposures``).  Adding a drug adds table entries, not code.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .. import _cache
from ..drugs import PACKAGED
from ..drugs import base as drugs
from . import pk, pk_rate, pk_sc
from .parameters import N_PARAMS, PINDEX

FAMILIES = ("mtx_chain", "effect_rate", "sc_one_compartment")
MTX_CHAIN, EFFECT_RATE, SC_ONE_COMPARTMENT = range(len(FAMILIES))
FAMILY_PARAMS = {"mtx_chain": 0, "effect_rate": 1, "sc_one_compartment": 5}  # parameters each family reads
HOOKS = (
    "t_activation",  # antigen-driven activation of effector T cells
    "m_activation",  # activation of synovial macrophages (M1)
    "cytokine_production",  # TNF and IL-6 production by macrophages, fibroblasts and T cells
    "tnf_clearance",  # removal of TNF (neutralised by an antibody)
    "nociception",  # observed, not a rate: the tenderness, pain and patient global synovitis causes
)
H_T_ACTIVATION, H_M_ACTIVATION, H_CYTOKINE_PRODUCTION, H_TNF_CLEARANCE, H_NOCICEPTION = range(len(HOOKS))
OBSERVED_HOOKS = (H_NOCICEPTION,)  # read by ``rasim.model.observables`` at the visits, not by the rate laws

if (len(drugs.FORCINGS), len(drugs.EFFECTS)) != PACKAGED:  # drugs registered from outside the package
    _cache.extend_key(repr((drugs.FORCINGS, drugs.EFFECTS)))
FORCINGS = tuple(sorted(drugs.FORCINGS, key=lambda f: f.family != "mtx_chain"))  # MTX first, whatever the import order
NAMES = tuple(f.name for f in FORCINGS)
N_FORCINGS = len(FORCINGS)
DIRECTORY = N_PARAMS  # args[DIRECTORY + k]: offset of forcing k's table, -1 if absent
U_START = N_PARAMS + N_FORCINGS  # args[U_START + k] = u[k]
DU_START = U_START + N_FORCINGS  # args[DU_START + k] = du[k]/dt
T_EVALUATED = DU_START + N_FORCINGS  # args[T_EVALUATED]: the day u and du were last evaluated at (NaN: none)
TABLES_START = T_EVALUATED + 1


def _family(f: drugs.Forcing) -> int:
    if f.family not in FAMILIES:
        raise ValueError(f"forcing {f.name!r}: unknown PK family {f.family!r}; families: {', '.join(FAMILIES)}")
    if len(f.params) != FAMILY_PARAMS[f.family]:
        raise ValueError(f"forcing {f.name!r}: family {f.family} reads {FAMILY_PARAMS[f.family]} parameters")
    return FAMILIES.index(f.family)


def _effect_rows() -> tuple[np.ndarray, np.ndarray]:
    """(rows, starts): effects sorted by hook as (args index of the forcing, emax index, ec50
    index, sign) rows; the rows of hook h are ``starts[h]:starts[h + 1]``."""
    for e in drugs.EFFECTS:
        if e.hook not in HOOKS:
            raise ValueError(f"effect of {e.forcing!r}: unknown hook {e.hook!r}; hooks: {', '.join(HOOKS)}")
        if e.sign not in (-1, 1):
            raise ValueError(f"effect of {e.forcing!r} at {e.hook}: sign must be -1 or +1")
    ordered = sorted(drugs.EFFECTS, key=lambda e: HOOKS.index(e.hook))
    rows = np.array(
        [(U_START + NAMES.index(e.forcing), PINDEX[e.emax], PINDEX[e.ec50], e.sign) for e in ordered], dtype=np.int64
    ).reshape(-1, 4)
    counts = [sum(e.hook == h for e in ordered) for h in HOOKS]
    return rows, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


FAMILY = np.array([_family(f) for f in FORCINGS], dtype=np.int64)
_WIDEST = max(FAMILY_PARAMS.values())
PARAMS = np.array([[PINDEX[n] for n in f.params] + [-1] * (_WIDEST - len(f.params)) for f in FORCINGS], dtype=np.int64)
SLOT_OF_DEPOT = np.full(max(drugs.TABLE_DEPOTS | set(drugs.BOLUSES), default=0) + 1, -1, dtype=np.int64)
for _k, _f in enumerate(FORCINGS):
    SLOT_OF_DEPOT[list(_f.depots)] = _k
EFFECT_ROWS, HOOK_STARTS = _effect_rows()
MTX_SLOTS, RATE_SLOTS, SC_SLOTS = (tuple(int(k) for k in np.flatnonzero(FAMILY == f)) for f in range(len(FAMILIES)))
drugs.FROZEN = True
NO_DRUGS = np.zeros(TABLES_START)  # ``u`` for the rate laws without any drug (read at U_START ...)
assert FAMILY[0] == MTX_CHAIN, "MTX is the first forcing (the day-0 background's constant table)"


@register_jitable
def drug_factor(p, u, hook):
    """Product of the drugs' Emax factors at ``hook`` (dimensionless; 1 without drugs); ``u``
    holds the forcings at ``U_START`` .. (``args`` itself in the compiled model)."""
    f = 1.0
    for j in range(HOOK_STARTS[hook], HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = EFFECT_ROWS[j, 0], EFFECT_ROWS[j, 1], EFFECT_ROWS[j, 2], EFFECT_ROWS[j, 3]
        if u[slot] != 0.0:  # a drug not given: its factor is exactly 1
            f = f * (1.0 + sign * p[emax] * (u[slot] / (u[slot] + p[ec50])))
    return f


@register_jitable
def drug_factor_rate(p, u, hook):
    """d/dt of ``drug_factor`` at ``hook`` (1/day): the product rule over its drugs, each
    forcing's du/dt read ``N_FORCINGS`` slots after it; 0 when no drug acting there is given."""
    f, rate = 1.0, 0.0
    for j in range(HOOK_STARTS[hook], HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = EFFECT_ROWS[j, 0], EFFECT_ROWS[j, 1], EFFECT_ROWS[j, 2], EFFECT_ROWS[j, 3]
        x, dx = u[slot], u[slot + N_FORCINGS]
        if x != 0.0 or dx != 0.0:
            c = p[ec50]
            term = 1.0 + sign * p[emax] * (x / (x + c))
            rate = rate * term + f * sign * p[emax] * c / ((x + c) * (x + c)) * dx
            f = f * term
    return rate


def observed_factor(p: np.ndarray, u: np.ndarray, hook: int) -> np.ndarray | float:
    """``drug_factor`` for exposures ``u`` (..., N_FORCINGS) and parameters ``p`` (one vector,
    or one per leading index of ``u``); 1.0 when no drug acting at ``hook`` is given."""
    f: np.ndarray | float = 1.0
    p = np.asarray(p)
    for j in range(HOOK_STARTS[hook], HOOK_STARTS[hook + 1]):
        slot, emax, ec50, sign = EFFECT_ROWS[j]
        x = u[..., slot - U_START]
        pe, pk50 = p[..., emax], p[..., ec50]
        if p.ndim > 1:  # one parameter vector per leading index: broadcast over the rest
            pe, pk50 = (v.reshape(v.shape + (1,) * (x.ndim - v.ndim)) for v in (pe, pk50))
        f = f * (1.0 + sign * pe * (x / (x + pk50)))
    return f


def observed_slots() -> np.ndarray:
    """Forcing slots with an effect at an observed hook."""
    rows = [EFFECT_ROWS[j, 0] - U_START for h in OBSERVED_HOOKS for j in range(HOOK_STARTS[h], HOOK_STARTS[h + 1])]
    return np.unique(np.array(rows, dtype=np.int64))


@njit(cache=True, error_model="numpy", inline="always")
def exposures_at(args, t_out, out):
    """Every forcing at the days ``t_out`` (m,) into ``out`` (m, N_FORCINGS)."""
    for j in range(t_out.shape[0]):
        evaluate(t_out[j], args)
        for k in range(N_FORCINGS):
            out[j, k] = args[U_START + k]


@njit(cache=True, error_model="numpy")
def evaluate(t, args):
    """Write u(t) and du/dt into their scratch slots of ``args`` (``U_START``, ``DU_START``;
    a drug not given keeps its zeros from ``write_tables``); nothing to do when they hold ``t``'s
    already (the solver evaluates the right-hand side, Jacobian and df/dt at one time)."""
    if t == args[T_EVALUATED]:
        return
    args[T_EVALUATED] = t
    for k in MTX_SLOTS:
        h = int(args[DIRECTORY + k])
        if h >= 0:
            args[U_START + k], args[DU_START + k] = pk.polyglutamate(t, args, h)
    for k in RATE_SLOTS:
        h = int(args[DIRECTORY + k])
        if h >= 0:
            args[U_START + k], args[DU_START + k] = pk_rate.exposure(t, args, h)
    for k in SC_SLOTS:
        h = int(args[DIRECTORY + k])
        if h >= 0:
            args[U_START + k], args[DU_START + k] = pk_sc.concentration(t, args, h)


def at(t: float, args: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, du/dt) at day ``t`` as copies (for Python callers)."""
    evaluate(float(t), args)
    return args[U_START:DU_START].copy(), args[DU_START:TABLES_START].copy()


def table_offset(args: np.ndarray, name: str) -> int:
    """Offset in ``args`` of forcing ``name``'s table (-1: that drug is not given)."""
    return int(args[DIRECTORY + NAMES.index(name)])


@njit(cache=True, error_model="numpy", inline="always")
def tables_size(dose_depot):
    """Slots of every forcing's table for doses into ``dose_depot`` (depot codes)."""
    size = 0
    for k in range(N_FORCINGS):
        m = 0
        for d in dose_depot:
            m += SLOT_OF_DEPOT[d] == k
        if m == 0:
            continue
        if FAMILY[k] == MTX_CHAIN:
            size += pk.table_size(m)
        elif FAMILY[k] == EFFECT_RATE:
            size += pk_rate.table_size(m)
        else:
            size += pk_sc.table_size(m)
    return size


@njit(cache=True, error_model="numpy", inline="always")
def write_tables(args, dose_t, dose_depot, dose_amount):
    """Fill the directory and tables of ``args`` (parameters already in place) from the
    sorted doses: times (days), depot codes, amounts (mg; mg/day changes for a rate family)."""
    args[T_EVALUATED] = np.nan
    h = np.int64(TABLES_START)  # not a literal: one compiled specialisation of each table writer
    for k in range(N_FORCINGS):
        mine = np.empty(dose_depot.shape[0], dtype=np.bool_)  # a loop: a comprehension compiles slower
        m = 0
        for j in range(dose_depot.shape[0]):
            mine[j] = SLOT_OF_DEPOT[dose_depot[j]] == k
            m += mine[j]
        if m == 0:
            args[DIRECTORY + k] = -1.0
            continue
        args[DIRECTORY + k] = h
        t, a, q = dose_t[mine], dose_amount[mine], PARAMS[k]
        if FAMILY[k] == MTX_CHAIN:
            pk.write_table(args, h, t, dose_depot[mine], a)
            h += pk.table_size(m)
        elif FAMILY[k] == EFFECT_RATE:
            pk_rate.write_table(args, h, args[q[0]], t, a)
            h += pk_rate.table_size(m)
        else:
            pk_sc.write_table(args, h, args[q[0]], args[q[1]], args[q[2]], args[q[3]], args[q[4]], t, a)
            h += pk_sc.table_size(m)


@njit(cache=True, error_model="numpy", inline="always")
def write_constant(args, pg):
    """Directory and table of a constant MTX polyglutamate amount ``pg`` (mg), the other
    forcings absent: the day-0 search under a background (``rasim.day0``)."""
    for k in range(N_FORCINGS):
        args[DIRECTORY + k] = -1.0
    args[T_EVALUATED] = np.nan
    args[DIRECTORY] = TABLES_START
    pk.constant_table(args, TABLES_START, pg)
