"""The whole run, as a planner uses it: ``fupinsim run`` on the plan and on revenue stagnation.

Runs with small Monte Carlo settings (a scenario that extends each one), so the contract is
checked in under a minute; the numbers themselves are covered by the unit and regression tests.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import highspy
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers.fake_results import fake_run_tables, fake_tables

from fupinsim.assess.labels import group_label, zh_words
from fupinsim.cli import cli
from fupinsim.io.registry_files import write_registry
from fupinsim.io.report_files import write_card
from fupinsim.io.run import ensure_run, load_run, run_to_directory
from fupinsim.microsim import load_catalogue, reference_plan, simulate
from fupinsim.pipeline import STAGES, TABLE_NAMES, PlanSimulator, RunTables, run_pipeline
from fupinsim.registry import Registry, generate_registry
from fupinsim.registry.cadres import level_rules
from fupinsim.report.formats import format_value
from fupinsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
QUICK = """
microsim:
  replications: 12
allocation:
  yield_replications: 3
  loop_rounds: 1
"""
TABLES = (
    "households",
    "villages",
    "exit_targets",
    "funding",
    "revenue",
    "exit_yields",
    "allocation",
    "allocation_quotas",
    "shortfall",
    "marginal_cost",
    "money_value",
    "unused_money",
    "household_plans",
    "household_burden",
    "village_works",
    "closed_loop",
    "factor_comparison",
    "county_year",
    "target_probability",
    "immigrant_income",
    "village_year",
    "targeting",
    "household_paths",
    "assessment",
    "identification",
    "cadre_roster",
    "household_cadres",
    "recommendations",
)


def _quick_scenario(folder: Path, base: str) -> Path:
    for name in ("plan_2015", base):
        shutil.copy(ROOT / "scenarios" / f"{name}.yaml", folder / f"{name}.yaml")
    path = folder / f"{base}_quick.yaml"
    path.write_text(
        f"id: {base}_quick\nextends: {base}\ntitle: {base}, quick\n"
        f"description: {base} with small Monte Carlo settings for tests.\n{QUICK}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    folder = tmp_path_factory.mktemp("scenarios")
    out = {}
    for base, extra in (("plan_2015", []), ("revenue_stagnation", ["--strict"])):
        scenario = _quick_scenario(folder, base)
        target = folder / "outputs" / base
        result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(target), *extra])
        out[base] = (target, result)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("base", ["plan_2015", "revenue_stagnation"])
def test_run_writes_every_table_the_lp_and_a_manifest(runs, base: str) -> None:
    target, result = runs[base]
    assert result.exit_code == (3 if base == "revenue_stagnation" else 0), result.output
    for name in TABLES:
        assert (target / "tables" / f"{name}.csv").is_file(), name
        assert (target / "tables" / f"{name}.parquet").is_file(), name
    assert (target / "allocation_model.mps").is_file()
    assert (target / "report.html").is_file()
    assert (target / "three_tables.xlsx").is_file()
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    for key in (
        "scenario_hash",
        "seed",
        "solver",
        "solver_status",
        "objective_value",
        "pipeline_timings_s",
        "environment",
        "p_all_targets_met",
    ):
        assert key in manifest, key
    assert manifest["solver_status"] in {"optimal", "feasible"}


@pytest.mark.slow
def test_mps_file_re_solved_by_highspy_gives_the_same_objective(runs) -> None:
    target, _ = runs["plan_2015"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.readModel(str(target / "allocation_model.mps"))
    solver.run()
    value = solver.getInfo().objective_function_value
    assert value == pytest.approx(manifest["objective_value"], rel=1e-6)


@pytest.mark.slow
def test_plan_targets_and_the_household_plans_add_up(runs) -> None:
    target, _ = runs["plan_2015"]
    tables = target / "tables"
    targets = pd.read_parquet(tables / "exit_targets.parquet")
    suzhou_2015 = targets[(targets["county_id"] == "suzhou") & (targets["year"] == 2015)]
    assert int(suzhou_2015["target_exits"].iloc[0]) == 1330  # 70% of 1,900 (plan §2)
    plans = pd.read_parquet(tables / "household_plans.parquet")
    households = pd.read_parquet(tables / "households.parquet")
    registered = set(households.loc[households["is_registered"], "household_id"])
    assert plans["household_id"].is_unique
    # The base registry's plans give the LP's quotas; the living registry's planned entrants
    # (issue 10, item 4) follow, each with its entry year and cause.
    base = plans[plans["entry_year"].isna()]
    assert set(base["household_id"]) <= registered
    quotas = pd.read_parquet(tables / "allocation_quotas.parquet")
    assert len(base) == pytest.approx(quotas["households"].sum(), abs=len(quotas))
    assert (plans[["cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"]] >= 0).all().all()
    entrants = pd.read_parquet(tables / "registry_entrants.parquet").set_index("household_id")
    joined = plans[plans["entry_year"].notna()].set_index("household_id")
    assert len(joined) > 0 and not set(joined.index) & registered
    assert (entrants.loc[joined.index, "plan_reason"] == "planned").all()
    assert (joined["entry_year"] == entrants.loc[joined.index, "entry_year"]).all()
    assert (
        joined["main_cause"].notna().all() and (joined["start_year"] > joined["entry_year"]).all()
    )
    assert (entrants["plan_reason"] == "planned").sum() == len(joined)


@pytest.mark.slow
def test_entitlements_reach_the_eligible_with_their_packages(runs) -> None:
    """Issue 10, item 5: education aid reaches >= 90% of eligible households' students; the
    add-ons are costed on the pools and listed in the household plans."""
    target, _ = runs["plan_2015"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    reach = manifest["add_on_reach"]
    for entry in ("student_loan_tertiary", "vocational_grant"):
        assert reach[entry] >= 0.9, (entry, reach[entry])
    costs = manifest["add_on_fiscal_yuan"]
    assert costs["vocational_grant"] > 0 and costs["medical_assistance"] > 0
    spent = pd.read_csv(target / "tables" / "spending.csv")["amount_yuan"].sum()
    assert sum(costs.values()) < spent
    plans = pd.read_csv(target / "tables" / "household_plans.csv", keep_default_na=False)
    assert "education_aid" not in set(plans["package_id"])
    students = plans["add_ons"].str.contains("vocational_grant")
    assert students.any() and plans["add_ons"].str.contains("temporary_assistance").all()


def test_shortfalls_say_what_is_missing(runs) -> None:
    target, result = runs["revenue_stagnation"]
    revenue = pd.read_parquet(target / "tables" / "revenue.parquet")
    falling = revenue[revenue["year"].isin([2015, 2016])]
    assert (falling["earmark_yuan"] == 0).all()  # earmarks vanish when revenue falls (§19)
    shortfall = pd.read_parquet(target / "tables" / "shortfall.parquet")
    missed = shortfall[~shortfall["met"].astype(bool)]
    assert len(missed) > 0
    for row in missed.to_dict("records"):
        assert row["message"].startswith(
            ("Suzhou", "Yumen", "Dunhuang", "Guazhou", "Jinta", "Subei", "Aksai")
        )
        assert str(row["year"]) in row["message"]
        money_helps = pd.notna(row["extra_yuan_to_close"]) and row["extra_yuan_to_close"] > 0
        assert money_helps or row["binding_resource"], row
    assert "cannot be met" in result.output


@pytest.mark.slow
def test_optimised_plan_beats_the_factor_method(runs) -> None:
    target, _ = runs["plan_2015"]
    comparison = pd.read_parquet(target / "tables" / "factor_comparison.parquet")
    rows = comparison.set_index("method")
    better_exits = rows.loc["optimised", "exits_2017"] > rows.loc["factor", "exits_2017"]
    cheaper = rows.loc["optimised", "cost_fiscal_yuan"] < rows.loc["factor", "cost_fiscal_yuan"]
    assert better_exits or cheaper
    loop = pd.read_parquet(target / "tables" / "closed_loop.parquet")
    assert list(loop["round"]) == list(range(len(loop)))
    assert 1 <= len(loop) <= 2  # loop_rounds: 1


@pytest.mark.slow
def test_strict_exits_3_when_targets_cannot_be_met(runs) -> None:
    target, result = runs["revenue_stagnation"]  # run with --strict
    assert result.exit_code == 3, result.output
    assert "cannot be met" in result.output
    assert (target / "tables" / "shortfall.csv").is_file()  # the run is still written


def contract_differences(
    real: RunTables, fake: RunTables, *, dtypes: bool = True
) -> dict[str, object]:
    """Where a real run and the test fake differ: tables, column order, column kinds.

    A column's kind is numpy's (``f`` float, ``i`` integer, ``b`` bool, ``O`` text, ``M`` time):
    an integer count in the fake where the pipeline has an expected value (a float) is a
    difference, a ``str`` against a ``string`` text column is not.
    """
    out: dict[str, object] = {}
    real_tables, fake_tables_ = real.as_dict(), fake.as_dict()
    if sorted(real_tables) != sorted(fake_tables_):
        out["tables"] = sorted(set(real_tables) ^ set(fake_tables_))
    for name in sorted(set(real_tables) & set(fake_tables_)):
        a, b = real_tables[name], fake_tables_[name]
        if list(a.columns) != list(b.columns):
            out[name] = (list(a.columns), list(b.columns))
        elif dtypes:
            kinds = {c: (a[c].dtype.kind, b[c].dtype.kind) for c in a.columns}
            wrong = {c: k for c, k in kinds.items() if k[0] != k[1] and len(a) and len(b)}
            if wrong:
                out[name] = wrong
    return out


@pytest.mark.slow
def test_a_real_run_and_the_test_fake_have_the_same_tables_and_columns(runs) -> None:
    target, _ = runs["plan_2015"]
    loaded = load_run(target)  # a run folder loads into the typed hand-off
    assert isinstance(loaded, RunTables)
    assert sorted(loaded.as_dict()) == sorted(TABLE_NAMES)  # the plan's registry identifies
    # Columns in the same order (Parquet keeps them); the kinds are checked in memory below.
    assert contract_differences(loaded, fake_run_tables(), dtypes=False) == {}
    # The manifest facts come back with the tables (run_info.json), as the run had them.
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    for key in ("pipeline_replications", "p_all_targets_met", "targets_missed", "objective"):
        assert loaded.manifest[key] == manifest[key], key
    assert set(loaded.timings) == set(manifest["pipeline_timings_s"])


def test_run_tables_give_each_table_by_attribute_and_by_name() -> None:
    run = fake_run_tables()
    assert run.shortfall is run["shortfall"]
    assert list(run.as_dict()) == list(TABLE_NAMES)
    with pytest.raises(KeyError, match="no table 'manifest'"):
        run["manifest"]
    without = RunTables.from_dict({k: v for k, v in fake_tables().items() if k != "identification"})
    assert without.identification is None
    assert "identification" not in without.as_dict()
    with pytest.raises(KeyError, match="missing \\['shortfall'\\]"):
        RunTables.from_dict({k: v for k, v in fake_tables().items() if k != "shortfall"})


def test_stages_are_named_in_run_order() -> None:
    assert STAGES == (
        "registry",
        "funding",
        "yields",
        "allocate",
        "household_plans",
        "closed_loop",
        "comparison",
        "projection",
        "tables",
    )


@pytest.mark.slow
def test_run_pipeline_reports_every_stage_and_returns_the_tables_of_the_fake(
    plan_scenario, scale_scenario
) -> None:
    small = scale_scenario(plan_scenario, 1_500)
    data = small.model_dump()
    data["allocation"].update(yield_replications=2, loop_rounds=1)
    small = type(small).model_validate(data)
    calls: list[tuple[str, int, int]] = []
    result = run_pipeline(small, replications=4, on_stage=lambda *call: calls.append(call))
    assert calls == [(name, i, len(STAGES)) for i, name in enumerate(STAGES)]
    assert isinstance(result, RunTables)
    assert contract_differences(result, fake_run_tables()) == {}
    assert result.allocation is result.allocation_result.allocation
    assert result.timings["registry"] > 0
    assert {"allocation round 0", "closed loop round 0", "final projection"} <= set(result.timings)


def test_an_identical_plan_is_simulated_once(plan_scenario, scale_scenario) -> None:
    small = scale_scenario(plan_scenario, 300)
    registry = generate_registry(small)
    households = registry.households
    registered = households[households["is_registered"]].reset_index(drop=True)
    simulator = PlanSimulator(small, load_catalogue(small), replications=2)
    plan = reference_plan("uniform_1230", households, small)
    first = simulator.simulate(registered, plan, pd.DataFrame())
    again = simulator.simulate(registered, plan.copy(), pd.DataFrame())
    assert again is first
    assert (simulator.simulated, simulator.reused) == (1, 1)
    other = simulator.simulate(registered, plan.iloc[1:], pd.DataFrame())  # one household less
    everyone = simulator.simulate(households, plan, pd.DataFrame())  # other households
    assert other is not first and everyone is not first
    assert (simulator.simulated, simulator.reused) == (3, 1)
    fresh = simulate(registered, plan, small, replications=2)
    pd.testing.assert_frame_equal(first.target_probability, fresh.target_probability)


@pytest.mark.slow
def test_every_registered_household_has_a_cadre_within_the_plans_capacities(runs) -> None:
    """Plan §16 (issue 14): each registered household is paired with one cadre of the roster;
    no cadre helps more households than its capacity or its level allows (prefecture 2-3,
    county about 3), and the card names the cadre."""
    target, _ = runs["plan_2015"]
    tables = target / "tables"
    households = pd.read_parquet(tables / "households.parquet")
    paired = pd.read_parquet(tables / "household_cadres.parquet")
    roster = pd.read_parquet(tables / "cadre_roster.parquet")
    registered = households.loc[households["is_registered"].astype(bool), "household_id"]
    assert sorted(paired["household_id"]) == sorted(registered)
    assert paired["cadre_id"].notna().all()
    assert set(paired["cadre_id"]) <= set(roster["cadre_id"])
    loads = paired.groupby("cadre_id").size()
    roster = roster.set_index("cadre_id").loc[loads.index]
    assert (loads.to_numpy() <= roster["capacity"].to_numpy()).all()
    assert (roster["households"].to_numpy() == loads.to_numpy()).all()
    rules = level_rules()
    for level, rule in rules.items():
        level_loads = loads.to_numpy()[(roster["level"] == level).to_numpy()]
        assert (level_loads <= rule.max_households).all(), level
    assert rules["prefecture"].max_households == 3 and rules["county"].max_households <= 4
    household = int(registered.iloc[0])
    card = write_card(target.parent, "plan_2015", household_id=household).read_text("utf-8")
    row = paired.set_index("household_id").loc[household]
    assert str(row["code"]) in card and str(row["unit_name_zh"]) in card
    village = write_card(target.parent, "plan_2015", village_id=int(row["village_id"]))
    assert str(row["code"]) in village.read_text("utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("base", ["plan_2015", "revenue_stagnation"])
def test_every_missed_target_gets_a_recommendation_with_its_effect(runs, base: str) -> None:
    """Issue 14: "What to do" first in the report; one recommendation (or more) per target the
    allocation misses, each with an effect from the re-solve and no internal code."""
    target, _ = runs[base]
    tables = target / "tables"
    recs = pd.read_parquet(tables / "recommendations.parquet")
    shortfall = pd.read_parquet(tables / "shortfall.parquet")
    keys = ["county_id", "villages", "year"]
    missed = shortfall.loc[shortfall["missing_exits"] > 0, keys]
    covered = missed.merge(recs[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    assert (covered["_merge"] == "both").all(), covered
    assert (recs["effect_exits"].notna() | recs["effect_p_met"].notna()).all()
    for text in [*recs["action"], *recs["reason"]]:
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text
    money = recs[recs["kind"].isin(["add money", "move money"])]
    assert (money["money_yuan"] > 0).all() and (money["effect_exits"] > 0).all()
    later = recs[recs["kind"] == "propose later year"]
    assert later["effect_p_met"].between(0, 1).all()
    report = (target / "report.html").read_text(encoding="utf-8")
    body = report[report.index("<body") :]
    assert body.index("What to do") < body.index('class="headline')


def _row_of(page: str, heading: str, label: str) -> str:
    """The first table row after ``heading`` whose text contains ``label``."""
    start = page.index(heading)
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page[start:], flags=re.S)
    return next(r for r in rows if label in r)


@pytest.mark.slow
def test_a_target_and_its_p_met_are_the_same_in_every_output(runs) -> None:
    """Issue 14 ("one source for every number"): Suzhou's 2016 target — the plan's 1,900 and
    what counts as meeting it, 1,843 — and its P(met) are the run table's in report.html, the
    Suzhou guide and the workbook; the report's money available is the funding table's."""
    target, _ = runs["plan_2015"]
    tables = target / "tables"
    targets = pd.read_parquet(tables / "exit_targets.parquet")
    tp = pd.read_parquet(tables / "target_probability.parquet")
    key = (targets["county_id"] == "suzhou") & (targets["year"] == 2016)
    plan, met = int(targets.loc[key, "target_exits"].iloc[0]), targets.loc[key, "required_exits"]
    met = int(met.iloc[0])
    assert (plan, met) == (1900, 1843)  # 100% of 1,900, less the 3% allowance (floor 57)
    p_met = float(tp.loc[(tp["county_id"] == "suzhou") & (tp["year"] == 2016), "p_met"].iloc[0])
    shown = f"{plan:,} ({met:,} ¹)"
    report = (target / "report.html").read_text(encoding="utf-8")
    guide = (target / "guide" / "suzhou.html").read_text(encoding="utf-8")
    for page, heading in ((report, "Table 3."), (guide, "Targets and tasks by year")):
        row = _row_of(page, heading, "Suzhou")
        assert shown in row, row
        assert format_value(p_met, "share") in row  # as the report writes every share
        assert "3% of its registered households may remain" in page  # the footnote
    workbook = openpyxl.load_workbook(target / "three_tables.xlsx", read_only=True)
    sheet = workbook["3 Reduction tasks"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r and r[0] == "County")
    names = list(rows[header])
    suzhou = next(r for r in rows[header + 2 :] if r[0] and "Suzhou" in str(r[0]) and r[3] == 2016)
    assert suzhou[names.index("Target exits")] == plan
    assert suzhou[names.index("Counts as met ¹")] == met
    assert suzhou[names.index("P(target met)")] == pytest.approx(p_met)
    shortfall = pd.read_parquet(tables / "shortfall.parquet")
    row = shortfall[(shortfall["county_id"] == "suzhou") & (shortfall["year"] == 2016)]
    assert int(row["target_exits"].iloc[0]) == met  # the LP plans for what counts as met
    funding = pd.read_parquet(tables / "funding.parquet")
    assert f"{funding['amount_yuan'].sum() / 1e4:,.1f}" in report
    # The headline's P(all targets met) is the same simulation's as the P(met) shown.
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    plans = pd.read_parquet(tables / "target_probability_plans.parquet")
    final = plans[plans["plan"] == "final"].drop(columns="plan").reset_index(drop=True)
    pd.testing.assert_frame_equal(final, tp.reset_index(drop=True), check_dtype=False)
    assert f"{manifest['p_all_targets_met']:.0%}" in report


#: The run folder notebooks 02-04 read with their default parameters (``output_dir = None``).
NOTEBOOK_RUN = ROOT / "outputs" / "notebook_runs" / "plan_2015"


def _notebook_defaults(name: str) -> dict[str, object]:
    """The values of a notebook's ``parameters`` cell."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    values: dict[str, object] = {}
    exec("".join(cell["source"]), {}, values)  # the notebook's own defaults, plain literals
    return values


def _stored_texts(name: str) -> list[str]:
    """Every stored text output (streams and text/plain) of a notebook, in cell order."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append("".join(output["text"]))
            elif "text/plain" in output.get("data", {}):
                texts.append("".join(output["data"]["text/plain"]))
    return texts


def _stored_p_met(text: str) -> dict[tuple[str, int], int]:
    """(target, year) → P(target met) % from a stored ``display_p_met`` table."""
    lines = text.splitlines()
    years = [int(y) for y in lines[0].split()[-3:]]
    out = {}
    for line in lines[2:]:
        label, *values = line.rsplit(None, len(years))
        out.update({(label.strip(), y): int(v) for y, v in zip(years, values, strict=True)})
    return out


@pytest.mark.slow
def test_the_notebooks_stored_figures_are_the_reports() -> None:
    """Issue 14 ("one source for every number"), for the notebooks: notebook 02's stored
    P(target met) table and notebook 04's stored P(all targets met) are the figures of
    ``report.html`` of the run they read — ``outputs/notebook_runs/plan_2015`` with their default
    parameters, computed here as the notebooks compute it (or reused, then nbval reuses it).
    nbval checks that the stored outputs are what the notebooks compute; this checks that what
    they compute is the report's number, not the plan comparison's."""
    defaults = _notebook_defaults("02_projection.ipynb")
    assert defaults == _notebook_defaults("04_assessment.ipynb")
    replications, seed = defaults["replications"], defaults["seed"]
    assert isinstance(replications, int) and (seed is None or isinstance(seed, int))
    _, run = ensure_run(
        ROOT / str(defaults["scenario"]), NOTEBOOK_RUN, replications=replications, seed=seed
    )
    report = (NOTEBOOK_RUN / "report.html").read_text(encoding="utf-8")
    tp = run.target_probability
    tp = tp[tp["year"].between(2015, 2017) & (tp["target"] == "exits")]  # goals: own units
    expected = {
        (group_label(c, v), int(y)): round(float(p) * 100)
        for c, v, y, p in tp[["county_id", "villages", "year", "p_met"]].itertuples(index=False)
    }
    tables = [
        t
        for t in _stored_texts("02_projection.ipynb")
        if t.startswith("P(target met), %") and "plan comparison" not in t.splitlines()[0]
    ]
    assert len(tables) == 1, "notebook 02 shows the run's P(target met) table once"
    assert _stored_p_met(tables[0]) == expected
    for county, name in (("dunhuang", "Dunhuang"), ("suzhou", "Suzhou")):  # issue 14's examples
        p_met = float(tp.loc[(tp["county_id"] == county) & (tp["year"] == 2016), "p_met"].iloc[0])
        assert format_value(p_met, "share") in _row_of(report, "Table 3.", name)
    # Notebook 04's headline: the manifest's P(all targets met), the report's headline tile.
    p_all = f"{run.manifest['p_all_targets_met']:.0%}"
    headline = next(t for t in _stored_texts("04_assessment.ipynb") if "P(all targets met):" in t)
    stored = re.search(r"P\(all targets met\): (\d+%)", headline)
    assert stored is not None and stored.group(1) == p_all
    tile = re.search(
        r'P\(all targets met\)</div><div class="value"><span class="\w*">(?:≈ )?(\d+%)</span>',
        report,
    )
    assert tile is not None and tile.group(1) == p_all


def _card_fields(page: str) -> dict[str, object]:
    """What a household's card shows: its facts (``dt`` → ``dd`` text) and table rows (cells)."""
    root = ET.fromstring(page)
    facts = {}
    for dl in root.iter("dl"):
        items = list(dl)
        for dt, dd in zip(items[::2], items[1::2], strict=True):
            facts["".join(dt.itertext())] = "".join(dd.itertext())
    tables = [
        [["".join(td.itertext()) for td in tr.iter("td")] for tr in t.iter("tr")][1:]
        for t in root.iter("table")
    ]
    return {"facts": facts, "tables": tables}


@pytest.mark.slow
def test_a_household_s_figures_on_its_card_are_the_run_tables(runs) -> None:
    """Issue 14 ("one source for every number"), for the cards: each household's exit year,
    packages and start years, P(exited) by year and cadre on the card the run wrote are those of
    ``household_exit``, ``household_plans``, ``household_paths`` and ``household_cadres``."""
    target, _ = runs["plan_2015"]
    tables = target / "tables"
    exits = pd.read_parquet(tables / "household_exit.parquet").set_index("household_id")
    plans = pd.read_parquet(tables / "household_plans.parquet")
    paths = pd.read_parquet(tables / "household_paths.parquet")
    cadres = pd.read_parquet(tables / "household_cadres.parquet").set_index("household_id")
    packages_zh = zh_words("packages")
    ids = sorted(exits.index)[::25]
    assert len(ids) > 100 and {p.name for p in (target / "cards").glob("household_*")} == {
        f"household_{i}.html" for i in exits.index
    }
    for hid in ids:
        card = _card_fields((target / "cards" / f"household_{hid}.html").read_text("utf-8"))
        facts, (_income, *tables_shown) = card["facts"], card["tables"]
        year = exits.loc[hid, "expected_exit_year"]
        shown = facts["Expected exit year"]
        assert shown.split(" ")[0] == ("—" if pd.isna(year) else str(int(year))), (hid, shown)
        mine = plans[plans["household_id"] == hid]
        measures = tables_shown[0] if len(mine) else []
        assert [(r[0].split(" ")[0], r[1]) for r in measures] == [
            (packages_zh[p], str(y))
            for p, y in zip(mine["package_id"], mine["start_year"], strict=True)
        ], hid
        path = paths[paths["household_id"] == hid].sort_values("year")
        rows = tables_shown[-1]
        assert [(r[0], r[3]) for r in rows] == [
            (str(y), format_value(p, "share"))
            for y, p in zip(path["year"], path["p_exited"], strict=True)
        ], hid
        assert facts["Assisting cadre (plan §16) 帮扶责任人"].startswith(cadres.loc[hid, "code"])


def test_household_money_is_what_households_can_bear(runs) -> None:
    """Issue 10, item 1 on plan_2015: own cash at most the scenario's share of a year's income;
    poverty credit at most what the package's expected income repays within the loan term."""
    target, _ = runs["plan_2015"]
    tables = target / "tables"
    plans = pd.read_parquet(tables / "household_plans.parquet")
    share = 0.25  # allocation.max_household_cash_share of plan_2015 (the default)
    bearable = share * plans["household_income_yuan"].clip(lower=0)
    assert (plans["own_cash_yuan"] <= bearable + 1.0).all()
    assert (plans["own_cash_share_of_income"].dropna() <= share + 1e-6).all()
    catalogue = load_catalogue(load_scenario(ROOT / "scenarios" / "plan_2015.yaml"))
    financed = {
        p.id
        for p in catalogue.packages.values()
        if any(catalogue.entry(e).financing for e in p.entries)
    }
    lent = plans[plans["package_id"].isin(financed)]
    assert len(lent) > 0
    assert (lent["credit_yuan"] <= lent["term_income_yuan"] + 1.0).all()
    assert (plans["pools_topup_yuan"] >= 0).all()
    burden = pd.read_parquet(tables / "household_burden.parquet")
    base = plans[plans["entry_year"].isna()]  # household_burden is the LP plan's (base registry)
    assert burden["households"].sum() == len(base)
    assert burden["pools_topup_yuan"].sum() == pytest.approx(base["pools_topup_yuan"].sum())
    assert (burden["households_over_one_year_income"] == 0).all()


@pytest.mark.slow
def test_county_year_counts_every_household_once(runs) -> None:
    target, _ = runs["plan_2015"]
    county_year = pd.read_parquet(target / "tables" / "county_year.parquet")
    groups = county_year.groupby(["county_id", "year", "indicator"])["villages"].agg(frozenset)
    allowed = {frozenset({"all"}), frozenset({"all", "old", "immigrant"})}
    assert set(groups) <= allowed
    assert county_year.duplicated(["county_id", "villages", "year", "indicator"]).sum() == 0


@pytest.mark.slow
def test_the_closed_loop_reports_its_best_round_and_each_lost_target_once(runs) -> None:
    target, _ = runs["plan_2015"]
    loop = pd.read_parquet(target / "tables" / "closed_loop.parquet")
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert loop["best"].sum() == 1
    best = loop[loop["best"]].iloc[0]
    assert int(best["round"]) == manifest["closed_loop_best_round"]
    assert best["p_all_targets_met"] == loop["p_all_targets_met"].max()
    assert manifest["p_all_targets_met"] == pytest.approx(best["p_all_targets_met"])
    assert (loop["cannot_be_secured"].iloc[1:] == "").all()  # named once, in round 0
    lost = manifest["targets_no_money_can_secure"]
    assert len(lost) == len(set(lost))
    # The objective is money plus the penalty, reported apart.
    assert manifest["objective_value"] == pytest.approx(
        manifest["fiscal_yuan"] + manifest["objective_penalty_yuan"], rel=1e-6
    )


@pytest.mark.slow
def test_a_registry_file_with_some_counties_is_used_by_run_to_directory(
    plan_scenario, scale_scenario, tmp_path: Path
) -> None:
    """``registry.source: file`` is honoured without ``--registry`` (batch and notebooks call
    ``run_to_directory`` / ``ensure_run``), and a file with two counties scales the targets."""
    small = scale_scenario(plan_scenario, 600)
    registry = generate_registry(small)
    keep = {"suzhou", "jinta"}
    households = registry.households[registry.households["county_id"].isin(keep)]
    villages = registry.villages[registry.villages["county_id"].isin(keep)]
    path = write_registry(Registry(households.reset_index(drop=True), villages), tmp_path / "r.csv")
    data = small.model_dump()
    data["registry"].update(source="file", path=str(path))
    data["counties"] = sorted(keep)
    data["allocation"].update(yield_replications=2, loop_rounds=0)
    scenario = type(small).model_validate(data)
    run_to_directory(scenario, tmp_path / "run", replications=2)
    tables = load_run(tmp_path / "run")
    assert set(tables.households["county_id"].astype(str)) == keep
    targets = tables.exit_targets
    assert set(targets["county_id"]) == keep
    registered = households[households["is_registered"]].groupby("county_id", observed=True).size()
    for county in keep:
        assert (
            targets.loc[targets["county_id"] == county, "n_registered"] == registered[county]
        ).all()
