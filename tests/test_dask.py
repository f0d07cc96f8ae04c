"""Dask: the same files byte for byte as in this process, on a real ``LocalCluster`` of two
worker processes, with a worker killed mid-run (Dask runs its chunks again) and across an
interrupted run resumed on the cluster.  Skipped without ``rasim[dask]``."""

import os
import signal

import pytest

distributed = pytest.importorskip("distributed")

from rasim.cohort import Cohort  # noqa: E402
from rasim.cohort.pipeline import Dask  # noqa: E402
from rasim.errors import RunInterrupted  # noqa: E402
from rasim.runner import resume_run, run_scenario  # noqa: E402
from rasim.scenario import load  # noqa: E402

from conftest import TINY_SCENARIO  # noqa: E402

TOML = TINY_SCENARIO
SAME = ("summary.csv", "responders.csv", "counts.csv", "dataset.csv", "scenario.toml")


def files(out) -> dict[str, bytes]:
    got = {name: (out / name).read_bytes() for name in SAME}
    got.update({str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "patients").rglob("*.parquet"))})
    return got


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("scen") / "tiny.toml"
    path.write_text(TOML)
    return load(path)


@pytest.fixture(scope="module")
def local(scenario, tmp_path_factory):
    """The files of the run in this process."""
    out = tmp_path_factory.mktemp("local") / "out"
    run_scenario(scenario, out, threads=1, quiet=True, chunk_size=2)
    return files(out)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, one thread each."""
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c,
        distributed.Client(c) as client,
    ):
        yield Dask(client, threads=1)


def test_dask_run_gives_the_same_files(cluster, scenario, local, tmp_path):
    run_scenario(scenario, tmp_path / "o", threads=1, quiet=True, chunk_size=2, executor=cluster)
    assert files(tmp_path / "o") == local


def test_cohort_run_on_dask(cluster):
    c = Cohort("msc+dmard", patients=9, seed=5, observe=(0, 28), chunk_size=2)
    here = c.run(threads=1, keep="summary")
    there = c.run(keep="summary", executor=cluster)
    assert there.summary() == here.summary() and there.responders() == here.responders()
    assert (c.run(executor=cluster).values["DAS28_ESR"] == c.run(threads=1).values["DAS28_ESR"]).all()


def test_interrupted_dask_run_resumed_on_dask(cluster, scenario, local, tmp_path):
    out = tmp_path / "o"

    def stop(done, total):
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match="continue with: rasim run --resume"):
        run_scenario(scenario, out, threads=1, quiet=True, chunk_size=2, executor=cluster, progress=stop)
    resume_run(out, threads=1, quiet=True, executor=cluster)
    assert files(out) == local


def test_a_worker_killed_mid_run(cluster, scenario, local, tmp_path):
    """SIGKILL one worker after the first chunk: its nanny starts a new one, the lost chunks run
    again, and the files are the same."""
    pids = cluster.client.run(os.getpid)
    killed = []

    def kill(done, total):
        if not killed:
            os.kill(next(iter(pids.values())), signal.SIGKILL)
            killed.append(done)

    run_scenario(scenario, tmp_path / "o", threads=1, quiet=True, chunk_size=2, executor=cluster, progress=kill)
    assert killed and files(tmp_path / "o") == local
    assert set(cluster.client.run(os.getpid).values()) != set(pids.values())  # a new worker process
