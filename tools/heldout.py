"""Hold the calibrated model against trials it never saw: write docs/heldout.md.

``tools/heldout.csv`` has targets.csv's columns; its rows come from trials
outside ``targets.csv`` (sources in each row) and were used in no fit or
preset: placebo + DMARD arms of add-on trials in DMARD- or anti-TNF-inadequate
responders (simulated as the ``dmard`` arm), MTX arms of early-RA trials
(``mtx_naive``), the randomised allogeneic adipose MSC trial Cx611, adalimumab
+ MTX, prednisolone bridges on MTX in early RA (COBRA, CareRA, BeSt) and
naproxen (the valdecoxib severe-RA trial), each with its trial's control arm.
Each is simulated in the population and regimen its trial enrolled, and
compared under the calibration's tolerance rule::

    python tools/heldout.py [--patients 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rasim import calibration as cal
from rasim.cohort import ARMS, Arm, Cohort
from rasim.cohort.arms import DMARD, MTX_TITRATION
from rasim.regimen import adalimumab, msc, mtx, nsaid, prednisolone

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tools" / "heldout.csv"
REPORT = ROOT / "docs" / "heldout.md"


def _cx611(per_kg: float) -> Arm:
    """Alvaro-Gracia 2017: allogeneic adipose MSC IV on days 1, 8 and 15, on DMARDs."""
    cells = msc(per_kg, days=[0, 7, 14], per_kg=True, source="adipose", donor="allogeneic")
    return Arm(f"cx611_{per_kg:g}", "refractory", cells, DMARD, f"Cx611 {per_kg:g}/kg x 3")


# Prednisolone 60 -> 7.5 mg/day in 6 weekly steps (COBRA; BeSt group 3: "in 7 weeks")
COBRA_BRIDGE = {0: 60, 7: 40, 14: 25, 21: 20, 28: 15, 35: 10, 42: 7.5}
# CareRA COBRA Slim: 30 mg/day tapered to 5 mg/day from week 6 (the comparators scenario's steps)
SLIM_BRIDGE = {0: 30, 7: 20, 14: 15, 21: 10, 28: 7.5, 42: 5}
MTX15 = mtx(15, every=7)
# Sulfasalazine is not modelled: in COBRA and BeSt group 3 MTX stands for it (tools/heldout.csv notes).
PRED_AND_NSAID_ARMS: dict[str, Arm] = {
    "pred_bridge_cobra": Arm(
        "cobra",
        "early_mtx_naive",
        prednisolone(COBRA_BRIDGE, until=196) + MTX_TITRATION,
        None,
        "COBRA: prednisolone 60 -> 7.5 mg/day, stopped at week 28, on MTX 7.5 -> 20 mg/week (for SSZ + MTX 7.5)",
    ),
    "pred_control_cobra": Arm(
        "cobra_ssz", "early_mtx_naive", MTX_TITRATION, None, "COBRA's SSZ arm as MTX 7.5 -> 20 mg/week"
    ),
    "pred_bridge_carera": Arm(
        "carera_slim",
        "early_das28",
        prednisolone(SLIM_BRIDGE, until=196) + MTX15,
        None,
        "CareRA COBRA Slim: MTX 15 mg/week + prednisolone 30 -> 5 mg/day",
    ),
    "pred_control_carera": Arm("carera_tsu", "early_das28", MTX15, None, "CareRA MTX-TSU: MTX 15 mg/week"),
    "pred_bridge_best": Arm(
        "best_3",
        "early_mtx_naive",
        prednisolone(COBRA_BRIDGE) + MTX15,
        None,
        "BeSt group 3: prednisolone 60 -> 7.5 mg/day on MTX 15 mg/week (for MTX 7.5 + SSZ)",
    ),
    "pred_control_best": Arm("best_1_2", "early_mtx_naive", MTX15, None, "BeSt groups 1 and 2: MTX 15 mg/week"),
    "nsaid_naproxen": Arm(
        "naproxen+mtx", "mtx_inadequate", nsaid("naproxen", 1000), DMARD, "naproxen 500 mg twice daily on MTX"
    ),
    "nsaid_placebo": ARMS["mtx_ir"],
}

ARMS_OF_TRIALS: dict[str, Arm] = {
    "dmard": ARMS["dmard"],
    "mtx_naive": ARMS["mtx_naive"],
    "mtx_ir": ARMS["mtx_ir"],
    "cx611_1": _cx611(1e6),
    "cx611_2": _cx611(2e6),
    "cx611_4": _cx611(4e6),
    "cx611_placebo": ARMS["dmard"],
    "ada+mtx": Arm("ada+mtx", "mtx_inadequate", adalimumab(40), DMARD, "adalimumab 40 mg every other week on MTX"),
    **PRED_AND_NSAID_ARMS,
    **cal.DESIGNS,
}

INTRO = [
    "Published figures from trials that are not in `targets.csv` and were used in no fit",
    "(`tools/heldout.csv`, sources and caveats per row): placebo + MTX/DMARD arms of add-on trials in",
    "MTX- or DMARD-inadequate responders (the `mtx_ir` arm: the `mtx_inadequate` population on",
    "placebo + MTX) and in anti-TNF-inadequate responders (`dmard`), MTX arms of early-RA trials",
    "(`mtx_naive`), and Cx611 (allogeneic adipose MSCs on days 0, 7 and 14 in patients who had failed",
    "two biologics), adalimumab + MTX in MTX-inadequate responders (`ada+mtx`: ARMADA, DE019),",
    "prednisolone bridges on MTX in early RA and their arms without prednisolone (`pred_bridge_*`,",
    "`pred_control_*`: COBRA, CareRA's low-risk stratum, BeSt; sulfasalazine is not modelled, so MTX stands",
    "for it in COBRA and BeSt group 3 and the simulated arms differ by prednisolone only), and naproxen",
    "500 mg twice daily against placebo on MTX (`nsaid_naproxen`, `nsaid_placebo`: the valdecoxib",
    "severe-RA trial, whose naproxen arm the NSAID Emax was chosen against, so it is not strictly held out).",
    "Trials whose published rule after randomisation is known run under it",
    "(`rasim.calibration.DESIGNS`: RAPID 1 withdrawal at week 16, LITHE escape at week 16, the early MTX",
    "arms reported by intention to treat with withdrawal at TEMPO's rate), and each row says its analysis",
    "(`analysis`: empty is every patient as observed). +/- is the Monte Carlo standard error; the",
    "tolerance is the calibration's rule.",
]

MISSES = [
    "What the misses say. The placebo + MTX arms of MTX-inadequate trials published from 2017 on",
    "(RA-BEAM, SELECT-COMPARE, -NEXT, -MONOTHERAPY: ACR20 36-41% at weeks 12-14) and AIM at a year",
    "(40%) sit above the model (23-29%), which reads near the placebo response of the earlier",
    "trials it was fitted to (ACR20 9-33%); placebo response rises with publication year (Nagai 2020,",
    "Bechman 2020), which no mechanism in the model carries. The placebo staircases fall off faster than",
    "the trials' (ACR50 3-4% and ACR70 about 1% against 8-10% and 3-5%). ARMADA's placebo arm (14.5%)",
    "sits below the model as far as the 2017 trials sit above it: no single MTX-inadequate population",
    "carries both.",
    "The placebo terms are fitted with Vollert 2020's pooled placebo pain change (-14 mm at week 12, 5",
    "trials) among the calibrate rows, and the placebo acts on what is left to relieve",
    "(`rasim.cohort.measurement`: its share on an item shrinks as the item falls below its day-0 value),",
    "so it does not add to a drug's effect. MOBILITY A's week-12 HAQ change (-0.26) now reads -0.24 and",
    "TARGET's placebo ACR20 (34%) 28%, both within; MOBILITY A's pain and patient global (-22 and -21",
    "mm, observed cases) read -10 and -11 mm, its physician global (-27 mm), which carries both placebo",
    "terms, -16 mm. An additive placebo of the same strength had lifted the early",
    "MTX arms' ACR50 and ACR70 past their tolerance (TEMPO, AMBITION, US 301): held out 46 of 66, against",
    "51 now and 49 with the earlier, weaker additive terms (`placebo_pro` 0.07). That comparison was",
    "seen before the non-additive form was kept, so these rows are not blind to that choice.",
    "The placebo builds over weeks (`placebo_onset` 60 days, from DE007's week-2 against week-12",
    "joint-count changes).",
    "The MTX arms of early-RA trials run as each reported: by intention to treat with withdrawal at",
    "TEMPO's rate (PREMIER, ASPIRE, TEMPO, ERA, US 301, MN 302; RA-BEGIN and SELECT-EARLY by",
    "non-responder imputation), observed every 4 weeks so that LOCF carries a withdrawn patient's",
    "last visit (`calibration.VISIT_EVERY`); with visits only on the reported days, LOCF had carried",
    "day 0 and read 17 points low. Patients differ in how far MTX can calm their macrophages",
    "(variability `mtx_emax_m`, fitted), which makes primary MTX non-responders: RA-BEGIN,",
    "SELECT-EARLY, PREMIER and ASPIRE now fall within tolerance. AMBITION, analysed here as observed",
    "cases, stays 21 points high on ACR20; it enrolled established RA as well (median duration 3.1",
    "years, a third not MTX-naive), and on a population of that duration (log-normal, median 3.1",
    "years, mean 6.2) ACR20 comes within tolerance (62%) but ACR50 falls to 22% against 34%: neither",
    "population gives its staircase. TEMPO enrolled established RA (6.6 years): on the early",
    "population the model matches its ACR20 and DAS28 change but overshoots remission (29% against",
    "17%); on a population of its own duration it would miss both (ACR20 60% against 75%, DAS28 -1.7",
    "against -2.5), because the model's imprinted fibroblasts make long-standing RA too resistant to a",
    "first course of MTX. US 301 enrolled established RA too (about 7 years).",
    "Cx611's arms hold 6-20 patients. A rate's tolerance uses Agresti and Coull's standard error",
    "(`calibration.rate_se`): the Wald error had read the placebo arm's 0 of 7 at month 3 as exact",
    "(tolerance 10 points; now 23). The 1e6/kg arm's 45% at month 1 (9 of 20) stays out of reach: in",
    "patients who failed two biologics the model's MSC response at a month is about 8%.",
    "",
    "The prednisolone and NSAID rows. CareRA's week-16 changes in DAS28-CRP and HAQ and BeSt's 3-month",
    "HAQ are within tolerance in both arms, but the simulated gap between bridge and no bridge in BeSt's",
    "HAQ is about 0.15 against the published 0.4, and remission on DAS28-CRP runs about 20 points under",
    "both CareRA arms (table below; the low-risk stratum was selected on prognostic markers, among them",
    "DAS28-CRP, RF and anti-CCP, which `early_das28` is not). The model's COBRA ACR20 is far above both arms",
    "(about 95% and 75% against 72% and 49%) with a gap like the trial's: as in the early MTX arms read as",
    "observed cases, it has too few primary non-responders, the sulfasalazine arm's 29% withdrawal is",
    "not simulated, and MTX stands for sulfasalazine. COBRA's median Sharp/van der Heijde changes are",
    "2.5 to 5 times the model's in both arms (week 80: 4 and 12 against about 0.8 and 3.2), while",
    "the bridge spares at least as large a share as in the trial: early-RA damage accrues too slowly in the model",
    "at COBRA's activity. In the valdecoxib trial both arms read low (naproxen about 34% against 61%,",
    "placebo about 25% against 40%): the placebo arm shares the MTX-inadequate placebo miss above and the",
    "flare after NSAID washout is not simulated, and naproxen adds about 9 points where the trial shows",
    "21, because a model NSAID leaves the swollen count where it was and ACR20 needs it 20% lower. The",
    "NSAID Emax was chosen against this trial's 61% against 40%, which the model does not give here.",
    "",
]

VIJ = [
    "## Vij 2022 (adipose MSC): the model's reading of an uncontrolled trial",
    "",
    "Vij 2022 (autologous adipose MSC 2e8 IV, open label, n = 15, no control arm) reported tender and",
    "swollen joint counts improved at week 52 while TNF-a, IL-6 and ESR were unchanged. The model reads",
    "joint counts and serum markers from the same synovial cells (fibroblasts and macrophages), and the",
    "lasting MSC effect is carried by host cells rather than persisting MSCs (`kinetics` in data/references.csv), so adipose",
    "cells whose potencies are bounded by Vij's flat markers (`tools/adipose_potency.py`) do nothing",
    "specific to the joints. The simulated `ad_msc+dmard` arm nevertheless shows Vij's pattern (table",
    "below): its joint counts fall about as much as the control arm's, through regression to the mean",
    "after enrolment on high screening values and the assessor's placebo term on the joint counts, while the markers",
    "stay flat. So the model reads Vij's joint counts as what any uncontrolled arm shows, in line with",
    "the randomised adipose trial, Cx611, which was near placebo (rows above); no joint-local memory was",
    "added to reproduce them.",
    "",
]


def vij_rows(patients: int, seed: int) -> list[str]:
    """Published (qualitative) vs simulated week-52 / baseline means of ``ad_msc+dmard`` and the control arm."""
    runs = {arm: Cohort(arm, patients=patients, seed=seed, observe=(0, 364)).run() for arm in ("ad_msc+dmard", "dmard")}
    lines = [
        "| item | Vij 2022 at week 52 | simulated `ad_msc+dmard`, week 52 / baseline | control arm `dmard` |",
        "|---|---|---:|---:|",
    ]
    for name, published in (
        ("TJC28", "improved"),
        ("SJC28", "improved"),
        ("TNF", "unchanged"),
        ("IL6", "unchanged"),
        ("ESR", "unchanged"),
    ):
        ratio = [np.mean(r[name][:, 1]) / np.mean(r[name][:, 0]) for r in runs.values()]
        lines.append(f"| {name} | {published} | {ratio[0]:.2f} | {ratio[1]:.2f} |")
    return lines


# Kinds of held-out arm (the prefix of the arm key) and their line in the group table.
GROUPS = (
    ("mtx_ir", "placebo + MTX/DMARD arms, MTX- or DMARD-inadequate responders"),
    ("dmard", "placebo + MTX/DMARD arms, anti-TNF-inadequate responders"),
    ("mtx_naive", "MTX arms of early-RA trials"),
    ("cx611", "Cx611 (adipose MSC and placebo)"),
    ("ada+mtx", "adalimumab 40 mg every other week on MTX, MTX-inadequate responders (ARMADA, DE019)"),
    ("pred_bridge", "prednisolone bridges on MTX, early RA (COBRA, CareRA COBRA Slim, BeSt group 3)"),
    ("pred_control", "their arms without prednisolone (MTX; COBRA's sulfasalazine as MTX)"),
    ("nsaid_naproxen", "naproxen 500 mg twice daily on MTX (valdecoxib severe-RA trial)"),
    ("nsaid_placebo", "placebo on MTX (valdecoxib severe-RA trial)"),
)


CARERA = [
    "## CareRA: remission on DAS28-CRP",
    "",
    "CareRA's primary outcome, remission at week 16, is DAS28-CRP < 2.6; the model's remission criterion",
    "(`DAS28_remission`) is DAS28-ESR < 2.6, so it is no row above. The same cohorts as the `carera` rows",
    "(observed cases) read on DAS28-CRP:",
    "",
]


def carera_rows(patients: int, seed: int) -> list[str]:
    """Published vs simulated week-16 DAS28-CRP < 2.6 (and DAS28-ESR < 2.6) in CareRA's low-risk arms."""
    lines = [
        "| CareRA low-risk arm | published DAS28-CRP < 2.6 | simulated DAS28-CRP < 2.6 | simulated DAS28-ESR < 2.6 |",
        "|---|---:|---:|---:|",
    ]
    for key, label, published in (
        ("pred_bridge_carera", "COBRA Slim (n = 43)", 0.651),
        ("pred_control_carera", "MTX-TSU (n = 47)", 0.468),
    ):
        res = Cohort(ARMS_OF_TRIALS[key], patients=patients, seed=seed, observe=(0, 112), rtol=1e-4).run()
        j = res.day_index(112)
        crp = float(np.mean(res["DAS28_CRP"][:, j] < 2.6))
        esr = float(np.mean(res.responder_masks()["DAS28_remission"][:, j]))
        lines.append(f"| {label} | {100 * published:.1f}% | {100 * crp:.1f}% | {100 * esr:.1f}% |")
    return lines


DRUG_ARMS = ("ada+mtx", "pred_", "nsaid_")  # the comparator drugs' held-out arms (issue 22)


def group_rows(rows) -> list[str]:
    """Rows within tolerance per kind of held-out arm."""
    lines = ["| held-out arms | rows | within tolerance |", "|---|---:|---:|"]
    for kind, label in GROUPS:
        group = [(t, sim) for t, sim, _ in rows if t.arm.startswith(kind)]
        within = sum(abs(sim - t.value) <= t.tolerance for t, sim in group)
        lines.append(f"| {label} | {len(group)} | {within} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rows = cal.simulate_targets(cal.targets("heldout", DATA), None, a.patients, a.seed, arms=ARMS_OF_TRIALS)
    table, n_within = cal.markdown_table(rows)
    lines = [
        "# Held-out trials",
        "",
        f"Generated by `python tools/heldout.py` ({a.patients} virtual patients per arm, seed {a.seed}).",
        *INTRO,
        "",
    ]
    acr = [(t, sim) for t, sim, _ in rows if t.endpoint in ("ACR50", "ACR70")]
    acr_within = sum(abs(sim - t.value) <= t.tolerance for t, sim in acr)
    core = [(t, sim) for t, sim, _ in rows if not t.arm.startswith(DRUG_ARMS)]
    core_within = sum(abs(sim - t.value) <= t.tolerance for t, sim in core)
    lines += table + [
        "",
        f"{n_within} of {len(rows)} within tolerance; ACR50/ACR70 rows {acr_within} of {len(acr)}. "
        f"Without the comparator drugs' arms (adalimumab, prednisolone, NSAID): {core_within} of {len(core)}.",
        "",
    ]
    lines += group_rows(rows) + ["", "## ACR staircases", ""] + cal.staircase_table(rows) + [""] + MISSES
    lines += CARERA + carera_rows(a.patients, a.seed) + [""]
    lines += VIJ + vij_rows(a.patients, a.seed) + [""]
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
