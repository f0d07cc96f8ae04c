"""The compiled model functions the solver calls: f(t, y, args, dydt), its
Jacobian and its time derivative.

``args`` is the parameter vector followed by the drugs' dose tables (see
``forcing.py``).  The Jacobian entries come from ``jacobian.py``, generated
from ``equations.rates`` by ``tools/generate_jacobian.py``.
"""

from __future__ import annotations

from numba import njit

from . import equations, jacobian
from .forcing import evaluate

rates = equations.rates


@njit(cache=True, error_model="numpy")
def rhs(t, y, args, dydt):
    """dy/dt (state units per day) at day ``t``."""
    u, _ = evaluate(t, args)
    rates(y, args, u, dydt)


@njit(cache=True, error_model="numpy")
def jac(t, y, args, out):
    """Write the nonzero entries of df/dy into ``out`` (zeroed by the caller)."""
    u, _ = evaluate(t, args)
    jacobian.jac_y(y, args, u, out)


@njit(cache=True, error_model="numpy")
def dfdt(t, y, args, out):
    """df/dt: the model is autonomous except through the drugs' forcings u(t): sum_k df/du_k du_k/dt."""
    u, du = evaluate(t, args)
    jacobian.jac_u(y, args, u, du, out)
