"""The ``dynlatch explore`` web page: Bokeh widgets and plots over the functions of :mod:`dynlatch._explore`.

One Bokeh document per browser tab. Moving a slider recomputes the reduced map, the fixed points, the start-state
eigenvalue, the gradient decay and the predicted success at once; the bifurcation diagram over the chosen parameter is
recomputed when the slider is released (or a setting other than that parameter changes).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    Button, ColumnDataSource, Div, Select, Slider, Span, TextInput,
)
from bokeh.plotting import figure

from . import _explore as ex
from ._activations import HARD_SIGMOID_SLOPE
from .cells import Cell, kinds
from .studies._lstm_failure_features import LogisticFit

GATES: tuple[str, ...] = ("sigmoid", *HARD_SIGMOID_SLOPE)
"""The gate functions a cell can use."""
LENGTHS: tuple[int, ...] = (50, 100, 200)
"""Training lengths T offered (those the lstm-failure predictor is fitted at)."""
BIFURCATION_GRID = 161
STABLE_COLOR, UNSTABLE_COLOR = "#1f77b4", "#d62728"


@dataclass
class PageSettings:
    """What the page starts with.

    Attributes:
        kind: the cell kind; ``gate`` its gate function; ``params`` parameter values by Keras name (others from the
            Keras-2 initialisation with seed 0); ``options`` other cell options (GRU ``reset_after``).
        predictors: fitted predictors by kind and T (:func:`dynlatch._explore.read_predictors`), possibly empty.
        predictor_source: where they came from (shown on the page).
    """

    kind: str = "srnn"
    gate: str = "hard_sigmoid"
    params: dict[str, float] = field(default_factory=lambda: {"W": 1.0, "U": 0.5, "b": 0.0})
    options: dict[str, Any] = field(default_factory=dict)
    predictors: dict[str, dict[int, LogisticFit]] = field(default_factory=dict)
    predictor_source: str = ""


def settings_from_weights(path: str | Path, base: PageSettings) -> PageSettings:
    """``base`` with the kind, gate, options and parameters of the one-unit cell in a weight file.

    Raises:
        ValueError: for a file :func:`dynlatch.cells.load` refuses or a cell that is not one unit, one input, one model.
    """
    return settings_from_cell(ex.read_one_unit_cell(path), base)


def settings_from_cell(cell: Cell, base: PageSettings) -> PageSettings:
    """``base`` with the kind, gate, options and parameters of a one-unit cell (see
    :func:`dynlatch._explore.read_one_unit_cell`)."""
    params = ex.scalar_params(cell)
    options = {k: v for k, v in cell.options().items() if k != "recurrent_activation"}
    return PageSettings(cell.kind, cell.options()["recurrent_activation"], params, options, base.predictors,
                        base.predictor_source)


def _slider_range(value: float) -> tuple[float, float]:
    return min(-4.0, np.floor(value) - 2.0), max(4.0, np.ceil(value) + 2.0)


def _fmt_complex(z: complex) -> str:
    return f"{z.real:.4f}" if abs(z.imag) < 1e-12 else f"{z.real:.4f}{z.imag:+.4f}i"


class ExplorerPage:
    """The widgets, data sources and callbacks of one explorer document."""

    def __init__(self, doc: Document, settings: PageSettings) -> None:
        self.doc = doc
        self.settings = settings
        self.kind = Select(title="cell kind", value=settings.kind, options=list(kinds()), name="kind", width=140)
        self.gate = Select(title="gate function", value=settings.gate, options=list(GATES), name="gate", width=170)
        self.length = Select(title="training length T", value="100", options=[str(T) for T in LENGTHS],
                             name="length", width=140)
        self.parameter = Select(title="bifurcation parameter", name="parameter", width=170)
        self.weights = TextInput(title="weight file (.json, .npz, .keras, .h5)", name="weights", width=330)
        self.load_button = Button(label="load weights", name="load", width=120)
        self.sliders: dict[str, Slider] = {}
        self.slider_box = column(name="sliders")
        self.status = Div(name="status", width=520)
        self.message = Div(name="message", width=520)
        self.map_source = ColumnDataSource({"h": [], "phi": []})
        self.points_source = ColumnDataSource({"h": [], "color": [], "fill": [], "label": []})
        self.branch_source = ColumnDataSource({"value": [], "h": [], "color": []})
        self.decay_source = ColumnDataSource({"k": [], "log_norm": [], "predicted": []})
        self.marker = Span(location=0.0, dimension="height", line_color="black", line_dash="dashed")
        self.map_plot = self._map_plot()
        self.bifurcation_plot = self._bifurcation_plot()
        self.decay_plot = self._decay_plot()
        self.resetting = False
        self.kind.on_change("value", lambda attr, old, new: self.resetting or self.reset(self._kind_settings(new)))
        self.gate.on_change("value", lambda attr, old, new: self.update(bifurcation=True))
        self.length.on_change("value", lambda attr, old, new: self.update(bifurcation=False))
        self.parameter.on_change("value", lambda attr, old, new: self.update(bifurcation=True))
        self.load_button.on_click(self.load_weights)
        controls = column(Div(text="<h2>dynlatch explore</h2>"), row(self.kind, self.gate),
                          row(self.length, self.parameter), row(self.weights, self.load_button), self.message,
                          self.status, self.slider_box)
        doc.add_root(row(controls, column(row(self.map_plot, self.bifurcation_plot), self.decay_plot)))
        doc.title = "dynlatch explore"
        self.reset(settings)

    # -- plots ---------------------------------------------------------------------------------------------------
    def _map_plot(self) -> Any:
        p = figure(title="reduced map Φ(h) at x = 0 and its fixed points", width=420, height=380,
                   x_range=(-1, 1), y_range=(-1, 1), x_axis_label="h", y_axis_label="Φ(h)")
        p.line([-1, 1], [-1, 1], color="gray", line_dash="dotted", legend_label="diagonal")
        p.line("h", "phi", source=self.map_source, line_width=2, legend_label="Φ(h)")
        p.scatter("h", "h", source=self.points_source, size=12, line_color="color", fill_color="fill", line_width=2,
                  legend_field="label")
        p.legend.location = "top_left"
        return p

    def _bifurcation_plot(self) -> Any:
        p = figure(title="bifurcation diagram", width=420, height=380, y_range=(-1.05, 1.05),
                   x_axis_label="parameter", y_axis_label="h at a fixed point")
        p.scatter("value", "h", source=self.branch_source, size=3, color="color")
        p.scatter("h_value", "h", source=self.points_source, size=11, line_color="color", fill_color="fill",
                  line_width=2)
        p.add_layout(self.marker)
        return p

    def _decay_plot(self) -> Any:
        p = figure(title="gradient decay after a +1 pulse", width=840, height=260, x_axis_label="T - t",
                   y_axis_label="log ||ds_T/ds_t||")
        p.line("k", "log_norm", source=self.decay_source, line_width=2, legend_label="measured")
        p.line("k", "predicted", source=self.decay_source, line_dash="dashed", color="black",
               legend_label="predicted rate")
        p.legend.location = "bottom_left"
        return p

    # -- state ---------------------------------------------------------------------------------------------------
    def _kind_settings(self, kind: str) -> PageSettings:
        return PageSettings(kind, self.gate.value, {}, {}, self.settings.predictors, self.settings.predictor_source)

    def cell(self) -> Any:
        """The cell the widgets describe."""
        params = {name: s.value for name, s in self.sliders.items()}
        return ex.one_unit_cell(self.kind.value, gate=self.gate.value, params=params, **self.settings.options)

    def reset(self, settings: PageSettings) -> None:
        """Rebuild the sliders for ``settings`` (a new kind or a loaded weight file) and redraw everything."""
        self.resetting = True
        try:
            self._reset(settings)
        finally:
            self.resetting = False
        self.update(bifurcation=True)

    def _reset(self, settings: PageSettings) -> None:
        self.settings = settings
        base = ex.one_unit_cell(settings.kind, gate=settings.gate, params=settings.params, **settings.options)
        values = ex.scalar_params(base)
        self.sliders = {}
        for name, value in values.items():
            start, end = _slider_range(value)
            slider = Slider(title=name, value=value, start=start, end=end, step=0.01, name=f"slider-{name}",
                            width=330)
            slider.on_change("value", lambda attr, old, new, name=name: self.update(bifurcation=False, moved=name))
            slider.on_change("value_throttled", lambda attr, old, new: self.update(bifurcation=True))
            self.sliders[name] = slider
        self.slider_box.children = list(self.sliders.values())
        for widget, value in ((self.kind, settings.kind), (self.gate, settings.gate)):
            if widget.value != value:
                widget.value = value
        self.parameter.options = list(values)
        self.parameter.value = ex.bifurcation_parameter(base)

    def load_weights(self) -> None:
        """Load the weight file named in the text box."""
        try:
            settings = settings_from_weights(self.weights.value.strip(), self.settings)
        except ValueError as e:
            self.message.text = f"<b>cannot load:</b> {html.escape(str(e))}"
            return
        self.message.text = f"loaded {html.escape(self.weights.value.strip())}"
        self.reset(settings)

    def update(self, *, bifurcation: bool, moved: str | None = None) -> None:
        """Recompute and redraw; the bifurcation diagram too when ``bifurcation`` (or a parameter other than the
        diagram's own was ``moved``)."""
        if self.resetting or self.parameter.value not in self.sliders:
            return
        try:
            cell = self.cell()
            length = int(self.length.value)
            fit = self.settings.predictors.get(self.kind.value, {}).get(length)
            shot = ex.snapshot(cell, length=length, predictor=fit)
            if bifurcation or (moved is not None and moved != self.parameter.value):
                self._draw_bifurcation(cell)
        except ValueError as e:
            self.message.text = f"<b>cannot compute:</b> {html.escape(str(e).splitlines()[0])}"
            return
        self._draw(shot)

    def _draw_bifurcation(self, cell: Any) -> None:
        slider = self.sliders[self.parameter.value]
        values = np.linspace(slider.start, slider.end, BIFURCATION_GRID)
        points = ex.bifurcation_points(cell, self.parameter.value, values)
        self.branch_source.data = {"value": points["value"], "h": points["h"],
                                   "color": np.where(points["stable"], STABLE_COLOR, UNSTABLE_COLOR)}
        self.bifurcation_plot.xaxis.axis_label = self.parameter.value
        self.bifurcation_plot.title.text = f"fixed points over {self.parameter.value} (blue stable, red unstable)"

    def _draw(self, shot: ex.Snapshot) -> None:
        value = self.sliders[self.parameter.value].value
        self.marker.location = value
        self.map_source.data = {"h": shot.h, "phi": shot.phi}
        colors = [STABLE_COLOR if p.stable else UNSTABLE_COLOR for p in shot.points]
        self.points_source.data = {
            "h": [p.h for p in shot.points], "h_value": [value] * len(shot.points), "color": colors,
            "fill": [c if p.stable else "white" for c, p in zip(colors, shot.points)],
            "label": ["stable" if p.stable else "unstable" for p in shot.points]}
        k = np.arange(shot.log_norms.size)
        self.decay_source.data = {"k": k, "log_norm": shot.log_norms, "predicted": shot.predicted_log_rate * k}
        stable = ex.stable_count(shot.points)
        rows = "".join(f"<li>h* = {p.h + 0.0:+.4f}: {'stable' if p.stable else 'unstable'}, "
                       f"λ = {_fmt_complex(p.eigenvalue)}"
                       + (f", multiplicity {p.multiplicity}" if p.multiplicity > 1 else "")
                       + (" (continuum)" if p.kind == "continuum" else "") + "</li>" for p in shot.points)
        if shot.success is None:
            success = (f"no predictor for {self.kind.value} at T = {shot.length}"
                       + ("" if self.settings.predictors else " (start with --predictor SUMMARY)"))
        else:
            success = f"<b>{shot.success:.2f}</b> ({html.escape(self.settings.predictor_source)})"
        self.status.text = (
            f"<p id='stable-count'><b>stable fixed points: {stable}</b> of {len(shot.points)}</p><ul>{rows}</ul>"
            f"<p>start-state eigenvalue λ0 = {_fmt_complex(shot.eigenvalue)} (|λ0| = {abs(shot.eigenvalue):.4f})</p>"
            f"<p>gradient decay per step: measured {shot.fitted_log_rate:.4f}, predicted "
            f"{shot.predicted_log_rate:.4f} (log scale)</p>"
            f"<p>predicted latching success at T = {shot.length}: {success}</p>")


def build_document(doc: Document, settings: PageSettings) -> None:
    """Fill a Bokeh document with the explorer (the server calls this once per page load)."""
    ExplorerPage(doc, settings)
