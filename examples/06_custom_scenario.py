"""Write your own scenario file, load it and run it: the route from an idea to result files.

The scenario compares bone-marrow MSCs given per kg (1e6 cells/kg, days 0
and 90) on MTX with MTX alone, in moderately active RA, for one year, with
faster MSC homing than the default (a [params] override).  The TOML text
below is what ``rasim show`` prints and ``rasim run my_trial.toml`` reads;
``docs/scenarios.md`` describes every key.  The files written by
``run_scenario`` go to ``OUTDIR/06_custom/``.

    python examples/06_custom_scenario.py [OUTDIR]    # RASIM_EXAMPLE_PATIENTS=N to resize
"""

import os
import sys
import tempfile
from pathlib import Path

from rasim.runner import run_scenario
from rasim.scenario import load

PATIENTS = int(os.environ.get("RASIM_EXAMPLE_PATIENTS", 200))

SCENARIO = f"""
name = "bm_msc_moderate"
description = "Bone-marrow MSC 1e6/kg on days 0 and 90 vs MTX alone, moderate RA, one year"
patients = {PATIENTS}
seed = 7
days = 365
observe = [0, 28, 91, 182, 365]

[params]
msc_homing_max = 0.07       # 1/day (default 0.05)

[[arms]]
name = "mtx"
population = "moderate_mtx"
regimen.doses = []
background.doses = [ {{ drug = "mtx", dose_mg = 15.0, every = 7.0 }} ]

[[arms]]
name = "bm_msc+mtx"
population = "moderate_mtx"
regimen.doses = [
  {{ drug = "msc", cells = 1e6, per_kg = true, days = [0, 90], source = "bone_marrow", donor = "autologous" }},
]
background.doses = [ {{ drug = "mtx", dose_mg = 15.0, every = 7.0 }} ]
"""


def main(outdir: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bm_msc_moderate.toml"
        path.write_text(SCENARIO)
        scenario = load(path)  # validates everything; errors name the file and key
    print(
        f"loaded {scenario.name}: {len(scenario.arms)} arms, {scenario.patients} patients each, "
        f"params {scenario.params}"
    )
    out = outdir / "06_custom"
    results = run_scenario(scenario, out)
    change = {name: res.mean("DAS28_ESR_change")[-1] for name, res in results.items()}
    print("mean DAS28-ESR change at day 365: " + ", ".join(f"{k} {v:+.2f}" for k, v in change.items()))
    print(f"results: {out} (scenario.toml there is the resolved scenario: rerun it with `rasim run`)")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
