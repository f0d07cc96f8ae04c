"""A chunk's random streams at once (``cohort.streams``): NumPy's ``SeedSequence`` words and
generators, bit for bit, whatever the seed, key, patient and stream."""

from __future__ import annotations

import numpy as np
import pytest

from rasim.cohort.cohort import patient_rng
from rasim.cohort.streams import generators, seed_words


@pytest.mark.parametrize("seed, key", [(0, 0), (3, 5), (2**40 + 7, 2**63 + 11), (123456789, 2**95 + 3)])
@pytest.mark.parametrize("stream", [0, 1, 5])
def test_seed_words_are_seed_sequences(seed, key, stream):
    patients = np.concatenate([np.arange(20), np.random.default_rng(seed % 97).integers(0, 2**32, 20)])
    want = [
        np.random.SeedSequence(seed, spawn_key=(key, int(p), stream)).generate_state(4, np.uint64) for p in patients
    ]
    assert np.array_equal(seed_words(seed, key, patients, stream), np.stack(want))
    one = [np.random.SeedSequence(seed, spawn_key=(key, int(p), stream)).generate_state(1, np.uint64) for p in patients]
    assert np.array_equal(seed_words(seed, key, patients, stream, n_words=1), np.stack(one))


def test_generators_are_the_patients_own():
    patients = np.array([0, 1, 7, 4_000_000_000])
    for g, p in zip(generators(11, 2**62 + 1, patients, 3), patients):
        ref = patient_rng(11, 2**62 + 1, int(p), 3)
        assert np.array_equal(g.standard_normal(50), ref.standard_normal(50))
        assert np.array_equal(g.random(7), ref.random(7)) and g.standard_exponential() == ref.standard_exponential()


def test_out_of_range_numbers_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        seed_words(-1, 0, np.arange(3), 0)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        seed_words(1, 0, np.array([2**32]), 0)
