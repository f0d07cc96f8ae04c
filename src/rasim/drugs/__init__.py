"""Drugs, one module each: its dose record and constructor (checked when built), its
routes and event codes (NONMEM CMT), the rules for its doses within one regimen, and how
it reaches the model: state boluses (MSC) or a closed-form exposure, one slot of the
forcing vector (``rasim.model.forcing``), acting on the rate laws through ``Effect`` rows.

``DRUGS`` is the registry a regimen reads (``Regimen.from_dict``, the scenario files'
``drug = "..."``); a new drug is a module here and a line in it.  Another package adds a
drug through the entry point group ``rasim.drugs``: ``name = "module"``, a module that calls
``base.register`` and names its dose record ``DOSE`` (loaded here, before the model's
kernels lower the drug tables).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from . import adalimumab, msc, mtx, nsaid, prednisolone
from . import base
from .base import DEPOT_OF_ROUTE, ROUTES, DoseLine

DRUGS: dict[str, type[Any]] = {  # a dose table's drug key -> its record
    "msc": msc.MscDose,
    "mtx": mtx.MtxDose,
    "prednisolone": prednisolone.PrednisoloneDose,
    "adalimumab": adalimumab.AdalimumabDose,
    "nsaid": nsaid.NsaidDose,
}
PACKAGED = (len(base.FORCINGS), len(base.EFFECTS))  # the package's own drug tables (rasim.model.forcing)
for _plugin in entry_points(group="rasim.drugs"):  # drugs of other packages
    DRUGS[_plugin.name] = _plugin.load().DOSE
DEPOTS: dict[str, int] = {  # NONMEM CMT codes
    **mtx.DEPOTS,
    **msc.DEPOTS,
    **prednisolone.DEPOTS,
    **adalimumab.DEPOTS,
    **nsaid.DEPOTS,
}

__all__ = [
    "DRUGS",
    "DEPOTS",
    "DEPOT_OF_ROUTE",
    "ROUTES",
    "DoseLine",
    "adalimumab",
    "msc",
    "mtx",
    "nsaid",
    "prednisolone",
]
