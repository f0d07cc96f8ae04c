"""The right-hand side of rasim's RA model: one rate law per state.

``rates`` is plain arithmetic on indexable inputs, so the same source is
compiled by Numba for the solver (``register_jitable`` keeps the functions
callable from Python) and evaluated on sympy symbols by
``tools/generate_jacobian.py`` to produce the analytic Jacobian
(``jacobian.py``).  Keep it free of branches and ``min``/``max``, and take
non-integer powers only of positive expressions (``excess``).

Inputs: ``y`` states (see ``states.py``), ``p`` the parameter vector
(see ``parameters.py``; ``ix.P_<NAME>`` are its indices, generated into
``indices.py`` by the same tool), ``u`` the drugs' forcing vector (``forcing.py``:
MTX polyglutamates in mg, ...), supplied in closed form.  The drugs act through
``drug_factor`` at the ``forcing.HOOKS`` points.  Time is in days.

Numba's on-disk cache does not see edits to imported files; ``rasim._cache``
keys the cache directory by a hash of every source file of the package.
"""

from __future__ import annotations

from numba.extending import register_jitable

from . import indices as ix
from .forcing import H_CYTOKINE_PRODUCTION, H_M_ACTIVATION, H_T_ACTIVATION, H_TNF_CLEARANCE, drug_factor
from .states import (
    I_AUTOAB,
    I_CART,
    I_CRP,
    I_EROS,
    I_FIB,
    I_FLS,
    I_IL6,
    I_IL10,
    I_IL17,
    I_IMPRINT,
    I_M1,
    I_M2,
    I_MSC_IA,
    I_MSC_JOINT,
    I_MSC_LUNG,
    I_RADIOGRAPHIC,
    I_SYNOVITIS,
    I_TFH,
    I_TGFB,
    I_TH1,
    I_TH17,
    I_TNF,
    I_TREG,
    I_TREG_MEM,
)


MTSS_EROSION_MAX, MTSS_JSN_MAX = 280.0, 168.0  # Sharp/van der Heijde: erosions 0-280, narrowing 0-168
MTSS_MAX = MTSS_EROSION_MAX + MTSS_JSN_MAX


@register_jitable
def sat(x, k):
    """Saturating (Michaelis-Menten) activation x / (x + k), in [0, 1)."""
    return x / (x + k)


@register_jitable
def sat2(x, k):
    """Cooperative (Hill n = 2) activation x^2 / (x^2 + k^2)."""
    return x * x / (x * x + k * k)


@register_jitable
def inhib(x, k):
    """Inhibition k / (x + k), 1 at x = 0."""
    return k / (x + k)


@register_jitable
def inhib2(x, k):
    """Cooperative (Hill n = 2) inhibition k^2 / (x^2 + k^2)."""
    return k * k / (x * x + k * k)


@register_jitable
def excess(x):
    """Smooth positive part of x (x for x >> 0.1, 0 for x << -0.1); x in relative units."""
    return 0.5 * (x + (x * x + 0.01) ** 0.5)


@register_jitable(inline="always")
def msc_signals(y, p):
    """MSC signals (dimensionless, 0-1): (immunomodulatory, repair).

    IV cells act from the lungs (weighted) and from the joints they home to;
    intra-articular cells act at high local density in the injected fraction
    of joints only, so the 28-joint mean is a two-group average.
    """
    phi = p[ix.P_IA_JOINT_FRACTION]
    pot_i = p[ix.P_MSC_POTENCY_IMMUNE]
    pot_r = p[ix.P_MSC_POTENCY_REPAIR]
    systemic = p[ix.P_MSC_LUNG_WEIGHT] * y[I_MSC_LUNG] + y[I_MSC_JOINT]
    injected = systemic + y[I_MSC_IA] / phi
    k_i = p[ix.P_MSC_K_IMMUNE]
    s_imm = (1.0 - phi) * sat(pot_i * systemic, k_i) + phi * sat(pot_i * injected, k_i)
    k_r = p[ix.P_MSC_K_REPAIR]
    local = y[I_MSC_JOINT] + y[I_MSC_IA] / phi
    s_rep = (1.0 - phi) * sat(pot_r * y[I_MSC_JOINT], k_r) + phi * sat(pot_r * local, k_r)
    return s_imm, s_rep


@register_jitable
def rates(y, p, u, dy):
    """Write dy/dt (state units per day) into ``dy``."""
    s_imm, s_rep = msc_signals(y, p)
    treg_total = y[I_TREG] + y[I_TREG_MEM]

    # --- MSC compartments: lung trapping, chemokine-driven homing, loss
    immune_loss = 1.0 + p[ix.P_MSC_IMMUNOGENICITY]
    homing = p[ix.P_MSC_HOMING_MAX] * sat(y[I_TNF], p[ix.P_MSC_HOMING_K_TNF])
    dy[I_MSC_LUNG] = -(p[ix.P_MSC_LUNG_CLEARANCE] * immune_loss + homing) * y[I_MSC_LUNG]
    dy[I_MSC_JOINT] = homing * y[I_MSC_LUNG] - p[ix.P_MSC_JOINT_LOSS] * immune_loss * y[I_MSC_JOINT]
    dy[I_MSC_IA] = -p[ix.P_MSC_JOINT_LOSS] * immune_loss * y[I_MSC_IA]

    # --- effector T cells: antigen presentation by M1, held back by Treg,
    # IL-10, drugs (methotrexate: adenosine) and the MSC signal
    t_activation = (
        sat2(y[I_M1], p[ix.P_APC_K_M1])
        * inhib(treg_total, p[ix.P_TREG_SUPPRESSION_K])
        * inhib(y[I_IL10], p[ix.P_IL10_K_T])
        * drug_factor(p, u, H_T_ACTIVATION)
        * (1.0 - p[ix.P_MSC_EFFECT_T] * s_imm)
    )
    d_t = p[ix.P_T_DEATH]
    dy[I_TH1] = p[ix.P_TH1_SOURCE] + p[ix.P_TH1_ACTIVATION] * t_activation - d_t * y[I_TH1]
    dy[I_TH17] = (
        p[ix.P_TH17_SOURCE]
        + p[ix.P_TH17_ACTIVATION] * t_activation * sat2(y[I_IL6], p[ix.P_TH17_K_IL6])
        - d_t * y[I_TH17]
    )
    dy[I_TFH] = (
        p[ix.P_TFH_SOURCE] + p[ix.P_TFH_ACTIVATION] * t_activation * sat(y[I_IL6], p[ix.P_TFH_K_IL6]) - d_t * y[I_TFH]
    )

    # --- regulatory T cells: TGF-b induced, blocked by IL-6 (the Th17/Treg
    # switch), expanded by MSCs; a fraction enters the long-lived memory pool
    dy[I_TREG] = (
        p[ix.P_TREG_SOURCE]
        + p[ix.P_TREG_INDUCTION] * sat(y[I_TGFB], p[ix.P_TREG_K_TGFB]) * inhib2(y[I_IL6], p[ix.P_TREG_K_IL6])
        + p[ix.P_MSC_TREG_INDUCTION] * s_imm
        - (p[ix.P_TREG_DEATH] + p[ix.P_TREG_TO_MEMORY]) * y[I_TREG]
    )
    dy[I_TREG_MEM] = p[ix.P_TREG_TO_MEMORY] * y[I_TREG] - p[ix.P_TREG_MEM_DEATH] * y[I_TREG_MEM]

    # --- macrophages: recruitment by fibroblast chemokines (CCL2, GM-CSF) and M1 activation
    # by IFN-g (Th1) in synergy with TNF, repolarisation to M2 by IL-10 and MSCs
    m_activation = (
        sat2(y[I_TH1], p[ix.P_M1_K_TH1])
        * sat(y[I_TNF], p[ix.P_M1_K_TNF])
        * inhib(y[I_IL10], p[ix.P_IL10_K_M])
        * drug_factor(p, u, H_M_ACTIVATION)
    )
    repolarisation = p[ix.P_M2_POLARIZATION] * sat(y[I_IL10], p[ix.P_M2_K_IL10]) + p[ix.P_MSC_M2_POLARIZATION] * s_imm
    d_m = p[ix.P_MAC_DEATH]
    dy[I_M1] = (
        p[ix.P_M1_SOURCE]
        + p[ix.P_M1_FLS_RECRUITMENT] * excess(y[I_FLS] - 1.0)
        + p[ix.P_M1_ACTIVATION] * m_activation
        - (d_m + repolarisation) * y[I_M1]
    )
    dy[I_M2] = p[ix.P_M2_SOURCE] + repolarisation * y[I_M1] - d_m * y[I_M2]

    # --- synovial fibroblasts (pannus): IL-17 and TNF in synergy, VEGF-fed.  The imprinted
    # fraction is activated autonomously, at a fixed level whatever the cytokines; imprinting
    # accrues under that cytokine exposure and reverts slowly in quiescence, faster while
    # MSCs reside in the joint (paracrine and exosomal reprogramming).
    fls_stimulus = sat(y[I_IL17], p[ix.P_FLS_K_IL17]) * sat(y[I_TNF], p[ix.P_FLS_K_TNF])
    fls_drive = (1.0 - y[I_IMPRINT]) * fls_stimulus * (1.0 + p[ix.P_VEGF_PANNUS] * s_rep) + y[I_IMPRINT] * p[
        ix.P_FLS_AUTONOMY
    ]
    dy[I_FLS] = p[ix.P_FLS_SOURCE] + p[ix.P_FLS_ACTIVATION] * fls_drive - p[ix.P_FLS_DEATH] * y[I_FLS]
    dy[I_IMPRINT] = (
        p[ix.P_IMPRINT_RATE] * fls_stimulus * (1.0 - y[I_IMPRINT])
        - (p[ix.P_IMPRINT_REVERSAL] + p[ix.P_MSC_FLS_REPROGRAMMING] * s_rep) * y[I_IMPRINT]
    )

    # --- cytokines (serum-equivalent concentrations)
    cytokine_brake = inhib(y[I_IL10], p[ix.P_IL10_K_CYTOKINE]) * drug_factor(p, u, H_CYTOKINE_PRODUCTION)
    dy[I_TNF] = (
        p[ix.P_TNF_BASAL]
        + (p[ix.P_TNF_M1] * y[I_M1] + p[ix.P_TNF_TH1] * y[I_TH1]) * cytokine_brake
        - p[ix.P_TNF_DEG] * drug_factor(p, u, H_TNF_CLEARANCE) * y[I_TNF]
    )
    il6_drive = (
        1.0
        + p[ix.P_IL6_TNF_GAIN] * sat(y[I_TNF], p[ix.P_IL6_K_TNF])
        + p[ix.P_IL6_IL17_GAIN] * sat(y[I_IL17], p[ix.P_IL6_K_IL17])
    )
    dy[I_IL6] = (
        p[ix.P_IL6_BASAL]
        + (p[ix.P_IL6_FLS] * y[I_FLS] + p[ix.P_IL6_M1] * y[I_M1]) * il6_drive * cytokine_brake
        - p[ix.P_IL6_DEG] * y[I_IL6]
    )
    dy[I_IL17] = p[ix.P_IL17_BASAL] + p[ix.P_IL17_TH17] * y[I_TH17] - p[ix.P_IL17_DEG] * y[I_IL17]
    dy[I_IL10] = (
        p[ix.P_IL10_BASAL] + p[ix.P_IL10_TREG] * treg_total + p[ix.P_IL10_M2] * y[I_M2] - p[ix.P_IL10_DEG] * y[I_IL10]
    )
    dy[I_TGFB] = (
        p[ix.P_TGFB_BASAL]
        + p[ix.P_TGFB_TREG] * treg_total
        + p[ix.P_TGFB_M2] * y[I_M2]
        + p[ix.P_MSC_TGFB] * s_imm
        - p[ix.P_TGFB_DEG] * y[I_TGFB]
    )

    # --- acute phase: CRP (t1/2 19 h) and fibrinogen (days) from IL-6
    dy[I_CRP] = p[ix.P_CRP_DEG] * (p[ix.P_CRP_BASAL] + p[ix.P_CRP_MAX] * sat2(y[I_IL6], p[ix.P_CRP_K_IL6]) - y[I_CRP])
    dy[I_FIB] = p[ix.P_FIB_DEG] * (p[ix.P_FIB_BASAL] + p[ix.P_FIB_MAX] * sat(y[I_IL6], p[ix.P_FIB_K_IL6]) - y[I_FIB])

    # --- autoantibodies: Tfh help to B cells; slow plasma-cell/IgG turnover
    dy[I_AUTOAB] = p[ix.P_AUTOAB_DEG] * (
        p[ix.P_AUTOAB_BASAL]
        + p[ix.P_SEROPOSITIVE] * p[ix.P_AUTOAB_MAX] * sat2(y[I_TFH], p[ix.P_AUTOAB_K_TFH])
        - y[I_AUTOAB]
    )

    # --- structure: MMP/RANKL from activated FLS under TNF and IL-17;
    # repair sped up by the MSC repair signal (IGF-1)
    destructive = y[I_FLS] * (sat(y[I_TNF], p[ix.P_DAMAGE_K_TNF]) + sat(y[I_IL17], p[ix.P_DAMAGE_K_IL17]))
    dy[I_CART] = (
        p[ix.P_CARTILAGE_REPAIR] * (1.0 + p[ix.P_REPAIR_CARTILAGE_GAIN] * s_rep) * (1.0 - y[I_CART])
        - p[ix.P_CARTILAGE_LOSS] * destructive * y[I_CART]
    )
    dy[I_EROS] = (
        p[ix.P_EROSION_RATE] * destructive * (1.0 - y[I_EROS])
        - p[ix.P_EROSION_REPAIR] * (1.0 + p[ix.P_REPAIR_BONE_GAIN] * s_rep) * y[I_EROS]
    )
    # radiographic damage: a fixed share of that formation is graded on a radiograph (discrete
    # erosions, focal narrowing), weighted by each kind's share of the score, at the TNF-driven part
    # of the drive (TNF-RANKL osteoclastogenesis: under TNF blockade damage dissociates from
    # inflammation, Smolen 2006); it is never repaired, and slows as the score nears its maximum
    formation = (
        MTSS_EROSION_MAX * p[ix.P_EROSION_RATE] * (1.0 - y[I_EROS]) + MTSS_JSN_MAX * p[ix.P_CARTILAGE_LOSS] * y[I_CART]
    )
    osteoclastic = y[I_FLS] * sat(y[I_TNF], p[ix.P_DAMAGE_K_TNF])
    dy[I_RADIOGRAPHIC] = p[ix.P_RADIOGRAPHIC_YIELD] * osteoclastic * formation * (1.0 - y[I_RADIOGRAPHIC] / MTSS_MAX)

    # --- clinical synovitis (swelling, tenderness): the synovium's activated cells over
    # health, remodelled (hyperplasia, infiltrate, effusion) over weeks
    dy[I_SYNOVITIS] = p[ix.P_SYNOVITIS_TURNOVER] * (excess(y[I_FLS] - 1.0) + excess(y[I_M1] - 1.0) - y[I_SYNOVITIS])
