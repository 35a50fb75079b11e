"""Display-ready tables: the run's tables with planner labels, rounded, one function per table.

The notebooks (``notebooks/01``-``04``) show each table by one call, and the report shows the
same frames where it shows the same table (the shortfalls), so a number has one source
(issue 14) and the rename/pivot/round code one home (issue 9). Every function returns a new
:class:`pandas.DataFrame` with readable row and column labels (the unit in the label: 万元 is
10,000 yuan, shares in %); none reads files or draws.

* :mod:`~fupinsim.assess.display.registry` — the registry (notebook 01): households by county,
  villages, causes, income sources, identification errors, support classes.
* :mod:`~fupinsim.assess.display.projection` — the projection and its assessment (02, 04):
  P(target met), targets, plans compared, immigrants' income, returns, county assessment.
* :mod:`~fupinsim.assess.display.money` — money and allocation (03): funding, packages,
  spending, shortfalls with what binds, marginal costs, the factor method, the closed loop.
"""

from __future__ import annotations

from fupinsim.assess.display.absent import absent_table, shown_if_in_run
from fupinsim.assess.display.money import (
    binds_sentence,
    display_closed_loop,
    display_county_factors,
    display_funding_by_pool,
    display_funding_by_source,
    display_households_by_package,
    display_marginal_cost,
    display_methods,
    display_money_value,
    display_package_money,
    display_revenue,
    display_shortfalls,
    display_spending,
    display_unused_money,
    group_text,
    shortfall_rows,
)
from fupinsim.assess.display.projection import (
    COMPARED_PLANS,
    EXIT_TARGET,
    display_assessment,
    display_immigrant_income_plans,
    display_p_met,
    display_p_met_plans,
    display_plan_comparison,
    display_plans_city,
    display_remaining_by_plan,
    display_targeting,
    display_targets,
    exit_target_rows,
    is_exit_target,
    plan_goal_rows,
)
from fupinsim.assess.display.registry import (
    display_assistance,
    display_causes,
    display_identification,
    display_income_sources,
    display_registry_summary,
    display_support_classes,
    display_top_villages,
)

__all__ = [
    "COMPARED_PLANS",
    "EXIT_TARGET",
    "absent_table",
    "binds_sentence",
    "display_assessment",
    "display_assistance",
    "display_causes",
    "display_closed_loop",
    "display_county_factors",
    "display_funding_by_pool",
    "display_funding_by_source",
    "display_households_by_package",
    "display_identification",
    "display_immigrant_income_plans",
    "display_income_sources",
    "display_marginal_cost",
    "display_methods",
    "display_money_value",
    "display_p_met",
    "display_p_met_plans",
    "display_package_money",
    "display_plan_comparison",
    "display_plans_city",
    "display_registry_summary",
    "display_remaining_by_plan",
    "display_revenue",
    "display_shortfalls",
    "display_spending",
    "display_support_classes",
    "display_targeting",
    "display_targets",
    "display_top_villages",
    "display_unused_money",
    "exit_target_rows",
    "group_text",
    "is_exit_target",
    "plan_goal_rows",
    "shortfall_rows",
    "shown_if_in_run",
]
