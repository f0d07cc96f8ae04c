"""The cohort pipeline: a frozen ``Cohort``, its chunk tasks (picklable, independent), the one
chunk loop (``run_chunks``) and the check of ``--dask`` values."""

import dataclasses
import pickle

import numpy as np
import pytest

from rasim import gate
from rasim.cohort import Cohort
from rasim.cohort.pipeline import ChunkTask, InProcess, run_chunks
from rasim.cohort.streaming import StreamingSummary
from rasim.errors import LimitError, RasimError


def test_a_cohort_is_frozen_and_its_plan_never_stale():
    c = Cohort("dmard", patients=3, observe=(0, 28))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.observe = (0, 28, 91)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.patients = 5  # type: ignore[misc]
    longer = dataclasses.replace(c, observe=(0, 28, 91))
    assert longer.plan.t_out.tolist() == [0.0, 28.0, 91.0] and c.plan.t_out.tolist() == [0.0, 28.0]


def test_a_cohort_keeps_its_own_copy_of_the_tables():
    params = {"msc_homing_max": 0.5}
    c = Cohort("msc+dmard", patients=2, params=params)
    params["msc_homing_max"] = 0.9
    assert c.params == {"msc_homing_max": 0.5}


def test_chunk_tasks_are_small_picklable_and_cover_the_cohort():
    c = Cohort("dmard", patients=7, chunk_size=3, enrolments={"big": np.zeros(10**6)})
    tasks = c.chunks(threads=1)
    assert [(t.index, t.start, t.stop) for t in tasks] == [(0, 0, 3), (1, 3, 6), (2, 6, 7)]
    blob = pickle.dumps(tasks[1])
    assert len(blob) < 200_000  # the plan and the arm; never the enrolment memo
    back = pickle.loads(blob)
    assert back.cohort.enrolments is None and back.cohort.plan.t_out.tolist() == c.plan.t_out.tolist()


def test_the_chunks_make_the_cohort_whatever_order_they_run_in():
    """Chunks run in reverse and put back in order fold into the same summary, bit for bit."""
    c = Cohort("dmard", patients=6, seed=4, observe=(0, 28), chunk_size=2)
    whole = c.run(threads=1, keep="summary")

    class Reversed:
        def map(self, tasks):
            tasks = list(tasks)
            chunks = {t.index: t.run() for t in reversed(tasks)}
            return (chunks[t.index] for t in tasks)

    stream = StreamingSummary("dmard", c.plan.t_out)
    run_chunks(c.chunks(1), [lambda r: stream.add(r.part)], Reversed())
    assert stream.summary() == whole.summary() and stream.responders() == whole.responders()
    one = Cohort("dmard", patients=6, seed=4, observe=(0, 28), chunk_size=6).run(threads=1, keep="summary")
    assert one.summary() == whole.summary()


def test_chunk_seconds_are_reported():
    chunk = ChunkTask(Cohort("dmard", patients=2, observe=(0, 28)), 0, 0, 2, 1).run()
    assert set(chunk.seconds) == {"enrol", "trial", "observe"} and all(s >= 0 for s in chunk.seconds.values())
    assert InProcess().warm_up("rodas4") == 0.0  # compiled by the run above


@pytest.mark.parametrize(
    "spec, want",
    [("local", ("local", None)), ("local:3", ("local", "3")), ("tcp://10.0.0.5:8786", ("address", None))],
)
def test_dask_values(spec, want):
    kind, where = gate.dask("--dask", spec)
    assert kind == want[0] and (want[1] is None or where == want[1])


@pytest.mark.parametrize("spec", ["local:0", "locale", "", "tcp://", 3])
def test_bad_dask_values_are_refused(spec):
    with pytest.raises(RasimError, match="--dask: expected"):
        gate.dask("--dask", spec)


def test_too_many_local_workers_are_refused():
    with pytest.raises(LimitError, match="RASIM_MAX_WORKERS"):
        gate.dask("--dask", "local:100000")


def test_a_bad_rasim_dask_is_refused_before_work(monkeypatch):
    monkeypatch.setenv("RASIM_DASK", "nowhere")
    with pytest.raises(RasimError, match="RASIM_DASK: expected a Dask scheduler address"):
        Cohort("dmard", patients=2, observe=(0, 28)).run()


def test_a_bad_dask_option_is_refused(capsys):
    from rasim.cli import main

    assert main(["run", "--patients", "2", "--dask", "local:0", "--quiet"]) == 2
    assert "--dask: expected an integer >= 1" in capsys.readouterr().err


def test_slices_run_in_one_kept_pool_and_an_error_stops_the_rest():
    """``in_threads`` covers every row once, reuses its pool between calls, runs a nested call
    inline (no pool waits on itself) and, when a slice raises, re-raises and runs no slice queued
    behind it."""
    import threading
    import time

    import numba

    from rasim import integrate

    if numba.get_num_threads() < 2:
        pytest.skip("needs two Numba threads")
    hits = np.zeros(1000, dtype=np.int64)
    nested = []

    def count(r):
        hits[r] += 1
        integrate.in_threads(3, lambda q: nested.append(threading.current_thread().name))

    integrate.in_threads(1000, count)
    pools = dict(integrate._POOLS)
    integrate.in_threads(1000, count)
    assert np.all(hits == 2) and integrate._POOLS == pools
    assert nested and all(name.startswith(integrate._PREFIX) for name in nested)

    ran = []

    def fail_first(r):
        if r.start == 0:
            raise ValueError("slice 0")
        time.sleep(0.02)
        ran.append(r.start)

    with pytest.raises(ValueError, match="slice 0"):
        integrate.in_threads(1000, fail_first)
    time.sleep(0.3)
    assert len(ran) < 2 * integrate.PIECES_PER_THREAD - 1  # the queued slices were cancelled
