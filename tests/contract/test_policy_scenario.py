"""``scenarios/two_lines_in_one.yaml`` runs from the command line, and its dated dibao standard
reaches the simulation: the same registry and plan as ``plan_2015`` with the dibao standard at
the poverty line gives other tables (issue 10 item 3).

Runs ``fupinsim simulate`` on the plan's synthetic registry with 10 replications.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fupinsim.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _headcount(tmp_path: Path, name: str) -> pd.Series:
    out = tmp_path / name
    scenario = ROOT / "scenarios" / f"{name}.yaml"
    args = ["simulate", str(scenario), "--replications", "10", "--out", str(out)]
    args += ["--plan", "baseline"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "tables" / "county_year.parquet")
    rows = table[(table["indicator"] == "headcount") & (table["villages"] != "all")]
    return rows.groupby("year")["mean"].sum()


@pytest.mark.slow
def test_two_lines_in_one_runs_and_its_dibao_standard_counts(tmp_path: Path) -> None:
    plan = _headcount(tmp_path, "plan_2015")
    two_lines = _headcount(tmp_path, "two_lines_in_one")
    assert plan[2014] == two_lines[2014]  # the base year is observed, whatever the policy
    # 2015: the standard rises from 2,700 to the line (2,855), so fewer people are poor.
    assert two_lines[2015] < plan[2015]
