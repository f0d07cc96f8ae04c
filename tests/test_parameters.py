"""The parameter tables as data: kinds, references, parameter sets, fingerprints."""

import csv
import json
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

import rasim
from rasim import _calibrated, model
from rasim.cli import main as cli_main
from rasim.model import balance, parameters as P, sets

FITTED = set(_calibrated.fitted("params"))
TABLES = list(model.TABLE_FILES)


def _calibration() -> dict:
    return json.loads((resources.files("rasim") / "data" / "calibrated.json").read_text())


def test_every_entry_has_a_kind_and_known_references():
    for table in TABLES:
        for p in model.entries(table).values():
            assert p.kind in P.KINDS, p.name
            assert all(k in model.REFERENCES for k in p.refs), p.name
            assert "EVIDENCE" not in p.source, p.name


def test_every_csv_row_carries_unit_range_and_source():
    for table, info in model.TABLE_FILES.items():
        text = (resources.files("rasim") / "data" / info.file).read_text()
        rows = list(csv.DictReader(text.splitlines()))
        assert rows and tuple(rows[0]) == P.COLUMNS, info.file
        for r in rows:
            where = f"{info.file}: {r['name']}"
            assert r["unit"] and r["meaning"] and r["kind"] in P.KINDS, where
            assert float(r["low"]) <= float(r["high"]), where
            if r["kind"] in ("literature", "calibrated") or table != "params":
                assert r["kind"] == "assumed" or r["note"] or r["ref"], f"{where}: a source (note or reference)"


def test_bad_rows_are_refused_naming_the_file_and_entry(monkeypatch):
    good = dict(zip(P.COLUMNS, ("x", "1", "mg", "0", "2", "assumed", "", "a meaning", "")))
    P._check_row("t.csv", good)
    for change, message in [
        ({"unit": ""}, "data/t.csv: x: name, unit and meaning are required"),
        ({"kind": "guessed"}, "data/t.csv: x: kind 'guessed' is not one of"),
        ({"ref": "radiate;nobody2020"}, "data/t.csv: x: reference keys nobody2020 are not in data/references.csv"),
        ({"low": "one"}, "data/t.csv: x: start, low and high must be numbers"),
        ({"start": "3"}, "data/t.csv: x: start 3 is not within its range 0-2"),
        ({"start": ""}, "data/t.csv: x: a start value is required"),
    ]:
        with pytest.raises(rasim.ParameterError, match=message):
            P._check_row("t.csv", {**good, **change})
    with pytest.raises(rasim.ParameterError, match="expected the columns name,start,unit"):
        P._check_row("t.csv", {k: v for k, v in good.items() if k != "note"})
    monkeypatch.setattr(P, "_read_csv", lambda file: [good, good])
    with pytest.raises(rasim.ParameterError, match="data/t.csv: x declared more than once"):
        P.read_table("t.csv")


def test_labels_are_truthful():
    calibration = _calibration()
    for table in TABLES:
        fitted = set(calibration.get(table, {}))
        assert {p.name for p in model.entries(table).values() if p.kind == "calibrated"} == fitted, table
        for p in model.entries(table).values():
            assert (p.name in fitted) == ("calibrated" in p.source.split(":")[0]), p.name
            assert p.value == p.start or p.kind in ("calibrated", "balance"), p.name  # only fitted values moved
    assert set(calibration["params"]) == FITTED


def test_start_values_only_in_the_table_balance_computed():
    for p in model.PARAMETERS:
        assert (p.start is None) == (p.kind == "balance") == (p.name in balance.BALANCED), p.name


def test_the_set_in_use_round_trips_every_fitted_value():
    in_use = rasim.parameter_set(model.SET_NAME)
    calibration = _calibration()
    for table in ("params", "balance", "measurement", "variability", "covariate_effects"):
        for name, value in calibration[table].items():
            assert in_use.value(name, "params" if table == "balance" else table) == value, (table, name)
    assert {t: dict(v) for t, v in in_use.values.items()} == P.values_in_use()
    assert set(in_use.values) == set(TABLES)
    assert all(in_use.values[t].keys() == model.entries(t).keys() for t in TABLES)


def test_every_table_takes_a_fitted_value():
    for table in TABLES:
        name = next(iter(model.entries(table)))
        entry = {p.name: p for p in P.table(table, {**P._fitted(table), name: 0.123}, "calibrated-test")}[name]
        assert entry.value == 0.123 and entry.source.endswith("(calibrated-test)"), table
    with pytest.raises(rasim.ParameterError, match="parameter set s: flare_sdd not in data/measurement.csv"):
        P.table("measurement", {"flare_sdd": 0.5}, "s")


def test_calibrated_balance_constants_are_the_computed_ones():
    computed = balance.balanced(model.DEFAULTS)
    for name, value in computed.items():
        assert model.parameter(name).value == pytest.approx(value, rel=1e-9), name


def test_parameter_sets_select_diff_and_search():
    assert rasim.parameter_sets() == [model.SET_NAME, "literature"]
    assert model.SET_NAME.startswith("calibrated-")
    lit = rasim.parameter_set("literature")
    for table in TABLES:
        assert all(lit.value(p.name, table) == p.start for p in model.entries(table).values() if p.start is not None)
    changed = {(t, name) for t, name, _, _ in sets.diff(model.SET_NAME, "literature", rtol=1e-9)}
    fitted = {(table, name) for table in TABLES for name in _calibrated.fitted(table)}
    assert fitted <= changed <= fitted | {("params", name) for name in balance.BALANCED}
    rows = rasim.parameters("calibrated", set="literature")
    assert {p.name for p in rows} >= FITTED and all(r.value == r.start for r in rows if r.name in FITTED)
    flare = rasim.parameters("flare_sd", set="literature", table="measurement")
    assert [(p.name, p.value) for p in flare] == [("flare_sd", model.parameter("flare_sd", "measurement").start)]
    assert set(lit.overrides()) == {name for t, name, _, _ in sets.diff(model.SET_NAME, "literature") if t == "params"}
    cohort = lit.cohort_overrides()
    assert cohort["measurement"] == {
        n: model.parameter(n, "measurement").start for n in _calibrated.fitted("measurement")
    }
    assert set(cohort) == {"params", "measurement", "variability", "covariate_effects"}


def test_unknown_set_table_or_entry_says_did_you_mean():
    with pytest.raises(rasim.ParameterError, match="Did you mean 'literature'"):
        rasim.parameter_set("literatur")
    with pytest.raises(
        rasim.ParameterError, match="unknown parameter table 'measurements'. Did you mean 'measurement'"
    ):
        rasim.parameters(table="measurements")
    with pytest.raises(rasim.ParameterError, match="unknown measurement entry 'flare_sdd'. Did you mean 'flare_sd'"):
        rasim.parameter_set("literature").value("flare_sdd", "measurement")


@pytest.mark.parametrize(
    "table, name",
    [
        ("params", "mtx_ec50"),
        ("measurement", "joint_logit_sd"),
        ("measurement", "flare_sd"),
        ("variability", "mtx_ec50"),
        ("correlations", "pain_floor:haq_floor"),
        ("covariate_effects", "duration_on_haq_floor"),
    ],
)
def test_fingerprint_follows_every_value(table, name):
    in_use = rasim.parameter_set(model.SET_NAME)
    assert model.fingerprint() == in_use.fingerprint == model.fingerprint(P.values_in_use())
    bumped = {t: dict(v) for t, v in in_use.values.items()}
    bumped[table][name] = float(np.nextafter(bumped[table][name], np.inf))
    assert sets.ParameterSet("bumped", "", bumped).fingerprint != model.fingerprint()
    assert rasim.parameter_set("literature").fingerprint != model.fingerprint()


@pytest.mark.parametrize("table, name", [("measurement", "joint_logit_sd"), ("variability", "haq_gain")])
def test_fingerprint_in_use_follows_a_table_value(monkeypatch, table, name):
    before = model.fingerprint()
    entry = P.IN_USE[table][name]
    monkeypatch.setitem(P.IN_USE, table, {**P.IN_USE[table], name: replace(entry, value=entry.value * 1.01)})
    assert model.fingerprint() != before


def test_at_bound():
    assert model.parameter("tjc_k").at_bound == ""
    assert P.Parameter("x", 0.1005, "mg", 0.1, 10.0, "m", "s").at_bound == "low"
    assert P.Parameter("x", 0.005, "1/day", 0.0, 1.0, "m", "s").at_bound == ""
    assert P.Parameter("x", 0.0, "1/day", 0.0, 1.0, "m", "s").at_bound == "low"


def test_cli_shows_value_start_kind_and_bound(capsys):
    assert cli_main(["params", "--search", "tjc_k"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"# parameter set {model.SET_NAME} (fingerprint {model.fingerprint()})")
    assert out[1].startswith("# params: model parameters (data/parameters.csv)")
    assert out[2].split()[:7] == ["name", "value", "start", "unit", "range", "kind", "source"]
    assert out[3].startswith("tjc_k ")
    assert out[5].startswith("# variability: ") and out[7].split()[:2] == ["tjc_k", "0.3"]
    assert cli_main(["params", "--diff", model.SET_NAME, "literature"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FITTED) and "measurement        flare_sd" in out


def test_cli_shows_a_measurement_entry(capsys):
    flare = model.parameter("flare_sd", "measurement")
    assert cli_main(["params", "--table", "measurement"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("# measurement: measurement settings") and len(out) == 3 + len(
        model.entries("measurement")
    )
    row = next(line for line in out if line.startswith("flare_sd "))
    assert row.split()[:6] == ["flare_sd", f"{flare.value:.6g}", f"{flare.start:g}", "log", "0-1", "calibrated"]
    assert cli_main(["params", "--table", "measurement", "--set", "literature", "--search", "flare_sd"]) == 0
    assert capsys.readouterr().out.splitlines()[3].split()[:2] == ["flare_sd", f"{flare.start:g}"]
    assert cli_main(["params", "--diff", model.SET_NAME, "literature", "--table", "measurement"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"# {len(_calibrated.fitted('measurement'))} values differ")
    assert {line.split()[1] for line in out[1:]} == set(_calibrated.fitted("measurement"))


def test_a_parameter_set_is_selected_through_params():
    lit = rasim.parameter_set("literature").overrides()
    a = rasim.simulate(rasim.msc(4e7), days=28, observe=[0, 28])
    b = rasim.simulate(rasim.msc(4e7), days=28, observe=[0, 28], params=lit)
    assert a.ok and b.ok and not np.array_equal(a["DAS28_ESR"], b["DAS28_ESR"])
    assert lit and all(b.params[model.PINDEX[k]] == v for k, v in lit.items())  # MSC presets apply on top
