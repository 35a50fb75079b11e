"""Years and money: the few conventions every module shares.

Money is in yuan at current prices unless a name says otherwise (``_wan`` = 10,000 yuan).
Income is per person per year (``_pc``) or per household per year (``_hh``). Shares are
fractions 0–1, never percent.
"""

from __future__ import annotations

__all__ = [
    "BASE_YEAR",
    "YUAN_PER_WAN",
    "format_yuan",
    "years_between",
]

#: The registry's reference year: incomes and assets describe 2014 (plan §2 "on the basis of 2014").
BASE_YEAR = 2014

#: 1 wan = 10,000 yuan, the unit of most Chinese budget tables.
YUAN_PER_WAN = 10_000.0


def years_between(first: int, last: int) -> list[int]:
    """Calendar years from ``first`` to ``last`` inclusive.

    >>> years_between(2015, 2017)
    [2015, 2016, 2017]
    """
    if last < first:
        raise ValueError(f"last year {last} is before first year {first}")
    return list(range(first, last + 1))


def format_yuan(amount: float, unit: str = "yuan") -> str:
    """Readable money: ``1234567`` → ``'1,234,567 yuan'``; ``unit='wan'`` divides by 10,000.

    >>> format_yuan(1234567.4)
    '1,234,567 yuan'
    >>> format_yuan(1234567, unit="wan")
    '123.5 wan yuan'
    """
    if unit == "wan":
        return f"{amount / YUAN_PER_WAN:,.1f} wan yuan"
    if unit == "yuan":
        return f"{amount:,.0f} yuan"
    raise ValueError(f"unit must be 'yuan' or 'wan'; got {unit!r}")
