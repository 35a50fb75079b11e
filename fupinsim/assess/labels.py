"""Names and labels: counties, target groups and the words for the registry's codes.

The words live in ``fupinsim/data/labels.yaml`` (and the county names in ``counties.yaml``);
they are read on first use. The module-level constants (:data:`FIVE_CLARIFICATIONS`,
:data:`FIVE_THINGS`, :data:`CAUSE_WORDS`, …) are read-only views that load the file when first
looked at; only :data:`FUNDING_SOURCES` is a plain dict filled at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any, TypeVar, overload

import numpy as np
import pandas as pd

from fupinsim.data import COUNTY_IDS, counties, load_raw, plain

__all__ = [
    "CAUSE_WORDS",
    "CITY_ID",
    "FIVE_CLARIFICATIONS",
    "FIVE_THINGS",
    "FIVE_THINGS_ZH",
    "FUNDING_SOURCES",
    "SOURCE_WORDS",
    "STUDENT_COLUMNS",
    "VILLAGE_GROUPS",
    "bilingual",
    "county_label",
    "group_label",
    "label_en",
    "label_zh",
    "zh_words",
]

T = TypeVar("T")

#: Id of city-wide total rows (Jiuquan City, 酒泉市), as the simulation's ``county_year`` and
#: the funding pools name it.
CITY_ID = "city"
#: Village groups of the exit targets and the county-year results, in display order.
VILLAGE_GROUPS: tuple[str, ...] = ("all", "immigrant", "old")


@cache
def _labels() -> dict[str, Any]:
    """``data/labels.yaml`` with every fact replaced by its value."""
    data = plain(load_raw("labels"))
    if data["city"]["id"] != CITY_ID:
        raise ValueError(f"fupinsim/data/labels.yaml city.id must be {CITY_ID!r}")
    return dict(data)


class LazyMapping(Mapping[str, T]):
    """A read-only mapping built on first use (so that importing reads no data file)."""

    def __init__(self, load: Callable[[], Mapping[str, T]]) -> None:
        self._load = cache(load)

    def __getitem__(self, key: str) -> T:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return repr(dict(self._load()))


class LazyTuple(Sequence[T]):
    """A read-only sequence built on first use (so that importing reads no data file)."""

    def __init__(self, load: Callable[[], tuple[T, ...]]) -> None:
        self._load = cache(load)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(self._load())

    def __repr__(self) -> str:
        return repr(self._load())


def _words(section: str) -> Callable[[], dict[str, str]]:
    return lambda: {str(k): str(v) for k, v in _labels()[section].items()}


#: Village group in words (``all`` → ``all villages``).
GROUP_WORDS: Mapping[str, str] = LazyMapping(_words("village_groups"))
#: The registry's main causes of poverty in words.
CAUSE_WORDS: Mapping[str, str] = LazyMapping(_words("causes"))
#: The registry's income columns in words.
SOURCE_WORDS: Mapping[str, str] = LazyMapping(_words("income_sources"))
#: The registry's student columns → school level.
STUDENT_COLUMNS: Mapping[str, str] = LazyMapping(_words("student_levels"))
#: Funding sources in words (contract ``funding.source``). A plain dict, read when this module
#: is imported (:mod:`fupinsim.plots` declares its alias ``SOURCE_LABELS`` as a dict).
FUNDING_SOURCES: dict[str, str] = _words("funding_sources")()
#: The five clarifications (§3): ``(key, English heading, Chinese heading)``.
FIVE_CLARIFICATIONS: Sequence[tuple[str, str, str]] = LazyTuple(
    lambda: tuple(
        (str(x["key"]), str(x["en"]), str(x["zh"])) for x in _labels()["five_clarifications"]
    )
)
#: The five things (§4): ``(key, English heading)``.
FIVE_THINGS: Sequence[tuple[str, str]] = LazyTuple(
    lambda: tuple((str(x["key"]), str(x["en"])) for x in _labels()["five_things"])
)
#: Chinese heading of each of the five things (§4), by key.
FIVE_THINGS_ZH: Mapping[str, str] = LazyMapping(
    lambda: {str(x["key"]): str(x.get("zh", "")) for x in _labels()["five_things"]}
)


#: Sections of ``labels.yaml`` whose codes have an English and a Chinese form.
LABEL_SECTIONS: tuple[str, ...] = (
    "village_groups",
    "causes",
    "income_sources",
    "student_levels",
    "funding_sources",
    "support_classes",
    "binding_resources",
)


@cache
def zh_words(section: str) -> Mapping[str, str]:
    """Chinese form of every code of a section of ``labels.yaml`` (``zh.<section>``), read-only
    (built once per section: the guides and cards look words up ~10⁵ times a run).

    Sections: those of :data:`LABEL_SECTIONS`, ``packages`` (catalogue package ids; ``none`` is
    no new support) and ``words`` (yes, no, total, city_total).
    """
    return MappingProxyType({str(k): str(v) for k, v in _labels()["zh"][section].items()})


def label_en(section: str, code: Any) -> str:
    """English form of a code; unknown codes in words (``a_b`` → ``a b``). Package names are
    the catalogue's (:func:`fupinsim.assess.package_label`)."""
    text = str(code)
    words = _labels().get(section, {})
    if text in words:
        return str(words[text])
    return text.replace("_", " ")


def label_zh(section: str, code: Any) -> str:
    """Chinese form of a code; ``""`` for a code without one (so it is never shown as a code)."""
    return zh_words(section).get(str(code), "")


def bilingual(section: str, code: Any, *, zh_first: bool = True, en: str | None = None) -> Any:
    """``'因病 illness'`` (Chinese first) or ``'illness 因病'``; missing values unchanged.

    ``en`` gives the English form (default :func:`label_en`).
    """
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return code
    zh = label_zh(section, code)
    en = label_en(section, code) if en is None else en
    if not zh:
        return en
    return f"{zh} {en}" if zh_first else f"{en} {zh}"


def county_label(county_id: str, *, chinese: bool = False, short: bool = False) -> str:
    """County name: ``'Guazhou County'``, ``'Guazhou'`` (short) or ``'瓜州县'`` (Chinese).

    The city-wide id :data:`CITY_ID` gives ``'Jiuquan City (total)'`` / ``'酒泉市'``.
    """
    if county_id == CITY_ID:
        city = _labels()["city"]
        return str(city["name_zh"]) if chinese else ("Jiuquan" if short else str(city["name_en"]))
    if short:
        return str(county_id).capitalize()
    return _county_names(bool(chinese)).get(str(county_id), str(county_id))


@cache
def _county_names(chinese: bool) -> dict[str, str]:
    """County id → English or Chinese name (``data/counties.yaml``), read once."""
    column = counties()["name_zh" if chinese else "name_en"]
    return {str(k): str(v) for k, v in column.items()}


def group_label(county_id: str, villages: str, *, short: bool = False) -> str:
    """Target group in words: ``'Guazhou County, immigrant villages'`` (or ``'Guazhou'``)."""
    name = county_label(county_id, short=short)
    if villages == "all":
        return name
    return f"{name}, {GROUP_WORDS.get(villages, villages)}"


def cause_words(cause: Any) -> Any:
    """A recorded main cause in words, Chinese and English (``'因病 illness'``); other values
    unchanged."""
    return bilingual("causes", cause) if isinstance(cause, str) and cause in CAUSE_WORDS else cause


def county_order(values: Iterable[str]) -> list[str]:
    """Distinct county ids in plan order, unknown ids last (sorted)."""
    values = list(dict.fromkeys(str(v) for v in values))
    known = [c for c in COUNTY_IDS if c in values]
    return known + sorted(v for v in values if v not in COUNTY_IDS)


def sort_groups(frame: pd.DataFrame, extra: Sequence[str] = ("year",)) -> pd.DataFrame:
    """Rows in plan county order, then village group (all, immigrant, old), then ``extra``."""
    out = frame.copy()
    order = {c: i for i, c in enumerate([*COUNTY_IDS, CITY_ID])}
    out["_c"] = out["county_id"].astype(str).map(order).fillna(len(order))
    if "villages" in out:
        out["_v"] = out["villages"].astype(str).map({g: i for i, g in enumerate(VILLAGE_GROUPS)})
    keys = ["_c", *(["_v"] if "villages" in out else []), *[k for k in extra if k in out]]
    out = out.sort_values(keys, kind="stable").drop(columns=[c for c in ("_c", "_v") if c in out])
    return out.reset_index(drop=True)


def add_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Insert ``county, county_zh`` after ``county_id``."""
    out = frame.copy()
    ids = out["county_id"].astype(str)
    at = list(out.columns).index("county_id") + 1
    out.insert(at, "county", ids.map(county_label))
    out.insert(
        at + 1,
        "county_zh",
        ids.map(lambda c: county_label(c, chinese=True)),
    )
    return out


def villages_of(households: pd.DataFrame) -> pd.Series:
    """Village group (``immigrant``/``old``) of each household."""
    return pd.Series(
        np.where(households["is_immigrant"].astype(bool), "immigrant", "old"),
        index=households.index,
    )
