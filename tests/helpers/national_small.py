"""Size of ``national_small``, the national scenario cut for the contract tests (its file is
the ``national_small_file`` fixture of tests/contract/conftest.py)."""

from __future__ import annotations

#: Registered households of ``national_small`` (three registry blocks).
NATIONAL_SMALL_HOUSEHOLDS = 140_000
#: Households per chunk of ``national_small`` (one registry block).
NATIONAL_SMALL_CHUNK = 65_536
