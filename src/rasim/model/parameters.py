"""rasim's parameter table: every parameter with value, unit, range, meaning and source.

Sources name the evidence (``EVIDENCE.md`` sections of the project's
literature notes) or say how the value was set:

* ``literature``: a published figure (cited);
* ``balance``: set so that the untreated inflamed steady state sits at the
  reference levels in ``REFERENCE_STATE`` (derived by
  ``tools/balance_parameters.py`` from those levels and the literature rates);
* ``calibrated``: fitted to the trial targets named (issue 3 refines these);
* ``assumed``: an order-of-magnitude choice with the plausible range given.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
import math

import numpy as np

from .. import _calibrated
from ..errors import ParameterError, unknown_name

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Parameter:
    """One model parameter (value in ``unit``; ``low``-``high`` plausible range)."""

    name: str
    value: float
    unit: str
    low: float
    high: float
    meaning: str
    source: str


def _p(name, value, unit, low, high, meaning, source):
    return Parameter(name, float(value), unit, float(low), float(high), meaning, source)


_MSC = "MSC biology"
PARAMETERS: tuple[Parameter, ...] = (
    # ---- MSC kinetics and signalling (UC-MSC, allogeneic reference values)
    _p("msc_lung_clearance", 1.5, "1/day", 0.5, 5.0,
       "loss of IV MSCs trapped in the lungs (viable only up to ~24 h)",
       "literature: EVIDENCE s3 (lung trapping; viable cells only in lungs, <= 24 h in mice)"),
    _p("msc_homing_max", 0.05, "1/day", 0.005, 0.5,
       "maximal lung-to-joint homing rate along chemokine gradients",
       "assumed: no human homing fraction found (EVIDENCE s3); wide prior, ~1-5% of the dose homes"),
    _p("msc_homing_k_tnf", 10.0, "pg/mL", 2.0, 50.0,
       "TNF-a (chemokine-gradient proxy) giving half-maximal homing",
       "assumed: homing grows with inflammation (review: targeted migration)"),
    _p("msc_joint_loss", 0.1, "1/day", 0.03, 0.7,
       "loss of MSCs resident in joints (homed or injected)",
       "assumed: intra-articular MSCs persist days to weeks (EVIDENCE s3: IA cells stay in the joint)"),
    _p("msc_immunogenicity", 0.5, "-", 0.0, 3.0,
       "extra immune clearance of donor cells (0 autologous; multiplies loss by 1 + value)",
       "assumed: allogeneic MSCs are rarely rejected (review: low immunogenicity); see presets"),
    _p("msc_lung_weight", 0.3, "-", 0.05, 1.0,
       "systemic signalling of a lung-trapped cell relative to a joint-resident one (TSG-6, PGE2)",
       "assumed: lung-trapped MSCs act systemically (EVIDENCE s3)"),
    _p("msc_potency_immune", 1.0, "-", 0.001, 3.0,
       "immunomodulatory secretion per cell relative to UC-MSC",
       "preset: umbilical cord = 1; adipose 0.002 (Vij 2022, see presets)"),
    _p("msc_potency_repair", 1.0, "-", 0.1, 3.0,
       "repair (IGF-1, VEGF) secretion per cell relative to UC-MSC", "preset: umbilical cord = 1"),
    _p("msc_k_immune", 2.0, "1e6 cells", 0.2, 20.0,
       "cells (potency-weighted) for a half-maximal immunomodulatory signal",
       "assumed (not fitted): scale of Park 2018 early DAS28/ESR change after 2.5e7-1e8 cells"),
    _p("msc_k_repair", 0.5, "1e6 cells", 0.05, 10.0,
       "joint-resident cells for a half-maximal repair signal", "assumed"),
    _p("ia_joint_fraction", 1.0 / 28.0, "-", 1.0 / 28.0, 1.0,
       "fraction of the 28 joints that received an intra-articular injection",
       "regimen: set from the injected joint count"),
    _p("msc_effect_t", 0.6, "-", 0.0, 0.95,
       "maximal cut of effector T-cell activation by the MSC signal (IDO, PGE2)",
       "assumed (not fitted): Wang 2013 (TNF/IL-6 fall, Treg rise after infusion)"),
    _p("msc_treg_induction", 7.0, "% CD4/day", 0.0, 10.0,
       "Treg expansion at a saturating MSC signal",
       "assumed (not fitted): Treg up at 1 month (Wang 2013, Ghoryani 2019); mid-range, so that with "
       "treg_mem_death the immune response of a typical patient lasts 3-6 months (Wang 2013)"),
    _p("msc_m2_polarization", 0.5, "1/day", 0.0, 3.0,
       "M1-to-M2 repolarisation at a saturating MSC signal (efferocytosis, PGE2)",
       "assumed: MSC-educated macrophages (review: immunomodulation)"),
    _p("msc_tgfb", 20.0, "ng/mL/day", 0.0, 100.0,
       "TGF-b release at a saturating MSC signal", "assumed"),
    _p("msc_fls_reprogramming", 0.005, "1/day", 0.0, 1.0,
       "reversion rate of imprinted fibroblasts at a saturating joint-resident MSC signal (typical value; "
       "it varies widely between patients, see cohort.variability)",
       "assumed: MSC secretome and exosomes curb RA fibroblast proliferation, migration and invasion "
       "(Chen 2018 J Immunol 201:2472); small in the typical patient, whose benefit lasts 3-6 months "
       "(Wang 2013, the wang2013-duration check row), large in the minority whose benefit lasts a year "
       "or more (Yang 2017, Liang 2012, Wang 2019)"),
    _p("repair_cartilage_gain", 3.0, "-", 0.0, 10.0,
       "fold increase of the cartilage repair rate at a saturating repair signal (IGF-1)",
       "assumed (review: tissue repair)"),
    _p("repair_bone_gain", 2.0, "-", 0.0, 10.0,
       "fold increase of erosion repair at a saturating repair signal", "assumed"),
    _p("vegf_pannus", 0.3, "-", 0.0, 2.0,
       "fractional increase of fibroblast stimulation by VEGF at a saturating repair signal",
       "EVIDENCE s1: VEGF also feeds pannus angiogenesis"),
    # ---- methotrexate PK (closed form, see pk.py) and PD
    _p("mtx_f_oral", 0.67, "-", 0.64, 0.70, "oral bioavailability of low-dose MTX",
       "literature: EVIDENCE s3 (0.64-0.70)"),
    _p("mtx_f_sc", 0.9, "-", 0.8, 1.0, "subcutaneous bioavailability",
       "assumed: SC exposure exceeds oral at doses >= 15 mg"),
    _p("mtx_ka", 36.0, "1/day", 10.0, 100.0, "oral absorption rate (tmax 1-2 h)",
       "literature: tmax 1-2 h for oral MTX"),
    _p("mtx_kel", 24.0 * LN2 / 6.0, "1/day", 1.0, 6.0,
       "plasma elimination at creatinine clearance 100 mL/min (t1/2 ~6 h)",
       "literature: EVIDENCE s3 (terminal half-life about 6 h)"),
    _p("mtx_renal_fraction", 0.8, "-", 0.6, 0.95,
       "fraction of MTX elimination that is renal (scales with renal function)",
       "literature: MTX is cleared mainly unchanged by the kidney"),
    _p("creatinine_clearance", 100.0, "mL/min", 15.0, 150.0,
       "renal function covariate scaling the renal part of MTX elimination", "covariate"),
    _p("mtx_k_pg_in", 0.1, "1/day", 0.02, 0.5,
       "uptake of plasma MTX into cells and polyglutamation", "assumed (sets PG amount scale)"),
    _p("mtx_k_pg_out", LN2 / 21.0, "1/day", LN2 / 30.0, LN2 / 8.0,
       "loss of intracellular polyglutamates (t1/2 ~3 weeks)",
       "literature: EVIDENCE s3 (PG elimination half-life 1.2-4.3 weeks)"),
    _p("mtx_ec50", 1.0, "mg", 0.1, 10.0, "polyglutamate amount for half-maximal effect",
       "calibrated: SWEFOT DAS28 5.7 -> 4.0 at 3 months; response half-time ~6 weeks"),
    _p("mtx_emax_t", 0.2, "-", 0.0, 0.95, "maximal cut of T-cell activation by MTX (adenosine)",
       "assumed (not fitted; was fitted to SWEFOT and RADIATE before the fitted set was cut)"),
    _p("mtx_emax_m", 0.2, "-", 0.0, 0.95, "maximal cut of macrophage activation by MTX",
       "calibrated: SWEFOT, RADIATE placebo + MTX arm"),
    # ---- T cells
    _p("t_death", 0.1, "1/day", 0.03, 0.3, "turnover of effector T cells", "literature: days-weeks"),
    _p("apc_k_m1", 1.0, "rel", 0.5, 10.0, "M1 level for half-maximal antigen presentation (Hill 2)", "assumed"),
    _p("treg_suppression_k", 4.0, "% CD4", 1.0, 15.0, "total Treg for 50% suppression of T activation",
       "assumed: Treg 5-8% of CD4 in health"),
    _p("il10_k_t", 10.0, "pg/mL", 2.0, 50.0, "IL-10 for 50% inhibition of T activation", "assumed"),
    _p("th1_source", 0.156403, "% CD4/day", 0.05, 2.0, "homeostatic Th1 supply (antigen-independent)",
       "balance (tools/balance_parameters.py)"),
    _p("th1_activation", 5.60326, "% CD4/day", 0.5, 20.0, "maximal antigen-driven Th1 expansion", "balance (tools/balance_parameters.py)"),
    _p("th17_source", 0.0586217, "% CD4/day", 0.01, 0.2, "homeostatic Th17 supply (Th17 ~0.6% in health)",
       "balance (tools/balance_parameters.py)"),
    _p("th17_activation", 0.584381, "% CD4/day", 0.05, 5.0, "maximal Th17 expansion", "balance (tools/balance_parameters.py)"),
    _p("th17_k_il6", 15.0, "pg/mL", 3.0, 50.0, "IL-6 for half-maximal Th17 differentiation (Hill 2)",
       "assumed"),
    _p("tfh_source", 0.861558, "% CD4/day", 0.2, 2.0, "homeostatic Tfh supply (cTfh ~8% in health)",
       "balance (tools/balance_parameters.py)"),
    _p("tfh_activation", 2.71659, "% CD4/day", 0.3, 15.0, "maximal Tfh expansion", "balance (tools/balance_parameters.py)"),
    _p("tfh_k_il6", 10.0, "pg/mL", 2.0, 50.0, "IL-6 for half-maximal Tfh differentiation", "assumed"),
    _p("treg_source", 0.0179027, "% CD4/day", 0.0, 0.2, "thymic Treg supply", "balance (tools/balance_parameters.py)"),
    _p("treg_induction", 0.30275, "% CD4/day", 0.1, 5.0, "maximal TGF-b-driven Treg induction", "balance (tools/balance_parameters.py)"),
    _p("treg_k_tgfb", 20.0, "ng/mL", 5.0, 60.0, "TGF-b for half-maximal Treg induction", "assumed"),
    _p("treg_k_il6", 25.0, "pg/mL", 2.0, 40.0, "IL-6 for half-maximal block of Foxp3 induction (Hill 2)",
       "assumed: IL-6 diverts TGF-b-primed cells from Treg to Th17 (Th17/Treg switch)"),
    _p("treg_death", 0.1, "1/day", 0.03, 0.3, "turnover of short-lived Treg", "literature: days-weeks"),
    _p("treg_to_memory", 0.02, "1/day", 0.005, 0.1, "entry of Treg into the long-lived memory pool",
       "assumed: memory Treg are ~3/4 of blood Treg"),
    _p("treg_mem_death", LN2 / 75.0, "1/day", LN2 / 365.0, LN2 / 45.0,
       "turnover of memory Treg (t1/2 ~2.5 months)",
       "assumed: memory T-cell half-lives of months; sets response durability (Wang 2013: 3-6 months)"),
    # ---- macrophages
    _p("mac_death", 0.1, "1/day", 0.03, 0.3, "turnover of synovial macrophages", "literature: days-weeks"),
    _p("m1_source", 0.00354536, "rel/day", 0.001, 0.2, "basal monocyte influx to M1", "balance (tools/balance_parameters.py)"),
    _p("m1_activation", 1.39827, "rel/day", 0.05, 5.0, "maximal recruitment/activation of M1", "balance (tools/balance_parameters.py)"),
    _p("m1_k_th1", 10.0, "% CD4", 5.0, 40.0, "Th1 (IFN-g) for half-maximal M1 activation (Hill 2)", "assumed"),
    _p("m1_k_tnf", 3.0, "pg/mL", 2.0, 50.0, "TNF-a for half-maximal M1 activation", "assumed"),
    _p("m1_fls_recruitment", 0.05, "rel/day", 0.0, 0.1,
       "monocyte recruitment into the M1 pool per unit of fibroblasts above health (CCL2, GM-CSF)",
       "assumed: fibroblasts recruit and retain leukocytes (Bartok & Firestein 2010 Immunol Rev "
       "233:233); about a quarter of M1 supply at the inflamed reference"),
    _p("il10_k_m", 10.0, "pg/mL", 2.0, 50.0, "IL-10 for 50% inhibition of M1 activation", "assumed"),
    _p("m2_source", 0.05, "rel/day", 0.01, 0.2, "basal M2 supply", "assumed"),
    _p("m2_polarization", 0.05, "1/day", 0.0, 0.5, "maximal IL-10-driven M1-to-M2 repolarisation", "assumed"),
    _p("m2_k_il10", 5.0, "pg/mL", 1.0, 30.0, "IL-10 for half-maximal repolarisation", "assumed"),
    # ---- fibroblasts
    _p("fls_source", 0.0140817, "rel/day", 0.001, 0.1, "basal fibroblast renewal (FLS = 1 in health)", "balance (tools/balance_parameters.py)"),
    _p("fls_activation", 0.178529, "rel/day", 0.01, 1.0, "maximal IL-17/TNF-driven FLS expansion", "balance (tools/balance_parameters.py)"),
    _p("fls_k_il17", 5.0, "pg/mL", 1.0, 30.0, "IL-17 for half-maximal FLS activation", "assumed"),
    _p("fls_k_tnf", 10.0, "pg/mL", 2.0, 50.0, "TNF-a for half-maximal FLS activation", "assumed"),
    _p("fls_death", 0.02, "1/day", 0.005, 0.1, "loss of activated FLS (apoptosis-resistant; t1/2 ~1 month)",
       "assumed"),
    _p("fls_autonomy", 0.4, "-", 0.0, 1.0,
       "cytokine-independent activation of imprinted fibroblasts, as a fraction of saturating "
       "IL-17 + TNF-a stimulation (about 0.4 at the inflamed reference)",
       "assumed: RA fibroblasts stay invasive without immune cells (Muller-Ladner 1996 Am J Pathol "
       "149:1607; Lefevre 2009 Nat Med 15:1414; imprinted aggressors, Bottini & Firestein 2013 Nat "
       "Rev Rheumatol 9:24)"),
    _p("imprint_rate", LN2 / 365.0, "1/day", LN2 / 1825.0, LN2 / 180.0,
       "imprinting of fibroblasts under saturating IL-17 + TNF-a stimulation (t1/2 ~1 year)",
       "assumed: epigenetic imprinting (DNA hypomethylation) of RA fibroblasts (Karouzakis 2009 Nat Rev "
       "Rheumatol 5:266); response to DMARDs falls with disease duration over the first years "
       "(Anderson 2000 Arthritis Rheum 43:22, window of opportunity)"),
    _p("imprint_reversal", LN2 / 1095.0, "1/day", LN2 / 3650.0, LN2 / 365.0,
       "reversion of imprinted fibroblasts in quiescence (t1/2 ~3 years)",
       "assumed: the imprinted phenotype persists for months ex vivo and in SCID mice (Muller-Ladner "
       "1996; Karouzakis 2009); synovial fibroblast turnover is slow"),
    _p("synovitis_turnover", 0.038, "1/day", 0.02, 0.1,
       "remodelling rate of clinical synovitis (swelling, tenderness) toward its cell drive",
       "literature: DAS28 turnover of indirect-response models, kout 0.038/day (Levi 2013) and "
       "0.0264/day (Ma 2020), EVIDENCE s4"),
    # ---- cytokines
    _p("tnf_deg", 24.0 * 60.0 * LN2 / 49.0, "1/day", 10.0, 200.0, "TNF-a clearance (t1/2 49 min)",
       "literature: EVIDENCE s3 (plasma half-lives 5 and 49 min)"),
    _p("tnf_basal", 4.99855, "pg/mL/day", 0.0, 100.0, "TNF-a production outside the joint", "balance (tools/balance_parameters.py)"),
    _p("tnf_m1", 88.1656, "pg/mL/day", 5.0, 200.0, "TNF-a production per unit M1", "balance (tools/balance_parameters.py)"),
    _p("tnf_th1", 0.5, "pg/mL/day", 0.0, 20.0, "TNF-a production per % Th1", "assumed: minor T-cell share of TNF-a"),
    _p("il10_k_cytokine", 10.0, "pg/mL", 2.0, 50.0, "IL-10 for 50% inhibition of TNF/IL-6 production", "assumed"),
    _p("il6_deg", 24.0 * LN2 / 2.0, "1/day", 2.0, 50.0, "IL-6 clearance (t1/2 ~2 h)", "literature: short plasma half-life"),
    _p("il6_basal", 1.65201, "pg/mL/day", 0.0, 50.0, "IL-6 production outside the joint", "balance (tools/balance_parameters.py)"),
    _p("il6_fls", 10.0487, "pg/mL/day", 1.0, 200.0, "IL-6 production per unit FLS", "balance (tools/balance_parameters.py)"),
    _p("il6_m1", 10.0, "pg/mL/day", 0.0, 100.0, "IL-6 production per unit M1", "assumed: M1 share of IL-6 (FLS dominate)"),
    _p("il6_tnf_gain", 2.0, "-", 0.0, 10.0, "fold increase of IL-6 production by TNF-a",
       "literature: EVIDENCE s3 (IL-6 rises 2-6 h after TNF)"),
    _p("il6_k_tnf", 10.0, "pg/mL", 2.0, 50.0, "TNF-a for half-maximal IL-6 induction", "assumed"),
    _p("il6_il17_gain", 2.0, "-", 0.0, 10.0, "fold increase of FLS IL-6 production by IL-17", "assumed"),
    _p("il6_k_il17", 5.0, "pg/mL", 1.0, 30.0, "IL-17 for half-maximal IL-6 induction", "assumed"),
    _p("il17_deg", 24.0 * LN2 / 2.0, "1/day", 2.0, 50.0, "IL-17 clearance (t1/2 ~2 h)", "assumed"),
    _p("il17_basal", 1.18825, "pg/mL/day", 0.0, 50.0, "IL-17 production by innate cells", "balance (tools/balance_parameters.py)"),
    _p("il17_th17", 32.6769, "pg/mL/day", 1.0, 200.0, "IL-17 production per % Th17", "balance (tools/balance_parameters.py)"),
    _p("il10_deg", 24.0 * LN2 / 3.0, "1/day", 2.0, 20.0, "IL-10 clearance (t1/2 ~3 h)",
       "literature: IV IL-10 half-life 2.7-4.5 h"),
    _p("il10_basal", 18.6065, "pg/mL/day", 0.0, 50.0, "basal IL-10 production", "balance (tools/balance_parameters.py)"),
    _p("il10_treg", 1.48148, "pg/mL/day", 0.0, 50.0, "IL-10 production per % Treg", "balance (tools/balance_parameters.py)"),
    _p("il10_m2", 2.0, "pg/mL/day", 0.0, 100.0, "IL-10 production per unit M2", "assumed"),
    _p("tgfb_deg", 24.0 * LN2 / 1.5, "1/day", 5.0, 50.0, "clearance of (latent) TGF-b (t1/2 ~90 min)",
       "assumed: latent TGF-b half-life ~90 min"),
    _p("tgfb_basal", 149.895, "ng/mL/day", 0.0, 1000.0, "basal TGF-b (platelets, tissues)", "balance (tools/balance_parameters.py)"),
    _p("tgfb_treg", 19.737, "ng/mL/day", 0.0, 100.0, "TGF-b production per % Treg", "balance (tools/balance_parameters.py)"),
    _p("tgfb_m2", 30.0, "ng/mL/day", 0.0, 300.0, "TGF-b production per unit M2", "assumed"),
    # ---- acute phase and autoantibodies
    _p("crp_deg", 24.0 * LN2 / 19.0, "1/day", 0.7, 1.0, "CRP clearance (t1/2 19 h, same in health and RA)",
       "literature: EVIDENCE s3"),
    _p("crp_basal", 1.5327, "mg/L", 0.1, 2.0, "CRP without IL-6 drive", "balance (tools/balance_parameters.py)"),
    _p("crp_max", 83.5436, "mg/L", 20.0, 400.0, "maximal IL-6-driven CRP", "balance (tools/balance_parameters.py)"),
    _p("crp_k_il6", 40.0, "pg/mL", 5.0, 200.0, "IL-6 for half-maximal CRP synthesis (Hill 2)", "assumed"),
    _p("fib_deg", LN2 / 4.0, "1/day", LN2 / 6.0, LN2 / 2.0, "fibrinogen turnover (t1/2 ~4 days)",
       "literature: fibrinogen half-life 3-5 days; EVIDENCE s3 (ESR slower than CRP)"),
    _p("fib_basal", 2.625, "g/L", 1.5, 3.5, "fibrinogen without IL-6 drive", "balance (tools/balance_parameters.py)"),
    _p("fib_max", 6.325, "g/L", 2.0, 10.0, "maximal IL-6-driven fibrinogen rise", "balance (tools/balance_parameters.py)"),
    _p("fib_k_il6", 30.0, "pg/mL", 5.0, 200.0, "IL-6 for half-maximal fibrinogen synthesis", "assumed"),
    _p("autoab_deg", LN2 / 60.0, "1/day", LN2 / 180.0, LN2 / 21.0,
       "autoantibody turnover (IgG and plasma cells, t1/2 ~2 months)", "assumed: IgG t1/2 21 days, plasma cells longer"),
    _p("autoab_basal", 0.15, "rel", 0.0, 0.5, "autoantibody level without Tfh help", "balance (tools/balance_parameters.py)"),
    _p("autoab_max", 1.7, "rel", 0.5, 5.0, "maximal Tfh-driven autoantibody level", "balance (tools/balance_parameters.py)"),
    _p("autoab_k_tfh", 15.0, "% CD4", 5.0, 40.0, "Tfh for half-maximal autoantibody production (Hill 2)", "assumed"),
    _p("seropositive", 1.0, "-", 0.0, 1.0, "1 seropositive (RF/anti-CCP), 0 seronegative", "covariate"),
    # ---- observation model (state -> clinical measures; see observables.py)
    _p("esr_fib_ref", 3.0, "g/L", 2.5, 3.5, "fibrinogen at which ESR equals its healthy median",
       "literature: normal fibrinogen 2-4 g/L"),
    _p("esr_fib_exponent", 2.5, "-", 1.0, 4.0, "ESR rise with fibrinogen, ESR ~ fibrinogen^k",
       "assumed (not fitted): ESR 55 mm/h at fibrinogen 5.5 g/L (RADIATE baseline)"),
    _p("esr_healthy_fraction", 0.4, "-", 0.2, 0.8,
       "healthy median ESR as a fraction of the upper normal limit (age/2; (age+10)/2 for women)",
       "literature: Miller 1983 upper limits of ESR"),
    _p("esr_ig_gain", 0.5, "-", 0.0, 2.0,
       "fractional ESR rise per unit of immunoglobulin (autoantibody) excess over its basal level",
       "EVIDENCE s3: ESR follows fibrinogen and immunoglobulins, so it falls more slowly than CRP; "
       "assumed (not fitted); the early ESR change after MSCs (Park 2018)"),
    _p("sjc_k", 8.7, "synovitis units", 3.0, 20.0, "synovitis giving 14 of 28 swollen joints (Hill 2)",
       "assumed (not fitted): SJC28 ~11 at the inflamed reference"),
    _p("tjc_k", 20.0, "tenderness units", 3.0, 20.0, "tenderness drive giving 14 of 28 tender joints (Hill 2)",
       "fixed at the top of its range, where the fit put it (20.0; docs/calibration.md): the calibrate "
       "rows favour fewer tender joints than the TJC28 > SJC28 of trial baselines (a known disagreement)"),
    _p("damage_weight", 0.5, "-", 0.0, 2.0, "weight of structural damage in tenderness, pain and disability",
       "assumed"),
    _p("pain_floor", 1.0, "-", 0.0, 5.0, "non-inflammatory pain drive (central sensitisation, comorbidity)",
       "assumed: residual pain in remission"),
    _p("pain_k", 4.6, "-", 1.0, 20.0, "pain drive giving 50 mm on the pain VAS",
       "assumed (not fitted): pain ~65 mm at the inflamed reference"),
    _p("global_k", 4.0, "-", 1.0, 20.0, "drive giving 50 mm on the patient global VAS",
       "assumed (not fitted): patient global ~68 mm at the inflamed reference"),
    _p("physician_k", 3.5, "synovitis units", 1.0, 20.0, "synovitis giving 50 mm on the physician global VAS",
       "assumed"),
    _p("haq_floor", 0.72, "-", 0.0, 10.0,
       "non-inflammatory disability drive at 5 years' duration (deformity, comorbidity)",
       "fixed at the value of the fit that included it (0.72): not identified there (SE of log 4.7, "
       "correlation 0.93 with haq_k; docs/calibration.md); assumed start 0.5"),
    _p("haq_k", 6.5, "-", 1.0, 30.0, "disability drive giving HAQ-DI 1.5",
       "calibrated: HAQ 1.7 at the inflamed reference (RADIATE baseline)"),
    _p("rf_scale", 100.0, "IU/mL", 20.0, 500.0, "RF at autoantibody level 1", "assumed: typical seropositive RA"),
    _p("ccp_scale", 200.0, "U/mL", 20.0, 1000.0, "anti-CCP at autoantibody level 1", "assumed"),
    _p("age", 50.0, "years", 18.0, 90.0, "age (ESR normal range)", "covariate"),
    _p("female", 1.0, "-", 0.0, 1.0, "1 female, 0 male (ESR normal range)", "covariate"),
    _p("weight", 70.0, "kg", 30.0, 200.0, "body weight (per-kg MSC doses)", "covariate"),
    # ---- structure
    _p("damage_k_tnf", 10.0, "pg/mL", 2.0, 50.0, "TNF-a for half-maximal FLS MMP/RANKL output", "assumed"),
    _p("damage_k_il17", 5.0, "pg/mL", 1.0, 30.0, "IL-17 for half-maximal FLS MMP/RANKL output", "assumed"),
    _p("cartilage_repair", 1e-3, "1/day", 1e-4, 1e-2, "intrinsic cartilage repair (slow, chondrocytes)",
       "assumed: cartilage turns over in years"),
    _p("cartilage_loss", 2e-4, "1/day", 2e-5, 2e-3, "cartilage loss per unit destructive drive", "assumed"),
    _p("erosion_rate", 1e-4, "1/day", 1e-5, 1e-3, "new erosion per unit destructive drive", "assumed"),
    _p("erosion_repair", 5e-4, "1/day", 5e-5, 5e-3, "erosion repair (osteoblasts; rare in RA)", "assumed"),
)

# The two steady states the ``balance`` parameters are derived from
# (tools/balance_parameters.py): untreated established RA and the threshold of
# remission (with the default constants the saddle between the inflamed and the
# remission attractor).  Memory Treg and M2 follow from their own equations.
REFERENCE_STATES: dict[str, dict[str, float]] = {
    "inflamed": {
        "th1": 20.0,    # % CD4 (8-20% in health, higher in RA)
        "th17": 2.0,    # % CD4 (1.5-3% in active RA)
        "tfh": 15.0,    # % CD4 (cTfh expanded in RA)
        "treg": 0.85,   # % CD4 short-lived Treg; total Treg ~3.8% in active RA
        "m1": 5.0,      # relative to healthy synovium
        "fls": 4.0,     # relative to healthy synovium (pannus)
        "tnf": 15.0,    # pg/mL
        "il6": 25.0,    # pg/mL (~20 on DMARDs, EVIDENCE s3)
        "il17": 8.0,    # pg/mL
        "il10": 5.0,    # pg/mL
        "tgfb": 25.0,   # ng/mL
        "crp": 25.0,    # mg/L (untreated typical; trial baselines 33-37 are enriched by entry criteria)
        "fibrinogen": 5.5,  # g/L
        "autoab": 1.0,  # relative
    },
    "resolved": {
        "th1": 5.0, "th17": 0.6, "tfh": 9.0, "treg": 1.6, "m1": 0.6, "fls": 1.2,
        "tnf": 2.0, "il6": 3.0, "il17": 2.5, "il10": 5.5, "tgfb": 28.0,
        "crp": 2.0, "fibrinogen": 3.2, "autoab": 0.6,
    },
}

def _with_calibration(table: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """The table with the committed calibration (``data/calibrated.json``) applied: fitted
    values, and the balance constants recomputed at them (``rasim.model.balance``)."""
    fitted, balance = _calibrated.fitted("params"), _calibrated.fitted("balance")

    def entry(p: Parameter) -> Parameter:
        if p.name in fitted:
            return replace(p, value=fitted[p.name], source=f"{_calibrated.SOURCE}; start: {p.value:g} ({p.source})")
        if p.name in balance:
            return replace(p, value=balance[p.name], source=f"{p.source}, at the calibrated values")
        return p
    return tuple(entry(p) for p in table)


PARAMETERS = _with_calibration(PARAMETERS)
PINDEX: dict[str, int] = {p.name: i for i, p in enumerate(PARAMETERS)}
N_PARAMS = len(PARAMETERS)
DEFAULTS = np.array([p.value for p in PARAMETERS], dtype=np.float64)


def parameter(name: str) -> Parameter:
    """The table entry of ``name``; unknown names raise, naming the closest ones."""
    try:
        return PARAMETERS[PINDEX[name]]
    except KeyError:
        raise ParameterError(unknown_name("parameter", name, PINDEX, "rasim.parameters()")) from None


def parameter_vector(overrides: Mapping[str, float] | None = None, base: np.ndarray | None = None,
                     allow_out_of_range: bool = False) -> np.ndarray:
    """A float64 parameter vector: ``base`` (defaults) with ``overrides`` applied and checked.

    An override must be a finite number >= 0 (a fraction within [0, 1]) and, unless
    ``allow_out_of_range``, within the parameter's plausible range (``low``-``high``)."""
    vec = (DEFAULTS if base is None else base).astype(np.float64, copy=True)
    for name, value in (overrides or {}).items():
        entry = parameter(name)
        if isinstance(value, (bool, np.bool_, str)):
            raise ParameterError(f"parameter {name!r} must be a number ({entry.unit}); got {value!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0.0:
            raise ParameterError(f"parameter {name!r} must be a finite number >= 0 ({entry.unit}); got {value}")
        if is_fraction(entry) and value > 1.0:
            raise ParameterError(f"parameter {name!r} is a fraction: it must be within [0, 1]; got {value:g}")
        if not allow_out_of_range and not _within(entry, value):
            raise ParameterError(f"parameter {name!r} = {value:g} is outside its plausible range "
                                 f"{entry.low:g}-{entry.high:g} {entry.unit}; to use it anyway: allow_out_of_range "
                                 "(a scenario key, or rasim run --unsafe-params)")
        vec[PINDEX[name]] = value
    return vec


def _within(entry: Parameter, value: float) -> bool:
    """``value`` in the plausible range, up to rounding (1e-9 relative)."""
    slack = 1e-9 * max(abs(entry.low), abs(entry.high))
    return entry.low - slack <= value <= entry.high + slack


def is_fraction(entry: Parameter) -> bool:
    """A dimensionless parameter whose plausible range lies within [0, 1]."""
    return entry.unit == "-" and 0.0 <= entry.low and entry.high <= 1.0


def out_of_range(overrides: Mapping[str, float]) -> list[str]:
    """Messages for the ``overrides`` outside their plausible range."""
    return [f"parameter {name} = {float(v):g} is outside its plausible range {parameter(name).low:g}-"
            f"{parameter(name).high:g} {parameter(name).unit}" for name, v in overrides.items()
            if not _within(parameter(name), float(v))]
