"""Figures render Chinese with the CJK font the install provides (``mplfonts``): no glyph falls
back to an empty box, which matplotlib reports as "Glyph … missing from font(s)"."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import matplotlib as mpl
import pytest
from helpers.fake_results import fake_run_tables
from matplotlib.figure import Figure

from fupinsim import plots
from fupinsim.plots import style

CHINESE = "肃州区 建档立卡贫困户 脱贫 酒泉市"


def _draw(fig: Figure) -> None:
    for fmt in ("png", "svg"):
        fig.savefig(io.BytesIO(), format=fmt)


def test_the_cjk_font_file_ships_with_the_install_and_is_the_fallback() -> None:
    assert Path(style.cjk_font_path()).is_file()
    assert list(mpl.rcParams["font.family"])[-1] == style.CJK_FAMILY
    assert mpl.rcParams["font.family"][0] != style.CJK_FAMILY  # Latin text keeps its font


def test_a_figure_with_chinese_labels_has_every_glyph(caplog) -> None:
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([2015, 2016, 2017], [1330, 1900, 1900])
    ax.set_title(CHINESE, fontweight="bold")
    ax.set_xlabel("年份 Year")
    ax.set_ylabel("户 households")
    with caplog.at_level(logging.WARNING, logger="matplotlib"), warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        _draw(fig)
    assert not [r for r in caplog.records if "font" in r.getMessage().lower()]


def test_without_the_cjk_font_the_check_fails() -> None:
    """The check above can fail: with the Latin font alone, the glyphs are missing."""
    with (
        mpl.rc_context({"font.family": ["DejaVu Sans"]}),
        warnings.catch_warnings(),
        pytest.raises(UserWarning, match="missing from font"),
    ):
        warnings.simplefilter("error")
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().set_title(CHINESE)
        _draw(fig)


def test_the_fan_chart_titles_name_the_counties_in_chinese(caplog) -> None:
    tables = fake_run_tables()
    fig = plots.fan_chart_remaining(tables.county_year, tables.exit_targets)
    with caplog.at_level(logging.WARNING, logger="matplotlib"), warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _draw(fig)
    assert not [r for r in caplog.records if "font" in r.getMessage().lower()]
    titles = [ax.get_title("left") for ax in fig.axes]
    assert any("肃州区" in t for t in titles), titles
