"""``fupinsim run`` of a registered-only (national) scenario, on a scaled-down cut.

The national scenario cut to 140,000 registered households (three registry chunks of one
block): yields from a 3,000-household sample, the LP on the national counts, plans assigned and
the projection simulated chunk by chunk. The run writes every table (household tables streamed
as Parquet row groups, CSV copies skipped above the scenario's limit and said in the
manifest), the report with the scale-test note, and answers ``fupinsim card``; the same run on
a two-worker Dask ``LocalCluster`` with chunks twice the size gives identical tables.
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
from fupinsim.io.national_run import run_national_to_directory
from fupinsim.pipeline.national import household_uniform, sample_scenario
from fupinsim.scenario import Scenario

HOUSEHOLDS = NATIONAL_SMALL_HOUSEHOLDS
CHUNK = NATIONAL_SMALL_CHUNK
SAMPLE = 3_000


@pytest.fixture(scope="module")
def small_file(national_small_file: Path) -> Path:
    """The shared ``national_small.yaml`` (tests/contract/conftest.py)."""
    return national_small_file


@pytest.fixture(scope="module")
def small(national_small: Scenario) -> Scenario:
    return national_small


@pytest.fixture(scope="module")
def outputs(small_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``fupinsim run`` in process (one worker) into OUTPUTS/national_small."""
    base = tmp_path_factory.mktemp("outputs")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(small_file),
            "--replications",
            "1",
            "--workers",
            "1",
            "--sample-households",
            str(SAMPLE),
            "--out",
            str(base / "national_small"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Not a national projection" in result.output
    return base


def test_run_writes_every_table_with_household_tables_streamed(
    outputs: Path, small: Scenario
) -> None:
    folder = outputs / "national_small"
    tables = folder / "tables"
    for name in ("households", "household_plans", "household_paths", "household_exit"):
        assert (tables / f"{name}.parquet").exists(), name
    paths = pq.ParquetFile(tables / "household_paths.parquet")
    assert paths.metadata.num_row_groups == 3  # one per chunk
    assert paths.metadata.num_rows == HOUSEHOLDS * len(small.years)
    assert pq.ParquetFile(tables / "households.parquet").metadata.num_rows == HOUSEHOLDS
    assert not (tables / "household_paths.csv").exists()  # 980,000 rows > 300,000
    for name in (
        "exit_targets",
        "funding",
        "exit_yields",
        "allocation",
        "allocation_quotas",
        "shortfall",
        "county_year",
        "target_probability",
        "targeting",
        "assessment",
    ):
        assert (tables / f"{name}.csv").exists() and (tables / f"{name}.parquet").exists(), name
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["csv_skipped"]["tables"] == ["household_paths"]
    assert "Not a national projection" in manifest["note"]
    assert manifest["national_run"]["yields_sample_households"] == SAMPLE
    assert "same yields law" in manifest["national_run"]["yields_sample"]
    # Quotas are met in expectation: within 1 % of the LP's households.
    quota = manifest["national_run"]["quota_households"]
    assigned = manifest["national_run"]["households_assigned"]
    assert quota > 0 and abs(assigned - quota) <= 0.01 * quota
    assert "csv_max_household_rows" in (folder / "logs" / "run.log").read_text(encoding="utf-8")
    assert "Scale test" in (folder / "report.html").read_text(encoding="utf-8")
    assert not (folder / "cards").exists()  # the sample's cards are not national households'


def test_national_targets_are_the_registry_counts(outputs: Path, small: Scenario) -> None:
    targets = pd.read_parquet(outputs / "national_small" / "tables" / "exit_targets.parquet")
    households = pd.read_parquet(
        outputs / "national_small" / "tables" / "households.parquet", columns=["county_id"]
    )
    per_county = targets[targets["year"] == 2015].groupby("county_id")["n_registered"].sum()
    counted = households["county_id"].astype(str).value_counts()
    pd.testing.assert_series_equal(
        per_county.sort_index(), counted.sort_index(), check_names=False, check_dtype=False
    )


def test_card_of_a_national_run_reads_its_rows(outputs: Path) -> None:
    result = CliRunner().invoke(
        cli, ["card", "70001", "--scenario", "national_small", "--outputs", str(outputs)]
    )
    assert result.exit_code == 0, result.output
    card = Path(result.output.strip().splitlines()[-1])
    assert card.name == "household_70001.html" and card.exists()


def test_dask_two_workers_and_larger_chunks_give_identical_tables(
    outputs: Path, small: Scenario, tmp_path: Path
) -> None:
    """Plans are assigned in the workers by (seed, household id): the same tables whatever the
    chunk size, the worker count or the scheduler (Dask LocalCluster vs in process)."""
    pytest.importorskip("distributed")
    fields = run_national_to_directory(
        small,
        tmp_path,
        replications=1,
        workers=2,
        chunk_households=2 * CHUNK,
        scheduler="local",
        worker_memory="1500MiB",
        sample_households=SAMPLE,
    )
    first = outputs / "national_small" / "tables"
    for path in sorted(first.glob("*.parquet")):
        other = pd.read_parquet(tmp_path / "tables" / path.name)
        pd.testing.assert_frame_equal(other, pd.read_parquet(path), check_exact=True, obj=path.stem)
    assert fields["scheduler"] == "local" and fields["chunks"] == 2


def test_household_uniform_depends_on_seed_and_id_only() -> None:
    ids = np.arange(1, 200_001, dtype=np.int64)
    u = household_uniform(7, ids)
    np.testing.assert_array_equal(u[1000:2000], household_uniform(7, ids[1000:2000]))
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.005
    assert not np.array_equal(u, household_uniform(8, ids))


def test_sample_scenario_keeps_everything_but_the_size(small: Scenario) -> None:
    cut = sample_scenario(small, SAMPLE)
    assert cut.registry.n_registered_households == SAMPLE
    assert cut.seed == small.seed and cut.hash != small.hash


def test_notebooks_entry_point_reuses_the_run_and_says_scale_test(
    outputs: Path, small_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``ensure_run`` (the notebooks' entry point) on a national folder: the run is reused,
    household tables stay on disk (read by rows), the notebooks' households and plans are the
    yields sample's (as the report's), and the note is logged and on every table."""
    from fupinsim.io.run import ensure_run

    with caplog.at_level("WARNING"):
        _, tables = ensure_run(small_file, outputs / "national_small", replications=1)
    assert "Not a national projection" in caplog.text
    assert not tables.county_year.empty and "household_exit" in tables.manifest["tables_not_loaded"]
    assert "Scale test" in tables.target_probability.attrs["note"]
    # The empty household tables say so, where a notebook shows them (log and table note).
    assert "household tables are NOT loaded" in caplog.text
    assert tables.household_paths.empty and "household_paths" in tables.not_loaded
    assert len(tables.households) == SAMPLE and tables.has("household_plans")
    assert set(tables.household_plans["household_id"]) <= set(tables.households["household_id"])
    assert "yields sample" in tables.households.attrs["note"]
    assert "140,000 rows left on disk" in tables.households.attrs["note"]
    assert "read_rows" in tables.manifest["household_tables_on_disk"]["household_paths"]
    assert 0 <= tables.manifest["p_all_targets_met"] <= 1


def test_run_scheduler_option_reaches_the_national_run(
    small_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fupinsim run --scheduler ADDRESS --worker-memory M`` hands both to the chunked
    projection (the cluster itself is tested above); refused for a Jiuquan scenario."""
    from fupinsim import cli_national

    seen: dict[str, object] = {}

    def capture(*_args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise RuntimeError("captured")

    monkeypatch.setattr(cli_national, "run_national_to_directory", capture)
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(small_file),
            "--scheduler",
            "tcp://127.0.0.1:8786",
            "--worker-memory",
            "2GiB",
            "--out",
            str(tmp_path / "national_small"),
        ],
    )
    assert isinstance(result.exception, RuntimeError), result.output
    assert seen["scheduler"] == "tcp://127.0.0.1:8786" and seen["worker_memory"] == "2GiB"
    assert not (tmp_path / "national_small").exists()  # nothing half-written
    refused = CliRunner().invoke(
        cli, ["run", str(small_file.parent / "plan_2015.yaml"), "--scheduler", "local"]
    )
    assert refused.exit_code == 2 and "registered-only" in refused.output


def test_households_assigned_beyond_the_quotas_are_the_sample_type_count_error(
    outputs: Path, small: Scenario
) -> None:
    """Why a national run assigns more households than its LP quotas: every type's share is
    quota / (type count estimated from the yields sample), applied to the type's actual
    households. Assigned households follow quota x actual / estimated per type (binomial
    noise only), so the whole gap is the sample's type-count error, not the assignment."""
    from fupinsim.allocate.yields import household_types

    tables = outputs / "national_small" / "tables"
    quotas = pd.read_parquet(tables / "allocation_quotas.parquet")
    quota = quotas[quotas["households"] > 0].groupby("type_id")["households"].sum()
    estimated = pd.read_parquet(tables / "exit_yields.parquet").groupby("type_id")["n_households"]
    estimated = estimated.first().reindex(quota.index)
    households = pd.read_parquet(tables / "households.parquet")
    actual = household_types(households, list(small.allocation.income_bands))["type_id"]
    actual = actual.value_counts().reindex(quota.index, fill_value=0)
    share = (quota / estimated).clip(upper=1.0)
    expected = share * actual
    assigned = pd.read_parquet(tables / "household_plans.parquet")["type_id"].value_counts()
    assigned = assigned.reindex(quota.index, fill_value=0)
    sd = np.sqrt((share * (1 - share) * actual).sum())
    assert abs(assigned.sum() - expected.sum()) <= 4 * sd + 1  # the rule is exact in law
    gap = assigned.sum() - quota.sum()
    explained = expected.sum() - quota.sum()  # quota x (actual / estimated - 1), summed
    assert abs(gap - explained) <= 4 * sd + 1
    manifest = json.loads((outputs / "national_small" / "manifest.json").read_text("utf-8"))
    assert "Jensen" in manifest["national_run"]["households_assigned_vs_quota"]


def test_batch_pipeline_hook_takes_the_national_run(
    small: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fupinsim batch`` calls ``run_to_directory`` (issue 18): a registered-only scenario
    takes the chunked national run, as ``fupinsim run`` does, and never builds its registry
    whole (the batch's registry stage grew to 16 GB at national size before)."""
    import fupinsim.io.run as io_run
    from fupinsim.io import national_run

    calls: list[tuple[str, Path, dict[str, object]]] = []

    def national(scenario: Scenario, folder: Path, **options: object) -> dict[str, object]:
        calls.append((scenario.id, Path(folder), options))
        return {"households": scenario.registry.n_registered_households}

    def whole(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the whole registry was built")

    monkeypatch.setattr(national_run, "run_national_to_directory", national)
    monkeypatch.setattr(io_run, "registry_for_run", whole)
    steps: list[str] = []
    fields = io_run.run_to_directory(small, tmp_path, replications=1, step=steps.append)
    assert fields == {"households": HOUSEHOLDS}
    assert [(c[0], c[1]) for c in calls] == [(small.id, tmp_path)]
    assert calls[0][2]["replications"] == 1 and calls[0][2]["step"] == steps.append
    assert io_run.pipeline_stages(small) == national_run.NATIONAL_RUN_STAGES


@pytest.mark.slow
@pytest.mark.parametrize(
    "notebook", ["01_registry", "02_projection", "03_allocation", "04_assessment"]
)
def test_the_four_notebooks_run_on_a_national_run(
    notebook: str, outputs: Path, small_file: Path, tmp_path: Path
) -> None:
    """Each of the batch's four notebooks completes on a national run folder (issue 18) and
    says where it shows a scale test: tables the national run does not compute say so."""
    import papermill as pm

    root = Path(__file__).resolve().parents[2]
    path = root / "notebooks" / f"{notebook}.ipynb"
    pm.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={
            "scenario": str(small_file),
            "replications": 1,
            "output_dir": str(outputs / "national_small"),
        },
        cwd=str(path.parent),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    text = (tmp_path / path.name).read_text(encoding="utf-8")
    assert "cale test" in text  # "Scale test" / "scale test", in the log or a table note
    if notebook in ("02_projection", "03_allocation"):
        assert "not computed in this run" in text
