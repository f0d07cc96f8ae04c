"""Find the adipose-MSC immunomodulatory potency that Vij 2022 allows.

Vij 2022 (autologous adipose MSC 2e8 IV, n = 15) saw serum TNF-a, IL-6 and
ESR unchanged at weeks 4, 12, 26 and 52.  This script bisects (in log
potency) for the largest ``presets.SOURCES["adipose"]["msc_potency_immune"]``
at which the ``ad_msc+dmard`` arm's mean TNF, IL-6 and ESR change by no more
than ``TOLERANCE`` beyond the control arm's at every one of those visits; the preset carries the
result.  The repair route (joint-resident cells, which also reprogram imprinted
fibroblasts and so lower IL-6) is bisected the same way with ``--route repair``::

    python tools/adipose_potency.py [--patients 400] [--seed 5] [--route immune|repair]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rasim.cohort import Cohort  # noqa: E402
from rasim.model import presets  # noqa: E402

VISITS = (0.0, 28.0, 84.0, 182.0, 364.0)  # Vij 2022: baseline, weeks 4, 12, 26, 52
MARKERS = ("TNF", "IL6", "ESR")
TOLERANCE = 0.05  # largest mean relative change still read as "unchanged"


def relative_change(arm: str, patients: int, seed: int, params: dict | None = None) -> np.ndarray:
    """Mean / baseline mean - 1 of each of MARKERS (rows) at the visits after day 0 (columns)."""
    res = Cohort(arm, patients=patients, seed=seed, observe=VISITS, params=params).run()
    return np.array([res[m].mean(axis=0)[1:] / res[m][:, 0].mean() - 1.0 for m in MARKERS])


def largest_change(potency: float, patients: int, seed: int, route: str = "immune") -> float:
    """Largest |relative change| over MARKERS and visits at this source potency beyond the
    control arm's (``dmard``: the measured ESR moves by regression to the mean alone);
    ``route``: "immune" or "repair", the other keeps its preset value."""
    effective = potency * presets.AUTOLOGOUS_POTENCY
    params = {f"msc_potency_{route}": effective}
    change = relative_change("ad_msc+dmard", patients, seed, params) - relative_change("dmard", patients, seed)
    return float(np.abs(change).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=400)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument(
        "--route",
        choices=("immune", "repair"),
        default="immune",
        help="which potency to bisect (the other keeps its preset value)",
    )
    a = ap.parse_args()
    lo, hi = math.log(1e-6), math.log(3.0)
    for _ in range(a.steps):
        mid = 0.5 * (lo + hi)
        change = largest_change(math.exp(mid), a.patients, a.seed, a.route)
        print(f"{a.route} potency {math.exp(mid):.3g}: largest marker change {change:.3f}")
        lo, hi = (mid, hi) if change <= TOLERANCE else (lo, mid)
    print(
        f"largest {a.route} potency within {TOLERANCE:.0%}: {math.exp(lo):.3g} "
        f"(preset now {presets.SOURCES['adipose'][f'msc_potency_{a.route}']:g})"
    )


if __name__ == "__main__":
    main()
