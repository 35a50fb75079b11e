"""Click options that several ``fupinsim`` commands share (layer 8, beside :mod:`fupinsim.cli`).

:func:`out_option` is the ``--out`` of every command that writes somewhere: one definition of
its name, path type and the way the command's own help names the default place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["out_option"]

F = TypeVar("F", bound=Callable[..., Any])


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
