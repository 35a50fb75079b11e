"""The intervention catalogue: typed entries and packages read from ``data/interventions.yaml``.

An :class:`Entry` is one measure of the plan (§6-14): 30 sheep, 2 mu of wolfberry, a solar
greenhouse, one labourer transferred, skills training, microcredit, rooftop PV, a village
mutual-aid fund, a cooperative, a road, house renovation, safe water, education aid, and the
health and dibao rules. A :class:`Package` is what one household (or village) is given; the
plan's "one labourer out, 2 mu, 30 sheep" is ``one_labourer_2mu_30sheep``.

Conventions (the engine and the allocation rely on them)
--------------------------------------------------------
Units
    Money is yuan at current prices per *unit* of the entry; :attr:`Entry.unit` says what one
    unit is ("household (30 breeding ewes and a warm shed)", "labourer", "village", "person").
    A household receives one unit of every entry of its package, except entries with a
    :attr:`Entry.quantity_column`, of which it receives ``households[quantity_column]`` units
    (members for the NCMS rules and dibao, students for education aid, dropouts for the
    schooling guarantee); :attr:`Entry.typical_quantity` stands in when no household is given.
Costs by payer
    ``cost_fiscal_yuan``, ``cost_credit_yuan`` and ``cost_household_yuan`` are paid once, in the
    start year; ``recurrent_fiscal_yuan`` every year of ``lifetime_years``. *Credit* is loan
    principal (repaid by the household, so not a budget cost); the budget's share of a loan
    (interest subsidy and expected risk compensation) is inside ``cost_fiscal_yuan`` (paid up
    front, undiscounted). ``fiscal_channel`` tells whether the fiscal cost falls on the poverty
    budget (``poverty_fund``, plan §19) or on a sector programme (``sector``: housing, water,
    transport, health insurance, civil affairs, education).
Income effect
    ``effect_yuan`` is the NET income gain per unit and year at maturity (yuan per household
    per year), before dispersion and failure. ``effect_gross_yuan`` of it is gross income and
    goes to ``income_source``; ``effect_cost_yuan = effect_gross_yuan - effect_yuan`` is added
    to ``production_cost``. ``gross_share = effect_gross_yuan / effect_yuan`` (1 when there is
    no effect), so the engine may equally add ``gross_share * effect`` to the income source and
    ``(gross_share - 1) * effect`` to production cost. Field crops are measured against the
    field crops they replace. Village entries add ``market_uplift`` x (gross crop, livestock and
    greenhouse income) to those sources of every household in the village, and ``effect_yuan``
    to a ``reach_share`` of its households.
Ramp-up
    ``ramp_up[k]`` is the share of the maturity effect in year ``start_year + k`` (``k = 0`` is
    the start year); the last value holds afterwards, and the effect stops after
    ``lifetime_years`` (:meth:`Entry.effect_profile`).
Risk
    ``failure_prob`` is drawn ONCE, at the start: with this probability the measure never works
    for the household (for village entries: the village), its effect is 0 for its whole life
    and its costs are still paid. Year-to-year risk (prices, drought, illness) belongs to the
    engine's shocks. ``dispersion_sigma`` is the sigma of a lognormal household multiplier with
    mean 1 (``mu = -sigma**2 / 2``). ``default_prob`` (financed entries) is the lender's expected
    default rate behind the fiscal risk compensation; the engine need not draw it.
Capacity
    Capacities are shared *resources* (``training_seats``, ``labour_transfer``,
    ``greenhouse_builds``, ``credit_yuan``, planting areas) with units per year, city-wide.
    ``capacity_uses`` lists every resource an entry uses per unit (a microcredit-financed
    greenhouse uses one greenhouse build and its loan in ``credit_yuan``); ``capacity_resource``
    and ``capacity_per_year`` are its first (own) resource.
Guarantees
    ``guarantee`` entries fix an exit guarantee (``fixes``). The engine adds every guarantee
    entry whose eligibility holds (house grade C or D, no safe water, not in NCMS, a dropout) to
    any household that receives a package (:meth:`Catalogue.guarantee_entries`,
    :meth:`Catalogue.guarantee_needs`); package costs do not include them
    (:meth:`Catalogue.guarantee_cost` gives them per household).
Entitlements
    Entries with ``add_on: true`` (education aid by students' stage, the poor's health cover,
    medical and temporary assistance, §8, §9, §14) are given like the guarantees: the engine
    adds them to every supported household eligible for them, on top of its package
    (:meth:`Catalogue.add_on_entries`, :meth:`Catalogue.add_on_needs`); no package lists them.
Policies
    ``policy`` entries (NCMS +5 points, the serious-illness threshold, dibao) are rules the
    engine applies from the scenario and the data files; the entries carry their sources and
    expected recurrent cost, and no income effect.

Eligibility is structured (:class:`Condition`: column, optional ``minus`` column, operator,
value) and evaluated vectorised; nothing is ever passed to ``eval``.

Modules
-------
``conditions``
    :class:`Condition` and its vectorised evaluation.
``entries``
    :class:`Entry`, :class:`Resource`, :class:`CreditTerms` and the literal types.
``packages``
    :class:`Package` and :class:`Catalogue` (costs, capacities, tables).
``schema``
    Pydantic models of ``interventions.yaml`` (``extra="forbid"``; every number a fact).
``checks``
    Rules across sections (columns, capacities, credit terms, guarantees, package entries).
``overrides``
    A scenario's factors, financing under credit terms, capacities.
``loading``
    :func:`load_catalogue` and :func:`parse_catalogue`. A catalogue that breaks a rule is an
    :class:`~fupinsim.errors.InputError` with one :class:`~fupinsim.errors.Problem` per broken
    rule, naming the entry (or package) id, the field, the value and what is allowed.
"""

from __future__ import annotations

from fupinsim.microsim.catalogue.conditions import Condition, ConditionValue, Op, Table
from fupinsim.microsim.catalogue.entries import (
    MARKET_SOURCES,
    PAYERS,
    CreditTerms,
    Entry,
    FiscalChannel,
    Kind,
    Resource,
    Target,
)
from fupinsim.microsim.catalogue.loading import CatalogueBase, load_catalogue, parse_catalogue
from fupinsim.microsim.catalogue.packages import Catalogue, Package

__all__ = [
    "MARKET_SOURCES",
    "PAYERS",
    "Catalogue",
    "CatalogueBase",
    "Condition",
    "ConditionValue",
    "CreditTerms",
    "Entry",
    "FiscalChannel",
    "Kind",
    "Op",
    "Package",
    "Resource",
    "Table",
    "Target",
    "load_catalogue",
    "parse_catalogue",
]
