"""The one version number of the distribution, read from its installed metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deltagrad")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
