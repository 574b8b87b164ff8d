"""The `deltagrad` command line (``deltagrad ...`` or ``python -m deltagrad ...``).

The library lives in `autodiff`, `nn` and `viz`; this package only turns shell arguments into calls
of theirs. `deltagrad.cli.main` is the entry point.
"""

from autodiff import __version__

__all__ = ["__version__"]
