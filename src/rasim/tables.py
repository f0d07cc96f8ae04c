"""The terminal table of a run: per arm, patients, failures, means and rates."""

from __future__ import annotations

import math

from .cohort.analysis import RULES
from .cohort.result import CohortSummary
from .cohort.status import PatientStatus
from .files import FAILURES


def table(scenario, results: dict[str, CohortSummary], seconds: float) -> str:
    """Per arm: patients, failures, day-0 -> last-day means and last-day rates; for arms with
    dropout or rescue, the patients who left and the analysis rule of those figures."""
    last = float(scenario.observe[-1])
    head = (
        f"{scenario.name}: {len(results)} arm(s) x {scenario.patients} patients, days "
        f"{scenario.observe[0]:g}-{last:g}, {seconds:.1f} s (means day {scenario.observe[0]:g} -> "
        f"day {last:g}; rates at day {last:g})"
    )
    cols = (
        "arm",
        "n",
        "failed",
        "not_enrolled",
        "DAS28-ESR",
        "ESR mm/h",
        "CRP mg/L",
        "HAQ",
        "EULAR",
        "remission",
        "resolved",
    )
    rows, notes = [], []
    conducted = {a.name for a in scenario.arms if a.dropout or a.rescue or a.analysis != "observed"}
    for name, res in results.items():
        means = [res.mean(k)[[0, -1]] for k in ("DAS28_ESR", "ESR", "CRP", "HAQ")]
        rates = [res.rate(c)[-1] for c in ("EULAR_response", "DAS28_remission")] + [res.resolved_fraction()[-1]]
        rows.append(
            (
                name,
                str(res.n),
                str(res.n_failed),
                str(res.n_not_enrolled),
                *(_pair(a, b, 2 if k in (0, 3) else 1) for k, (a, b) in enumerate(means)),
                *(f"{100 * r:.0f}%" if math.isfinite(r) else "-" for r in rates),
            )
        )
        if name in conducted:
            notes.append(
                f"{name}: {res.n_dropped_out} dropped out, {res.n_rescued} rescued; means and rates: "
                f"{res.analysis}, {RULES[res.analysis]}"
            )
        failed = {k: v for k, v in res.status_counts().items() if k in FAILURES}
        if failed:
            notes.append(f"{name}: solver failures " + ", ".join(f"{k} {v}" for k, v in failed.items()))
            notes += [f"  {k}: {PatientStatus[k.upper()].remedy}" for k in failed]
    widths = [max(len(r[i]) for r in (cols, *rows)) for i in range(len(cols))]

    def line(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([head, line(cols), *map(line, rows), *notes])


def _pair(a: float, b: float, digits: int) -> str:
    return f"{a:.{digits}f}->{b:.{digits}f}" if math.isfinite(a) and math.isfinite(b) else "-"
