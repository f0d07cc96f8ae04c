"""Shared helpers for the model / simulate / accuracy tests.

The model functions are wrapped as plain numpy callables so the tests can
hand them to scipy (finite differences, solve_ivp, optimize.root) without
going through rasim's own integrators.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import rasim
from rasim import model
from rasim.model.presets import MTX_REFRACTORY

N = model.N_STATES
# A two-arm, 12-patient scenario (a plain arm and bone-marrow MSC on MTX) for run-folder tests
TINY_SCENARIO = """
name = "tiny"
patients = 12
seed = 3
days = 91
observe = [0, 28, 91]

[[arms]]
arm = "dmard"

[[arms]]
name = "bm"
population = "refractory"
regimen.doses = [ { drug = "msc", cells = 1e6, per_kg = true, days = [0, 28], source = "bone_marrow", donor = "autologous" } ]
background.doses = [ { drug = "mtx", dose_mg = 15.0, every = 7.0 } ]
"""
NO_MTX = (np.empty(0), np.empty(0, np.int64), np.empty(0))
ROOT = Path(__file__).resolve().parents[1]


def load_script(path: Path) -> ModuleType:
    """A script outside the package (``tools/``, ``benchmarks/``) loaded as a module named for its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Model:
    """f(t, y) and J(t, y) of rasim's RA model for one argument vector."""

    def __init__(self, p: np.ndarray | None = None, mtx_table=NO_MTX):
        self.p = model.DEFAULTS.copy() if p is None else np.asarray(p, dtype=np.float64)
        self.args = model.build_args(self.p, *mtx_table)

    def f(self, t, y):
        out = np.empty(N)
        model.rhs(float(t), np.ascontiguousarray(y, dtype=np.float64), self.args, out)
        return out

    def jac(self, t, y):
        out = np.zeros((N, N))
        model.jac(float(t), np.ascontiguousarray(y, dtype=np.float64), self.args, out)
        return out

    def dfdt(self, t, y):
        out = np.zeros(N)
        model.dfdt(float(t), np.ascontiguousarray(y, dtype=np.float64), self.args, out)
        return out


@pytest.fixture(scope="session")
def default_model() -> Model:
    return Model()


@pytest.fixture(scope="session")
def untreated():
    """Untreated default patient: the day-0 (inflamed) steady state only."""
    return rasim.simulate(None, days=1, observe=[0.0])


def refractory(background):
    """An MTX-refractory patient when a background MTX runs (the typical patient remits on it)."""
    return MTX_REFRACTORY if background is not None else None
