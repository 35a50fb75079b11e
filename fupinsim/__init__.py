"""fupinsim: a planning and simulation workbench for targeted poverty alleviation.

Layers (a module imports only from its own layer or the layers above it):

1. ``errors``, ``units``
2. ``scenario``, ``rng``, ``data``
3. ``registry``
4. ``microsim``, ``funding``
5. ``allocate``
6. ``pipeline``, ``assess``
7. ``plots``, ``report``, ``io``
8. ``batch``, ``cli``, ``widgets``
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fupinsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
