"""Drugs, one module each: its dose record and constructor (checked when built), its
routes and event codes (NONMEM CMT), and the rules for its doses within one regimen.

``DRUGS`` is the registry a regimen reads (``Regimen.from_dict``, the scenario files'
``drug = "..."``); a new drug is a module here and a line in it.  The PK of MTX and the
model states the MSCs act on still live in ``rasim.model`` (issue 22: a drug module will
also contribute its forcings, states and rate laws).
"""

from __future__ import annotations

from typing import Any

from . import msc, mtx  # the modules (their constructors are rasim.msc and rasim.mtx)
from .base import DEPOT_OF_ROUTE, ROUTES, DoseLine

DRUGS: dict[str, type[Any]] = {"msc": msc.MscDose, "mtx": mtx.MtxDose}  # a dose table's drug key -> its record
DEPOTS: dict[str, int] = {**mtx.DEPOTS, **msc.DEPOTS}  # dosing compartments; codes are NONMEM CMT numbers

__all__ = ["DRUGS", "DEPOTS", "DEPOT_OF_ROUTE", "ROUTES", "DoseLine", "msc", "mtx"]
