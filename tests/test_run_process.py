"""``rasim run`` as a real process: killed (SIGKILL) and resumed, Ctrl-C (SIGINT), and a
second run into a folder that another process is writing."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rasim.runner import run_scenario
from rasim.scenario import load

TOML = """
name = "kill"
patients = 300
seed = 5
days = 91
observe = [0, 28, 91]

[[arms]]
arm = "dmard"

[[arms]]
arm = "msc+dmard"
"""
CHUNK = 5  # patients per chunk: 120 chunks, so the process is killed mid-run
SAME = ("summary.csv", "responders.csv", "counts.csv", "dataset.csv", "scenario.toml")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scen") / "kill.toml"
    path.write_text(TOML)
    return path


@pytest.fixture(scope="module")
def long_scenario_file(tmp_path_factory):
    """Twelve times the patients (about 15-60 s on one thread, with a warm kernel cache and on a
    loaded machine): still running after the three refused runs, each a fresh process, have
    started and exited (four times raced them on a quiet machine)."""
    path = tmp_path_factory.mktemp("scen") / "long.toml"
    path.write_text(TOML.replace("patients = 300", "patients = 3600"))
    return path


def start(scenario_file, out, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rasim",
            "run",
            str(scenario_file),
            "--out",
            str(out),
            "--threads",
            "1",
            "--chunk-size",
            str(CHUNK),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_chunks(out, proc, chunks: int, timeout: float = 240.0) -> dict:
    """The manifest once at least ``chunks`` chunks are committed (the run still going)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            m = json.loads((out / "manifest.json").read_text())
        except (OSError, ValueError):
            m = None
        if m and sum(m["chunks_done"].values()) >= chunks:
            assert m["status"] == "running", "the run finished before it could be interrupted"
            return m
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the run did not get going")


def rasim(*args):
    return subprocess.run([sys.executable, "-m", "rasim", *args], capture_output=True, text=True, timeout=600)


def test_sigkill_then_resume_gives_identical_files(scenario_file, tmp_path):
    proc = start(scenario_file, tmp_path / "run", "--quiet")
    wait_for_chunks(tmp_path / "run", proc, 3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not (tmp_path / "run" / "summary.csv").exists()
    r = rasim("run", "--resume", str(tmp_path / "run"), "--threads", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    run_scenario(load(scenario_file), tmp_path / "ref", threads=1, quiet=True, chunk_size=CHUNK)
    for name in SAME:
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    parts = sorted(p.relative_to(tmp_path / "ref") for p in (tmp_path / "ref").rglob("*.parquet"))
    assert parts == sorted(p.relative_to(tmp_path / "run") for p in (tmp_path / "run").rglob("*.parquet"))
    assert all((tmp_path / "run" / p).read_bytes() == (tmp_path / "ref" / p).read_bytes() for p in parts)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "complete"


def test_second_run_refused_while_the_first_writes_then_ctrl_c(long_scenario_file, tmp_path):
    scenario_file = long_scenario_file
    out = tmp_path / "run"
    proc = start(scenario_file, out)
    try:
        wait_for_chunks(out, proc, 1)
        for extra in ((), ("--overwrite",)):
            r = rasim("run", str(scenario_file), "--out", str(out), "--threads", "1", *extra)
            assert r.returncode == 2 and "another rasim process" in r.stderr and "Traceback" not in r.stderr
        r = rasim("run", "--resume", str(out), "--threads", "1")
        assert r.returncode == 2 and "another rasim process" in r.stderr
        assert proc.poll() is None, "the first run finished before it could be interrupted: lengthen it"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and f"continue with: rasim run --resume {out}" in err and "Traceback" not in err, err
    assert not (out / "summary.csv").exists()
    r = rasim("run", "--resume", str(out), "--threads", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert os.path.getsize(out / "summary.csv") > 0
