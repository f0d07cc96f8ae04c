"""The mTSS table of docs/radiographic.md: published yearly change against the model's, per arm.

Each trial arm is simulated in the population and regimen it enrolled (1000 patients per arm,
seed 7: an independent draw from the one ``radiographic_yield`` was chosen on). Only DE019's
placebo + MTX arm was used to choose it; every other row is a check::

    python tools/radiographic.py [--patients 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from rasim import adalimumab, prednisolone
from rasim.cohort import ARMS, Arm, Cohort
from rasim.cohort.arms import DMARD, MTX_TITRATION


@dataclass(frozen=True)
class Row:
    """A published mean change (mTSS units) of one trial arm at ``day``."""

    arm: str
    trial: str
    day: int
    published: float
    fitted: bool = False


ARMS_OF_TRIALS: dict[str, Arm] = {
    "mtx_naive": ARMS["mtx_naive"],
    "mtx_ir": ARMS["mtx_ir"],
    "ada+mtx (MTX-IR)": Arm("ada_ir", "mtx_inadequate", adalimumab(40), DMARD, "adalimumab 40 mg every 2 weeks + MTX"),
    "ada+mtx (early RA)": Arm(
        "ada_early", "early_mtx_naive", adalimumab(40) + MTX_TITRATION, None, "adalimumab + MTX from day 0"
    ),
    "pred 7.5 + mtx (early RA)": Arm(
        "pred_early", "early_mtx_naive", prednisolone(7.5) + MTX_TITRATION, None, "prednisolone 7.5 mg/day + MTX"
    ),
    "pred 5 + mtx (MTX-IR)": Arm("pred_ir", "mtx_inadequate", prednisolone(5), DMARD, "prednisolone 5 mg/day + MTX"),
    "msc+dmard": ARMS["msc+dmard"],
    "dmard": ARMS["dmard"],
}

ROWS = (
    Row("mtx_ir", "DE019 placebo + MTX (Keystone 2004), 2.7 +- 6.8", 364, 2.7, fitted=True),
    Row("mtx_naive", "ASPIRE MTX (St Clair 2004), 3.7 +- 9.6", 378, 3.7),
    Row("mtx_naive", "PREMIER MTX (Breedveld 2006)", 364, 5.7),
    Row("mtx_naive", "PREMIER MTX, 2 years", 728, 10.4),
    Row("mtx_naive", "COMET MTX (from memory, unverified)", 364, 2.44),
    Row("mtx_naive", "C-OPERA MTX", 364, 1.58),
    Row("mtx_naive", "FUNCTION MTX", 364, 1.14),
    Row("ada+mtx (MTX-IR)", "DE019 adalimumab + MTX, 0.1 +- 4.8", 364, 0.1),
    Row("ada+mtx (early RA)", "PREMIER adalimumab + MTX", 364, 1.3),
    Row("ada+mtx (early RA)", "PREMIER adalimumab + MTX, 2 years", 728, 1.9),
)

# Differences between arms over two years: (arm, control, trial, published control - arm)
CONTRASTS = (
    ("pred 7.5 + mtx (early RA)", "mtx_naive", "Kirwan 1995: prednisolone 7.5 mg/day, 87% less (Larsen units)", None),
    ("pred 5 + mtx (MTX-IR)", "mtx_ir", "GLORIA (Boers 2022): prednisolone 5 mg/day, 1.7 less", 1.7),
    ("msc+dmard", "dmard", "no radiographic trial of MSCs", None),
)


def run(patients: int, seed: int) -> dict[str, np.ndarray]:
    """Each arm's mTSS change at days 364, 378 and 728 (patients x 3), and its day-0 mTSS."""
    out = {}
    for name, arm in ARMS_OF_TRIALS.items():
        res = Cohort(arm, patients=patients, seed=seed, observe=(0, 364, 378, 728)).run()
        out[name] = res["mTSS_change"][:, 1:]
        out[name + " day 0"] = res["mTSS"][:, 0]
    return out


def table(changes: dict[str, np.ndarray]) -> list[str]:
    """The markdown table of ``ROWS`` and ``CONTRASTS``."""
    col = {364: 0, 378: 1, 728: 2}
    lines = [
        "| arm (rasim) | published | day | published change | simulated mean (SD) | simulated median | day-0 mTSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in ROWS:
        x = changes[r.arm][:, col[r.day]]
        label = f"{r.trial}{' (fitted)' if r.fitted else ''}"
        base = changes[r.arm + " day 0"]
        lines.append(
            f"| `{r.arm}` | {label} | {r.day} | {r.published:g} | {x.mean():.2f} ({x.std(ddof=1):.2f}) | "
            f"{np.median(x):.2f} | {base.mean():.1f} ({base.std(ddof=1):.1f}) |"
        )
    lines += ["", "| arm | control | published (2 years) | simulated change, arm / control | less than control |"]
    lines.append("|---|---|---|---:|---:|")
    for arm, control, trial, _ in CONTRASTS:
        a, c = changes[arm][:, 2].mean(), changes[control][:, 2].mean()
        lines.append(f"| `{arm}` | `{control}` | {trial} | {a:.2f} / {c:.2f} | {c - a:.2f} ({(c - a) / c:.0%}) |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print("\n".join(table(run(a.patients, a.seed))))


if __name__ == "__main__":
    main()
