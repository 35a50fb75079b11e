"""What several ``fupinsim`` commands share (layer 8, beside :mod:`fupinsim.cli`).

:func:`out_option` is the ``--out`` of every command that writes somewhere: one definition of
its name, path type and the way the command's own help names the default place.
:data:`replications_option` and :data:`workers_option` are the options of the commands that
simulate; :func:`planner_errors` turns fupinsim errors into one message and an exit code;
:func:`stage_bar` and :func:`count_bar` are the progress bars on stderr (over named stages,
and over a count of units or chunks).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fupinsim.errors import FupinsimError, InputError, TargetsNotMetError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXIT_INPUT",
    "EXIT_TARGETS",
    "RunOptions",
    "SimulateOptions",
    "count_bar",
    "dask_options",
    "met_text",
    "out_option",
    "planner_errors",
    "replications_option",
    "stage_bar",
    "workers_option",
]

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)

#: Exit code of a bad input (one message on stderr, no traceback).
EXIT_INPUT = 2
#: Exit code of a ``--strict`` run whose targets cannot be met.
EXIT_TARGETS = 3


def out_option(
    help: str, *, dest: str = "out", file: bool = False, required: bool = False
) -> Callable[[F], F]:
    """The ``--out PATH`` option: a folder (the default) or, with ``file=True``, a file.

    Parameters
    ----------
    help
        The command's help text for it (what is written there and the default place).
    dest
        The command's parameter that receives the path (``None`` when not given).
    file
        ``True`` for a file path (a folder is refused), else a folder path (a file is refused).
    required
        Whether the command needs it.
    """
    kind = (
        click.Path(dir_okay=False, path_type=str)
        if file
        else click.Path(file_okay=False, path_type=str)
    )
    return click.option("--out", dest, required=required, default=None, type=kind, help=help)


def dask_options(verb: str) -> Callable[[F], F]:
    """``--scheduler`` and ``--worker-memory`` of a registered-only (national) scenario's
    chunks on Dask; ``verb`` says what is done with the chunks (``run``, ``project``)."""
    scheduler = click.option(
        "--scheduler",
        default=None,
        help=f"Registered-only (national) scenarios: {verb} the chunks on Dask, 'local' (a "
        "LocalCluster of --workers processes) or a scheduler address (tcp://host:8786).",
    )
    memory = click.option(
        "--worker-memory",
        default="3GiB",
        show_default=True,
        help="Memory limit per Dask worker of --scheduler local.",
    )

    def decorate(command: F) -> F:
        return scheduler(memory(command))

    return decorate


#: Options shared by the commands that simulate (same meaning everywhere).
replications_option = click.option(
    "--replications",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Monte Carlo replications (default: the scenario's).",
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=lambda: max(1, min(os.cpu_count() or 1, 64)),
    show_default="the machine's cores",
    help="Kernel threads for the microsimulation (results do not depend on it).",
)


@dataclass(frozen=True, slots=True)
class SimulateOptions:
    """What ``fupinsim simulate`` was given besides its scenario (handed to its branches).

    ``plan_name`` is a plan file or ``baseline``/``uniform_1230``; ``replications`` ``None``
    means the scenario's; ``chunk_size`` households per chunk (``None``: the default);
    ``out`` the folder (``None``: ``outputs/<scenario>/simulate``); ``scheduler`` a Dask
    address or ``local`` (national scenarios only), ``worker_memory`` per Dask worker.
    """

    plan_name: str
    replications: int | None
    workers: int
    chunk_size: int | None
    out: str | None
    scheduler: str | None
    worker_memory: str


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``fupinsim run`` was given besides its scenario (handed to its branches).

    ``objective`` ``None`` means the scenario's; ``out`` the folder (``None``:
    ``outputs/<scenario>``); ``registry_path`` a registry file instead of the synthetic one;
    ``sample_households`` the national sample's registered households (``None``: default);
    ``scheduler`` a Dask address or ``local`` (national scenarios only), ``worker_memory`` per
    Dask worker.
    """

    objective: str | None
    out: str | None
    registry_path: str | None
    replications: int | None
    workers: int
    strict: bool
    sample_households: int | None
    scheduler: str | None = None
    worker_memory: str = "3GiB"


def _debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and root.obj and root.obj.get("debug"))


def planner_errors(func: F) -> F:
    """Turn fupinsim errors into one message and an exit code (traceback only with --debug).

    Bad input exits :data:`EXIT_INPUT`, unmet ``--strict`` targets :data:`EXIT_TARGETS`, any
    other fupinsim error 1.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FupinsimError as exc:
            if _debug_enabled():
                raise
            code = EXIT_TARGETS if isinstance(exc, TargetsNotMetError) else EXIT_INPUT
            if not isinstance(exc, InputError | TargetsNotMetError):
                code = 1
            click.echo(f"error: {exc}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


@contextmanager
def stage_bar(description: str, stages: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``stages`` (stderr, with total and ETA); yields the ``step`` callback.

    Each stage name is also logged (``logs/run.log``). A stage the run skips (the closed loop
    stopping early) counts as done when a later one starts; names not in ``stages`` (the
    pipeline's closing ``done``) only log.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from fupinsim.io.logs import PACKAGE_LOGGER, STAGE_PREFIX

    with (
        tqdm(total=len(stages), desc=description, unit="stage", file=sys.stderr) as bar,
        logging_redirect_tqdm([logging.getLogger(PACKAGE_LOGGER)]),  # messages above the bar
    ):

        def step(name: str) -> None:
            logger.info("%s%s", STAGE_PREFIX, name)
            if name in stages:
                bar.update(max(0, stages.index(name) - bar.n))
                bar.set_postfix_str(name)

        yield step
        bar.update(bar.total - bar.n)
        bar.set_postfix_str("done")


@contextmanager
def count_bar(
    description: str, *, unit: str, total: int = 0
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr over a count; yields the ``progress(done, total)`` callback.

    The callback sets the bar to ``done`` of ``total`` (the engine reports both, the total
    only once it knows it), the form :func:`fupinsim.microsim.simulate` and the national runs
    take as ``progress``.
    """
    from tqdm import tqdm

    with tqdm(total=total, desc=description, unit=unit, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        yield progress


def met_text(target_probability: pd.DataFrame, last_year: int) -> str:
    """``targets with P(met) >= 0.9: N of M`` over the targets up to ``last_year`` (the plan's
    last funded year), the closing words of ``simulate``'s summary line."""
    met = target_probability[target_probability["year"] <= last_year]
    return f"targets with P(met) >= 0.9: {int((met['p_met'] >= 0.9).sum())} of {len(met)}"
