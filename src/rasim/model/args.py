"""The solver's ``args`` vector: the one place its layout is written.

``args`` = the parameter vector (``N_PARAMS`` values, in ``PARAMETERS`` order)
followed by the forcing directory, the forcing scratch slots and each given drug's
dose table (``forcing``): either the tables of a dosing history or one constant MTX
polyglutamate amount (the mean under a long-running background).  Compiled callers fill
a preallocated array with ``write_args`` / ``write_constant_args``; Python callers use
``build_args``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import forcing

CONSTANT_SIZE = forcing.TABLES_START + 2  # args with a constant polyglutamate amount


@njit(cache=True, error_model="numpy")
def args_size(dose_depot):
    """Length of ``args`` for doses into ``dose_depot`` (depot codes)."""
    return forcing.TABLES_START + forcing.tables_size(dose_depot)


@njit(cache=True, error_model="numpy", inline="always")
def write_args(args, p, dose_t, dose_depot, dose_amount):
    """Fill ``args`` (length ``args_size(dose_depot)``): parameters ``p``, then the
    tables of the sorted doses (times in days, depot codes, amounts)."""
    args[:] = 0.0
    for k in range(p.shape[0]):  # a loop: a slice copy compiles a shape-mismatch error message
        args[k] = p[k]
    forcing.write_tables(args, dose_t, dose_depot, dose_amount)


@njit(cache=True, error_model="numpy", inline="always")
def write_constant_args(args, p, pg_mg):
    """Fill ``args`` (length ``CONSTANT_SIZE``): parameters ``p``, then a constant
    polyglutamate amount ``pg_mg`` (mg), no other drug."""
    args[:] = 0.0
    for k in range(p.shape[0]):  # a loop: a slice copy compiles a shape-mismatch error message
        args[k] = p[k]
    forcing.write_constant(args, pg_mg)


def build_args(p: np.ndarray, dose_t: np.ndarray, dose_depot: np.ndarray, dose_amount: np.ndarray) -> np.ndarray:
    """``args`` for one patient: parameters ``p`` and the table doses (days, depot codes, amounts)."""
    depot = np.ascontiguousarray(dose_depot, dtype=np.int64)
    args = np.empty(args_size(depot))
    write_args(
        args,
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(dose_t, dtype=np.float64),
        depot,
        np.ascontiguousarray(dose_amount, dtype=np.float64),
    )
    return args


def constant_args(p: np.ndarray, pg_mg: float) -> np.ndarray:
    """``args`` for one patient under a constant polyglutamate amount ``pg_mg`` (mg)."""
    args = np.empty(CONSTANT_SIZE)
    write_constant_args(args, np.ascontiguousarray(p, dtype=np.float64), float(pg_mg))
    return args


__all__ = ["CONSTANT_SIZE", "args_size", "write_args", "write_constant_args", "build_args", "constant_args"]
