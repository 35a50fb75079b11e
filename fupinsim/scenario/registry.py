"""Scenario section ``registry``: where the registry comes from, and identification of the poor."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from fupinsim.scenario.fields import Section, Share, field, invalid_field

__all__ = ["IdentificationSettings", "RegistrySettings"]


class IdentificationSettings(Section):
    """Identification of the poor (plan §5): measured income, application, review, county quota."""

    measurement_sigma: float = field(
        0.095,
        description="Dispersion of recorded per-capita income around true income (lognormal).",
        unit="log points",
        source="ESTIMATE: calibrated on the synthetic registry so inclusion and exclusion errors "
        "fall in the 10-15% / 8-12% ranges of docs/sources.md §6.1 (with a county quota the two "
        "are equal, so both must be 10-12%): 0.095 gives about 11% (10.8-11.1% over seeds)",
        ge=0.0,
        le=2.0,
    )
    review_sigma: float = field(
        0.05,
        description="Extra noise of group evaluation and village review on the need score.",
        unit="log points",
        source="ESTIMATE: village appraisal adds errors (docs/sources.md §6.1 participation "
        "effect)",
        ge=0.0,
        le=2.0,
    )
    non_application_rate: Share = field(
        0.03,
        description="Share of households that would qualify but do not apply.",
        unit="share of households",
        source="ESTIMATE: small; a source of exclusion error besides measurement",
    )
    hardship_bonus: float = field(
        0.05,
        description="How much visible hardship (dangerous house, chronic illness, no labour) "
        "lowers "
        "the need score in the review, as a fraction of recorded income.",
        unit="share",
        source="ESTIMATE: reviewers see housing and illness, not only income",
        ge=0.0,
        le=1.0,
    )


class RegistrySettings(Section):
    """Where the household and village registry comes from and how large it is."""

    source: Literal["synthetic", "file"] = field(
        "synthetic",
        description="'synthetic' generates a calibrated registry; 'file' reads `path`.",
        unit="choice",
    )
    path: str | None = field(
        None,
        description="Registry file (CSV, XLSX or Parquet) when source is 'file'; relative to the "
        "scenario file.",
        unit="path",
    )
    n_registered_households: int = field(
        12_600,
        description="Registered poor households in the base year (county quotas add up to this).",
        unit="households",
        source="PLAN §2: 12,600 households",
        ge=1,
    )
    n_registered_people: int = field(
        47_700,
        description="People in the registered poor households.",
        unit="people",
        source="PLAN §2: 47,700 people",
        ge=1,
    )
    include_nonregistered: bool = field(
        True,
        description="Generate the whole rural population of the villages concerned (poor and "
        "non-poor). False generates registered households only (national scale).",
        unit="flag",
    )
    identification: IdentificationSettings = field(
        default_factory=IdentificationSettings,
        description="Identification of the poor (plan §5).",
        unit="section",
    )
    chunk_households: int = field(
        1_000_000,
        description="Households generated per chunk (bounds memory; results do not depend on it).",
        unit="households",
        ge=4096,
    )
    csv_max_household_rows: int = field(
        5_000_000,
        description="Household-level tables (paths, exit years, plans) longer than this are "
        "written as Parquet only, without a CSV copy (a CSV of 206 million rows is about 10 GB "
        "and no spreadsheet opens it); the run's log and manifest say which were skipped.",
        unit="rows",
        source="ESTIMATE: Excel's 1,048,576-row sheet limit times about 5; a CSV of 5 M rows of "
        "household paths is about 250 MB",
        ge=0,
    )

    @model_validator(mode="after")
    def _check(self) -> RegistrySettings:
        if self.source == "file" and not self.path:
            raise invalid_field("path", self.path, "is required when registry.source is 'file'")
        if self.n_registered_people < self.n_registered_households:
            raise invalid_field(
                "n_registered_people",
                self.n_registered_people,
                "must be at least registry.n_registered_households "
                f"({self.n_registered_households}): every household has a member",
            )
        return self
