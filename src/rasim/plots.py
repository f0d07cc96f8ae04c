"""Figures of cohort runs, sweeps and sensitivity analyses (matplotlib, Agg backend).

matplotlib is imported inside each function, so importing rasim stays cheap.
``published`` points are ``rasim.calibration.Target`` rows (arm, endpoint,
day, value, spread): drawn as black markers with the spread (SD) as a bar.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

BAND_MARKERS = (("DAS28_ESR", "DAS28-ESR"), ("ESR", "ESR (mm/h)"), ("CRP", "CRP (mg/L)"), ("HAQ", "HAQ-DI"))
RESPONDER_PANELS = (("EULAR_response", "EULAR good or moderate"), ("ACR20", "ACR20"),
                    ("DAS28_LDA", "DAS28-ESR <= 3.2"), ("DAS28_remission", "DAS28-ESR < 2.6"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def _points(published, arm: str, endpoint: str):
    return [t for t in published or () if t.arm == arm and t.endpoint == endpoint]


def bands(results: dict, path, published=None, markers=BAND_MARKERS) -> Path:
    """Median, p25-p75 and p05-p95 bands over time: one row per marker, one column per arm
    (``results``: arm name -> ``rasim.cohort.result.ArmSummary``)."""
    plt = _pyplot()
    arms = list(results)
    fig, axes = plt.subplots(len(markers), len(arms), figsize=(3.2 * len(arms) + 0.8, 2.3 * len(markers)),
                             sharex=True, sharey="row", squeeze=False)
    for col, name in enumerate(arms):
        res = results[name]
        for row, (key, label) in enumerate(markers):
            ax = axes[row, col]
            if res.n:
                q = res.percentiles(key)  # p05, p25, p50, p75, p95
                ax.fill_between(res.days, q[0], q[4], color="C0", alpha=0.2, lw=0, label="p05-p95")
                ax.fill_between(res.days, q[1], q[3], color="C0", alpha=0.4, lw=0, label="p25-p75")
                ax.plot(res.days, q[2], color="C0", lw=1.5, label="median")
            for t in _points(published, name, key):
                ax.errorbar(t.day, t.value, yerr=t.spread if np.isfinite(t.spread) else None, fmt="o",
                            color="k", ms=4, capsize=2, label="published")
            if row == 0:
                ax.set_title(f"{name} (n={res.n})", fontsize=9)
            if col == 0:
                ax.set_ylabel(label)
            if row == len(markers) - 1:
                ax.set_xlabel("day")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in axes.flat:  # 'published' may appear in another panel only
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    axes[0, 0].legend(seen.values(), seen.keys(), fontsize=7)
    return _save(fig, path)


def responders(results: dict, path, published=None, panels=RESPONDER_PANELS) -> Path:
    """Responder rates (%) over time, one line per arm, one panel per criterion."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.2), sharey=True, squeeze=False)
    for ax, (criterion, label) in zip(axes[0], panels):
        for k, (name, res) in enumerate(results.items()):
            if not res.n:
                continue
            rate = 100 * res.rate(criterion)
            ax.plot(res.days, rate, color=f"C{k}", marker=".", label=name)
            for t in _points(published, name, criterion):
                ax.plot(t.day, 100 * t.value, "o", color=f"C{k}", mec="k", ms=6)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("day")
        ax.set_ylim(0, 100)
    axes[0, 0].set_ylabel("patients (%)")
    axes[0, 0].legend(fontsize=7)
    return _save(fig, path)


def heatmap(z: np.ndarray, xs, ys, path, xlabel: str, ylabel: str, title: str) -> Path:
    """Annotated heat map of ``z`` (len(ys), len(xs)) on categorical axes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.0 * len(xs) + 2.5, 0.6 * len(ys) + 2.0))
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis_r")
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    for (i, j), v in np.ndenumerate(z):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="w" if np.isfinite(v) and v > np.nanmean(z) else "k")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax)
    return _save(fig, path)


def lines(x, ys: dict, path, xlabel: str, ylabel: str, title: str, bands: dict | None = None) -> Path:
    """One line per entry of ``ys`` (label -> values over ``x``), with an optional shaded
    ``bands[label]`` = (low, high); log x axis if x > 0 spans 10x."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, (label, y) in enumerate(ys.items()):
        ax.plot(x, y, marker="o", color=f"C{k}", label=label or None)
        if bands and label in bands:
            ax.fill_between(x, *bands[label], color=f"C{k}", alpha=0.2, lw=0)
    x = np.asarray(x, dtype=float)
    if np.all(x > 0) and x.max() >= 10 * x.min():
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if any(ys):
        ax.legend(fontsize=7)
    return _save(fig, path)


def bars(names, value, error, path, xlabel: str, title: str, label=None, second=None) -> Path:
    """Horizontal bars (tornado, largest on top) of ``value`` (legend ``label``) with ``error``
    whiskers; ``second`` = (label, values) draws a wider pale bar behind (e.g. ST behind S1)."""
    plt = _pyplot()
    value, error = np.asarray(value, float), np.asarray(error, float)
    order = np.argsort(np.abs(value if second is None else second[1]))
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.5))
    if second is not None:
        ax.barh(y, np.asarray(second[1], float)[order], color="C1", alpha=0.5, label=second[0])
    ax.barh(y, value[order], xerr=error[order], height=0.5, color="C0", capsize=2,
            label=label)
    ax.set_yticks(y, [names[i] for i in order])
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    if label or second is not None:
        ax.legend(fontsize=7)
    return _save(fig, path)
