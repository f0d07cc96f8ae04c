"""The compiled model functions the solver calls: f(t, y, args, dydt), its
Jacobian and its time derivative.

``args`` is the parameter vector followed by the drugs' forcing slots and dose tables
(see ``forcing.py``): the rate laws read the parameters and the forcings from it.  The Jacobian entries come from ``jacobian.py``, generated
from ``equations.rates`` by ``tools/generate_jacobian.py``.

``jac`` and ``dfdt`` are inlined by Numba where a kernel calls them (two calls each): as
functions of their own, each would be compiled and optimised by LLVM once more with
``evaluate`` and the Jacobian it calls (Numba links a callee's code into every caller).
``rhs`` is not: ``rates`` is a ``register_jitable`` overload, which Numba compiles once per
caller's flags (the solver's kernel runs without reference counting, the day-0 polish with).
"""

from __future__ import annotations

from numba import njit

from . import equations, jacobian
from .forcing import evaluate

rates = equations.rates


@njit(cache=True, error_model="numpy")
def rhs(t, y, args, dydt):
    """dy/dt (state units per day) at day ``t``."""
    evaluate(t, args)
    rates(y, args, args, dydt)


@njit(cache=True, error_model="numpy", inline="always")
def jac(t, y, args, out):
    """Write the nonzero entries of df/dy into ``out`` (zeroed by the caller)."""
    evaluate(t, args)
    jacobian.jac_y(y, args, args, out)


@njit(cache=True, error_model="numpy", inline="always")
def dfdt(t, y, args, out):
    """df/dt: the model is autonomous except through the drugs' forcings u(t) (``jacobian.jac_u``)."""
    evaluate(t, args)
    jacobian.jac_u(y, args, args, out)
