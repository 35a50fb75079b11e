"""The report's figures on disk: ``figures/<stem>.png`` and ``.svg``, drawn by forked workers.

:func:`start_figures` starts writing a report's figures and returns the call that waits for
them, so that the report bundle writes its other parts meanwhile; each figure is one task of a
pool of forked processes (they inherit the figures, nothing is pickled but the PNG bytes sent
back for the report to embed). A figure's files do not depend on the number of workers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from matplotlib.figure import Figure

__all__ = ["FIGURE_DPI", "Saved", "save_figure", "start_figures"]

#: Resolution of the PNG files (the report embeds its own copies at a lower resolution).
FIGURE_DPI = 150

#: The figures' files (``figure:<stem>.png|svg``) and each figure's PNG bytes.
Saved = tuple[dict[str, Path], dict[str, bytes]]


def save_figure(fig: Figure, folder: Path, stem: str) -> tuple[Path, Path, bytes]:
    """Write ``<stem>.png`` and ``<stem>.svg``; return the paths and the PNG bytes (rendered
    once, also embedded in the report)."""
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, facecolor="white")
    png.write_bytes(buffer.getvalue())
    fig.savefig(svg, facecolor="white", metadata={"Date": None})
    return png, svg, buffer.getvalue()


# The figures a forked worker inherits (set in the parent just before the fork).
_FIGURES: dict[str, Figure] = {}


def _save_shared(job: tuple[str, str]) -> bytes:
    """Save one of :data:`_FIGURES` (in a forked worker); return its PNG bytes."""
    stem, folder = job
    return save_figure(_FIGURES[stem], Path(folder), stem)[2]


def start_figures(figs: Mapping[str, Figure], out: Path, workers: int) -> Callable[[], Saved]:
    """Start writing the figures; return the call that waits for them and gives the files
    and the PNG bytes of each.

    With ``workers > 1`` the figures are drawn by that many forked processes (each inherits
    the figures, one figure a task) while the caller goes on; the files are the same.
    """
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    stems = list(figs)
    written = {
        f"figure:{stem}.{ext}": folder / f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")
    }
    if workers <= 1 or len(stems) < 2:
        rendered = {stem: save_figure(fig, folder, stem)[2] for stem, fig in figs.items()}
        return lambda: (written, rendered)
    _FIGURES.update(figs)
    pool = ProcessPoolExecutor(min(workers, len(stems)), mp_context=get_context("fork"))
    try:  # with fork, every worker is started (with the figures) on the first submit
        futures = [pool.submit(_save_shared, (stem, str(folder))) for stem in stems]
    finally:
        _FIGURES.clear()

    def wait() -> Saved:
        try:
            return written, {stem: f.result() for stem, f in zip(stems, futures, strict=True)}
        finally:
            pool.shutdown(cancel_futures=True)

    return wait
