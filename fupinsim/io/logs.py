"""Log handlers for the command line and for run folders (``logs/run.log``).

The package only creates loggers (``logging.getLogger(__name__)``, all below ``fupinsim``) and
never configures the root logger. Two places attach handlers to the ``fupinsim`` logger:

* the command line (:func:`configure_console`): one line per record on stderr, from the level
  the user chose (``--verbose``, ``--quiet``, ``--log-level``);
* a run, for as long as it writes into its folder (:func:`run_log`): every record of level
  INFO and above into ``<folder>/logs/run.log``, one line each, ``<UTC time> <message>``, so the
  file tells when each step started and ended, in which process, and why it failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

__all__ = ["PACKAGE_LOGGER", "RUN_LOG", "STAGE_PREFIX", "configure_console", "run_log"]

#: The logger every fupinsim module logs below.
PACKAGE_LOGGER = "fupinsim"

#: The log file of a run, relative to its folder.
RUN_LOG = Path("logs") / "run.log"

#: A run logs ``<STAGE_PREFIX><stage name>`` as each pipeline stage starts (progress bars read it).
STAGE_PREFIX = "pipeline stage: "

_CONSOLE_MARK = "_fupinsim_console"


class _UTCFormatter(logging.Formatter):
    """``2026-12-07T12:00:00+00:00 message``: the time in ISO 8601 UTC to the second."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
        text = f"{stamp} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _ConsoleFormatter(logging.Formatter):
    """``warning: message`` (``info:``, ``debug: [module]`` …); the level in lower case."""

    def format(self, record: logging.LogRecord) -> str:
        where = f" [{record.name}]" if record.levelno <= logging.DEBUG else ""
        return f"{record.levelname.lower()}{where}: {record.getMessage()}"


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (as tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_console(level: int | str = logging.WARNING) -> logging.Handler:
    """Send ``fupinsim`` log records of ``level`` and above to stderr, one line each.

    Calling it again replaces the handler it installed before (no double lines).

    Parameters
    ----------
    level:
        A ``logging`` level (``logging.INFO``) or its name (``"info"``).

    Returns
    -------
    logging.Handler
        The handler installed.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    logger = logging.getLogger(PACKAGE_LOGGER)
    for old in [h for h in logger.handlers if getattr(h, _CONSOLE_MARK, False)]:
        logger.removeHandler(old)
    handler = _CurrentStderrHandler()
    setattr(handler, _CONSOLE_MARK, True)
    handler.setLevel(numeric)
    handler.setFormatter(_ConsoleFormatter())
    logger.addHandler(handler)
    logger.setLevel(numeric)
    return handler


@contextmanager
def run_log(folder: str | Path, level: int = logging.INFO) -> Iterator[Path]:
    """Append every ``fupinsim`` log record of ``level`` and above to ``<folder>/logs/run.log``.

    The handler is removed (and the file closed) when the block ends, also on an error; the
    ``fupinsim`` logger's level is lowered to ``level`` for the block if needed and restored
    after it. Several processes may append to the same file one after another (the steps of
    a batch scenario do).

    Yields
    ------
    Path
        The log file.
    """
    path = Path(folder) / RUN_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(PACKAGE_LOGGER)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(_UTCFormatter())
    previous = logger.level
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(previous)
