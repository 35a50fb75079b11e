"""``fupinsim simulate``: the tables it writes, identical with any workers or chunk size, and one
clear message (exit 2) for a bad plan file.

Runs the plan's whole synthetic registry (60,100 households) with 20 replications.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from fupinsim.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PLAN_2015 = ROOT / "scenarios" / "plan_2015.yaml"
EXIT_INPUT = 2
TABLES = (
    "county_year",
    "target_probability",
    "immigrant_income",
    "village_year",
    "targeting",
    "household_paths",
    "household_exit",
)
TARGET_GROUPS = 9  # seven counties, Yumen and Guazhou split into immigrant and old villages


def simulate(tmp_path: Path, name: str, *options: str) -> tuple[Result, Path]:
    out = tmp_path / name
    args = ["simulate", str(PLAN_2015), "--replications", "20", "--out", str(out), *options]
    return CliRunner().invoke(cli, args), out


@pytest.fixture(scope="module")
def uniform_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    return simulate(tmp_path_factory.mktemp("simulate"), "one_worker", "--plan", "uniform_1230")


def test_simulate_writes_every_table_as_csv_and_parquet(uniform_run: tuple[Result, Path]) -> None:
    result, out = uniform_run
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (out / "tables").iterdir())
    assert written == sorted(f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet"))
    for table in TABLES:
        csv = pd.read_csv(out / "tables" / f"{table}.csv")
        parquet = pd.read_parquet(out / "tables" / f"{table}.parquet")
        assert list(csv.columns) == list(parquet.columns), table
        assert len(csv) == len(parquet), table
    summary = re.fullmatch(
        rf"{re.escape(str(out))}: 7 tables; 20 replications, [0-9.]+ s; "
        r"targets with P\(met\) >= 0\.9: (\d+) of 29\n",  # 27 exit targets + 2 plan goals
        result.stdout,
    )
    assert summary, result.stdout


def test_target_probability_per_county_year(uniform_run: tuple[Result, Path]) -> None:
    _, out = uniform_run
    table = pd.read_parquet(out / "tables" / "target_probability.parquet")
    contract = [
        "county_id",
        "villages",
        "year",
        "target_exits",
        "projected_exits_mean",
        "projected_exits_p05",
        "projected_exits_p95",
        "p_met",
    ]
    assert set(contract) <= set(table.columns)
    goals = table["target"] != "exits"  # immigrant income and poor villages' exit (2017)
    assert sorted(table.loc[goals, "target"]) == ["immigrant_income", "village_exit"]
    assert (table.loc[goals, "year"] == 2017).all()
    assert len(table) == TARGET_GROUPS * 3 + 2
    assert sorted(table["year"].unique().tolist()) == [2015, 2016, 2017]
    assert not table.duplicated(["county_id", "villages", "year"]).any()
    assert table["p_met"].between(0, 1).all()
    # The probability agrees with the spread of projected exits.
    sure = table["projected_exits_p05"] >= table["required_exits"]
    hopeless = table["projected_exits_p95"] < table["required_exits"]
    assert (table.loc[sure, "p_met"] >= 0.95).all()
    assert (table.loc[hopeless, "p_met"] <= 0.05).all()
    suzhou = table.set_index(["county_id", "villages", "year"]).loc[("suzhou", "all", 2015)]
    assert suzhou["target_exits"] == 1330  # 70% of 1,900 (PLAN §2)


def test_same_tables_with_two_workers_and_another_chunk_size(
    uniform_run: tuple[Result, Path], tmp_path: Path
) -> None:
    _, one = uniform_run
    result, two = simulate(
        tmp_path, "two_workers", "--plan", "uniform_1230", "--workers", "2", "--chunk-size", "8192"
    )
    assert result.exit_code == 0, result.output
    for table in TABLES:
        csv_one = (one / "tables" / f"{table}.csv").read_bytes()
        assert (two / "tables" / f"{table}.csv").read_bytes() == csv_one, table
        pd.testing.assert_frame_equal(
            pd.read_parquet(two / "tables" / f"{table}.parquet"),
            pd.read_parquet(one / "tables" / f"{table}.parquet"),
            check_exact=True,
        )


def test_a_plan_file_is_simulated(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    pd.DataFrame(
        {"household_id": [1, 2, 3], "package_id": ["transfer_only"] * 3, "start_year": [2016] * 3}
    ).to_csv(plan, index=False)
    result, out = simulate(tmp_path, "from_file", "--plan", str(plan), "--replications", "3")
    assert result.exit_code == 0, result.output
    assert "3 replications" in result.stdout
    assert (out / "tables" / "target_probability.parquet").is_file()


def test_a_bad_plan_file_exits_2_with_one_clear_message(tmp_path: Path) -> None:
    plan = tmp_path / "bad_plan.csv"
    pd.DataFrame(
        {
            "household_id": [1, 2],
            "package_id": ["thirty_goats", "transfer_only"],
            "start_year": [2016, 2030],
        }
    ).to_csv(plan, index=False)
    result, out = simulate(tmp_path, "bad", "--plan", str(plan))
    assert result.exit_code == EXIT_INPUT
    assert result.stdout == ""
    # The progress bar is drawn before the plan is checked; the message is what follows it.
    message = result.stderr[result.stderr.index("error: ") :]
    assert message.startswith("error: plan: plan is not valid\n")
    assert "thirty_goats" in message and "must be a catalogue package" in message
    assert "household 2, start_year" in message and "2030" in message
    assert "at most 2020" in message
    assert "Traceback" not in message
    assert not out.exists()


def test_a_missing_plan_file_exits_2(tmp_path: Path) -> None:
    result, _ = simulate(tmp_path, "missing", "--plan", str(tmp_path / "nope.csv"))
    assert result.exit_code == EXIT_INPUT
    assert "plan file must exist" in result.stderr
