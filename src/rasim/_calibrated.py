"""The committed calibration, ``data/calibrated.json`` (written by ``tools/calibrate.py``).

Read at import by the parameter tables (``rasim.model.parameters``: the model
parameters, measurement settings, variability, covariate effects), which
replace their starting values with the fitted ones.  Imports nothing of rasim
so that those tables can use it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

SOURCE = "calibrated (tools/calibrate.py, docs/calibration.md): fitted to the targets.csv calibrate rows"


@cache
def _data() -> dict:
    path = resources.files("rasim") / "data" / "calibrated.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def fitted(table: str) -> dict[str, float]:
    """Values of ``table`` ("params", "balance", "variability", "measurement" or
    "covariate_effects"); {} if none."""
    return dict(_data().get(table, {}))


def set_name() -> str:
    """The calibration's parameter-set name, ``calibrated-<fit date>`` ("literature" without one)."""
    date = _data().get("fit", {}).get("date")
    return f"calibrated-{date}" if date else "literature"
