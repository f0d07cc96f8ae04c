"""The compiled model functions the solver calls: f(t, y, args, dydt), its
Jacobian and its time derivative.

``args`` is the parameter vector followed by the methotrexate dose table
(see ``pk.py``).  The Jacobian entries come from ``jacobian.py``, generated
from ``equations.rates`` by ``tools/generate_jacobian.py``.
"""

from __future__ import annotations

from numba import njit

from . import equations, jacobian
from .pk import polyglutamate
from .states import N_STATES

rates = equations.rates


@njit(cache=True, error_model="numpy")
def rhs(t, y, args, dydt):
    """dy/dt (state units per day) at day ``t``."""
    u, _ = polyglutamate(t, args)
    rates(y, args, u, dydt)


@njit(cache=True, error_model="numpy")
def jac(t, y, args, out):
    """Write the nonzero entries of df/dy into ``out`` (zeroed by the caller)."""
    u, _ = polyglutamate(t, args)
    jacobian.jac_y(y, args, u, out)


@njit(cache=True, error_model="numpy")
def dfdt(t, y, args, out):
    """df/dt: the model is autonomous except through the MTX forcing u(t)."""
    u, du = polyglutamate(t, args)
    jacobian.jac_u(y, args, u, out)
    for i in range(N_STATES):
        out[i] *= du
