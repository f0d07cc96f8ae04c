"""One patient with established RA under four regimens, over 3 years.

Regimens: no treatment, weekly methotrexate 15 mg, one UC-MSC infusion
(4e7 cells IV) and both.  Day 0 is the untreated inflamed steady state.
Writes ``01_single_patient.png`` (DAS28-ESR, CRP, ESR and Treg %) next to
where it runs, or to the folder given as the first argument.

    python examples/01_single_patient.py [OUTDIR]
"""

import sys
from pathlib import Path

from matplotlib.figure import Figure

import rasim
from rasim import msc, mtx
from rasim.output import version

REGIMENS = {
    "no treatment": rasim.Regimen(),
    "MTX 15 mg/week": mtx(15, every=7),
    "UC-MSC 4e7 IV day 0": msc(4e7, days=[0], source="umbilical_cord"),
    "MSC + MTX": msc(4e7, days=[0]) + mtx(15, every=7),
}
PANELS = [
    ("DAS28_ESR", "DAS28-ESR (score)"),
    ("CRP", "CRP (mg/L)"),
    ("ESR", "ESR (mm/h)"),
    ("Treg_pct", "Treg (% CD4+)"),
]


def main(outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)  # OUTDIR may not exist yet
    results = {name: rasim.simulate(reg, days=1095) for name, reg in REGIMENS.items()}
    fig = Figure(figsize=(10, 7), layout="constrained")  # no pyplot: the backend is left alone
    axes = fig.subplots(2, 2, sharex=True)
    for ax, (key, label) in zip(axes.flat, PANELS):
        for name, res in results.items():
            ax.plot(res.t, res[key], label=name)
        ax.set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("day")
    axes[0, 0].axhline(2.6, color="grey", lw=0.8, ls=":")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"One typical patient (untreated steady state at day 0), four regimens | rasim {version()}")
    out = outdir / "01_single_patient.png"
    fig.savefig(out, dpi=100)
    print(f"{'regimen':22s} {'DAS28 d0':>9s} {'d28':>6s} {'d182':>6s} {'d365':>6s} {'d1095':>6s}  status")
    for name, res in results.items():
        das = res["DAS28_ESR"]
        print(
            f"{name:22s} {das[0]:9.2f} {das[28]:6.2f} {das[182]:6.2f} {das[365]:6.2f} {das[1095]:6.2f}  "
            f"{res.status.name}"
        )
    print(f"figure: {out}")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
