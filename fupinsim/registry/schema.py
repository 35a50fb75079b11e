"""The registry's two tables, column by column: name, dtype, unit, allowed values, meaning.

This is the documented schema of the plan's "files and cards" (§3-5) as fupinsim uses them.
A registry file read from disk is coerced to these dtypes and checked against the ranges and
the national registry's consistency rules by :mod:`fupinsim.registry.checks`.

Money is yuan at 2014 prices per *household* per year unless the name ends in ``_pc`` (per
person). Columns marked ``synthetic_only`` exist only in generated registries (the truth that a
real registry cannot know); a file without them is valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fupinsim.data import CAUSES, COUNTY_IDS

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "HOUSING_GRADES",
    "INCOME_SOURCES",
    "SUPPORT_CLASSES",
    "VILLAGE_COLUMNS",
    "VILLAGE_INFRASTRUCTURE",
    "ColumnSpec",
    "coerce_households",
    "coerce_villages",
    "column_table",
]

#: Dilapidated-house appraisal grades: A safe, B basically safe, C partly dangerous, D dangerous.
HOUSING_GRADES: tuple[str, ...] = ("A", "B", "C", "D")
#: §25: households with labour get development support; without, social-security cover.
SUPPORT_CLASSES: tuple[str, ...] = ("development", "social_security")
#: Income sources recorded in the registry (yuan per household per year, gross for farming).
INCOME_SOURCES: tuple[str, ...] = (
    "income_wages",
    "income_crops",
    "income_livestock",
    "income_greenhouse",
    "income_business",
    "income_property",
    "income_transfers",
)
VILLAGE_INFRASTRUCTURE: tuple[str, ...] = (
    "has_paved_road",
    "has_bus",
    "has_tap_water",
    "has_power",
    "has_broadband",
    "has_clinic",
    "has_culture_room",
    "has_cooperative",
    "has_mutual_aid_fund",
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a registry table.

    ``dtype`` is the pandas dtype after loading; ``low``/``high`` bound numbers (inclusive);
    ``allowed`` lists the values of a categorical; ``nullable`` allows missing values.
    """

    name: str
    dtype: str
    unit: str
    description: str
    low: float | None = None
    high: float | None = None
    allowed: tuple[str, ...] | None = None
    nullable: bool = False
    required: bool = True
    synthetic_only: bool = False

    @property
    def rule(self) -> str:
        """The allowed values in words, for error messages."""
        if self.allowed is not None:
            return f"must be one of {', '.join(self.allowed)}"
        if self.dtype == "bool":
            return "must be true or false (1/0)"
        parts = []
        if self.low is not None:
            parts.append(f">= {self.low:g}")
        if self.high is not None:
            parts.append(f"<= {self.high:g}")
        kind = "a whole number" if self.dtype.lower().startswith(("int", "uint")) else "a number"
        return f"must be {kind}" + (f" {' and '.join(parts)}" if parts else "")


def _count(name: str, description: str, high: float = 20) -> ColumnSpec:
    return ColumnSpec(name, "int8", "people", description, 0, high)


def _money(name: str, description: str, high: float = 2_000_000) -> ColumnSpec:
    return ColumnSpec(name, "float64", "yuan per household per year", description, 0, high)


HOUSEHOLD_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("household_id", "int64", "id", "Household id, unique in the registry.", 1, None),
    ColumnSpec("village_id", "int64", "id", "Village id (villages table).", 1, None),
    ColumnSpec("county_id", "category", "id", "County id.", allowed=COUNTY_IDS),
    ColumnSpec("is_immigrant", "bool", "flag", "Lives in an immigrant (resettled) village."),
    ColumnSpec("n_members", "int8", "people", "Household members.", 1, 20),
    _count("n_labour", "Able-bodied members aged 16-65."),
    _count("n_away", "Labourers working away from home (months away > 6)."),
    _count("n_students_primary", "Members in primary school."),
    _count("n_students_junior", "Members in junior secondary school."),
    _count("n_students_senior", "Members in senior secondary school."),
    _count("n_students_vocational", "Members in secondary vocational school."),
    _count(
        "n_students_tertiary", "Members in higher education (undergraduate, higher vocational)."
    ),
    _count("n_dropouts", "Children of compulsory-school age (7-15) not in school."),
    _count("n_elderly", "Members aged 65 and over."),
    _count("n_disabled", "Members with a disability certificate."),
    _count("n_chronic_ill", "Members with a chronic or serious illness."),
    ColumnSpec(
        "main_cause",
        "category",
        "cause",
        "Main cause of poverty (the registry's 13 options); empty for households not registered.",
        allowed=CAUSES,
        nullable=True,
    ),
    _money("income_wages", "Wage income (work away and local)."),
    _money("income_crops", "Gross crop income."),
    _money("income_livestock", "Gross livestock income."),
    _money("income_greenhouse", "Gross solar-greenhouse income."),
    _money("income_business", "Net income from other household business."),
    _money("income_property", "Property income (land rent, dividends)."),
    _money("income_transfers", "Transfers: dibao, wubao, pension, farm subsidies."),
    _money("production_cost", "Production costs of crops, livestock and greenhouses."),
    ColumnSpec("land_mu", "float64", "mu", "Contracted cultivated land.", 0, 2_000),
    ColumnSpec("sheep", "int32", "head", "Breeding sheep.", 0, 5_000),
    ColumnSpec("greenhouses", "int16", "greenhouses", "Solar or steel-frame greenhouses.", 0, 50),
    ColumnSpec(
        "housing_grade",
        "category",
        "grade",
        "House appraisal grade (A safe … D dangerous).",
        allowed=HOUSING_GRADES,
    ),
    ColumnSpec("has_safe_water", "bool", "flag", "Has safe drinking water."),
    ColumnSpec(
        "ncms_enrolled", "bool", "flag", "Enrolled in the new rural cooperative medical scheme."
    ),
    ColumnSpec("is_dibao", "bool", "flag", "Receives the subsistence allowance (dibao)."),
    ColumnSpec("is_wubao", "bool", "flag", "Five-guarantee (wubao / tekun) household."),
    ColumnSpec("is_registered", "bool", "flag", "Registered poor household (has a file and card)."),
    ColumnSpec(
        "registered_year",
        "Int16",
        "year",
        "Year of registration; empty if not registered.",
        2010,
        2030,
        nullable=True,
    ),
    ColumnSpec(
        "support_class",
        "category",
        "class",
        "§25: 'development' (has labour) or 'social_security' (no labour, wubao or severe "
        "disability); empty if not registered.",
        allowed=SUPPORT_CLASSES,
        nullable=True,
    ),
    ColumnSpec(
        "helper_id",
        "Int64",
        "id",
        "Assisting cadre (§16); empty if not registered.",
        1,
        None,
        nullable=True,
    ),
    ColumnSpec(
        "income_pc",
        "float64",
        "yuan per person per year",
        "Recorded per-capita net income: (all income sources − production cost) / members.",
        0,
        100_000,
    ),
    ColumnSpec(
        "true_income_pc",
        "float64",
        "yuan per person per year",
        "True per-capita net income (synthetic registries only: what the recorded income "
        "measures with error).",
        -100_000,
        1_000_000,
        required=False,
        synthetic_only=True,
    ),
)

VILLAGE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("village_id", "int64", "id", "Village id, unique.", 1, None),
    ColumnSpec("village_name", "string", "name", "Village name (synthetic: county, type, number)."),
    ColumnSpec("county_id", "category", "id", "County id.", allowed=COUNTY_IDS),
    ColumnSpec("is_immigrant", "bool", "flag", "Immigrant (resettled) village."),
    ColumnSpec("is_poor_village", "bool", "flag", "Registered poor village."),
    ColumnSpec("n_households", "int32", "households", "Households in the village.", 1, 100_000),
    ColumnSpec("population", "int32", "people", "Residents.", 1, 500_000),
    *(
        ColumnSpec(name, "bool", "flag", f"Village {name.removeprefix('has_').replace('_', ' ')}.")
        for name in VILLAGE_INFRASTRUCTURE
    ),
)


def column_table(columns: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    """The schema as a table (for the README, notebooks and ``fupinsim schema``)."""
    return pd.DataFrame(
        {
            "column": [c.name for c in columns],
            "dtype": [c.dtype for c in columns],
            "unit": [c.unit for c in columns],
            "allowed": [c.rule for c in columns],
            "missing allowed": [c.nullable for c in columns],
            "description": [c.description for c in columns],
        }
    )


def _coerce(frame: pd.DataFrame, columns: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    out = {}
    for spec in columns:
        if spec.name not in frame:
            continue
        series = frame[spec.name]
        if spec.dtype == "category":
            dtype = pd.CategoricalDtype(list(spec.allowed or ()))
            if series.dtype == dtype:
                out[spec.name] = series
            elif isinstance(series.dtype, pd.CategoricalDtype):
                out[spec.name] = series.cat.set_categories(dtype.categories)
            else:
                out[spec.name] = series.astype("object").where(series.notna(), None).astype(dtype)
        else:
            target = pd.api.types.pandas_dtype(spec.dtype)
            out[spec.name] = series if series.dtype == target else series.astype(target)
    return pd.DataFrame(out, index=frame.index)


def coerce_households(frame: pd.DataFrame) -> pd.DataFrame:
    """Households with schema dtypes and column order (values already checked)."""
    return _coerce(frame, HOUSEHOLD_COLUMNS)


def coerce_villages(frame: pd.DataFrame) -> pd.DataFrame:
    """Villages with schema dtypes and column order (values already checked)."""
    return _coerce(frame, VILLAGE_COLUMNS)
