"""Which parameters decide DAS28-ESR at one year? Sobol indices for the typical patient.

Six MSC and MTX parameters are drawn over their plausible ranges
(``rasim parameters``; log scale for ranges above zero; the MTX EC50 over
the part of its range where the patient stays active on MTX) and the
typical patient of the msc+dmard arm (active on MTX 15 mg/week, given
UC-MSC 4e7 IV on day 0) is simulated for each sample.  SALib estimates the first-order (S1:
the share of the output variance a parameter explains alone) and total (ST:
with its interactions) indices.  Writes ``05_sobol.png`` and ``05_sobol.csv``.
Needs SALib (``pip install rasim[sensitivity]``); without it, says so and stops.

    python examples/05_sobol_sensitivity.py [OUTDIR]    # RASIM_EXAMPLE_SAMPLES=N (power of 2) to resize
"""

import os
import sys
from pathlib import Path

import rasim
from rasim import sensitivity

SAMPLES = int(os.environ.get("RASIM_EXAMPLE_SAMPLES", 256))  # Sobol base samples: SAMPLES * 8 simulations
PARAMS = ["msc_homing_max", "msc_k_immune", "msc_treg_induction", "msc_lung_clearance", "mtx_ec50", "mtx_emax_t"]


def main(outdir: Path) -> Path | None:
    outdir.mkdir(parents=True, exist_ok=True)  # OUTDIR may not exist yet
    try:
        result = sensitivity.sobol(
            PARAMS, endpoint="DAS28_ESR", day=365, arm="msc+dmard", n=SAMPLES, bounds={"mtx_ec50": (2.0, 10.0)}
        )  # active on MTX 15 mg/week
    except ImportError as e:
        print(f"skipped: {e}")
        return None
    print(
        f"Sobol indices of DAS28-ESR at day 365 from {len(result.Y)} simulations "
        f"({result.failed} without active disease)"
    )
    print(f"{'parameter':20s}{'range':>16s}{'S1':>7s}{'ST':>7s}   meaning")
    for row in result.rows:
        meaning = rasim.parameter(row["param"]).meaning
        print(f"{row['param']:20s}{row['low']:>8g}-{row['high']:<7g}{row['S1']:7.2f}{row['ST']:7.2f}   {meaning}")
    with (outdir / "05_sobol.csv").open("w") as f:
        f.write("param,low,high,S1,S1_conf,ST,ST_conf\n")
        f.writelines(
            f"{r['param']},{r['low']:g},{r['high']:g},{r['S1']:.4f},{r['S1_conf']:.4f},"
            f"{r['ST']:.4f},{r['ST_conf']:.4f}\n"
            for r in result.rows
        )
    out = result.plot(outdir / "05_sobol.png")
    print(f"figure: {out}")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
