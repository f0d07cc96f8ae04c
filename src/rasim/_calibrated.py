"""The committed calibration, ``data/calibrated.json`` (written by ``tools/calibrate.py``).

Read at import by the parameter, variability and measurement tables, which
replace their starting values with the fitted ones.  Imports nothing of
rasim so that those tables can use it.
"""
from __future__ import annotations

import json
from importlib import resources

SOURCE = "calibrated (tools/calibrate.py, docs/calibration.md): fitted to the targets.csv calibrate rows"


def fitted(table: str) -> dict[str, float]:
    """Values of ``table`` ("params", "balance", "variability", "measurement" or
    "covariate_effects"); {} if none."""
    path = resources.files("rasim") / "data" / "calibrated.json"
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text()).get(table, {}))
