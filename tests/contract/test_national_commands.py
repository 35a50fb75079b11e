"""The national path through the commands, on a scaled-down national scenario.

``scenarios/national_2014.yaml`` cut to 140,000 registered households (three registry blocks,
chunks of one block): ``fupinsim simulate`` takes the chunked path (registry generated in the
workers), streams the household tables as Parquet row groups, skips their CSV copies above the
scenario's limit and says so in the manifest; the tables equal an in-memory simulation of the
same registry; ``fupinsim card`` reads one household's rows; a two-worker Dask
``LocalCluster`` (worker processes) gives the process pool's tables. ``fupinsim run`` of it
(tests/contract/test_national_run.py) takes the national pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from helpers.national_small import NATIONAL_SMALL_CHUNK, NATIONAL_SMALL_HOUSEHOLDS

from fupinsim.cli import cli
from fupinsim.io.streamed import read_rows
from fupinsim.microsim import reference_plan, simulate
from fupinsim.microsim.national import simulate_national
from fupinsim.registry import generate_registry
from fupinsim.scenario import Scenario

HOUSEHOLDS = NATIONAL_SMALL_HOUSEHOLDS
CHUNK = NATIONAL_SMALL_CHUNK


@pytest.fixture(scope="module")
def small_file(national_small_file: Path) -> Path:
    """The shared ``national_small.yaml`` (tests/contract/conftest.py)."""
    return national_small_file


@pytest.fixture(scope="module")
def small(national_small: Scenario) -> Scenario:
    return national_small


@pytest.fixture(scope="module")
def simulated(small_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "simulate"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            str(small_file),
            "--plan",
            "uniform_1230",
            "--replications",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Not a national projection" in result.output
    return out


def test_simulate_streams_household_tables_in_row_groups_and_skips_large_csv(
    simulated: Path, small: Scenario
) -> None:
    tables = simulated / "tables"
    paths = pq.ParquetFile(tables / "household_paths.parquet")
    assert paths.metadata.num_row_groups == 3  # one per registry chunk (< ROW_GROUP_ROWS)
    assert paths.metadata.num_rows == HOUSEHOLDS * len(small.years)
    assert not (tables / "household_paths.csv").exists()  # 980,000 rows > 300,000
    assert (tables / "household_exit.csv").exists()  # 140,000 rows
    for name in ("county_year", "target_probability", "targeting", "immigrant_income"):
        assert (tables / f"{name}.csv").exists() and (tables / f"{name}.parquet").exists()
    manifest = json.loads((simulated / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["csv_skipped"]["tables"] == ["household_paths"]
    assert "csv_max_household_rows" in manifest["csv_skipped"]["why"]
    assert manifest["streamed_tables"]["household_exit"] == {"rows": HOUSEHOLDS, "csv": True}
    assert "Not a national projection" in manifest["note"]


def test_streamed_tables_equal_an_in_memory_simulation(simulated: Path, small: Scenario) -> None:
    households = generate_registry(small).households
    plan = reference_plan("uniform_1230", households, small)
    memory = simulate(households, plan, small, replications=2)
    tables = simulated / "tables"
    county_year = pd.read_parquet(tables / "county_year.parquet")
    pd.testing.assert_frame_equal(county_year, memory.county_year, check_exact=True)
    paths = pd.read_parquet(tables / "household_paths.parquet")
    expected = memory.household.sort_values(["household_id", "year"], ignore_index=True)
    got = paths.sort_values(["household_id", "year"], ignore_index=True)
    np.testing.assert_array_equal(got["household_id"], expected["household_id"])
    np.testing.assert_allclose(got["income_pc_mean"], expected["income_pc_mean"], rtol=1e-6)
    np.testing.assert_allclose(got["p_exited"], expected["p_exited"], rtol=1e-6)
    exits = pd.read_parquet(tables / "household_exit.parquet").sort_values("household_id")
    pd.testing.assert_series_equal(
        exits["expected_exit_year"].reset_index(drop=True),
        memory.household_exit.sort_values("household_id")["expected_exit_year"].reset_index(
            drop=True
        ),
    )


def test_read_rows_reads_one_household_only(simulated: Path, small: Scenario) -> None:
    path = simulated / "tables" / "household_paths.parquet"
    one = read_rows(path, column="household_id", values=[70_001], columns=["year", "p_exited"])
    assert list(one.columns) == ["year", "p_exited"]
    assert len(one) == len(small.years)


def test_national_plan_file_is_refused(small_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["simulate", str(small_file), "--plan", str(tmp_path / "plan.csv")]
    )
    assert result.exit_code == 2
    assert "registered-only (national) scenario" in result.output


def test_two_worker_local_cluster_gives_the_process_pool_tables(small: Scenario) -> None:
    """Chunks go to Dask worker processes as (scenario, plan, chunk number): pickled, generated
    there, partial sums back. Same tables, household paths included, as the process pool."""
    pytest.importorskip("distributed")
    got: dict[str, list[pd.DataFrame]] = {"pool": [], "dask": []}

    def sink(key: str):  # type: ignore[no-untyped-def]
        return lambda _i, paths, _exits: got[key].append(paths)

    pool = simulate_national(
        small, "uniform_1230", replications=2, workers=2, household_sink=sink("pool")
    )
    dask = simulate_national(
        small,
        "uniform_1230",
        replications=2,
        workers=2,
        scheduler="local",
        worker_memory="1GiB",
        household_sink=sink("dask"),
    )
    assert dask.meta["scheduler"] == "local"
    np.testing.assert_array_equal(dask.meta["group_stats"], pool.meta["group_stats"])
    for name in ("county_year", "target_probability", "targeting", "immigrant_income"):
        pd.testing.assert_frame_equal(dask.tables()[name], pool.tables()[name], check_exact=True)
    pd.testing.assert_frame_equal(pd.concat(got["dask"]), pd.concat(got["pool"]))
