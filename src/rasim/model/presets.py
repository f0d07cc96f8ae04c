"""MSC product presets: tissue source x donor type, as parameter overrides.

Relative to umbilical-cord MSCs (potencies 1).  Values are assumptions that
encode the review's and the trials' qualitative findings (they are not fitted):

* umbilical cord: accessible, low HLA expression, strongly immunomodulatory;
* bone marrow: strongest osteo/chondrogenic repair (the review: for severe
  structural damage), Treg up by 1 month, Th17 down by 12 months (Ghoryani 2019);
* adipose: trophic/repair activity; larger cells, more lung trapping; systemic
  immunomodulation in vivo too weak to move serum markers.  Its potency is the
  largest at which the ``ad_msc+dmard`` arm's mean TNF, IL-6 and ESR move by no
  more than 5% beyond the control arm's at weeks 4-52, as Vij 2022 saw them
  unchanged (``tools/adipose_potency.py``, 400 patients, seed 5).  The repair
  route (joint-resident cells, which also reprogram imprinted fibroblasts and so
  lower IL-6) is bounded the same way: at most 0.024 under the outcomes
  calibration (``--route repair``), rounded down to 0.02; the immune route,
  re-checked with it (``--route immune``), allows up to 0.0047, so its 0.002
  stands, and the product's in-vivo activity is small on both routes.  In vitro adipose MSCs suppress as well as
  bone-marrow ones, so this is a property of the infused product in vivo.  The
  randomised allogeneic adipose trial (Cx611, Alvaro-Gracia 2017) was near
  placebo by 3 months as well (docs/heldout.md).

Donor: autologous cells are not rejected (immunogenicity 0) but RA patients'
own MSCs are less potent (factor ``AUTOLOGOUS_POTENCY``); allogeneic cells
carry the source's immunogenicity.
"""

from __future__ import annotations

from ..errors import RegimenError

AUTOLOGOUS_POTENCY = 0.8  # assumed: impaired function of MSCs from RA patients

SOURCES: dict[str, dict[str, float]] = {
    "umbilical_cord": {
        "msc_potency_immune": 1.0,
        "msc_potency_repair": 1.0,
        "msc_homing_max": 0.05,
        "msc_immunogenicity": 0.3,
    },
    "bone_marrow": {
        "msc_potency_immune": 0.8,
        "msc_potency_repair": 2.0,
        "msc_homing_max": 0.05,
        "msc_immunogenicity": 0.5,
    },
    "adipose": {
        "msc_potency_immune": 0.002,
        "msc_potency_repair": 0.02,
        "msc_homing_max": 0.03,
        "msc_immunogenicity": 0.5,
    },
}
DONORS = ("allogeneic", "autologous")


def msc_overrides(source: str, donor: str) -> dict[str, float]:
    """Parameter overrides for an MSC product (source x donor)."""
    if source not in SOURCES or donor not in DONORS:
        raise RegimenError(f"no MSC preset for source {source!r} and donor {donor!r}")
    values = dict(SOURCES[source])
    if donor == "autologous":
        values["msc_immunogenicity"] = 0.0
        values["msc_potency_immune"] *= AUTOLOGOUS_POTENCY
        values["msc_potency_repair"] *= AUTOLOGOUS_POTENCY
    return values


# A patient whose disease stays active on MTX (the refractory trials' patients):
# polyglutamate EC50 at the top of its plausible range.  The typical patient
# responds to MTX 15 mg weekly with remission, so ``simulate(..., background=mtx(15))``
# needs a patient like this one (or a cohort of the ``refractory`` population).
MTX_REFRACTORY: dict[str, float] = {"mtx_ec50": 10.0}
