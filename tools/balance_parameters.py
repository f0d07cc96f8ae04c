"""Derive the ``balance`` production constants from the two reference states.

Each state equation has a pair of production constants (a basal source and
a stimulated production) that enter it linearly.  For every pair we solve
the 2x2 linear system that makes both ``REFERENCE_STATES`` (inflamed and
resolved) steady states, given the literature loss rates and the assumed
half-saturation constants.  Both references are then equilibria by
construction; their stability (and the saddle between them) is checked by
the tests.  Prints the values to copy into the parameter table::

    python tools/balance_parameters.py           # print
    python tools/balance_parameters.py --write   # rewrite the table values
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rasim.model.equations import rates  # noqa: E402
from rasim.model.references import reference_vector  # noqa: E402
from rasim.model.parameters import DEFAULTS, PINDEX  # noqa: E402
from rasim.model.states import INDEX, N_STATES  # noqa: E402

# state -> (basal source, stimulated production): the unknowns solved for.
PAIRS = {
    "th1": ("th1_source", "th1_activation"),
    "th17": ("th17_source", "th17_activation"),
    "tfh": ("tfh_source", "tfh_activation"),
    "treg": ("treg_source", "treg_induction"),
    "m1": ("m1_source", "m1_activation"),
    "fls": ("fls_source", "fls_activation"),
    "tnf": ("tnf_basal", "tnf_m1"),
    "il6": ("il6_basal", "il6_fls"),
    "il17": ("il17_basal", "il17_th17"),
    "il10": ("il10_basal", "il10_treg"),
    "tgfb": ("tgfb_basal", "tgfb_treg"),
    "crp": ("crp_basal", "crp_max"),
    "fibrinogen": ("fib_basal", "fib_max"),
    "autoab": ("autoab_basal", "autoab_max"),
}


def _derivative(y: np.ndarray, p: np.ndarray, i: int) -> float:
    out = np.zeros(N_STATES)
    rates(y, p, 0.0, out)
    return out[i]


def balanced(p: np.ndarray) -> dict[str, float]:
    """The production constants that make both references steady states of ``p``."""
    p = p.copy()
    refs = [reference_vector(p, k) for k in ("inflamed", "resolved")]
    out = {}
    for state, (basal, stimulated) in PAIRS.items():
        i, ja, jb = INDEX[state], PINDEX[basal], PINDEX[stimulated]
        rows, rhs = [], []
        for y in refs:
            coef = []
            for j in (ja, jb):
                q = p.copy()
                q[ja] = q[jb] = 0.0
                base = _derivative(y, q, i)
                q[j] = 1.0
                coef.append(_derivative(y, q, i) - base)
            rows.append(coef)
            rhs.append(-base)
        out[basal], out[stimulated] = np.linalg.solve(np.array(rows), np.array(rhs))
    return out


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
