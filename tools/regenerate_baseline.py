"""Regenerate the regression baseline of key outputs, ``tests/baseline/summary.csv``.

A small fixed cohort (arms ``dmard`` and ``msc+dmard``, ``PATIENTS`` each,
seed ``SEED``, days ``OBSERVE``, one thread) summarised as long rows ``arm,
day, quantity, statistic, kind, value``: every endpoint's mean, sd and
percentiles (levels and ``*_change``), every responder rate, and per arm the
patient counts (enrolled, failed per solver status, redrawn candidates).
``tests/baseline/meta.json`` records the rasim version, the parameter set and
its fingerprint and the generation date.  ``tests/test_baseline.py`` compares
a fresh run with it (``kind`` count: exactly; value: within ``RTOL``).

Run it on purpose, when a change is meant to change simulated outputs, and
mark that change **[output-changing]** in CHANGELOG.md::

    python tools/regenerate_baseline.py          # write the files
    python tools/regenerate_baseline.py --check  # exit 1 if a fresh run differs
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "baseline"
SUMMARY = BASELINE / "summary.csv"
META = BASELINE / "meta.json"
COLUMNS = ("arm", "day", "quantity", "statistic", "kind", "value")

ARMS = ("dmard", "msc+dmard")
PATIENTS = 40
SEED = 2026
OBSERVE = (0.0, 28.0, 91.0, 365.0)
RTOL = 1e-9  # relative, for kind "value"
ATOL = 1e-12  # absolute, for values that are 0 (changes at day 0)


def rows() -> list[dict]:
    """The baseline rows of a fresh run (strings, as written)."""
    from rasim.cohort import Cohort

    out = []
    for arm in ARMS:
        res = Cohort(arm, patients=PATIENTS, seed=SEED, observe=OBSERVE).run(threads=1)
        for r in res.summary():
            for stat in ("mean", "sd", "p05", "p25", "p50", "p75", "p95"):
                out.append(_row(arm, r["day"], r["endpoint"], stat, "value", r[stat]))
            out.append(_row(arm, r["day"], r["endpoint"], "n", "count", r["n"]))
        for r in res.responders():
            out.append(_row(arm, r["day"], r["criterion"], "rate", "value", r["rate"]))
            out.append(_row(arm, r["day"], r["criterion"], "n", "count", r["n"]))
        counts = {
            "n": res.n,
            "n_failed": res.n_failed,
            "n_not_enrolled": res.n_not_enrolled,
            "candidates_not_inflamed": res.not_inflamed,
            "candidates_screen_failed": res.screen_failures,
            **{f"status_{k}": v for k, v in res.status_counts().items()},
        }
        out += [_row(arm, "", "patients", k, "count", v) for k, v in counts.items()]
    return out


def _row(arm: str, day, quantity: str, statistic: str, kind: str, value) -> dict:
    day = "" if day == "" else f"{float(day):g}"
    value = str(int(value)) if kind == "count" else repr(float(value))
    return dict(zip(COLUMNS, (arm, day, quantity, statistic, kind, value)))


def metadata() -> dict:
    """Version, parameter set and fingerprint, settings and date of the baseline."""
    import rasim
    from rasim import model

    return {
        "rasim_version": rasim.__version__,
        "parameter_set": model.SET_NAME,
        "parameter_fingerprint": model.fingerprint(),
        "arms": list(ARMS),
        "patients": PATIENTS,
        "seed": SEED,
        "observe": list(OBSERVE),
        "threads": 1,
        "generated": datetime.date.today().isoformat(),
    }


def csv_text(table: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(table)
    return buf.getvalue()


def read(path: Path = SUMMARY) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def differences(expected: list[dict], fresh: list[dict], limit: int = 20) -> list[str]:
    """What differs between two tables of rows (at most ``limit`` lines, then a count)."""
    key = ("arm", "day", "quantity", "statistic")
    old = {tuple(r[k] for k in key): r for r in expected}
    new = {tuple(r[k] for k in key): r for r in fresh}
    out = [f"missing from the fresh run: {k}" for k in old if k not in new]
    out += [f"new in the fresh run: {k}" for k in new if k not in old]
    for k in old.keys() & new.keys():
        a, b = old[k]["value"], new[k]["value"]
        if old[k]["kind"] == "count":
            same = a == b
        else:
            x, y = float(a), float(b)
            same = (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL)
        if not same:
            arm, day, quantity, statistic = k
            out.append(f"{arm}{f' day {day}' if day else ''} {quantity} {statistic}: baseline {a}, now {b}")
    out.sort()
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh run with the baseline; exit 1 if it differs"
    )
    args = parser.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT / "src"))
    fresh = rows()
    if args.check:
        diff = differences(read(), fresh)
        print("\n".join(diff) if diff else f"{SUMMARY} is current")
        return 1 if diff else 0
    BASELINE.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(csv_text(fresh))
    META.write_text(json.dumps(metadata(), indent=1) + "\n")
    print(f"wrote {SUMMARY} ({len(fresh)} rows) and {META}; note the change in CHANGELOG.md as [output-changing]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
