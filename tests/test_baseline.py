"""Regression baseline of key outputs: a small fixed cohort against ``tests/baseline/summary.csv``.

A failure means simulated numbers changed.  If that is intended, regenerate the
baseline on purpose (``python tools/regenerate_baseline.py``), commit it with the
change and mark the change **[output-changing]** in CHANGELOG.md.
"""

import json
from pathlib import Path

from conftest import load_script
from rasim import model

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script(ROOT / "tools" / "regenerate_baseline.py")


def test_outputs_match_the_baseline():
    tool = _tool()
    meta = json.loads(tool.META.read_text())
    diff = tool.differences(tool.read(), tool.rows())
    assert not diff, (
        "simulated outputs differ from the regression baseline tests/baseline/summary.csv "
        f"(counts exactly, values within rtol {tool.RTOL:g}):\n  "
        + "\n  ".join(diff)
        + f"\nbaseline: rasim {meta['rasim_version']}, parameter set {meta['parameter_set']} "
        f"({meta['parameter_fingerprint']}), generated {meta['generated']}; now: parameter set {model.SET_NAME} "
        f"({model.fingerprint()}).\nIf the change is intended, run `python tools/regenerate_baseline.py` on "
        "purpose, commit tests/baseline/ with it and mark the change [output-changing] in CHANGELOG.md."
    )


def test_baseline_metadata_names_the_run():
    tool = _tool()
    meta = json.loads(tool.META.read_text())
    assert (meta["arms"], meta["patients"], meta["seed"], meta["observe"]) == (
        list(tool.ARMS),
        tool.PATIENTS,
        tool.SEED,
        list(tool.OBSERVE),
    )
    assert {"rasim_version", "parameter_set", "parameter_fingerprint", "generated"} <= meta.keys()


def test_differences_reports_values_counts_and_rows():
    tool = _tool()
    rows = [tool._row("a", 0.0, "ESR", "mean", "value", 10.0), tool._row("a", "", "patients", "n", "count", 40)]
    same = [dict(r) for r in rows]
    same[0]["value"] = repr(10.0 * (1 + 1e-12))
    assert tool.differences(rows, same) == []
    changed = [dict(r) for r in rows]
    changed[0]["value"], changed[1]["value"] = repr(10.0 * (1 + 1e-6)), "39"
    assert sorted(tool.differences(rows, changed)) == [
        "a day 0 ESR mean: baseline 10.0, now 10.00001",
        "a patients n: baseline 40, now 39",
    ]
    assert tool.differences(rows, rows[:1]) == ["missing from the fresh run: ('a', '', 'patients', 'n')"]
