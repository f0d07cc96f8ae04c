"""Every code block of README.md and docs/*.md runs, so the docs cannot drift.

* Python blocks run as scripts, each ``patients=`` and ``size=`` literal set to
  ``RASIM_EXAMPLE_PATIENTS`` (``PATIENTS`` here) so cohorts stay small;
* TOML blocks with ``[[arms]]`` load as scenarios (the worked example equals
  ``examples/mtx_ir_24w.toml``);
* ``rasim`` command lines parse with the CLI's own parser; ``scenarios``,
  ``show`` and ``params`` run for real; install lines name extras that exist.
"""

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import rasim
from rasim import cli
from rasim.scenario import Scenario, load

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs" / "api").glob("*.md"))]
PATIENTS = int(os.environ.get("RASIM_EXAMPLE_PATIENTS", 6))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SRC = str(Path(rasim.__file__).resolve().parents[1])  # the rasim under test, for subprocesses
QUICK = ("scenarios", "show", "params")  # commands run for real (seconds); the rest are parsed


def blocks(lang: str) -> list:
    return [
        pytest.param(m.group(2), id=f"{path.name}:{path.read_text()[: m.start()].count(chr(10)) + 1}")
        for path in DOCS
        for m in FENCE.finditer(path.read_text())
        if m.group(1) == lang
    ]


def small(code: str) -> str:
    """The block with every cohort size literal set to PATIENTS."""
    return re.sub(r"\b(patients|size)=\d[\d_]*", rf"\1={PATIENTS}", code)


def test_blocks_are_found():
    assert len(blocks("python")) >= 4 and len(blocks("toml")) >= 2 and len(blocks("bash")) >= 4


@pytest.mark.parametrize("code", blocks("python"))
def test_python_block_runs(code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(small(code))
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "2"),
        "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
    }
    r = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("text", blocks("toml"))
def test_toml_block_loads(text):
    data = tomllib.loads(text)
    if "arms" in data:
        s = Scenario.from_dict(data, source="docs")
        if s.name == "mtx_ir_24w":
            assert s == load(ROOT / "examples" / "mtx_ir_24w.toml")


@pytest.mark.parametrize("code", blocks("bash"))
def test_command_lines(code, tmp_path, capsys):
    (tmp_path / "examples").mkdir()
    for name in ("my_trial.toml", "examples/mtx_ir_24w.toml"):
        (tmp_path / name).write_text((ROOT / "examples" / "mtx_ir_24w.toml").read_text())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for line in code.splitlines():
        for group in re.findall(r'pip install -e "?\.\[([\w,]+)\]', line):
            assert set(group.split(",")) <= set(extras), line
        words = shlex.split(line, comments=True)
        if not words or words[0] != "rasim":
            continue
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            if words[1] in QUICK:
                assert cli.main(words[1:]) == 0, (line, capsys.readouterr().err)
            else:
                cli._parser().parse_args(words[1:])
        finally:
            os.chdir(cwd)
