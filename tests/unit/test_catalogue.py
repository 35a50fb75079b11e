"""The intervention catalogue: data convention, plan numbers, eligibility, overrides, costs."""

from __future__ import annotations

import copy
import io
import math
import re
import tokenize
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import fupinsim.microsim.catalogue as catalogue_module
from fupinsim.data import SOURCE_TAGS, check_facts, load_raw
from fupinsim.errors import InputError, Problem, ScenarioError
from fupinsim.microsim.catalogue import Condition, load_catalogue, parse_catalogue
from fupinsim.registry.schema import INCOME_SOURCES
from fupinsim.scenario import Scenario

PLAN_PACKAGE = "one_labourer_2mu_30sheep"


def make_scenario(**sections: object) -> Scenario:
    return Scenario.model_validate(
        {"id": "test_catalogue", "title": "test", "description": "test", **sections}
    )


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture
def households() -> pd.DataFrame:
    """Six hand-made households; comments say what each one tests."""
    return pd.DataFrame(
        {
            # 0: two labourers at home, 3 mu: the plan's package fits.
            # 1: no labour, social security: only social cover.
            # 2: three labourers but 1.5 mu: no 2-mu field.
            # 3: two labourers, one already away: transfer yes, the 3-part package no.
            # 4: registered, one tertiary student, no labour.
            # 5: not registered, dangerous house, no safe water, not in NCMS.
            "household_id": [1, 2, 3, 4, 5, 6],
            "n_members": [4, 2, 5, 4, 3, 4],
            "n_labour": [2, 0, 3, 2, 0, 2],
            "n_away": [0, 0, 0, 1, 0, 0],
            "land_mu": [3.0, 1.0, 1.5, 4.0, 0.0, 2.0],
            "n_students_tertiary": [0, 0, 0, 0, 1, 0],
            "n_students_vocational": [0, 0, 0, 0, 0, 0],
            "n_dropouts": [0, 0, 0, 0, 0, 1],
            "is_registered": [True, True, True, True, True, False],
            "is_wubao": [False, False, False, False, False, False],
            "support_class": pd.Categorical(
                [
                    "development",
                    "social_security",
                    "development",
                    "development",
                    "social_security",
                    None,
                ],
                categories=["development", "social_security"],
            ),
            "housing_grade": pd.Categorical(
                ["A", "C", "B", "B", "A", "D"], categories=["A", "B", "C", "D"]
            ),
            "has_safe_water": [True, True, True, True, True, False],
            "ncms_enrolled": [True, True, True, True, True, False],
        }
    )


# ----------------------------------------------------------------------------------------------
# Data convention and completeness


def test_data_file_follows_the_fact_convention():
    assert check_facts("interventions") == []


def test_the_plans_measures_are_all_there(catalogue):
    required = {
        "sheep_30",
        "greenhouse",
        "labour_transfer",
        "skills_training",
        "microcredit",
        "mutual_aid_fund",
        "pv_household",
        "cooperative",
        "ecommerce_point",
        "house_repair",
        "house_rebuild",
        "safe_water",
        "village_road",
        "student_loan_tertiary",
        "vocational_grant",
        "ncms_poor_bonus",
        "serious_illness_threshold",
        "dibao",
    }
    assert required <= set(catalogue.entries)
    crops = {e for e in catalogue.entries if e.startswith("field_") and e.endswith("_2mu")}
    assert len(crops) >= 3
    assert {"field_wolfberry_2mu", "field_grapes_2mu", "field_licorice_2mu"} <= crops
    for package in (
        PLAN_PACKAGE,
        "greenhouse_credit",
        "sheep_credit",
        "training_transfer",
        "pv_household",
        "social_cover",
    ):
        assert package in catalogue.packages
    # Entitlements are add-ons, not packages competing for the household (issue 10, item 5).
    assert "education_aid" not in catalogue.packages


def test_every_entry_has_sensible_values(catalogue):
    for e in catalogue.entries.values():
        where = e.id
        for cost in (
            e.cost_fiscal_yuan,
            e.cost_credit_yuan,
            e.cost_household_yuan,
            e.recurrent_fiscal_yuan,
        ):
            assert cost >= 0, where
        assert 0 <= e.failure_prob < 1, where
        assert 0 <= e.default_prob < 1, where
        assert e.dispersion_sigma >= 0, where
        assert isinstance(e.lifetime_years, int) and e.lifetime_years >= 1, where
        ramp = np.asarray(e.ramp_up)
        assert ramp.size >= 1 and ramp[-1] == 1.0, where
        assert np.all((ramp >= 0) & (ramp <= 1)) and np.all(np.diff(ramp) >= 0), where
        assert e.effect_gross_yuan >= e.effect_yuan >= 0, where
        assert 0 <= e.reach_share <= 1 and 0 <= e.market_uplift < 1, where
        assert e.typical_quantity > 0, where
        if e.kind in ("guarantee", "policy"):
            assert e.income_source is None and e.effect_yuan == 0, where
        if e.kind == "guarantee":
            assert e.fixes, where
        if e.kind == "village":
            # Services (clinic, culture room) are costed works that say they have no effect.
            no_effect = "No income effect in the model" in e.description
            assert e.effect_yuan > 0 or e.market_uplift > 0 or no_effect, where
        if e.kind == "household" and e.income_source is not None:
            assert e.income_source in INCOME_SOURCES and e.effect_yuan > 0, where
        if e.capacity_resource is not None:
            assert e.capacity_per_year is not None and e.capacity_per_year > 0, where
            assert e.capacity_resource == e.capacity_uses[0][0], where


def test_every_number_has_a_tagged_source(catalogue):
    numeric = (
        "cost_fiscal_yuan",
        "cost_credit_yuan",
        "cost_household_yuan",
        "recurrent_fiscal_yuan",
        "effect_yuan",
        "effect_gross_yuan",
        "ramp_up",
        "dispersion_sigma",
        "failure_prob",
        "lifetime_years",
        "reach_share",
        "market_uplift",
    )
    for e in catalogue.entries.values():
        for key in numeric:
            source = e.sources.get(key, "")
            assert source.startswith((*SOURCE_TAGS, "not applicable")), (e.id, key, source)
        if e.capacity_resource is not None:
            assert e.sources["capacity_per_year"].startswith(SOURCE_TAGS), e.id
        numeric_conditions = [c for c in e.eligibility if isinstance(c.value, float)]
        condition_sources = [v for k, v in e.sources.items() if "eligibility[" in k]
        assert len(condition_sources) >= len(numeric_conditions), e.id
        assert all(v.startswith(SOURCE_TAGS) for v in condition_sources), e.id


def test_ids_are_ascii_snake_case(catalogue):
    for name in (*catalogue.entries, *catalogue.packages, *catalogue.resources):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name


def test_packages_name_known_entries_and_no_guarantees(catalogue):
    for package in catalogue.packages.values():
        kinds = {catalogue.entry(e).kind for e in package.entries}
        assert "guarantee" not in kinds, package.id
        assert (package.level == "village") == (kinds == {"village"}), package.id


CATALOGUE_MODULES = sorted(Path(catalogue_module.__file__).parent.glob("*.py"))


def test_the_catalogue_package_has_its_modules():
    names = {p.stem for p in CATALOGUE_MODULES}
    assert {"__init__", "conditions", "entries", "packages", "schema", "loading"} <= names


@pytest.mark.parametrize("path", CATALOGUE_MODULES, ids=lambda p: p.stem)
def test_no_eval_or_exec_in_the_catalogue_modules(path):
    source = path.read_text(encoding="utf-8")
    # Built-in calls only: ``re.compile`` of the id pattern is fine.
    assert not re.search(r"(?<![.\w])(eval|exec|compile|__import__)\s*\(", source)
    names = {
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.NAME
    }
    assert not names & {"eval", "exec", "__import__"}


# ----------------------------------------------------------------------------------------------
# The plan's numbers


def test_plan_capacities_come_out_exactly(catalogue):
    capacities = catalogue.capacities().set_index("resource")["units_per_year"]
    assert capacities["training_seats"] == 5000
    assert capacities["labour_transfer"] == 20000
    assert catalogue.entry("skills_training").capacity_per_year == 5000
    assert catalogue.entry("labour_transfer").capacity_per_year == 20000


def test_plan_amounts(catalogue):
    micro = catalogue.entry("microcredit")
    terms = catalogue.credit_terms["microcredit"]
    assert micro.cost_credit_yuan == 50000 and terms.max_loan_yuan == 50000
    assert terms.years == 3
    assert catalogue.entry("mutual_aid_fund").cost_fiscal_yuan == 500000
    assert catalogue.entry("vocational_grant").recurrent_fiscal_yuan == 2000
    loan = catalogue.entry("student_loan_tertiary")
    assert loan.cost_credit_yuan == 8000 * loan.lifetime_years
    assert "PLAN §8" in loan.sources["cost_credit_yuan"]
    for crop in ("field_wolfberry_2mu", "field_grapes_2mu", "field_licorice_2mu"):
        conditions = {c.column: c.value for c in catalogue.entry(crop).eligibility}
        assert conditions["land_mu"] == 2


def test_microcredit_budget_pays_interest_and_expected_risk_compensation(catalogue):
    terms = catalogue.credit_terms["microcredit"]
    micro = catalogue.entry("microcredit")
    principal = 50000
    interest = principal * terms.interest_rate * terms.years * terms.interest_subsidy_share
    risk = principal * terms.default_prob * terms.fiscal_loss_share
    assert micro.cost_fiscal_yuan == pytest.approx(interest + risk)
    assert micro.cost_household_yuan == 0
    assert 0.02 <= micro.default_prob <= 0.08
    assert ("credit_yuan", 50000) in micro.capacity_uses
    assert "DERIVED" in micro.sources["cost_fiscal_yuan"]


def test_credit_variant_moves_the_household_share_to_credit(catalogue):
    own, lent = catalogue.entry("sheep_30"), catalogue.entry("sheep_30_credit")
    terms = catalogue.credit_terms["microcredit"]
    assert lent.variant_of == "sheep_30" and lent.financing == "microcredit"
    assert lent.effect_yuan == own.effect_yuan and lent.ramp_up == own.ramp_up
    assert lent.cost_credit_yuan == own.cost_household_yuan
    assert lent.cost_household_yuan == 0
    extra = sum(terms.fiscal_cost(own.cost_household_yuan))
    assert lent.cost_fiscal_yuan == pytest.approx(own.cost_fiscal_yuan + extra)
    columns = {c.column for c in lent.eligibility} | {c.minus for c in lent.eligibility}
    assert columns >= {"is_registered", "n_labour", "n_away"}
    assert ("credit_yuan", own.cost_household_yuan) in lent.capacity_uses


def test_ramp_up_indexing_and_lifetime(catalogue):
    sheep = catalogue.entry("sheep_30")
    assert sheep.ramp_up == (0.3, 0.8, 1.0)
    profile = sheep.effect_profile([-1, 0, 1, 2, 5, sheep.lifetime_years - 1, sheep.lifetime_years])
    np.testing.assert_allclose(profile, [0, 0.3, 0.8, 1.0, 1.0, 1.0, 0.0])
    assert sheep.years_to_maturity == 2
    assert catalogue.entry("field_wolfberry_2mu").years_to_maturity == 3


def test_gross_share_splits_the_effect_into_income_and_production_cost(catalogue):
    sheep = catalogue.entry("sheep_30")
    assert sheep.gross_share * sheep.effect_yuan == pytest.approx(sheep.effect_gross_yuan)
    assert (sheep.gross_share - 1) * sheep.effect_yuan == pytest.approx(sheep.effect_cost_yuan)
    assert sheep.effect_cost_yuan > 0
    transfer = catalogue.entry("labour_transfer")
    assert transfer.gross_share == 1.0 and transfer.effect_cost_yuan == 0
    assert catalogue.entry("dibao").gross_share == 1.0


def test_training_effect_reproduces_the_found_average(catalogue):
    # +20.7% of a registered household's income (about 9,900 yuan) on average over trainees.
    training = catalogue.entry("skills_training")
    average = training.effect_yuan * (1 - training.failure_prob)
    assert average == pytest.approx(0.207 * 9900, rel=0.03)


# ----------------------------------------------------------------------------------------------
# Eligibility


def test_plan_package_excludes_no_labour_small_land_and_absent_labour(catalogue, households):
    mask = catalogue.package(PLAN_PACKAGE).eligibility_mask(catalogue, households)
    assert mask.tolist() == [True, False, False, False, False, True]


def test_transfer_needs_a_labourer_at_home(catalogue, households):
    mask = catalogue.package("transfer_only").eligibility_mask(catalogue, households)
    assert mask.tolist() == [True, False, True, True, False, True]


def test_credit_packages_need_registration(catalogue, households):
    mask = catalogue.package("sheep_credit").eligibility_mask(catalogue, households)
    assert mask.tolist() == [True, False, True, True, False, False]


def test_social_cover_is_for_social_security_households(catalogue, households):
    mask = catalogue.package("social_cover").eligibility_mask(catalogue, households)
    assert mask.tolist() == [False, True, False, False, True, False]
    assert catalogue.package("social_cover").target == "social_security"


def test_entitlements_are_add_ons_by_students_stage(catalogue, households):
    """Education aid, health cover, medical and temporary assistance come with any package."""
    entitlements = {e.id for e in catalogue.entitlement_entries()}
    assert {
        "student_loan_tertiary",
        "vocational_grant",
        "ncms_poor_bonus",
        "serious_illness_threshold",
        "medical_assistance",
        "temporary_assistance",
    } <= entitlements
    assert all(e.kind != "guarantee" for e in catalogue.entitlement_entries())
    for package in catalogue.packages.values():
        assert not entitlements & set(package.entries), package.id
    needs = catalogue.add_on_needs(households)
    assert set(needs.columns) == {e.id for e in catalogue.add_on_entries()}
    # Only household 4 has a tertiary student; nobody a vocational one.
    assert needs["student_loan_tertiary"].tolist() == [False, False, False, False, True, False]
    assert not needs["vocational_grant"].any()
    # Health cover and assistance for every registered household (5 is not registered).
    assert needs["medical_assistance"].tolist() == [True] * 5 + [False]
    assert catalogue.entry("medical_assistance").income_source == "income_transfers"


def test_a_package_listing_an_add_on_is_refused():
    raw = copy.deepcopy(load_raw("interventions"))
    raw["packages"]["training_transfer"]["entries"].append("vocational_grant")
    with pytest.raises(InputError) as caught:
        parse_catalogue(raw)
    assert any("add_on" in p.rule for p in caught.value.problems)


def test_guarantee_needs_and_costs(catalogue, households):
    needs = catalogue.guarantee_needs(households)
    assert set(needs.columns) == {e.id for e in catalogue.guarantee_entries()}
    assert needs["house_repair"].tolist() == [False, True, False, False, False, False]
    assert needs["house_rebuild"].tolist() == [False, False, False, False, False, True]
    assert needs["safe_water"].tolist() == [False, False, False, False, False, True]
    assert needs["ncms_enrolment"].tolist() == [False, False, False, False, False, True]
    assert needs["school_return"].tolist() == [False, False, False, False, False, True]
    fixed = {f for e in catalogue.guarantee_entries() for f in e.fixes}
    assert {"safe_housing", "safe_water", "basic_medical", "compulsory_schooling"} <= fixed
    cost = catalogue.guarantee_cost(households)
    assert cost.loc[0].sum() == 0
    repair = catalogue.entry("house_repair").lifetime_cost()
    assert cost.loc[1, "cost_fiscal_yuan"] == repair["fiscal"]
    members = households.loc[5, "n_members"]
    expected = (
        catalogue.entry("house_rebuild").lifetime_cost()["fiscal"]
        + catalogue.entry("safe_water").lifetime_cost()["fiscal"]
        + catalogue.entry("ncms_enrolment").lifetime_cost(members)["fiscal"]
        + catalogue.entry("school_return").lifetime_cost()["fiscal"]
    )
    assert cost.loc[5, "cost_fiscal_yuan"] == pytest.approx(expected)


def test_a_mapping_of_arrays_gives_the_same_masks(catalogue, households):
    arrays = {column: households[column].to_numpy() for column in households}
    for package_id in (PLAN_PACKAGE, "social_cover", "pv_household"):
        package = catalogue.package(package_id)
        np.testing.assert_array_equal(
            package.eligibility_mask(catalogue, arrays),
            package.eligibility_mask(catalogue, households),
        )


def test_village_packages_use_village_columns(catalogue):
    villages = pd.DataFrame(
        {
            "is_poor_village": [True, True, False],
            "has_mutual_aid_fund": [False, True, False],
            "has_cooperative": [False, False, False],
            "has_broadband": [True, False, True],
            "has_paved_road": [False, True, True],
        }
    )
    fund = catalogue.package("village_mutual_aid")
    assert fund.level == "village"
    assert fund.eligibility_mask(catalogue, villages).tolist() == [True, False, False]
    assert catalogue.package("village_market").eligibility_mask(catalogue, villages).tolist() == [
        True,
        False,
        False,
    ]
    assert catalogue.package("village_road").eligibility_mask(catalogue, villages).tolist() == [
        True,
        False,
        False,
    ]


def test_missing_values_never_satisfy_a_condition():
    table = {
        "housing_grade": np.array(["C", None, "A"], dtype=object),
        "n_labour": np.array([1.0, np.nan, 0.0]),
    }
    assert Condition("housing_grade", "ne", "A").mask(table).tolist() == [True, False, False]
    assert Condition("housing_grade", "not_in", ("A",)).mask(table).tolist() == [True, False, False]
    assert Condition("n_labour", "lt", 1.0).mask(table).tolist() == [False, False, True]


def test_a_missing_column_is_named():
    with pytest.raises(KeyError, match="land_mu"):
        Condition("land_mu", "ge", 2.0).mask({"n_labour": np.array([1])})


def test_condition_description_is_readable():
    assert Condition("n_labour", "ge", 2.0, minus="n_away").describe() == "n_labour − n_away ≥ 2"
    assert Condition("housing_grade", "in", ("C", "D")).describe() == "housing_grade in {C, D}"


# ----------------------------------------------------------------------------------------------
# Costs and capacities of packages


def test_plan_package_cost_is_the_sum_of_its_entries(catalogue):
    entries = [catalogue.entry(e) for e in catalogue.package(PLAN_PACKAGE).entries]
    assert {e.id for e in entries} == {"labour_transfer", "field_wolfberry_2mu", "sheep_30"}
    cost = catalogue.package_cost(PLAN_PACKAGE)
    assert cost["fiscal"] == sum(
        e.cost_fiscal_yuan + e.recurrent_fiscal_yuan * e.lifetime_years for e in entries
    )
    assert cost["credit"] == sum(e.cost_credit_yuan for e in entries)
    assert cost["household"] == sum(e.cost_household_yuan for e in entries)


@pytest.mark.parametrize(
    "package_id", ["social_cover_pv", "pv_household", PLAN_PACKAGE, "village_market"]
)
def test_cost_profile_adds_up_to_the_package_cost(catalogue, package_id):
    profile = catalogue.cost_profile(package_id)
    cost = catalogue.package_cost(package_id)
    assert profile["year_offset"].tolist() == list(range(len(profile)))
    for payer in ("fiscal", "credit", "household"):
        assert profile[f"{payer}_yuan"].sum() == pytest.approx(cost[payer])


def test_social_cover_costs_a_typical_small_household(catalogue):
    package = catalogue.package("social_cover")
    dibao = catalogue.entry("dibao")
    assert package.typical_quantity(dibao) == 2.0
    cost = catalogue.package_cost("social_cover")
    expected = sum(catalogue.entry(e).lifetime_cost(2.0)["fiscal"] for e in package.entries)
    assert cost["fiscal"] == pytest.approx(expected)


def test_capacity_use_of_packages(catalogue):
    use = catalogue.capacity_use()
    plan = use[use["package_id"] == PLAN_PACKAGE].set_index("resource")["units_per_household"]
    assert plan.to_dict() == {"labour_transfer": 1.0, "wolfberry_planting": 1.0}
    credit = use[(use["package_id"] == "sheep_credit")].set_index("resource")
    assert credit.loc["credit_yuan", "units_per_household"] == 36000
    assert set(use["resource"]) <= set(catalogue.resources)


def test_tables_for_notebooks(catalogue):
    table = catalogue.table()
    assert len(table) == len(catalogue.entries)
    assert table["id"].is_unique
    assert table.loc[table["id"] == "labour_transfer", "capacity_per_year"].item() == 20000
    assert table[["cost_fiscal_yuan", "effect_yuan", "lifetime_years"]].notna().all().all()
    packages = catalogue.package_table()
    assert len(packages) == len(catalogue.packages)


def test_unknown_ids_raise_with_the_known_ones(catalogue):
    with pytest.raises(KeyError, match="sheep_30"):
        catalogue.entry("sheep_31")
    with pytest.raises(KeyError, match=PLAN_PACKAGE):
        catalogue.package("nope")


# ----------------------------------------------------------------------------------------------
# Scenario overrides


def test_capacity_factor_halves_transfer_capacity():
    scenario = make_scenario(interventions={"labour_transfer": {"capacity_factor": 0.5}})
    changed = load_catalogue(scenario)
    assert changed.entry("labour_transfer").capacity_per_year == 10000
    capacities = changed.capacities().set_index("resource")["units_per_year"]
    assert capacities["labour_transfer"] == 10000
    assert capacities["training_seats"] == 5000
    assert load_catalogue().entry("labour_transfer").capacity_per_year == 20000


def test_unknown_entry_in_scenario_is_named():
    scenario = make_scenario(interventions={"goats_30": {"effect_factor": 2.0}})
    with pytest.raises(ScenarioError) as excinfo:
        load_catalogue(scenario)
    message = str(excinfo.value)
    assert "goats_30" in message and "sheep_30" in message


def test_capacity_factor_on_an_entry_without_capacity_is_an_error():
    scenario = make_scenario(interventions={"sheep_30": {"capacity_factor": 2.0}})
    with pytest.raises(ScenarioError, match="sheep_30"):
        load_catalogue(scenario)


def test_effect_and_cost_factors_reach_the_variants():
    base = load_catalogue()
    scenario = make_scenario(interventions={"sheep_30": {"effect_factor": 2.0, "cost_factor": 0.5}})
    changed = load_catalogue(scenario)
    for entry_id in ("sheep_30", "sheep_30_credit"):
        assert changed.entry(entry_id).effect_yuan == 2 * base.entry(entry_id).effect_yuan
        assert "effect_factor 2" in changed.entry(entry_id).sources["effect_yuan"]
    assert changed.entry("sheep_30").cost_household_yuan == 18000
    assert changed.entry("sheep_30_credit").cost_credit_yuan == 18000
    assert changed.entry("greenhouse").effect_yuan == base.entry("greenhouse").effect_yuan


def test_cost_factor_on_microcredit_respects_the_loan_ceiling():
    changed = load_catalogue(make_scenario(interventions={"microcredit": {"cost_factor": 1.5}}))
    micro = changed.entry("microcredit")
    assert micro.cost_credit_yuan == 50000
    assert micro.cost_household_yuan == 25000


def test_allocation_capacities_set_then_factor_multiplies():
    scenario = make_scenario(
        allocation={"capacities": {"skills_training": 6000.0}},
        interventions={"skills_training": {"capacity_factor": 0.5}},
    )
    changed = load_catalogue(scenario)
    assert changed.entry("skills_training").capacity_per_year == 3000
    assert math.isclose(changed.resources["training_seats"].units_per_year, 3000)


def test_allocation_capacity_for_unknown_entry_is_an_error():
    scenario = make_scenario(allocation={"capacities": {"tractors": 10.0}})
    with pytest.raises(ScenarioError, match="tractors"):
        load_catalogue(scenario)


# ----------------------------------------------------------------------------------------------
# The broken-catalogue folder: (file, field path, value as shown, a fragment of the rule).
# Each file patches the packaged catalogue (see tests/data/bad_catalogue/README.md).

BAD_CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "bad_catalogue"

BAD_CATALOGUE_CASES: list[tuple[str, str, str | None, str]] = [
    ("unknown_field", "entries.sheep_30.failur_prob", None, "Did you mean 'failure_prob'?"),
    ("unknown_section", "packagez", None, "Did you mean 'packages'?"),
    ("fact_not_a_mapping", "entries.sheep_30.cost_fiscal", "10000", "must be a fact"),
    ("fact_without_value", "entries.sheep_30.cost_fiscal.value", None, "is required"),
    ("missing_required_fact", "entries.sheep_30.lifetime", None, "is required"),
    ("number_as_text", "entries.sheep_30.cost_household.value", "'36000'", "must be a number"),
    ("negative_cost", "entries.sheep_30.cost_fiscal.value", "-10000", "must be >= 0"),
    ("failure_prob_out_of_range", "sheep_30.failure_prob.value", "1.5", "must be in [0, 0.999]"),
    (
        "share_above_one",
        "credit_terms.microcredit.interest_subsidy_share.value",
        "1.2",
        "must be in [0, 1]",
    ),
    ("lifetime_not_whole", "entries.sheep_30.lifetime.value", "8.5", "must be whole years"),
    (
        "ramp_not_ending_at_one",
        "entries.sheep_30.ramp_up.value",
        "[0.3, 0.8]",
        "must be non-decreasing shares in [0, 1] ending at 1",
    ),
    ("unknown_kind", "entries.sheep_30.kind", "'farm'", "must be one of 'household', 'village'"),
    (
        "unknown_fiscal_channel",
        "sheep_30.fiscal_channel",
        "'lottery'",
        "'poverty_fund' or 'sector'",
    ),
    ("unknown_income_source", "sheep_30.income_source", "'income_gold'", "income_livestock"),
    ("unknown_quantity_column", "ncms_enrolment.quantity_column", "'n_pets'", "household column"),
    ("bad_package_id", "packages.Sheep-Only", "'Sheep-Only'", "must be an ASCII snake_case id"),
    ("unknown_target", "packages.sheep_credit.target", "'everybody'", "'social_security' or 'any'"),
    ("package_without_entries", "packages.sheep_credit.entries", "[]", "at least 1 item"),
    ("bad_op", "sheep_30.eligibility.0.op", "'between'", "must be one of 'eq', 'ne'"),
    (
        "gross_below_net",
        "entries.sheep_30.effect_gross",
        "1000.0",
        "must be at least effect_net (13500)",
    ),
    ("effect_without_net", "sheep_30.effect_net", None, "is required for an entry with an income"),
    ("effect_without_ramp_up", "sheep_30.ramp_up", None, "is required for an entry with an income"),
    ("guarantee_with_effect", "safe_water.effect_net", "100.0", "a guarantee entry has no income"),
    ("village_field_on_household_entry", "sheep_30.market_uplift", "0.1", "for village entries"),
    (
        "quantity_column_without_typical",
        "entries.ncms_enrolment.typical_quantity",
        None,
        "is required for an entry with a quantity_column",
    ),
    (
        "unknown_eligibility_column",
        "entries.sheep_30.eligibility.0.column",
        "'n_sheepdogs'",
        "must be a column of the registry schema (household_id,",
    ),
    (
        "order_on_a_category",
        "house_repair.eligibility.0.op",
        "'ge'",
        "must be eq, ne, in or not_in",
    ),
    ("in_without_list", "house_repair.eligibility.0.operand", "'C'", "must be a list for in"),
    (
        "list_without_in",
        "house_repair.eligibility.0.operand",
        "['C', 'D']",
        "a single value for eq",
    ),
    ("text_for_a_number", "alfalfa_2mu.eligibility.0.operand", "'two'", "must be a number"),
    ("number_for_a_flag", "safe_water.eligibility.0.operand", "0.0", "must be true or false"),
    ("unknown_category", "house_repair.eligibility.0.operand", "'E'", "one of A, B, C, D"),
    ("minus_not_numeric", "sheep_30.eligibility.0.minus", "'county_id'", "both be numeric"),
    ("unknown_resource", "sheep_30.capacity.resource", "'tractor_seats'", "must name a capacity"),
    (
        "unknown_terms_resource",
        "credit_terms.microcredit.capacity.resource",
        "'bank_vault'",
        "must name a capacity (one of training_seats,",
    ),
    ("unknown_financing", "greenhouse.financing", "'payday_loan'", "one of microcredit, pv_loan"),
    ("unknown_guarantee", "safe_water.fixes.0", "'safe_roads'", "must name an exit guarantee"),
    ("variant_of_unknown_entry", "sheep_30_credit.variant_of", "'sheep_300'", "must name an entry"),
    ("variant_reuses_entry_id", "variants.greenhouse", "'greenhouse'", "must not reuse the id"),
    ("package_unknown_entry", "sheep_credit.entries", "['sheep_30_loan']", "must name entries"),
    ("package_mixes_levels", "sheep_credit.entries", None, "must not mix village and household"),
    (
        "package_lists_guarantee",
        "sheep_credit.entries",
        "['safe_water']",
        "must not list guarantee",
    ),
    (
        "package_unknown_typical_column",
        "packages.social_cover.typical_quantities.n_pets",
        "'n_pets'",
        "must be a household column",
    ),
]


def _patched(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in: mappings key by key, ``None`` removes a key."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _patched(merged[key], value)
        else:
            merged[key] = value
    return merged


def _broken_catalogue(name: str) -> dict[str, Any]:
    patch = yaml.safe_load((BAD_CATALOGUE / f"{name}.yaml").read_text(encoding="utf-8"))
    return _patched(copy.deepcopy(load_raw("interventions")), patch)


def test_the_packaged_catalogue_parses_as_the_loader_reads_it():
    base = parse_catalogue(copy.deepcopy(load_raw("interventions")))
    assert set(base.entries) | set(base.variants) == set(load_catalogue().entries)
    assert base.entries["sheep_30"].sources["failure_prob"].startswith("ESTIMATE")


def test_every_broken_catalogue_has_a_case():
    files = sorted(p.stem for p in BAD_CATALOGUE.glob("*.yaml"))
    assert files == sorted(case[0] for case in BAD_CATALOGUE_CASES)
    assert len(files) >= 40


@pytest.mark.parametrize(
    ("name", "field_path", "value", "rule"),
    BAD_CATALOGUE_CASES,
    ids=[case[0] for case in BAD_CATALOGUE_CASES],
)
def test_broken_catalogue_message_names_entry_field_value_and_rule(
    name: str, field_path: str, value: str | None, rule: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_catalogue(_broken_catalogue(name), where=f"{name}.yaml")
    error = caught.value
    assert type(error) is InputError
    assert len(error.problems) == 1, str(error)  # one mistake, one problem
    problem = error.problems[0]
    assert isinstance(problem, Problem)
    assert problem.where.startswith(f"{name}.yaml: ")
    assert field_path in problem.where
    message = str(problem)
    assert rule in message
    if value is not None:
        assert f"got {value}" in message
    assert str(error).startswith(f"{name}.yaml: the intervention catalogue is not valid\n")


def test_every_problem_of_a_catalogue_is_reported_at_once():
    raw = _patched(
        _broken_catalogue("failure_prob_out_of_range"),
        yaml.safe_load((BAD_CATALOGUE / "unknown_kind.yaml").read_text(encoding="utf-8")),
    )
    raw = _patched(raw, {"packages": {"sheep_credit": {"target": "everybody"}}})
    with pytest.raises(InputError) as caught:
        parse_catalogue(raw)
    wheres = {p.where for p in caught.value.problems}
    assert wheres == {
        "interventions.yaml: entries.sheep_30.failure_prob.value",
        "interventions.yaml: entries.sheep_30.kind",
        "interventions.yaml: packages.sheep_credit.target",
    }


@pytest.mark.parametrize(
    ("values", "value"),
    [
        (pd.Series([True, False, True]), True),
        (pd.Series([True, False, True]), False),
        (pd.Series(["a", "b", "a"], dtype="category"), "a"),
        (pd.Series(["a", "b", "a"], dtype="category"), "z"),
        (pd.Series([1, 0, 1]), True),  # objects: 1 == True
        (pd.Series(["a", "b"], dtype=object), "b"),
    ],
)
def test_equal_is_the_object_comparison(values: pd.Series, value: bool | str) -> None:
    from fupinsim.microsim.catalogue.conditions import _equal

    expected = np.asarray(values.astype(object).to_numpy() == value, dtype=bool)
    np.testing.assert_array_equal(_equal(values, value), expected)
