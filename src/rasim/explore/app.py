"""The explorer's layout: a patient, a cohort and a sweep tab (Panel widgets, matplotlib and
Bokeh figures).  Each tab shows its numbers in a table whose element carries them as data
attributes (``data-das28`` ...), the Python that reproduces them, and downloads of the
scenario TOML and the figure as PNG.  A refused input shows rasim's own message beside the
controls; the app keeps running."""

from __future__ import annotations

import asyncio
import html
import io
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import panel as pn
from matplotlib.figure import Figure

from .. import plots
from ..errors import RasimError
from ..model import PINDEX
from ..regimen import MSC_ROUTES, MSC_SOURCES, MTX_ROUTES
from ..scenario import builtin_names
from . import state

MSC_DOSES = {"none": 0.0, "1e6": 1e6, "1e7": 1e7, "2e7": 2e7, "4e7": 4e7, "1e8": 1e8, "2e8": 2e8}
SWEEP_ENDPOINTS = ("DAS28_ESR", "DAS28_ESR_change", "CRP", "ESR", "HAQ")
WIDE = {"sizing_mode": "stretch_width"}


def numbers_html(element_id: str, rows: list[dict], **data) -> str:
    """A small table of ``rows`` whose element carries ``data`` as JSON data attributes."""
    attrs = " ".join(f"data-{k}='{html.escape(json.dumps(v))}'" for k, v in data.items())
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0]) if rows else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{v:.3g}</td>" if isinstance(v, float) else f"<td>{v}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table id='{element_id}' {attrs} style='font-size:12px'><tr>{head}</tr>{body}</table>"


def png_bytes(fig: Figure) -> io.BytesIO:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    out.seek(0)
    return out


def patient_figure(t: state.Trajectory, points: list, title: str) -> Figure:
    """The markers (trial points where the design matches) and the chosen states over 3 years."""
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    years = t.days / 365.0
    for ax, name in zip(axes, state.MARKERS):
        ax.plot(years, t.markers[name], color="C0")
        for pt in points:
            base, change = pt.endpoint.removesuffix("_change"), pt.endpoint.endswith("_change")
            if base == name:
                value = pt.value + (t.markers[name][0] if change else 0.0)
                ax.errorbar(
                    pt.day / 365,
                    value,
                    yerr=pt.spread if np.isfinite(pt.spread) else None,
                    fmt="o",
                    color="C3",
                    ms=4,
                    label=pt.trial,
                )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("years", fontsize=8)
    handles = {lab: h for ax in axes for h, lab in zip(*ax.get_legend_handles_labels())}
    if handles:
        axes[0].legend(handles.values(), handles.keys(), fontsize=7, title="published (mean)", title_fontsize=7)
    for name, series in t.states.items():
        axes[4].plot(years, series / max(float(series[0]), 1e-12), label=name)
    axes[4].set_title("model states (relative to day 0)", fontsize=9)
    if t.states:
        axes[4].legend(fontsize=7)
    axes[5].axis("off")
    fig.suptitle(title, fontsize=9)
    return fig


class ErrorBox:
    """rasim's message for a refused input, beside the controls."""

    def __init__(self, tab: str):
        self.pane = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=[f"{tab}-error"], **WIDE)

    def show(self, e: Exception | None) -> None:
        self.pane.object = str(e) if e else ""
        self.pane.visible = e is not None


def reproduce(name: str) -> tuple[pn.Column, pn.widgets.TextAreaInput]:
    """A text area for a tab's code with a button copying it."""
    area = pn.widgets.TextAreaInput(height=220, css_classes=[f"{name}-python"], **WIDE)
    copy = pn.widgets.Button(name="Copy as Python", button_type="primary")
    copy.js_on_click(args={"area": area}, code="navigator.clipboard.writeText(area.value)")
    return pn.Column(copy, area, **WIDE), area


def downloads(toml: Callable[[], str], png: Callable[[], io.BytesIO], name: str) -> pn.Row:
    return pn.Row(
        pn.widgets.FileDownload(
            callback=lambda: io.StringIO(toml()), filename=f"{name}.toml", label="Download scenario TOML"
        ),
        pn.widgets.FileDownload(callback=png, filename=f"{name}.png", label="Save figure as PNG"),
    )


class PatientTab:
    """One patient, typical or sampled, recomputed as the widgets move."""

    def __init__(self):
        w = pn.widgets
        self.w = {
            "kind": w.RadioButtonGroup(name="patient", options=list(state.KINDS), value="typical"),
            "population": w.Select(
                name="population (sampled)", options=["refractory", "moderate_mtx", "early_mtx_naive"]
            ),
            "seed": w.IntInput(name="seed (sampled)", value=1, start=0),
            "msc_cells": w.DiscreteSlider(name="MSC dose (cells)", options=MSC_DOSES, value=4e7),
            "msc_source": w.Select(name="MSC source", options=list(MSC_SOURCES)),
            "msc_route": w.Select(name="MSC route", options=list(MSC_ROUTES)),
            "msc_joints": w.IntSlider(name="injected joints (intra-articular)", start=1, end=28, value=2),
            "msc_days": w.TextInput(name="MSC infusion days (comma-separated)", value="0", css_classes=["msc-days"]),
            "msc_every": w.FloatInput(name="repeat every (days; 0: no)", value=0.0),
            "msc_until": w.FloatInput(name="repeat until (day)", value=730.0),
            "mtx_dose": w.FloatSlider(name="MTX from day 0 (mg weekly)", start=0, end=30, step=2.5, value=15.0),
            "mtx_before": w.FloatSlider(name="MTX before day 0 (mg weekly)", start=0, end=30, step=2.5, value=15.0),
            "mtx_route": w.Select(name="MTX route", options=list(MTX_ROUTES)),
            "age": w.IntSlider(name="age (years)", start=18, end=90, value=55),
            "female": w.Select(name="sex", options={"female": True, "male": False}),
            "duration": w.FloatSlider(name="disease duration (years)", start=0.5, end=30, step=0.5, value=8.0),
        }
        self.states = w.MultiChoice(
            name="model states", options=list(state.STATES), value=["memory Treg", "imprinted fibroblasts"]
        )
        self.error = ErrorBox("patient")
        self.plot = pn.pane.Matplotlib(None, dpi=90, tight=True, format="png", **WIDE)
        self.numbers = pn.pane.HTML("", **WIDE)
        self.code, self.python = reproduce("patient")
        self.patient = state.Patient()
        self.figure: Figure | None = None
        for widget in (*self.w.values(), self.states):
            widget.param.watch(lambda _e: self.update(), "value")
        controls = pn.Column(*self.w.values(), self.states, self.error.pane, width=330)
        files = downloads(lambda: state.patient_scenario(self.patient).to_toml(), self.png, "patient")
        self.layout = pn.Row(controls, pn.Column(self.plot, self.numbers, files, self.code, **WIDE), name="Patient")
        self.update()

    def values(self) -> state.Patient:
        return state.Patient(**{k: w.value for k, w in self.w.items()})

    def png(self) -> io.BytesIO:
        assert self.figure is not None
        return png_bytes(self.figure)

    def update(self) -> None:
        try:
            p = self.values()
            t = state.run_patient(p, [state.STATES[s] for s in self.states.value])
        except RasimError as e:
            self.error.show(e)
            return
        self.error.show(None)
        self.patient = p
        what = "typical patient" if p.kind == "typical" else f"sampled patient ({p.population}, seed {p.seed})"
        self.figure = patient_figure(t, state.published(state.covariate_arm(p)), what)
        self.plot.object = self.figure
        self.numbers.object = numbers_html(
            "patient-numbers", t.table(), das28=[round(float(v), 4) for v in t.markers["DAS28_ESR"]]
        )
        self.python.value = state.patient_python(p)


class CohortTab:
    """A scenario's arms: bands and responder rates when the run finishes, progress meanwhile;
    changing an input cancels the run in progress and starts the new one."""

    def __init__(self):
        w = pn.widgets
        self.scenario = w.Select(
            name="scenario", options=builtin_names(), value="trial3y", css_classes=["cohort-scenario"]
        )
        self.file = w.FileInput(accept=".toml", name="or load a scenario file")
        self.patients = w.IntSlider(
            name="patients per arm", start=100, end=2000, step=100, value=500, css_classes=["cohort-patients"]
        )
        self.seed = w.IntInput(name="seed", value=2026, start=0)
        self.run = w.Button(name="Run", button_type="primary", css_classes=["cohort-run"])
        self.progress = pn.indicators.Progress(value=0, max=100, active=False, **WIDE)
        self.status = pn.pane.Markdown("Press Run.", css_classes=["cohort-status"])
        self.error = ErrorBox("cohort")
        self.bands = pn.pane.PNG(None, css_classes=["cohort-bands"], **WIDE)
        self.numbers = pn.pane.HTML("", **WIDE)
        self.code, self.python = reproduce("cohort")
        self.loaded = ""
        self.token = 0
        self.started = False
        self.done = (0, 1)
        self.image = b""
        self.last = None
        self.run.on_click(self.start)
        for widget in (self.scenario, self.patients, self.seed, self.file):
            widget.param.watch(self.changed, "value")
        controls = pn.Column(self.scenario, self.file, self.patients, self.seed, self.run, self.error.pane, width=330)
        files = downloads(lambda: self.last.to_toml() if self.last else "", lambda: io.BytesIO(self.image), "cohort")
        results = pn.Column(self.status, self.progress, self.bands, self.numbers, files, self.code, **WIDE)
        self.layout = pn.Row(controls, results, name="Cohort")

    def source(self) -> str:
        return self.loaded or self.scenario.value

    async def changed(self, event) -> None:
        if event.obj is self.file:
            self.loaded = event.new.decode("utf-8-sig") if event.new else ""
        elif event.obj is self.scenario:
            self.loaded = ""
        self.token += 1  # the run in progress stops at its next chunk
        if self.started:
            await self.start()

    async def start(self, _event=None) -> None:
        self.started = True
        self.token += 1
        token = self.token
        try:
            s = state.scenario_from(self.source(), int(self.patients.value or 0), int(self.seed.value or 0))
        except RasimError as e:
            self.error.show(e)
            return
        self.error.show(None)
        self.status.object = f"Running {s.name}: {len(s.arms)} arms x {s.patients} patients..."
        self.progress.active, self.progress.value = True, 0
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self.work, s, token)
        while not future.done():
            self.progress.value = int(100 * self.done[0] / self.done[1])
            await asyncio.sleep(0.2)
        try:
            results, image = future.result()
        except state.Cancelled:
            return
        except RasimError as e:
            self.error.show(e)
            results = None
        self.progress.active = False
        if token != self.token or results is None:
            return
        self.show(s, results, image)

    def work(self, s, token: int):
        """Run ``s`` (in a worker thread) and draw its bands."""

        def progress(done: int, total: int) -> None:
            self.done = (done, total)

        results = state.run_cohort(s, progress, lambda: token != self.token)
        points = [pt for a in s.arms for pt in state.published(state.scenario_arm(s, a))]
        with tempfile.TemporaryDirectory() as tmp:
            path = plots.bands(
                results,
                Path(tmp) / "bands.png",
                points,
                caption=f"{s.name} | seed {s.seed} | {s.patients} patients per arm",
            )
            return results, path.read_bytes()

    def show(self, s, results: dict, image: bytes) -> None:
        self.last, self.image = s, image
        self.progress.value = 100
        self.bands.object = image
        day = s.observe[-1]
        rows = state.responder_table(results, day)
        das28 = {name: round(float(np.nanmedian(r["DAS28_ESR"][:, -1])), 4) for name, r in results.items()}
        self.numbers.object = f"<p>Responder rates at day {day:g}</p>" + numbers_html(
            "cohort-responders", rows, median_das28=das28
        )
        self.status.object = f"Done: {s.name}, {len(s.arms)} arms x {s.patients} patients (seed {s.seed})."
        self.python.value = state.cohort_python(s, self.source())


class SweepTab:
    """Two axes on a grid of the patient tab's patient; click a cell to see that patient."""

    def __init__(self, patient: PatientTab):
        w = pn.widgets
        axes = [*state.SWEEP_AXES, *sorted(PINDEX)]
        self.patient = patient
        self.x = w.Select(name="x axis", options=axes, value="msc_cells")
        self.xs = w.TextInput(name="x values", value="0, 1e7, 4e7, 1e8", css_classes=["sweep-xs"])
        self.y = w.Select(name="y axis", options=axes, value="mtx_dose")
        self.ys = w.TextInput(name="y values", value="0, 7.5, 15, 25")
        self.endpoint = w.Select(name="endpoint", options=list(SWEEP_ENDPOINTS))
        self.day = w.IntSlider(name="day", start=7, end=state.DAYS, step=7, value=364)
        self.run = w.Button(name="Run sweep", button_type="primary", css_classes=["sweep-run"])
        self.error = ErrorBox("sweep")
        self.heat = pn.pane.Bokeh(None)
        self.cell = pn.pane.Matplotlib(None, dpi=80, tight=True, format="png", **WIDE)
        self.numbers = pn.pane.HTML("", **WIDE)
        self.code, self.python = reproduce("sweep")
        self.cells: list[state.Patient] = []
        self.values: list[float] = []
        self.selected: state.Patient | None = None
        self.figure: Figure | None = None
        self.run.on_click(lambda _e: self.update())
        controls = pn.Column(
            self.x, self.xs, self.y, self.ys, self.endpoint, self.day, self.run, self.error.pane, width=330
        )
        files = downloads(self.toml, self.png, "sweep")
        self.layout = pn.Row(
            controls, pn.Column(self.heat, self.numbers, self.cell, files, self.code, **WIDE), name="Sweep"
        )

    def grid(self):
        xs = state.parse_values(self.x.value, str(self.xs.value))
        ys = state.parse_values(self.y.value, str(self.ys.value))
        return xs, ys

    def update(self) -> None:
        try:
            xs, ys = self.grid()
            base = self.patient.patient
            self.cells = state.grid(base, self.x.value, xs, self.y.value, ys)
            self.values = state.sweep_values(self.cells, self.endpoint.value, self.day.value or 0)
        except RasimError as e:
            self.error.show(e)
            return
        self.error.show(None)
        self.heat.object = self.heatmap(xs, ys)
        self.python.value = state.sweep_python(
            base, self.x.value, xs, self.y.value, ys, self.endpoint.value, self.day.value or 0
        )
        self.select(len(self.cells) // 2)

    def heatmap(self, xs, ys):
        from bokeh.models import ColumnDataSource, FactorRange, TapTool
        from bokeh.plotting import figure
        from bokeh.transform import linear_cmap

        n = len(xs)
        v = np.array(self.values, dtype=float)
        src = ColumnDataSource(
            {
                "x": [f"{xs[i % n]:g}" for i in range(len(v))],
                "y": [f"{ys[i // n]:g}" for i in range(len(v))],
                "value": v,
                "label": [f"{a:.2f}" for a in v],
            }
        )
        fig = figure(
            x_range=FactorRange(factors=[f"{a:g}" for a in xs]),
            y_range=FactorRange(factors=[f"{b:g}" for b in ys]),
            width=520,
            height=360,
            tools="",
            title=f"{self.endpoint.value} at day {self.day.value or 0} (click a cell)",
            toolbar_location=None,
            x_axis_label=self.x.value,
            y_axis_label=self.y.value,
        )
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        fig.rect(
            "x", "y", 1, 1, source=src, fill_color=linear_cmap("value", "Viridis256", lo, hi + 1e-9), line_color="white"
        )
        fig.text("x", "y", text="label", source=src, text_align="center", text_baseline="middle", text_color="white")
        fig.add_tools(TapTool(mode="replace"))
        src.selected.on_change("indices", lambda _a, _o, new: self.select(new[0]) if new else None)
        return fig

    def select(self, i: int) -> None:
        cell = self.cells[i]
        t = state.run_patient(cell, ["treg_mem"])
        label = ", ".join(f"{k} = {cell.value(k):g}" for k in (self.x.value, self.y.value))
        self.figure = patient_figure(t, [], label)
        self.cell.object = self.figure
        x, y = self.x.value, self.y.value
        rows = [{x: c.value(x), y: c.value(y), self.endpoint.value: v} for c, v in zip(self.cells, self.values)]
        self.numbers.object = numbers_html(
            "sweep-numbers",
            rows,
            values=[round(v, 4) if math.isfinite(v) else None for v in self.values],
            cell=i,
            das28=[round(float(v), 4) for v in t.markers["DAS28_ESR"]],
        )
        self.selected = cell

    def toml(self) -> str:
        return state.patient_scenario(self.selected or self.patient.patient).to_toml()

    def png(self) -> io.BytesIO:
        xs, ys = self.grid()
        z = np.array(self.values, dtype=float).reshape(len(ys), len(xs))
        with tempfile.TemporaryDirectory() as tmp:
            path = plots.heatmap(
                z,
                xs,
                ys,
                Path(tmp) / "sweep.png",
                self.x.value,
                self.y.value,
                f"{self.endpoint.value} at day {self.day.value or 0}",
                self.endpoint.value,
                [f"{a:g}" for a in xs],
                [f"{b:g}" for b in ys],
            )
            return io.BytesIO(path.read_bytes())


class Explorer:
    """The three tabs, with a header."""

    def __init__(self):
        self.patient = PatientTab()
        self.cohort = CohortTab()
        self.sweep = SweepTab(self.patient)
        header = pn.pane.Markdown(
            "## rasim explore\nRheumatoid arthritis under MSC therapy and methotrexate. "
            "Every picture has its Python and its scenario TOML below it."
        )
        self.layout = pn.Column(
            header, pn.Tabs(self.patient.layout, self.cohort.layout, self.sweep.layout, dynamic=False)
        )
