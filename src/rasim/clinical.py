"""Clinical RA scores with the published formulas (vectorised numpy).

Every function takes scalars or arrays (broadcast together) and returns a
numpy scalar or array. NaN inputs (e.g. a failed simulation) give NaN scores,
UNKNOWN category/response codes and False for boolean outcomes.

Units: TJC28/SJC28 joint counts (0-28), ESR mm/h, CRP mg/L, global health
and pain 0-100 mm VAS, HAQ-DI 0-3.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

ESR_FLOOR = 1.0  # mm/h: ln(ESR) needs ESR > 0, and ESR is reported in whole mm/h >= 1
# mm/h: the most a Westergren column (200 mm) can read in an hour; values above ~140 are rare
# (ICSH review of ESR measurement, Jou 2011 Int J Lab Hematol 33:125)
ESR_CEILING = 150.0
REMISSION = 2.6  # DAS28 < 2.6: remission
LOW = 3.2  # DAS28 <= 3.2: low disease activity
HIGH = 5.1  # DAS28 > 5.1: high disease activity
HAQ_STEP = 0.125  # HAQ-DI resolution (mean of 8 integer category scores)
HAQ_MAX = 3.0
HAQ_MCID = 0.22  # minimal clinically important HAQ-DI improvement

# das28_category codes
CAT_REMISSION, CAT_LOW, CAT_MODERATE, CAT_HIGH = 0, 1, 2, 3
CATEGORY_NAMES = ("remission", "low", "moderate", "high")
# eular_response codes
EULAR_NONE, EULAR_MODERATE, EULAR_GOOD = 0, 1, 2
UNKNOWN = -1  # category/response code for NaN input

ACR_CORE = ("pain", "patient_global", "physician_global", "haq")  # + the APR
_DECIMALS = 9  # differences are rounded so cut-offs given to 2 decimals hit exactly


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _out(x: np.ndarray):
    """Numpy scalar for 0-d results, else the array."""
    return x[()]


def das28_esr(tjc28, sjc28, esr, gh):
    """DAS28-ESR (Prevoo 1995): 0.56 sqrt(TJC28) + 0.28 sqrt(SJC28) + 0.70 ln(ESR) + 0.014 GH.

    ESR in mm/h, floored at ESR_FLOOR = 1 mm/h so ln stays >= 0; GH = patient
    global health, 0-100 mm VAS.
    """
    return _out(
        0.56 * np.sqrt(_f(tjc28))
        + 0.28 * np.sqrt(_f(sjc28))
        + 0.70 * np.log(np.maximum(_f(esr), ESR_FLOOR))
        + 0.014 * _f(gh)
    )


def das28_crp(tjc28, sjc28, crp, gh):
    """DAS28-CRP: 0.56 sqrt(TJC28) + 0.28 sqrt(SJC28) + 0.36 ln(CRP + 1) + 0.014 GH + 0.96.

    CRP in mg/L; GH = patient global health, 0-100 mm VAS.
    """
    return _out(
        0.56 * np.sqrt(_f(tjc28)) + 0.28 * np.sqrt(_f(sjc28)) + 0.36 * np.log1p(_f(crp)) + 0.014 * _f(gh) + 0.96
    )


def das28_category(das, names: bool = False):
    """Disease activity: remission < 2.6 <= low <= 3.2 < moderate <= 5.1 < high.

    Int codes CAT_REMISSION..CAT_HIGH (UNKNOWN for NaN), or with names=True
    the CATEGORY_NAMES strings ("" for NaN).
    """
    das = _f(das)
    code = np.select(
        [das < REMISSION, das <= LOW, das <= HIGH, das > HIGH],
        [CAT_REMISSION, CAT_LOW, CAT_MODERATE, CAT_HIGH],
        UNKNOWN,
    )
    if names:
        return np.array(CATEGORY_NAMES + ("",))[code]  # UNKNOWN = -1 picks ""
    return _out(code.astype(np.int64))


def in_remission(das):
    """DAS28 < 2.6."""
    return _out(_f(das) < REMISSION)


def low_activity(das):
    """DAS28 <= 3.2: low disease activity or remission."""
    return _out(_f(das) <= LOW)


def eular_response(das_baseline, das_now):
    """EULAR response from DAS28 (van Gestel 1996): EULAR_NONE, _MODERATE or _GOOD.

    improvement = baseline - now, against current DAS28:
        current        | > 1.2    | > 0.6 and <= 1.2 | <= 0.6
        <= 3.2         | good     | moderate         | none
        > 3.2, <= 5.1  | moderate | moderate         | none
        > 5.1          | moderate | none             | none
    The improvement is rounded to 1e-9 so e.g. 5.0 -> 4.4 counts as exactly 0.6.
    UNKNOWN where either input is NaN.
    """
    now = _f(das_now)
    gain = np.round(_f(das_baseline) - now, _DECIMALS)
    none = (gain <= 0.6) | ((gain <= 1.2) & (now > HIGH))
    good = (gain > 1.2) & (now <= LOW)
    code = np.select([np.isnan(gain), none, good], [UNKNOWN, EULAR_NONE, EULAR_GOOD], EULAR_MODERATE)
    return _out(code.astype(np.int64))


def improved(base, now, level: float) -> np.ndarray:
    """True where ``now`` is >= ``level`` % below ``base`` (an improvement); never from a baseline
    of 0 (or NaN): undefined."""
    base, now = _f(base), _f(now)
    ok = base > 0
    pct = np.divide(100.0 * (base - now), base, out=np.full(np.broadcast(base, now).shape, -np.inf), where=ok)
    return ok & (np.round(pct, _DECIMALS) >= level)


def acr_response(baseline: Mapping, now: Mapping, level: float = 20, apr: str = "crp"):
    """ACR20/50/70: >= level % improvement in TJC and SJC and in >= 3 of 5 core measures.

    baseline, now: mappings with arrays for tjc, sjc, pain, patient_global,
    physician_global, haq and the acute phase reactant `apr` ("crp" or "esr").
    The 5 core measures are pain, patient global, physician global, HAQ and
    the APR. A measure with baseline 0 (or NaN) counts as not improved: a
    percentage improvement from 0 is undefined.
    """
    if apr not in ("crp", "esr"):
        raise ValueError(f"apr must be 'crp' or 'esr', got {apr!r}")
    if not 0 < level <= 100:
        raise ValueError(f"level must be a percentage in (0, 100], got {level!r}")
    keys = ("tjc", "sjc", *ACR_CORE, apr)
    for name, data in (("baseline", baseline), ("now", now)):
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f"{name} lacks {missing}; needs {', '.join(keys)}")
    ok = {k: improved(baseline[k], now[k], level) for k in keys}
    core = sum(ok[k].astype(int) for k in (*ACR_CORE, apr))
    return _out(ok["tjc"] & ok["sjc"] & (core >= 3))


def round_haq(x):
    """HAQ-DI to steps of 0.125 (halves up), clipped to [0, 3]."""
    steps = np.floor(_f(x) / HAQ_STEP + 0.5)
    return _out(np.clip(steps * HAQ_STEP, 0.0, HAQ_MAX))


def round_esr(x):
    """ESR to whole mm/h (halves up), within ESR_FLOOR..ESR_CEILING (float, NaN stays NaN)."""
    return _out(np.clip(np.floor(_f(x) + 0.5), ESR_FLOOR, ESR_CEILING))
