"""Figures of cohort runs, sweeps and sensitivity analyses.

Each figure is a ``matplotlib.figure.Figure`` saved to a file: no pyplot, no
global backend switch, so importing or calling these leaves a user's
matplotlib alone.  ``caption`` (what was run: scenario, seed, patients,
version; :func:`caption`) heads every figure.  Published trial points
(``Published``) are named by trial and drawn only where the caller matched
them to an arm of that trial's design; skewed markers (``SKEWED``) are shown
as the trials' means without a +/- SD bar, which would run below zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import endpoints

BAND_MARKERS = tuple((k, endpoints.axis_label(k)) for k in ("DAS28_ESR", "ESR", "CRP", "HAQ"))
RESPONDER_PANELS = tuple((k, endpoints.label(k)) for k in ("EULAR_response", "ACR20", "DAS28_LDA", "DAS28_remission"))
SKEWED = ("CRP",)  # right-skewed markers: a published mean +/- SD would suggest values below 0
CHANGE_BINS = np.arange(-6.0, 3.0001, 0.25)  # DAS28 change histogram edges (points)


@dataclass(frozen=True)
class Published:
    """A published trial value to draw on scenario arm ``arm``: ``value`` (mean) with
    ``spread`` (SD, NaN if none) at ``day`` of ``endpoint`` (a marker or a responder
    criterion, as a fraction), from ``trial``."""

    arm: str
    endpoint: str
    day: float
    value: float
    spread: float
    trial: str


def caption(scenario: str, seed: int, patients: int, version: str) -> str:
    """The line heading a figure: what was run."""
    return f"scenario {scenario} | seed {seed} | {patients} patients per arm | rasim {version}"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, path, title: str = "") -> Path:
    """``fig`` as a PNG at ``path``, its text chunks naming the rasim version and parameter set."""
    from .output import parameter_identity, version

    path = Path(path)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100, format="png", metadata={"Software": f"rasim {version()}", **parameter_identity()})
    return path


def _points(published, arm: str, endpoint: str) -> list[Published]:
    return [t for t in published or () if t.arm == arm and t.endpoint == endpoint]


def _legend(ax, axes) -> None:
    """One legend on ``ax`` with every label drawn on any of ``axes`` (first handle per label)."""
    seen: dict[str, Any] = {}  # label -> handle
    for a in np.ravel(axes):
        for h, lab in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if seen:
        ax.legend(seen.values(), seen.keys(), fontsize=7)


def bands(results: Mapping, path, published=None, markers=BAND_MARKERS, caption: str = "") -> Path:
    """Median, p25-p75 and p05-p95 of the patients over time: one row per marker, one
    column per arm (``results``: arm name -> ``CohortSummary``), published trial means with
    their SD (no SD bar for ``SKEWED`` markers)."""
    arms = list(results)
    fig = _figure(3.2 * len(arms) + 0.8, 2.3 * len(markers) + 0.6)
    axes = fig.subplots(len(markers), len(arms), sharex=True, sharey="row", squeeze=False)
    for col, name in enumerate(arms):
        res = results[name]
        for row, (key, label) in enumerate(markers):
            ax = axes[row, col]
            if res.n:
                q = res.percentiles(key)  # p05, p25, p50, p75, p95
                ax.fill_between(res.days, q[0], q[4], color="C0", alpha=0.2, lw=0, label="model p05-p95")
                ax.fill_between(res.days, q[1], q[3], color="C0", alpha=0.4, lw=0, label="model p25-p75 (IQR)")
                ax.plot(res.days, q[2], color="C0", lw=1.5, label="model median")
            for k, t in enumerate(sorted({p.trial for p in _points(published, name, key)})):
                pts = [p for p in _points(published, name, key) if p.trial == t]
                sd = None if key in SKEWED else [p.spread if np.isfinite(p.spread) else 0.0 for p in pts]
                what = "mean" if key in SKEWED else "mean +/- SD"
                ax.errorbar(
                    [p.day for p in pts],
                    [p.value for p in pts],
                    yerr=sd,
                    fmt="os^D"[k % 4],
                    color="k",
                    ms=4,
                    capsize=2,
                    label=f"{t} ({what})",
                )
            if key in SKEWED:
                ax.set_ylim(bottom=0)
            if row == 0:
                ax.set_title(f"{name} (n={res.n})", fontsize=9)
            if col == 0:
                ax.set_ylabel(label)
            if row == len(markers) - 1:
                ax.set_xlabel("day")
    _legend(axes[0, 0], axes)
    return _save(fig, path, caption)


def responders(results: Mapping, path, published=None, panels=RESPONDER_PANELS, caption: str = "") -> Path:
    """Responder rates (% of patients) over time, one line per arm, one panel per criterion;
    published rates as large markers of the arm's colour, named by trial."""
    from matplotlib.lines import Line2D

    fig = _figure(3.4 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)
    trials: dict[str, str] = {}  # trial -> marker
    for ax, (criterion, label) in zip(axes[0], panels):
        for k, (name, res) in enumerate(results.items()):
            if not res.n:
                continue
            ax.plot(res.days, 100 * res.rate(criterion), color=f"C{k}", marker=".", label=name)
            for p in _points(published, name, criterion):
                shape = trials.setdefault(p.trial, "os^DvP*X"[len(trials) % 8])
                ax.plot(p.day, 100 * p.value, shape, color=f"C{k}", mec="k", ms=7)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("day")
        ax.set_ylim(0, 100)
    axes[0, 0].set_ylabel("patients (%)")
    handles = [Line2D([], [], color=f"C{k}", marker=".", label=name) for k, name in enumerate(results)]
    handles += [
        Line2D([], [], ls="", marker=shape, color="w", mec="k", ms=7, label=f"{t} (published)")
        for t, shape in trials.items()
    ]
    axes[0, 0].legend(handles=handles, fontsize=7)
    return _save(fig, path, caption)


def comparison(results: Mapping, path, caption: str = "") -> Path:
    """The arms side by side at a glance: DAS28-ESR (median and IQR) and EULAR response over
    time, the radiographic change (mean mTSS change) and the adverse events
    per 100 patient-years over the whole follow-up (exact 95% intervals)."""
    from .cohort.safety import EVENTS

    fig = _figure(16.0, 3.9)
    ax_das, ax_eular, ax_mtss, ax_safety = fig.subplots(1, 4)
    arms = [(k, name, res) for k, (name, res) in enumerate(results.items()) if res.n]
    for k, name, res in arms:
        q = res.percentiles("DAS28_ESR")
        ax_das.fill_between(res.days, q[1], q[3], color=f"C{k}", alpha=0.15, lw=0)
        ax_das.plot(res.days, q[2], color=f"C{k}", lw=1.5, label=name)
        ax_eular.plot(res.days, 100 * res.rate("EULAR_response"), color=f"C{k}", marker=".", label=name)
        ax_mtss.plot(res.days, res.mean("mTSS_change"), color=f"C{k}", marker=".", label=name)
    ax_das.set(title="DAS28-ESR (median, IQR)", xlabel="day", ylabel="DAS28-ESR")
    ax_eular.set(title="EULAR response (good + moderate)", xlabel="day", ylabel="patients (%)", ylim=(0, 100))
    ax_mtss.axhline(0.0, color="k", lw=0.5)
    ax_mtss.set(title="mTSS change (radiographic damage: it never heals)", xlabel="day")
    ax_mtss.set_ylabel("mean mTSS change")
    ax_mtss.title.set_fontsize(8)
    width = 0.8 / max(len(arms), 1)
    for j, (k, name, res) in enumerate(arms):
        last = {r["event"]: r for r in res.safety() if r["day"] == float(res.days[-1])}
        if not last:
            continue
        rate = np.array([last[e]["per_100py"] for e in EVENTS])
        err = np.array([[rate[i] - last[e]["low"], last[e]["high"] - rate[i]] for i, e in enumerate(EVENTS)]).T
        ax_safety.bar(np.arange(len(EVENTS)) + j * width, rate, width, yerr=err, color=f"C{k}", capsize=2, label=name)
    ax_safety.set_xticks(
        np.arange(len(EVENTS)) + 0.4 - width / 2,
        [e.replace("_", "\n", 1).replace("_", " ") for e in EVENTS],
        fontsize=7,
    )
    ax_safety.set(title="adverse events and antibodies", ylabel="per 100 patient-years over follow-up")
    ax_das.legend(fontsize=7)
    return _save(fig, path, caption)


def distribution(results: Mapping, path, days, name: str = "DAS28_ESR_change", caption: str = "") -> Path:
    """Where the patients are, not only their median: the histogram (% of patients) of
    ``name`` (default the change in DAS28-ESR from day 0) at each of ``days``, one panel
    per arm.  A cohort that splits into responders and non-responders shows two humps;
    dashed lines mark the EULAR improvement thresholds (-0.6, -1.2)."""
    arms = list(results)
    fig = _figure(3.4 * len(arms) + 0.6, 3.4)
    axes = fig.subplots(1, len(arms), sharex=True, sharey=True, squeeze=False)[0]
    for ax, arm in zip(axes, arms):
        res = results[arm]
        for k, day in enumerate(days):
            counts = res.histogram(name, day, CHANGE_BINS)
            if counts.sum():
                ax.stairs(100 * counts / counts.sum(), CHANGE_BINS, color=f"C{k}", lw=1.5, label=f"day {day:g}")
        for x in (-1.2, -0.6):
            ax.axvline(x, color="0.5", ls="--", lw=0.8)
        ax.set_title(f"{arm} (n={res.n})", fontsize=9)
        ax.set_xlabel(endpoints.axis_label(name))
    axes[0].set_ylabel("patients (%) per 0.25-point bin")
    _legend(axes[0], axes)
    return _save(fig, path, caption)


def heatmap(
    z: np.ndarray, xs, ys, path, xlabel: str, ylabel: str, title: str, colorbar: str, xticks=None, yticks=None
) -> Path:
    """Annotated heat map of ``z`` (len(ys), len(xs)) on categorical axes; ``colorbar``
    labels the colour bar (quantity and unit); tick labels default to the values."""
    fig = _figure(1.0 * len(xs) + 3.0, 0.6 * len(ys) + 2.2)
    ax = fig.subplots()
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis_r")
    ax.set_xticks(range(len(xs)), xticks or [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), yticks or [f"{v:g}" for v in ys])
    for (i, j), v in np.ndenumerate(z):
        ax.text(
            j,
            i,
            f"{v:.2f}",
            ha="center",
            va="center",
            fontsize=8,
            color="w" if np.isfinite(v) and v > np.nanmean(z) else "k",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, label=colorbar)
    return _save(fig, path, title)


def lines(x, ys: dict, path, xlabel: str, ylabel: str, title: str, bands: dict | None = None) -> Path:
    """One line per entry of ``ys`` (label -> values over ``x``), with an optional shaded
    ``bands[label]`` = (low, high); log x axis if x > 0 spans 10x."""
    fig = _figure(5.5, 3.8)
    ax = fig.subplots()
    for k, (label, y) in enumerate(ys.items()):
        ax.plot(x, y, marker="o", color=f"C{k}", label=label or None)
        if bands and label in bands:
            ax.fill_between(
                x, *bands[label], color=f"C{k}", alpha=0.2, lw=0, label=f"{label + ': ' if label else ''}p25-p75"
            )
    x = np.asarray(x, dtype=float)
    if np.all(x > 0) and x.max() >= 10 * x.min():
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(ys) or bands:
        ax.legend(fontsize=7)
    return _save(fig, path, title)


def bars(names, value, error, path, xlabel: str, title: str, label=None, second=None) -> Path:
    """Horizontal bars (tornado, largest on top) of ``value`` (legend ``label``) with ``error``
    whiskers (95% intervals); ``second`` = (label, values) draws a wider pale bar behind
    (e.g. ST behind S1)."""
    value, error = np.asarray(value, float), np.asarray(error, float)
    order = np.argsort(np.abs(value if second is None else second[1]))
    y = np.arange(len(names))
    fig = _figure(6, 0.45 * len(names) + 1.7)
    ax = fig.subplots()
    if second is not None:
        ax.barh(y, np.asarray(second[1], float)[order], color="C1", alpha=0.5, label=second[0])
    ax.barh(
        y,
        value[order],
        xerr=error[order],
        height=0.5,
        color="C0",
        capsize=2,
        label=f"{label} (95% interval)" if label else "95% interval",
    )
    ax.set_yticks(y, [names[i] for i in order])
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
    return _save(fig, path, title)
