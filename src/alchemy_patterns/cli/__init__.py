"""The ``alchemy-patterns`` command line."""

from alchemy_patterns.cli.main import cli, main

__all__ = ["cli", "main"]
