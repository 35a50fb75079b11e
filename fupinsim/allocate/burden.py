"""What a household can bear of a package: own cash, repayable credit and the pools' top-up.

Household money is real money (issue 10, item 1). For one package and its eligible
households:

* **own cash** (``cost_household_yuan``) is at most ``allocation.max_household_cash_share`` of
  the household's yearly income (recorded base-year per-capita income × members, yuan);
* **credit** (``cost_credit_yuan`` of entries lent under poverty credit terms, §12: up to
  50,000 yuan for 3 years, interest subsidy and risk compensation paid by the pools) is at most
  what the package's expected net income repays within the loan term: Σ over the package's
  entries of quantity × ``effect_yuan`` × ramp-up share in years 0 … term−1 × (1 −
  ``failure_prob``), the mean of what the microsimulation draws (dispersion has mean 1).
  Loans that are not poverty credit (student loans, repaid after study) are not checked;
* what a household cannot bear, the pools may pay (**top-up**, yuan in the start year). A
  household that needs a top-up is eligible for the package only in its topped-up variant,
  package id ``<package>_topup``; the LP chooses between the two like between any options.

Everything is per household and vectorised; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fupinsim.microsim import Catalogue

__all__ = [
    "TOPUP_SUFFIX",
    "Burden",
    "base_package",
    "household_burden",
    "package_term_income",
]

#: Suffix of the package id of a package's topped-up variant (the pools pay what the
#: household cannot bear).
TOPUP_SUFFIX = "_topup"
#: Yuan below which a top-up counts as none (rounding of per-unit costs).
_TOLERANCE_YUAN = 1.0


def base_package(package_id: str) -> str:
    """The catalogue package of an option id (strips :data:`TOPUP_SUFFIX`)."""
    if package_id.endswith(TOPUP_SUFFIX):
        return package_id[: -len(TOPUP_SUFFIX)]
    return package_id


def package_term_income(
    catalogue: Catalogue, package_id: str, table: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Expected net income of the package over its loan term, and the financed credit.

    Returns
    -------
    (income, credit):
        Per household (yuan): the package's expected net income in the years 0 … T−1 after
        the start, T the shortest term of its financed entries (0 income when nothing is
        financed); and the principal lent under poverty credit terms.
    """
    entries = [catalogue.entry(e) for e in catalogue.package(package_id).entries]
    n = len(next(iter(table.values())))
    financed = [e for e in entries if e.financing is not None]
    credit = np.zeros(n)
    if not financed:
        return np.zeros(n), credit
    term = min(catalogue.credit_terms[str(e.financing)].years for e in financed)
    income = np.zeros(n)
    years = np.arange(term)
    for entry in entries:
        quantity = entry.quantity(table)
        share = float(entry.effect_profile(years).sum()) * (1.0 - entry.failure_prob)
        income += quantity * entry.effect_yuan * share * entry.reach_share
    for entry in financed:
        credit += entry.quantity(table) * entry.cost_credit_yuan
    return income, credit


@dataclass(frozen=True)
class Burden:
    """What each eligible household pays, borrows and cannot bear of one package (yuan).

    Attributes
    ----------
    own_cash, credit:
        Own cash and credit after the top-up (what the household pays and repays).
    topup:
        Paid by the pools in the start year (0 where the household bears the package).
    income:
        Yearly household income (yuan).
    term_income:
        Expected package income over the loan term (yuan; 0 without financed credit).
    """

    own_cash: np.ndarray
    credit: np.ndarray
    topup: np.ndarray
    income: np.ndarray
    term_income: np.ndarray

    @property
    def bearable(self) -> np.ndarray:
        """Households that bear the package without a top-up."""
        return self.topup <= _TOLERANCE_YUAN


def household_burden(
    own_cash: np.ndarray,
    credit: np.ndarray,
    financed_credit: np.ndarray,
    income: np.ndarray,
    term_income: np.ndarray,
    max_cash_share: float,
) -> Burden:
    """Split a package's household share into own cash, repayable credit and the pools' top-up.

    Parameters
    ----------
    own_cash, credit:
        The package's own-cash and credit cost per household (yuan, start year).
    financed_credit:
        The part of ``credit`` lent under poverty credit terms (checked against
        ``term_income``; the rest, e.g. student loans, is kept as it is).
    income:
        Yearly household income (yuan; negative incomes count as 0).
    term_income:
        Expected package income over the loan term (yuan).
    max_cash_share:
        Largest share of a year's income the household pays in cash.
    """
    bearable_cash = max_cash_share * np.maximum(income, 0.0)
    # Own cash never exceeds the bearable share, not even by a rounding yuan (issue 10, item 1);
    # only a credit gap within the tolerance (rounding of per-unit costs) is left as credit.
    cash = np.minimum(own_cash, bearable_cash)
    repayable = np.minimum(financed_credit, np.maximum(term_income, 0.0))
    credit_gap = financed_credit - repayable
    credit_gap = np.where(credit_gap <= _TOLERANCE_YUAN, 0.0, credit_gap)
    topup = (own_cash - cash) + credit_gap
    kept_credit = credit - credit_gap
    return Burden(cash, kept_credit, topup, income, term_income)
