"""The Jinja2 environment of the HTML pages, the shared stylesheet and embedded figures.

Templates live in ``fupinsim/templates/`` (package data) and are autoescaped. They are written
one element per line for reading; line breaks and the indentation that follows them are not
part of the output (:class:`JoinLines`), so pages stay compact and their bytes do not depend on
how a template is laid out. A template therefore never breaks a ``{{ … }}`` or ``{% … %}`` tag,
nor a run of text that needs its spaces, across lines.

Every value a template prints is escaped as :func:`html.escape` does (``&``, ``<``, ``>``,
``"``, ``'``), except :class:`markupsafe.Markup` (HTML built by another template or macro).
"""

from __future__ import annotations

import base64
import html
import io
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader
from jinja2.ext import Extension
from markupsafe import Markup

from fupinsim import __version__
from fupinsim.assess.labels import bilingual

if TYPE_CHECKING:  # only in annotations: a card's page renders without matplotlib
    from matplotlib.figure import Figure

__all__ = [
    "figure_data_uri",
    "figure_html",
    "inline_asset",
    "png_data_uri",
    "render",
    "stylesheet",
]

#: Screen size of a figure inch in the HTML pages (CSS pixels), so that every figure's text
#: shows at the same size whatever the figure's size (wide figures shrink to the page).
_PX_PER_INCH = 92
_NEWLINE = re.compile(r"\n[ \t]*")


class JoinLines(Extension):
    """Drop every line break of a template's source together with the next line's indentation."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _NEWLINE.sub("", source)


def _finalize(value: Any) -> Any:
    """Escape a printed value as :func:`html.escape` does; HTML (``Markup``) passes."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _num(value: Any, decimals: int = 0) -> str:
    """``1,234`` (thousands separators, ``decimals`` places)."""
    return f"{float(value):,.{decimals}f}"


def _pct(value: Any, decimals: int = 0) -> str:
    """``42%`` (a share 0-1 as percent)."""
    return f"{float(value):.{decimals}%}"


def _words(code: Any, section: str) -> str:
    """A code of ``labels.yaml``'s ``section`` in words, Chinese and English (``—`` if none)."""
    if code is None or code == "":
        return "—"
    return str(bilingual(section, code))


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fupinsim", "templates"),
        autoescape=True,
        extensions=[JoinLines],
        finalize=_finalize,
        keep_trailing_newline=False,
        auto_reload=False,  # package data: never changes while a process runs (no stat per page)
    )
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    env.filters["yesno"] = lambda value: "yes" if value else "no"
    env.filters["words"] = _words
    env.globals["version"] = __version__
    return env


def stylesheet(name: str = "fupinsim.css") -> Markup:
    """A stylesheet of ``fupinsim/templates`` without its heading comment, as pages inline it."""
    return inline_asset(name)


@cache
def inline_asset(name: str) -> Markup:
    """A stylesheet or script of ``fupinsim/templates`` without its heading comment, as pages
    inline it (our own file: not escaped)."""
    text = resources.files("fupinsim").joinpath("templates", name).read_text(encoding="utf-8")
    if text.startswith("/*"):
        text = text[text.index("*/\n") + 3 :]
    return Markup("\n" + text)  # our own file: inlined as it is


def render(template: str, **context: Any) -> str:
    """Render ``fupinsim/templates/<template>`` with ``context``."""
    return _environment().get_template(template).render(**context)


def figure_data_uri(fig: Figure, *, dpi: int = 110) -> str:
    """A figure as a ``data:image/png;base64,…`` URI (rendered in memory)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return png_data_uri(buffer.getvalue())


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,…`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _png_dpi(png: bytes) -> float:
    """Resolution stored in a PNG's pHYs chunk (matplotlib writes it), else 100."""
    index = png.find(b"pHYs")
    if index < 0:
        return 100.0
    per_metre = int.from_bytes(png[index + 4 : index + 8], "big")
    return per_metre * 0.0254 if per_metre else 100.0


def figure_html(fig: Figure | bytes | None, caption: str, alt: str) -> Markup:
    """A figure (or PNG bytes already rendered) embedded with its caption (empty without one)."""
    if fig is None:
        return Markup("")
    if isinstance(fig, bytes):
        png = fig
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, facecolor="white")
        png = buffer.getvalue()
    width = round(_png_size(png)[0] / _png_dpi(png) * _PX_PER_INCH)
    return Markup(
        render("figure.html", src=png_data_uri(png), alt=alt, width=width, caption=caption)
    )
