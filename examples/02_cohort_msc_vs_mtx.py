"""MSC vs methotrexate vs both, in a cohort of early, MTX-naive RA patients.

Three arms share one population (the same virtual patients, same seed), so the
differences are the treatments': one UC-MSC infusion (4e7 cells IV, day 0),
a first MTX course (7.5 mg/week titrated to 20 mg/week by week 8), or both.
Prints mean DAS28-ESR, responder rates and the fraction of patients whose
immune state has crossed to the remission side (resolved); writes
``02_cohort_msc_vs_mtx.png`` (median and p25-p75 DAS28-ESR per arm) and
``02_distribution.png`` (the distribution of the DAS28-ESR change: responders and
non-responders, not only a median).

    python examples/02_cohort_msc_vs_mtx.py [OUTDIR]      # RASIM_EXAMPLE_PATIENTS=N to resize
"""

import os
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rasim import msc, mtx, plots
from rasim.cohort import Arm, Cohort
from rasim.output import version

PATIENTS = int(os.environ.get("RASIM_EXAMPLE_PATIENTS", 200))
DAYS = (0, 28, 91, 182, 365)
MSC = msc(4e7, days=[0], source="umbilical_cord")
MTX = mtx({0: 7.5, 14: 10, 28: 15, 56: 20}, every=7)  # COMET titration
ARMS = [
    Arm("MSC", "early_mtx_naive", MSC),
    Arm("MTX", "early_mtx_naive", MTX),
    Arm("MSC+MTX", "early_mtx_naive", MSC + MTX),
]


def main(outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)  # OUTDIR may not exist yet
    results = {}
    for arm in ARMS:
        cohort = Cohort(arm, patients=PATIENTS, seed=1, observe=DAYS)
        results[arm.name] = cohort.run()

    print(f"{PATIENTS} early MTX-naive patients per arm; DAS28-ESR mean by day; rates at day {DAYS[-1]}")
    print(f"{'arm':8s}" + "".join(f"{'d' + str(d):>7s}" for d in DAYS) + "  EULAR   ACR20  remission  resolved")
    for name, res in results.items():
        das = res["DAS28_ESR"].mean(axis=0)  # successful patients only
        masks = res.responder_masks()  # (patients, days) booleans per criterion
        rates = [100 * masks[c][:, -1].mean() for c in ("EULAR_response", "ACR20", "DAS28_remission")]
        resolved = 100 * res.resolved_fraction()[-1]
        print(
            f"{name:8s}"
            + "".join(f"{v:7.2f}" for v in das)
            + f"  {rates[0]:4.0f}%  {rates[1]:5.0f}%  {rates[2]:8.0f}%  {resolved:7.0f}%"
        )

    fig = Figure(figsize=(6, 4.2), layout="constrained")  # no pyplot: the backend is left alone
    ax = fig.subplots()
    for k, (name, res) in enumerate(results.items()):
        q25, q50, q75 = np.percentile(res["DAS28_ESR"], (25, 50, 75), axis=0)
        ax.fill_between(res.days, q25, q75, color=f"C{k}", alpha=0.2, label=f"{name} p25-p75")
        ax.plot(res.days, q50, color=f"C{k}", marker="o", label=f"{name} median")
    ax.axhline(2.6, color="grey", lw=0.8, ls=":", label="remission (2.6)")
    ax.set_xlabel("day")
    ax.set_ylabel("DAS28-ESR (score)")
    ax.legend(fontsize=7)
    title = plots.caption("02_cohort_msc_vs_mtx", 1, PATIENTS, version())
    fig.suptitle(title, fontsize=9)
    out = outdir / "02_cohort_msc_vs_mtx.png"
    fig.savefig(out, dpi=100)
    split = plots.distribution(results, outdir / "02_distribution.png", [91, 365], caption=title)
    print(f"figures: {out}, {split}")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
