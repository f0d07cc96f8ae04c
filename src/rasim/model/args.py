"""The solver's ``args`` vector: the one place its layout is written.

``args`` = the parameter vector (``N_PARAMS`` values, in ``PARAMETERS`` order)
followed by the MTX forcing table (``pk``): either the dose table of a dosing
history or one constant polyglutamate amount (the mean under a long-running
background).  Compiled callers fill a preallocated array with ``write_args`` /
``write_constant_args``; Python callers use ``build_args``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import pk
from .parameters import N_PARAMS

CONSTANT_SIZE = N_PARAMS + 2  # args with a constant polyglutamate amount


@njit(cache=True, error_model="numpy")
def args_size(n_doses):
    """Length of ``args`` for a table of ``n_doses`` MTX doses."""
    return N_PARAMS + pk.table_size(n_doses)


@njit(cache=True, error_model="numpy")
def write_args(args, p, dose_t, dose_depot, dose_mg):
    """Fill ``args`` (length ``args_size(len(dose_t))``): parameters ``p``, then the
    table of sorted MTX doses (times in days, depot codes, mg)."""
    args[:] = 0.0
    args[:N_PARAMS] = p
    pk.write_table(args, dose_t, dose_depot, dose_mg)


@njit(cache=True, error_model="numpy")
def write_constant_args(args, p, pg_mg):
    """Fill ``args`` (length ``CONSTANT_SIZE``): parameters ``p``, then a constant
    polyglutamate amount ``pg_mg`` (mg)."""
    args[:] = 0.0
    args[:N_PARAMS] = p
    pk.constant_table(args, pg_mg)


def build_args(p: np.ndarray, mtx_times: np.ndarray, mtx_depots: np.ndarray, mtx_mg: np.ndarray) -> np.ndarray:
    """``args`` for one patient: parameters ``p`` and the MTX doses (days, depot codes, mg)."""
    t = np.ascontiguousarray(mtx_times, dtype=np.float64)
    args = np.empty(args_size(len(t)))
    write_args(
        args,
        np.ascontiguousarray(p, dtype=np.float64),
        t,
        np.ascontiguousarray(mtx_depots, dtype=np.int64),
        np.ascontiguousarray(mtx_mg, dtype=np.float64),
    )
    return args


def constant_args(p: np.ndarray, pg_mg: float) -> np.ndarray:
    """``args`` for one patient under a constant polyglutamate amount ``pg_mg`` (mg)."""
    args = np.empty(CONSTANT_SIZE)
    write_constant_args(args, np.ascontiguousarray(p, dtype=np.float64), float(pg_mg))
    return args
