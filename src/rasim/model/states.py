"""The model's named states, their units and their order in the state vector.

Names are lowered to integer indices once, here; compiled code uses the
``I_*`` constants only.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import indices


@dataclass(frozen=True)
class State:
    """One state variable of the ODE system."""

    name: str
    unit: str
    meaning: str


STATES: tuple[State, ...] = (
    State("msc_lung", "1e6 cells", "IV-infused MSCs trapped in the lungs / circulating"),
    State("msc_joint", "1e6 cells", "MSCs homed to the inflamed synovium (spread over all 28 joints)"),
    State("msc_ia", "1e6 cells", "MSCs injected intra-articularly (in the injected joints only)"),
    State("th1", "% of CD4+", "Th1 effector T cells"),
    State("th17", "% of CD4+", "Th17 effector T cells"),
    State("tfh", "% of CD4+", "T follicular helper cells"),
    State("treg", "% of CD4+", "short-lived (induced/effector) regulatory T cells"),
    State("treg_mem", "% of CD4+", "long-lived memory Treg pool (the slow variable of disease memory)"),
    State("m1", "relative (healthy = 1)", "activated (M1) synovial macrophages"),
    State("m2", "relative (healthy = 1)", "regulatory (M2) synovial macrophages"),
    State("fls", "relative (healthy = 1)", "activated synovial fibroblasts (pannus mass)"),
    State(
        "fls_imprint",
        "fraction (0-1)",
        "fibroblasts with an imprinted, autonomous aggressive phenotype (accrues over years of "
        "inflammation, reverts over years of quiescence)",
    ),
    State("tnf", "pg/mL", "TNF-alpha"),
    State("il6", "pg/mL", "IL-6"),
    State("il17", "pg/mL", "IL-17A"),
    State("il10", "pg/mL", "IL-10"),
    State("tgfb", "ng/mL", "TGF-beta1"),
    State("crp", "mg/L", "C-reactive protein (hepatic, IL-6 driven)"),
    State("fibrinogen", "g/L", "fibrinogen, the slow acute-phase driver of ESR"),
    State("autoab", "relative (established RA = 1)", "autoantibody level (RF / anti-CCP), Tfh-driven"),
    State("cartilage", "fraction (intact = 1)", "cartilage integrity"),
    State("erosion", "fraction of bone surface", "bone erosion"),
    State(
        "synovitis",
        "activated cells over health, (FLS - 1)+ + (M1 - 1)+",
        "clinical synovitis: hyperplastic, infiltrated synovium and effusion, remodelled over weeks",
    ),
    State(
        "radiographic",
        "mTSS units (0-448)",
        "radiographic damage (modified Sharp/van der Heijde score): the part of cartilage loss and "
        "erosion a radiograph grades, accrued as they form and never repaired",
    ),
)

NAMES: tuple[str, ...] = tuple(s.name for s in STATES)
N_STATES = len(STATES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}

(
    I_MSC_LUNG,
    I_MSC_JOINT,
    I_MSC_IA,
    I_TH1,
    I_TH17,
    I_TFH,
    I_TREG,
    I_TREG_MEM,
    I_M1,
    I_M2,
    I_FLS,
    I_IMPRINT,
    I_TNF,
    I_IL6,
    I_IL17,
    I_IL10,
    I_TGFB,
    I_CRP,
    I_FIB,
    I_AUTOAB,
    I_CART,
    I_EROS,
    I_SYNOVITIS,
    I_RADIOGRAPHIC,
) = range(N_STATES)

# States that only accrue (no steady state, no period): day 0's Newton polish, periodic shooting and
# stability checks hold them; their day-0 value is what the disease duration accrued
# (``rasim.day0.accrue_damage``).
ACCRUING: tuple[int, ...] = (I_RADIOGRAPHIC,)

# States from N_COUPLED on are sinks: read-outs that no earlier state's rate depends on (today
# CRP, fibrinogen, autoantibodies, cartilage, erosion, synovitis, radiographic damage), each
# depending on itself and earlier sinks only among them (radiographic damage reads cartilage and
# erosion).  The solver then factors the leading block only and substitutes for the sinks.  Derived from the Jacobian's
# sparsity by tools/generate_jacobian.py (N_STATES when the state order leaves no trailing sinks).
N_COUPLED: int = indices.N_COUPLED
