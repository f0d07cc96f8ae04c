"""MSC dose response: cells per infusion x time to a second infusion, then a cohort check.

1. The typical patient (fast: one simulation per grid point): DAS28-ESR at
   one year for 0 to 1e8 UC-MSCs per infusion and a second infusion after
   0 (none), 90 or 180 days, MSC alone (the typical patient goes into
   remission on MTX alone, which would hide the MSC effect).  Writes the
   heat map ``04_dose_response.png`` and the table ``04_dose_response.csv``.
2. The same doses in a cohort of refractory patients on MTX (the msc+dmard
   arm): mean and spread of the change in DAS28-ESR at one year.  Writes
   ``04_dose_response_cohort.png``.
3. MTX dose from day 0 for the typical patient of the dmard arm: one whose
   disease stays active on MTX 15 mg/week until day 0, so every dose starts
   from the same day 0 (``04_mtx_dose.png``).

    python examples/04_dose_response_sweep.py [OUTDIR]    # RASIM_EXAMPLE_PATIENTS=N to resize
"""

import os
import sys
from pathlib import Path

from rasim.sweep import sweep

PATIENTS = int(os.environ.get("RASIM_EXAMPLE_PATIENTS", 100))
CELLS = [0, 1e7, 2e7, 4e7, 1e8]


def main(outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)  # OUTDIR may not exist yet
    # 1. typical patient, MSC alone (the built-in "msc" arm): every combination of the grid
    typical = sweep({"msc_cells": CELLS, "msc_interval": [0, 90, 180]}, base_arm="msc", patients=0, day=365)
    print(typical.title)
    print(f"{'cells':>8s}" + "".join(f"{f'2nd at d{i:g}' if i else 'one dose':>12s}" for i in (0, 90, 180)))
    for cells in CELLS:
        row = [r["mean"] for r in typical.rows if r["msc_cells"] == cells]
        print(f"{cells:8.0e}" + "".join(f"{v:12.2f}" for v in row))
    typical.to_csv(outdir / "04_dose_response.csv")
    heat = typical.heatmap("msc_cells", "msc_interval", outdir / "04_dose_response.png")

    # 2. cohorts: the same patients (same seed) at every dose, MTX as their background
    cohort = sweep({"msc_cells": CELLS}, base_arm="msc+dmard", patients=PATIENTS, day=365, endpoint="DAS28_ESR_change")
    print(f"\n{cohort.title}")
    print(f"{'cells':>8s}{'mean':>8s}{'p25':>8s}{'p75':>8s}")
    for r in cohort.rows:
        print(f"{r['msc_cells']:8.0e}{r['mean']:8.2f}{r['p25']:8.2f}{r['p75']:8.2f}")
    cohort.plot("msc_cells", outdir / "04_dose_response_cohort.png")

    # 3. MTX dose-response from the same day 0 (active on the arm's MTX 15 mg/week)
    doses = sweep({"mtx_dose": [0, 7.5, 15, 25]}, base_arm="dmard", patients=0, day=182, endpoint="DAS28_ESR_change")
    print(f"\n{doses.title}: " + ", ".join(f"{r['mtx_dose']:g} mg {r['mean']:+.2f}" for r in doses.rows))
    doses.plot("mtx_dose", outdir / "04_mtx_dose.png")
    print(f"figures: {heat}, {outdir / '04_dose_response_cohort.png'}, {outdir / '04_mtx_dose.png'}")
    return heat


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
