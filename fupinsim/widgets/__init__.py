"""What-if controls for planners in JupyterLab: turn a knob, see the plan change (layer 8).

:class:`WhatIf` is the plain Python API (the notebook and the tests use it)::

    what = WhatIf.from_file("scenarios/plan_2015.yaml", replications=200)
    what.replan()
    what.set("funding.earmark_share_county", 0.25)   # a planner's control, in its unit
    what.replan()                                     # re-solves the LP, re-simulates the plan
    what.tables["shortfall"], what.figures["fan_chart"]

:class:`WhatIfPanel` puts :data:`CONTROLS` on ipywidgets (each with its unit and range) and
redraws the tables and figures when one changes; the notebook only lays it out.

What each change recomputes
---------------------------
A re-plan runs the stages of :mod:`fupinsim.pipeline` it needs and takes the rest from a cache,
keyed by a hash of the scenario sections each stage reads (:data:`STAGE_SECTIONS`):

* **registry** (the synthetic population the Monte Carlo runs on): ``seed``, ``counties``,
  ``registry``;
* **yields** (exit yields, the slow stage): the registry's sections, ``microsim``,
  ``interventions`` (effect and cost factors, not capacity factors), the allocation's
  ``income_bands``, ``yield_replications``, ``pools_pay_guarantees`` and the funding years;
* **simulation** of the chosen plan: the yields' sections and the plan itself;
* the funding tables, the LP and the household plans are recomputed every time (under a
  second).

So money, targets, confidence, objective or capacity changes re-solve the LP and re-simulate
the new plan only; a model parameter (a cost or effect factor, the counties) recomputes the
yields too. Registries and yields are kept in memory and on disk
(``outputs/.cache/<hash>/``, :class:`fupinsim.io.cache.TableCache`), so a new kernel starts
from the disk.
"""

from __future__ import annotations

from fupinsim.widgets.controls import CONTROLS, Control
from fupinsim.widgets.panel import WhatIfPanel
from fupinsim.widgets.views import what_if_figures, what_if_tables
from fupinsim.widgets.whatif import (
    DEFAULT_CACHE,
    STAGE_SECTIONS,
    WhatIf,
    WhatIfResult,
    stage_content,
)

__all__ = [
    "CONTROLS",
    "DEFAULT_CACHE",
    "STAGE_SECTIONS",
    "Control",
    "WhatIf",
    "WhatIfPanel",
    "WhatIfResult",
    "stage_content",
    "what_if_figures",
    "what_if_tables",
]
