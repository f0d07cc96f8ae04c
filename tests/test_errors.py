"""Every refusal is a RasimError, and every exception class is exported from rasim."""

import inspect

import numpy as np
import pytest

import rasim
from rasim import errors


def test_every_error_is_exported_and_a_rasim_error():
    classes = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and not issubclass(obj, Warning)
    }
    assert classes == {
        "RasimError",
        "ParameterError",
        "RegimenError",
        "CovariateError",
        "ScenarioError",
        "SolverOptionsError",
        "EquilibriumError",
        "FolderError",
        "IncompleteRunError",
        "RunInterrupted",
        "LimitError",
        "OutputError",
    }
    assert issubclass(errors.RasimWarning, UserWarning) and "RasimWarning" in rasim.__all__
    for name in classes:
        assert getattr(rasim, name) is getattr(errors, name) and name in rasim.__all__
        assert issubclass(getattr(errors, name), rasim.RasimError)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(solver="rodas"), "Did you mean 'rodas4'"),
        (dict(solver=3), "solver must be a method name"),
        (dict(rtol=0.0), "rtol must be a finite number > 0"),
        (dict(rtol="x"), "rtol"),
        (dict(atol=np.full(3, 1e-9)), "atol has 3 entries"),
        (dict(atol=-1.0), "atol values must be finite and > 0"),
        (dict(solver=rasim.SolverOptions(), rtol=-1.0), "rtol"),
    ],
)
def test_simulate_refuses_solver_options_as_rasim_error(options, message):
    with pytest.raises(rasim.SolverOptionsError, match=message):
        rasim.simulate(days=10, **options)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(solver="rodas"), "Did you mean 'rodas4'"),
        (dict(rtol=2.0), "Cohort.rtol: expected a finite number > 0 and < 1"),
        (dict(max_steps=0), "max_steps"),
    ],
)
def test_cohort_refuses_solver_options_as_rasim_error(options, message):
    with pytest.raises(rasim.RasimError, match=message):
        rasim.Cohort("dmard", patients=2, **options)


@pytest.mark.parametrize("name", [0, 1.5, None, ("a",)])
def test_a_name_that_is_no_string_is_refused_clearly(name):
    """A parameter override keyed by a number (a TOML or dict slip) is a ParameterError naming
    what it got, not a crash in the name matcher."""
    with pytest.raises(rasim.errors.ParameterError, match="names are strings"):
        rasim.simulate(None, days=1, params={name: 1.0})


def test_a_background_the_typical_patient_remits_on_says_what_to_simulate():
    """The typical patient remits on MTX: no active periodic state; the refusal names the
    refractory preset that works."""
    with pytest.raises(rasim.errors.EquilibriumError, match="MTX_REFRACTORY"):
        rasim.simulate(None, background=rasim.mtx(15), days=7)
    from rasim.model.presets import MTX_REFRACTORY

    assert rasim.simulate(None, background=rasim.mtx(15), days=7, params=MTX_REFRACTORY).ok
