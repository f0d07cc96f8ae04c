"""Print (or write into the parameter table) the ``balance`` production constants.

See ``rasim.model.balance``: each pair of production constants is solved so
that both reference states are steady states, at the parameters in use (the
committed calibration applied).  ``data/calibrated.json`` carries its own
balance values, recomputed at the fitted parameters by ``tools/calibrate.py``
and applied over the table's, so the table's values matter only without it::

    python tools/balance_parameters.py           # print
    python tools/balance_parameters.py --write   # rewrite the table values
"""
from __future__ import annotations

import re
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rasim.model.balance import balanced  # noqa: E402
from rasim.model.parameters import DEFAULTS, PINDEX  # noqa: E402

TABLE = Path(__file__).resolve().parents[1] / "src" / "rasim" / "model" / "parameters.py"


def write_table(values: dict[str, float]) -> None:
    """Replace the value of each named ``_p(...)`` entry in parameters.py."""
    text = TABLE.read_text()
    for name, value in values.items():
        text, n = re.subn(rf'(_p\("{name}", )[^,]+,', rf"\g<1>{value:.6g},", text)
        assert n == 1, name
    TABLE.write_text(text)


def main() -> None:
    values = balanced(DEFAULTS)
    for name, value in values.items():
        flag = "  NEGATIVE" if value < 0 else ""
        print(f"{name:16s} {value:12.6g}   (table: {DEFAULTS[PINDEX[name]]:.6g}){flag}")
    if any(v < 0 for v in values.values()):
        sys.exit("negative production constant: change the references or half-saturation constants")
    if "--write" in sys.argv:
        write_table(values)
        print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
