"""The ``rasim`` command line: subprocess (``python -m rasim``) and in-process (``cli.main``)."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rasim import cli, model
from rasim import scenario as S


@pytest.fixture
def runs(monkeypatch):
    """Replace rasim.runner.run_scenario and resume_run by recorders of their calls."""
    from rasim import runner

    calls = []
    monkeypatch.setattr(
        runner,
        "run_scenario",
        lambda scenario, out_dir, threads=None, quiet=False, **kw: calls.append(
            (scenario, Path(out_dir), threads, quiet)
        ),
    )
    monkeypatch.setattr(
        runner,
        "resume_run",
        lambda out_dir, threads=None, quiet=False, **kw: calls.append(("resume", Path(out_dir), threads, quiet)),
    )
    return calls


def rasim_cmd(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rasim", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def main(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- subprocess ----------------------------------------------------------------


def test_subprocess_scenarios():
    r = rasim_cmd("scenarios")
    assert r.returncode == 0, r.stderr
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["comparators", "dose_response", "sources", "trial3y"]
    assert "(default)" in r.stdout.splitlines()[3]


def test_subprocess_show_is_the_resolved_toml():
    r = rasim_cmd("show", "trial3y", "--patients", "7")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# trial3y, resolved from trial3y.toml with command-line options\n")
    assert S.Scenario.from_dict(tomllib.loads(r.stdout)) == S.load("trial3y").replace(patients=7)


def test_subprocess_params():
    r = rasim_cmd("params", "--search", "homing")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("# parameter set ") and lines[1].startswith("# params: ")
    assert lines[2].split() == ["name", "value", "start", "unit", "range", "kind", "source"]
    names = [line.split()[0] for line in lines[3 : 3 + len(cli.parameters("homing"))]]
    assert "msc_homing_max" in names and names == [p.name for p in cli.parameters("homing")]
    assert "# variability: " in r.stdout  # the other tables' matches follow, a section each


@pytest.mark.parametrize(
    "args, message",
    [
        (("run", "nope"), "rasim: error: unknown scenario 'nope'"),
        (("run", "--patients", "0"), "rasim: error: run: argument --patients: expected an integer >= 1"),
        (("show", "missing.toml"), "rasim: error: missing.toml: no such scenario file"),
        (("bogus",), "rasim: error: argument COMMAND: invalid choice: 'bogus'"),
    ],
)
def test_subprocess_errors_exit_2_without_traceback(args, message, tmp_path):
    r = rasim_cmd(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_subprocess_bad_file_names_the_key_path(tmp_path):
    (tmp_path / "t.toml").write_text(
        'name = "t"\n[[arms]]\nname = "a"\npopulation = "refractory"\n'
        'regimen.doses = [ { drug = "msc", cells = -4e7 } ]\n'
    )
    r = rasim_cmd("show", "t.toml", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("rasim: error: t.toml: arms[0].regimen.doses[0].cells: MSC dose must be > 0")


# -- in process ------------------------------------------------------------------


def test_help_and_no_command(capsys):
    assert main(capsys, "--help")[0] == 0
    code, _, err = main(capsys)
    assert code == 2 and "rasim: error:" in err


def test_scenarios_and_show(capsys):
    code, out, _ = main(capsys, "scenarios")
    assert code == 0 and "trial3y" in out and "sources" in out
    code, out, _ = main(capsys, "show", "sources", "--days", "100", "--seed", "3")
    s = S.Scenario.from_dict(tomllib.loads(out))
    assert code == 0 and (s.days, s.seed, s.observe) == (100.0, 3, (0.0, 14.0, 28.0, 56.0, 91.0, 100.0))
    code, out, _ = main(capsys, "show")  # default scenario
    assert code == 0 and tomllib.loads(out)["name"] == "trial3y"


def test_params(capsys):
    code, out, _ = main(capsys, "params")
    tables = [cli.parameters(table=t) for t in model.TABLE_FILES]
    assert code == 0 and len(out.splitlines()) == 1 + sum(3 + len(rows) for rows in tables) - 1
    assert [line for line in out.splitlines() if line.startswith("# ")][1:] == [
        f"# {t}: {info.title} (data/{info.file})" for t, info in model.TABLE_FILES.items()
    ]
    code, out, _ = main(capsys, "params", "--table", "params", "--search", "literature")  # kinds and sources too
    rows = [line.split()[0] for line in out.splitlines()[3:]]
    assert code == 0 and rows == [p.name for p in cli.parameters("literature")] and rows
    code, out, err = main(capsys, "params", "--search", "no-such-word")
    assert code == 1 and out == "" and "no parameter matches" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--observe", "0,x"], "argument --observe: expected a number, got 'x'"),
        (["run", "--observe", "0,,28"], "argument --observe: expected numbers separated by commas"),
        (["run", "--observe", "0,nan"], "expected a finite number"),
        (["run", "--observe", "0,2000"], "trial3y.toml with command-line options: observe[1]: day 2000 is after"),
        (["run", "--observe", "28,0"], "observe[1]: days must increase"),
        (["run", "--days", "-5"], "trial3y.toml with command-line options: days: expected a finite number > 0"),
        (["run", "--seed", "-1"], "argument --seed: expected an integer >= 0"),
        (["run", "--threads", "0"], "argument --threads: expected an integer >= 1"),
        (["show", "trial3"], "Did you mean 'trial3y'?"),
        (
            ["sweep", "--grid", "msc_homng_max=0.1"],
            "unknown parameter or regimen setting 'msc_homng_max'. Did you mean 'msc_homing_max'",
        ),
        (["sweep", "--grid", "msc_homing_max=0.1,-1"], "grid['msc_homing_max'][1]: expected a finite number >= 0"),
        (  # the remedy is one the sweep has (it has no --unsafe-params)
            ["sweep", "--grid", "msc_homing_max=5"],
            "outside its plausible range 0.005-0.5 1/day; a sweep takes values within it (`rasim params`",
        ),
        (
            ["sweep", "--grid", "msc_homing_max=0.1", "--patients", "-2"],
            "argument --patients: expected an integer >= 0",
        ),
    ],
)
def test_errors_exit_2(capsys, runs, args, message):
    code, _, err = main(capsys, *args)
    assert code == 2 and err.splitlines()[-1].startswith("rasim: error: ")
    assert message in err and "Traceback" not in err
    assert runs == []  # nothing ran


def test_run_passes_the_validated_scenario(capsys, runs, tmp_path):
    code, out, _ = main(
        capsys,
        "run",
        "sources",
        "--patients",
        "5",
        "--observe",
        "0,28,91",
        "--days",
        "91",
        "--threads",
        "1",
        "--out",
        str(tmp_path),
    )
    assert code == 0 and out == f"results: {tmp_path}\n"
    ((scenario, out_dir, threads, quiet),) = runs
    assert (scenario.patients, scenario.days, scenario.observe) == (5, 91.0, (0.0, 28.0, 91.0))
    assert [a.name for a in scenario.arms] == ["msc+dmard", "bm_msc+dmard", "ad_msc+dmard"]
    assert (out_dir, threads, quiet) == (tmp_path, 1, False)


def test_run_defaults(capsys, runs, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = main(capsys, "run", "--quiet")
    assert code == 0 and out == ""
    ((scenario, out_dir, threads, quiet),) = runs
    assert scenario == S.load("trial3y")
    assert (out_dir, threads, quiet) == (Path("rasim-out/trial3y"), None, True)


def test_sweep(capsys, runs, tmp_path):
    """The typical-patient sweep runs in process (no scenario runs); see test_sweep.py for more."""
    code, out, _ = main(capsys, "sweep", "--grid", "msc_homing_max=0.01,0.1", "--out", str(tmp_path))
    assert code == 0 and runs == []
    lines = out.splitlines()
    assert lines[0] == "DAS28_ESR at day 365, msc+dmard (typical patient)"
    assert [line.split()[0] for line in lines[2:4]] == ["0.01", "0.1"] and lines[-1] == f"results: {tmp_path}"
    assert (tmp_path / "sweep.csv").is_file() and (tmp_path / "sweep.png").is_file()
    code, _, err = main(capsys, "sweep", "--grid", "msc_homing_max", "--points", "3", "--out", str(tmp_path))
    assert code == 2 and "not empty" in err and "--overwrite" in err and "--unsafe-params" not in err
    sweep = ("sweep", "--grid", "msc_homing_max", "--points", "3", "--quiet", "--out", str(tmp_path))
    assert main(capsys, *sweep, "--overwrite")[:2] == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rasim.lock", "sweep.csv", "sweep.png"]  # no temporaries
    entry = cli.parameter("msc_homing_max")
    values = [float(line.split(",")[0]) for line in (tmp_path / "sweep.csv").read_text().splitlines()[1:]]
    assert values == pytest.approx([entry.low, (entry.low * entry.high) ** 0.5, entry.high], rel=1e-3)  # log


def test_sweep_and_sensitivity_follow_the_run_folder_rules(capsys, runs, tmp_path):
    """A non-empty folder is refused before anything runs (a user's file kept with --overwrite);
    a folder another process writes is refused."""
    from rasim import output

    (tmp_path / "notes.txt").write_text("mine")
    for cmd in (("sweep", "--grid", "msc_homing_max=0.1"), ("sensitivity", "--params", "msc_homing_max")):
        code, _, err = main(capsys, *cmd, "--out", str(tmp_path))
        assert code == 2 and f"--out {tmp_path}: the folder is not empty (notes.txt)" in err and "--overwrite" in err
    lock = output._acquire(tmp_path / "busy")
    try:
        code, _, err = main(capsys, "sweep", "--grid", "msc_homing_max=0.1", "--out", str(tmp_path / "busy"))
        assert code == 2 and "another rasim process" in err
    finally:
        output._release(lock, tmp_path / "busy")
    assert (
        main(capsys, "sweep", "--grid", "msc_homing_max=0.1", "--quiet", "--out", str(tmp_path), "--overwrite")[0] == 0
    )
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "sweep.csv").is_file()


def test_run_for_real(tmp_path):
    r = rasim_cmd(
        "run", "sources", "--patients", "4", "--days", "28", "--threads", "1", "--out", str(tmp_path / "out"), "--quiet"
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "summary.csv").is_file()


def test_version():
    r = rasim_cmd("--version")
    assert r.returncode == 0 and r.stdout.startswith("rasim ") and r.stdout.split()[1][0].isdigit()


def test_too_many_threads_refused_before_the_folder_is_made(capsys, runs, tmp_path):
    import numba

    code, _, err = main(
        capsys, "run", "--threads", str(numba.config.NUMBA_NUM_THREADS + 1), "--out", str(tmp_path / "new")
    )
    assert code == 2 and "threads: expected an integer in 1.." in err and "cores" in err
    assert runs == [] and not (tmp_path / "new").exists()


def test_resume_takes_nothing_else(capsys, runs, tmp_path):
    assert main(capsys, "run", "--resume", str(tmp_path), "--threads", "1")[0] == 0
    assert runs == [("resume", tmp_path, 1, False)]
    code, _, err = main(capsys, "run", "trial3y", "--resume", str(tmp_path), "--patients", "3")
    assert code == 2 and "--resume continues the run in its folder as it was started; drop SCENARIO, --patients" in err


def test_unsafe_params(capsys, runs, tmp_path):
    text = S.load("sources").to_toml().replace("[params]", "[params]\nmsc_effect_t = 0.99")
    (tmp_path / "s.toml").write_text(text)
    code, _, err = main(capsys, "run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"))
    assert code == 2 and "params.msc_effect_t" in err and "--unsafe-params" in err and runs == []
    assert main(capsys, "run", str(tmp_path / "s.toml"), "--unsafe-params", "--out", str(tmp_path / "o"))[0] == 0
    scenario = runs[0][0]
    assert scenario.allow_out_of_range and "msc_effect_t = 0.99 is outside" in scenario.warnings()[0]


def test_non_utf8_file_exits_2(tmp_path):
    (tmp_path / "s.toml").write_bytes(S.load("sources").to_toml().encode("utf-16"))
    r = rasim_cmd("show", str(tmp_path / "s.toml"))
    assert r.returncode == 2 and "not UTF-8 text" in r.stderr and "Traceback" not in r.stderr
