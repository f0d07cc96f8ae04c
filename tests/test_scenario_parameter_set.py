"""A named parameter set chosen by a scenario (``parameter_set``) or by ``rasim run --parameter-set``."""

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w

import rasim
from rasim import cli, runner
from rasim import scenario as S
from rasim.errors import FolderError, ScenarioError

SMALL = dict(patients=4, days=28.0, observe=[0.0, 28.0])


@pytest.fixture
def runs(monkeypatch):
    """Replace rasim.runner.run_scenario by a recorder of the scenarios it is given."""
    calls = []
    monkeypatch.setattr(runner, "run_scenario", lambda scenario, out_dir, **kw: calls.append(scenario))
    return calls


def write(tmp_path, **top) -> Path:
    """The built-in ``sources`` scenario with top-level keys changed, as a file."""
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps({**S.load("sources").to_dict(), **top}))
    return path


def test_toml_key_selects_the_set_and_round_trips(tmp_path):
    s = S.load(write(tmp_path, parameter_set="literature", params={"msc_homing_max": 0.1}))
    assert s.parameter_set == "literature"
    lit = rasim.parameter_set("literature")
    assert s.parameter_identity() == {"parameter_set": "literature", "parameter_fingerprint": lit.fingerprint}
    tables = s.cohort_overrides()  # every table of the set, [params] on top
    assert tables["params"] == {**lit.overrides(), "msc_homing_max": 0.1}
    assert tables["measurement"] == lit.overrides("measurement") and tables["measurement"]
    assert tables["variability"] == lit.overrides("variability")
    assert tables["covariate_effects"] == lit.overrides("covariate_effects")
    assert tomllib.loads(s.to_toml())["parameter_set"] == "literature"
    assert S.Scenario.from_dict(tomllib.loads(s.to_toml())) == s


def test_default_is_the_set_in_use_and_is_not_written():
    s = S.load("sources")
    assert s.parameter_set is None and "parameter_set" not in s.to_dict()
    assert s.parameter_identity()["parameter_fingerprint"] == rasim.model.fingerprint()
    assert s.cohort_overrides() == {
        "params": s.params,
        "measurement": {},
        "variability": s.variability,
        "covariate_effects": {},
    }


def test_unknown_set_in_the_file_names_the_key_and_the_valid_sets(tmp_path):
    with pytest.raises(ScenarioError) as e:
        S.load(write(tmp_path, parameter_set="literatur"))
    message = str(e.value)
    assert "s.toml: parameter_set: unknown parameter set 'literatur'. Did you mean 'literature'?" in message
    assert all(name in message for name in rasim.parameter_sets())
    with pytest.raises(ScenarioError, match="parameter_set: expected a string"):
        S.Scenario.from_dict({**S.load("sources").to_dict(), "parameter_set": 3})
    with pytest.raises(ScenarioError, match="unknown key 'parameter_sets'. Did you mean 'parameter_set'"):
        S.Scenario.from_dict({**S.load("sources").to_dict(), "parameter_sets": "literature"})


def test_cli_flag_overrides_the_file(capsys, runs, tmp_path):
    path = write(tmp_path, parameter_set="literature")
    assert cli.main(["run", str(path), "--parameter-set", rasim.model.SET_NAME, "--out", str(tmp_path / "o")]) == 0
    assert cli.main(["run", "sources", "--parameter-set", "literature", "--out", str(tmp_path / "o")]) == 0
    assert [s.parameter_set for s in runs] == [rasim.model.SET_NAME, "literature"]
    assert cli.main(["show", "sources", "--parameter-set", "literature"]) == 0
    assert 'parameter_set = "literature"' in capsys.readouterr().out


def test_cli_unknown_set_exits_2_before_anything_runs(capsys, runs, tmp_path):
    code = cli.main(["run", "sources", "--parameter-set", "literatre", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "rasim: error: --parameter-set: unknown parameter set 'literatre'" in err
    assert "Did you mean 'literature'?" in err and f"Parameter sets: {', '.join(rasim.parameter_sets())}." in err
    assert runs == [] and not (tmp_path / "o").exists()
    code = cli.main(["run", "--resume", str(tmp_path), "--parameter-set", "literature"])
    assert code == 2 and "drop --parameter-set" in capsys.readouterr().err


def test_literature_set_changes_the_output_and_is_recorded(tmp_path):
    base = S.load("sources").replace(**SMALL, arms=[S.load("sources").to_dict()["arms"][0]])
    lit = base.replace(parameter_set="literature")
    runner.run_scenario(base, tmp_path / "cal", threads=1, quiet=True, keep="summary")
    runner.run_scenario(lit, tmp_path / "lit", threads=1, quiet=True, keep="summary")
    cal_summary, lit_summary = ((tmp_path / d / "summary.csv").read_text() for d in ("cal", "lit"))
    assert cal_summary != lit_summary

    m = json.loads((tmp_path / "lit" / "manifest.json").read_text())
    fp = rasim.parameter_set("literature").fingerprint
    assert (m["scenario_parameter_set"], m["scenario_parameter_fingerprint"]) == ("literature", fp)
    assert (m["parameter_set"], m["parameter_fingerprint"]) == (rasim.model.SET_NAME, rasim.model.fingerprint())
    assert tomllib.loads((tmp_path / "lit" / "scenario.toml").read_text())["parameter_set"] == "literature"
    m_cal = json.loads((tmp_path / "cal" / "manifest.json").read_text())
    assert m_cal["scenario_parameter_fingerprint"] == rasim.model.fingerprint()

    # --resume refuses a run whose set has changed since it was started
    m.update(status="running", scenario_parameter_fingerprint="000000000000")
    (tmp_path / "lit" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(FolderError, match="started with parameter set literature at fingerprint 000000000000"):
        runner.resume_run(tmp_path / "lit", threads=1, quiet=True)
