"""File names the pages link to (shared by the pages and the files that write them)."""

from __future__ import annotations

__all__ = ["card_name"]


def card_name(household_id: int) -> str:
    """File name of a household's card (``household_1234.html``)."""
    return f"household_{int(household_id)}.html"
