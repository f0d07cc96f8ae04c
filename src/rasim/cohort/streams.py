"""Each patient's random streams: NumPy generators seeded per patient, made for a whole chunk at once.

Stream ``s`` of patient ``i`` is ``Generator(PCG64(SeedSequence(seed, spawn_key=(key, i, s))))``
(``key``: the population's; the streams: 0 candidates, 1 and 2 visits, 3 dropout, 4 drug draws,
5 adverse events).  Building a ``SeedSequence`` costs about 10-15 us of Python per patient and
stream; ``seed_words`` computes NumPy's ``SeedSequence`` hashing (its entropy assembly,
``mix_entropy`` and ``generate_state``) for every patient at once in uint32 arithmetic, and
``generators`` hands each ``PCG64`` its words through a fixed seed sequence, so the generators are
NumPy's own, bit for bit (``tests/test_streams.py`` checks the words against ``SeedSequence``).
"""

from __future__ import annotations

import numpy as np
from numpy.random.bit_generator import ISeedSequence

POOL = 4  # SeedSequence's pool size (DEFAULT_POOL_SIZE)
INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
MIX_L, MIX_R = 0xCA01F9DD, 0x4973F715
MASK = np.uint64(0xFFFFFFFF)
SHIFT = np.uint64(16)


def _words32(n: int) -> list[int]:
    """A non-negative int as SeedSequence reads it: 32-bit words, least significant first ([0] for 0)."""
    if n < 0:
        raise ValueError(f"seeds and keys must be non-negative, got {n}")
    out = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
    return out


class _Hash:
    """``hashmix``'s running constant: the same sequence for every patient."""

    def __init__(self, init: int, mult: int):
        self.value, self.mult = init, mult

    def mix(self, x: np.ndarray) -> np.ndarray:
        """hashmix(x) for a uint64 array of 32-bit values (the constant advances once)."""
        x = x ^ np.uint64(self.value)
        self.value = (self.value * self.mult) & 0xFFFFFFFF
        x = (x * np.uint64(self.value)) & MASK
        return x ^ (x >> SHIFT)


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = np.bitwise_and(np.uint64(MIX_L) * x - np.uint64(MIX_R) * y, MASK)  # uint64 wraps, then 32 bits kept
    return r ^ (r >> SHIFT)


def seed_words(seed: int, key: int, patients: np.ndarray, stream: int, n_words: int = 4) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=(key, patient, stream)).generate_state(n_words, np.uint64)``
    of each of ``patients`` (< 2**32): (len(patients), n_words) uint64."""
    patients = np.asarray(patients, dtype=np.int64)
    if patients.size and (patients.min() < 0 or patients.max() >= 2**32):
        raise ValueError("patient numbers must be in [0, 2**32)")
    n = patients.size
    run = _words32(int(seed))
    run += [0] * (POOL - len(run))  # a spawn key is given: SeedSequence pads the run entropy to the pool
    fixed_key = _words32(int(key))
    columns = [np.full(n, w, dtype=np.uint64) for w in run + fixed_key]
    columns += [patients.astype(np.uint64), np.full(n, _words32(int(stream))[0], dtype=np.uint64)]
    if len(_words32(int(stream))) > 1:
        raise ValueError("stream numbers must be below 2**32")
    h = _Hash(INIT_A, MULT_A)
    pool = [h.mix(columns[i]) if i < len(columns) else h.mix(np.zeros(n, np.uint64)) for i in range(POOL)]
    for src in range(POOL):
        for dst in range(POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], h.mix(pool[src]))
    for src in range(POOL, len(columns)):
        for dst in range(POOL):
            pool[dst] = _mix(pool[dst], h.mix(columns[src]))
    c = INIT_B
    out32 = []
    for i in range(2 * n_words):
        x = pool[i % POOL] ^ np.uint64(c)
        c = (c * MULT_B) & 0xFFFFFFFF
        x = (x * np.uint64(c)) & MASK
        out32.append(x ^ (x >> SHIFT))
    return np.stack([out32[2 * k] | (out32[2 * k + 1] << np.uint64(32)) for k in range(n_words)], axis=1)


class _Words(ISeedSequence):
    """A seed sequence whose state is already computed (``seed_words``)."""

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words != len(self.words) or np.dtype(dtype) != np.uint64:
            raise ValueError("precomputed seed words fit one PCG64 only")
        return self.words


def generators(seed: int, key: int, patients: np.ndarray, stream: int) -> list[np.random.Generator]:
    """Stream ``stream`` of each of ``patients``: NumPy's generators, as ``SeedSequence`` seeds them."""
    words = seed_words(seed, key, patients, stream)
    return [np.random.Generator(np.random.PCG64(_Words(np.ascontiguousarray(w)))) for w in words]  # type: ignore[arg-type]  # any ISeedSequence
