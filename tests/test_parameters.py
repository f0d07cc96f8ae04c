"""The parameter table as data: kinds, references, parameter sets, fingerprints."""

import numpy as np
import pytest

import rasim
from rasim import _calibrated, model
from rasim.cli import main as cli_main
from rasim.model import balance, parameters as P, sets

FITTED = set(_calibrated.fitted("params"))


def test_every_entry_has_a_kind_and_known_references():
    for p in model.PARAMETERS:
        assert p.kind in P.KINDS, p.name
        assert all(k in model.REFERENCES for k in p.refs), p.name
        assert "EVIDENCE" not in p.source, p.name


def test_labels_are_truthful():
    calibrated = {p.name for p in model.PARAMETERS if p.kind == "calibrated"}
    assert calibrated == FITTED
    for p in model.PARAMETERS:
        assert (p.name in FITTED) == ("calibrated" in p.source.split(":")[0]), p.name


def test_fitted_measurement_settings_say_so():
    from rasim.cohort.measurement import MEASUREMENT

    for name, p in MEASUREMENT.items():
        fitted = name in _calibrated.fitted("measurement")
        assert (p.kind == "calibrated") == fitted and (p.start is not None) == fitted, name


def test_start_values_only_in_the_table_balance_computed():
    for p in model.PARAMETERS:
        assert (p.start is None) == (p.kind == "balance") == (p.name in balance.BALANCED), p.name
    assert np.array_equal(
        P.DEFAULTS[~np.isnan(P.STARTS)] != P.STARTS[~np.isnan(P.STARTS)],
        np.array([p.kind == "calibrated" and p.value != p.start for p in model.PARAMETERS if p.start is not None]),
    )


def test_calibrated_balance_constants_are_the_computed_ones():
    computed = balance.balanced(model.DEFAULTS)
    for name, value in computed.items():
        assert model.parameter(name).value == pytest.approx(value, rel=1e-9), name


def test_parameter_sets_select_diff_and_search():
    assert rasim.parameter_sets() == [model.SET_NAME, "literature"]
    assert model.SET_NAME.startswith("calibrated-")
    lit = rasim.parameter_set("literature")
    assert all(lit.value(p.name) == p.start for p in model.PARAMETERS if p.start is not None)
    changed = {name for name, _, _ in sets.diff(model.SET_NAME, "literature", rtol=1e-9)}
    assert FITTED <= changed <= FITTED | balance.BALANCED
    rows = rasim.parameters("calibrated", set="literature")
    assert {p.name for p in rows} >= FITTED and all(r.value == r.start for r in rows if r.name in FITTED)
    assert set(lit.overrides()) == {name for name, _, _ in sets.diff(model.SET_NAME, "literature")}


def test_unknown_set_says_did_you_mean():
    with pytest.raises(rasim.ParameterError, match="Did you mean 'literature'"):
        rasim.parameter_set("literatur")


def test_fingerprint_follows_the_values():
    assert model.fingerprint() == rasim.parameter_set(model.SET_NAME).fingerprint
    assert rasim.parameter_set("literature").fingerprint != model.fingerprint()
    bumped = model.DEFAULTS.copy()
    bumped[0] = np.nextafter(bumped[0], np.inf)
    assert model.fingerprint(bumped) != model.fingerprint()


def test_at_bound():
    assert model.parameter("tjc_k").at_bound == ""
    assert P.Parameter("x", 0.1005, "mg", 0.1, 10.0, "m", "s").at_bound == "low"
    assert P.Parameter("x", 0.005, "1/day", 0.0, 1.0, "m", "s").at_bound == ""
    assert P.Parameter("x", 0.0, "1/day", 0.0, 1.0, "m", "s").at_bound == "low"


def test_cli_shows_value_start_kind_and_bound(capsys):
    assert cli_main(["params", "--search", "tjc_k"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"# parameter set {model.SET_NAME} (fingerprint {model.fingerprint()})")
    assert out[1].split()[:7] == ["name", "value", "start", "unit", "range", "kind", "source"]
    assert out[2].startswith("tjc_k")
    assert cli_main(["params", "--diff", model.SET_NAME, "literature"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FITTED)


def test_a_parameter_set_is_selected_through_params():
    lit = rasim.parameter_set("literature").overrides()
    a = rasim.simulate(rasim.msc(4e7), days=28, observe=[0, 28])
    b = rasim.simulate(rasim.msc(4e7), days=28, observe=[0, 28], params=lit)
    assert a.ok and b.ok and not np.array_equal(a["DAS28_ESR"], b["DAS28_ESR"])
    assert lit and all(b.params[model.PINDEX[k]] == v for k, v in lit.items())  # MSC presets apply on top
