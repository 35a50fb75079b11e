"""The ipywidgets panel: the what-if controls on sliders, redrawn when one changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from fupinsim import assess
from fupinsim.errors import InputError
from fupinsim.widgets.controls import CONTROLS, Control
from fupinsim.widgets.views import GROUPS, VIEWS, what_if_figures, what_if_tables
from fupinsim.widgets.whatif import WhatIf

logger = logging.getLogger(__name__)


class WhatIfPanel:
    """ipywidgets for a :class:`WhatIf`: one control per :data:`CONTROLS` entry, views redrawn.

    Attributes
    ----------
    what:
        The :class:`WhatIf` it drives.
    controls:
        Control name → widget (a slider, a dropdown or a multiple choice), labelled with the
        control's unit and range.
    views:
        View name (:data:`VIEWS`) → ``ipywidgets.Output`` holding that table or figure.
    status:
        One line: what the last re-plan recomputed and how long it took.
    shown:
        The tables the views show now (by name).
    """

    def __init__(self, what: WhatIf, names: Sequence[str] | None = None) -> None:
        self._w = w = widgets
        self.what = what
        self.status = w.HTML()
        self.controls: dict[str, Any] = {
            name: self._widget(CONTROLS[name]) for name in (names or list(CONTROLS))
        }
        self.views: dict[str, Any] = {name: w.Output() for name in VIEWS}
        self._layout: Any = None
        self.shown: dict[str, pd.DataFrame] = {}
        for name, widget in self.controls.items():
            widget.observe(self._changed(name), names="value")
        self.redraw()

    def _widget(self, control: Control) -> Any:
        w = self._w
        value = self.what.get(control.name)
        style = {"description_width": "17em"}
        layout = w.Layout(width="40em")
        tip = f"{control.label}: {control.unit}"
        if control.kind == "choice":
            return w.Dropdown(
                options=list(control.choices),
                value=value,
                description=control.label,
                style=style,
                layout=layout,
                tooltip=tip,
            )
        if control.kind == "multi":
            return w.SelectMultiple(
                options=[(assess.county_label(c, short=True), c) for c in control.choices],
                value=tuple(value),
                description=control.label,
                rows=len(control.choices),
                style=style,
                layout=layout,
                tooltip=tip,
            )
        slider = w.IntSlider if control.kind == "int" else w.FloatSlider
        return slider(
            value=value,
            min=control.low,
            max=control.high,
            step=control.step,
            description=control.label,
            continuous_update=False,
            readout_format=control.readout,
            style=style,
            layout=layout,
            tooltip=tip,
        )

    def _changed(self, name: str) -> Callable[[dict[str, Any]], None]:
        def on_change(change: dict[str, Any]) -> None:
            value = change["new"]
            try:
                self.what.set(name, list(value) if isinstance(value, tuple) else value)
                self.status.value = f"<b>Re-planning</b> after {CONTROLS[name].label} …"
                self.what.replan()
            except InputError as error:
                self.status.value = f"<b style='color:#b00'>Not applied:</b> {error}"
                return
            self.redraw()

        return on_change

    def redraw(self) -> None:
        """Show the last re-plan's tables and figures in :attr:`views`."""
        result = self.what.result
        tables = what_if_tables(result)
        figures = what_if_figures(result)
        self.shown = tables
        for name, out in self.views.items():
            out.clear_output(wait=True)
            with out:
                if name.startswith("fig:"):
                    display(figures[name.removeprefix("fig:")])
                else:
                    display(tables[name])
        steps = ", ".join(
            f"{k} {v:.1f} s" + (" (cached)" if k in result.reused else "")
            for k, v in result.timings.items()
            if k != "total"
        )
        self.status.value = (
            f"Re-planned in <b>{result.timings['total']:.1f} s</b>: {steps}. "
            f"{self.what.replications} Monte Carlo replications."
        )

    def group(self, group: str) -> Any:
        """The controls of one group (:data:`GROUPS`) in a box, each with its unit."""
        w = self._w
        rows = []
        for name, widget in self.controls.items():
            control = CONTROLS[name]
            if control.group != group:
                continue
            if control.kind in ("float", "int"):
                unit = f"{control.unit} ({control.low:,g} to {control.high:,g})"
            else:
                unit = control.unit
            rows.append(w.HBox([widget, w.HTML(f"<small>{unit}</small>")]))
        return w.VBox(rows)

    def layout(self) -> Any:
        """A default layout: control groups in tabs above the status line and the views."""
        if self._layout is None:
            self._layout = self._build_layout()
        return self._layout

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """Shown in JupyterLab as the :meth:`layout`; as one line of text elsewhere (nbval)."""
        bundle = dict(self.layout()._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = (
            f"What-if controls: {len(self.controls)} controls on {self.what.base.id} "
            f"({self.what.replications} replications); open the notebook in JupyterLab to use them"
        )
        return bundle

    def _build_layout(self) -> Any:
        w = self._w
        groups = [g for g in GROUPS if any(CONTROLS[n].group == g for n in self.controls)]
        tabs = w.Tab(children=[self.group(g) for g in groups])
        for i, g in enumerate(groups):
            tabs.set_title(i, GROUPS[g])
        views = w.VBox([self.views[name] for name in VIEWS])
        return w.VBox([tabs, self.status, views])
