"""Household money is real money (issue 10, item 1): own cash, repayable credit, top-up."""

from __future__ import annotations

import numpy as np
import pytest

from fupinsim.allocate.burden import (
    TOPUP_SUFFIX,
    base_package,
    household_burden,
    package_term_income,
)
from fupinsim.microsim import load_catalogue


def test_own_cash_is_capped_at_the_share_of_income_and_the_pools_pay_the_rest() -> None:
    burden = household_burden(
        own_cash=np.array([1_000.0, 10_000.0, 5_000.0]),
        credit=np.zeros(3),
        financed_credit=np.zeros(3),
        income=np.array([10_000.0, 10_000.0, -200.0]),
        term_income=np.zeros(3),
        max_cash_share=0.25,
    )
    np.testing.assert_allclose(burden.own_cash, [1_000.0, 2_500.0, 0.0])
    np.testing.assert_allclose(burden.topup, [0.0, 7_500.0, 5_000.0])
    assert burden.bearable.tolist() == [True, False, False]


def test_own_cash_stays_within_the_share_even_by_a_rounding_yuan() -> None:
    """A household 0.40 yuan over its bearable cash pays the bearable cash; the pools pay the
    0.40 yuan and the package still counts as borne (a top-up within the tolerance)."""
    burden = household_burden(
        own_cash=np.array([250.40]),
        credit=np.zeros(1),
        financed_credit=np.zeros(1),
        income=np.array([1_000.0]),
        term_income=np.zeros(1),
        max_cash_share=0.25,
    )
    np.testing.assert_allclose(burden.own_cash, [250.0])
    np.testing.assert_allclose(burden.topup, [0.40])
    assert burden.bearable.tolist() == [True]


def test_credit_is_lent_only_as_far_as_the_package_income_repays_it() -> None:
    burden = household_burden(
        own_cash=np.zeros(3),
        credit=np.array([50_000.0, 50_000.0, 24_000.0]),
        financed_credit=np.array([50_000.0, 50_000.0, 0.0]),  # the third is a student loan
        income=np.full(3, 12_000.0),
        term_income=np.array([60_000.0, 30_000.0, 0.0]),
        max_cash_share=0.25,
    )
    np.testing.assert_allclose(burden.credit, [50_000.0, 30_000.0, 24_000.0])
    np.testing.assert_allclose(burden.topup, [0.0, 20_000.0, 0.0])
    # What the household pays and borrows plus the top-up is the package's household share.
    np.testing.assert_allclose(burden.credit + burden.own_cash + burden.topup, [5e4, 5e4, 24e3])


def test_term_income_counts_the_ramp_up_failures_and_the_loan_term(plan_scenario) -> None:
    catalogue = load_catalogue(plan_scenario)
    table = {"n_members": np.array([4]), "n_labour": np.array([2])}
    income, credit = package_term_income(catalogue, "credit_own_project", table)
    entry = catalogue.entry("microcredit")
    term = catalogue.credit_terms["microcredit"].years
    expected = entry.effect_yuan * entry.effect_profile(np.arange(term)).sum()
    assert income[0] == pytest.approx(expected * (1 - entry.failure_prob))
    assert credit[0] == pytest.approx(entry.cost_credit_yuan)
    assert credit[0] <= catalogue.credit_terms["microcredit"].max_loan_yuan
    # A package without poverty credit has nothing to repay.
    income, credit = package_term_income(catalogue, "transfer_only", table)
    assert income[0] == 0.0 and credit[0] == 0.0


def test_topped_up_options_name_their_catalogue_package() -> None:
    assert base_package("sheep_credit" + TOPUP_SUFFIX) == "sheep_credit"
    assert base_package("sheep_credit") == "sheep_credit"
