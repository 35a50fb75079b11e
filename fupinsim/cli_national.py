"""The national (registered-only) branches of ``fupinsim simulate`` and ``fupinsim run``.

Registered-only scenarios (``registry.include_nonregistered: false``, e.g.
``scenarios/national_2014.yaml``) never build their registry whole: ``simulate`` streams the
chunked projection (:func:`fupinsim.io.national_run.simulate_national_to_directory`), ``run``
takes yields from a stratified sample, solves the LP on national counts and projects the plan
chunk by chunk (:func:`fupinsim.io.national_run.run_national_to_directory`). Both write into a
hidden work folder renamed into place on success, with a progress bar per chunk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fupinsim.cli_options import RunOptions, SimulateOptions, count_bar, met_text, stage_bar
from fupinsim.errors import InputError
from fupinsim.io.logs import run_log
from fupinsim.io.national_run import (
    NATIONAL_NOTE,
    NATIONAL_RUN_STAGES,
    run_national_to_directory,
    simulate_national_to_directory,
)
from fupinsim.io.outputs import atomic_output_dir, environment_info, write_manifest
from fupinsim.registry import n_registry_chunks
from fupinsim.scenario import Scenario

__all__ = ["run_national_command", "simulate_national_command"]


def simulate_national_command(loaded: Any, options: SimulateOptions) -> None:
    """``simulate`` of a registered-only scenario: chunks generated in the workers, streamed."""
    plan_name, out, chunk_size = options.plan_name, options.out, options.chunk_size
    if plan_name not in {"baseline", "uniform_1230"}:
        raise InputError.single(
            "--plan",
            plan_name,
            "must be 'baseline' or 'uniform_1230' for a registered-only (national) scenario",
            fix="its registry is generated chunk by chunk in the workers; a plan file would "
            "need the whole registry",
        )
    folder = Path(out) if out else Path("outputs") / loaded.id / "simulate"
    chunks = n_registry_chunks(loaded, chunk_size)
    with (
        count_bar(f"simulate {loaded.id}", unit="chunk", total=chunks) as progress,
        atomic_output_dir(folder) as work,
    ):
        result = simulate_national_to_directory(
            loaded,
            work,
            plan_name,
            replications=options.replications,
            workers=options.workers,
            chunk_households=chunk_size,
            scheduler=options.scheduler,
            worker_memory=options.worker_memory,
            progress=progress,
        )
    click.echo(
        f"{folder}: {result.meta['households']:,} households in {result.meta['chunks']} chunks, "
        f"{result.meta['replications']} replications, {result.meta['seconds']:.1f} s; "
        f"{met_text(result.target_probability, loaded.funding.last_year)}. {NATIONAL_NOTE}"
    )


def run_national_command(loaded: Scenario, options: RunOptions) -> None:
    """``run`` of a registered-only scenario (:func:`fupinsim.io.national_run`), atomically.

    ``options.scheduler`` (``local`` or a Dask scheduler address) projects the chunks on Dask;
    the tables equal the process pool's."""
    folder = Path(options.out) if options.out else Path("outputs") / loaded.id
    with (
        atomic_output_dir(folder) as work,
        stage_bar(f"run {loaded.id}", NATIONAL_RUN_STAGES) as step,
        count_bar("chunks", unit="chunk", total=n_registry_chunks(loaded)) as progress,
        run_log(work),
    ):
        fields = run_national_to_directory(
            loaded,
            work,
            objective=options.objective,
            replications=options.replications,
            workers=options.workers,
            step=step,
            progress=progress,
            sample_households=options.sample_households,
            scheduler=options.scheduler,
            worker_memory=options.worker_memory,
        )
        write_manifest(
            {
                "status": "ok",
                "command": "run",
                "scenario_id": loaded.id,
                "scenario_hash": loaded.hash,
                "seed": loaded.seed,
                "environment": environment_info(),
                **fields,
            },
            work,
        )
    click.echo(
        f"{folder}: national run complete ({fields['solver']} {fields['solver_status']}), "
        f"{fields['households']:,} households in {fields['chunks']} chunks; "
        f"{fields['targets_missed']} county-year targets cannot be met. {NATIONAL_NOTE}"
    )
    click.echo(f"report: {folder / 'report.html'}")
