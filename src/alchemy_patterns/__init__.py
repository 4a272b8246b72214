"""alchemy-patterns: the SQLAlchemy Advanced Patterns Guide, built for real."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alchemy-patterns")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
