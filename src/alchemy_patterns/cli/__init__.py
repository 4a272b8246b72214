"""The ``alchemy-patterns`` command line."""

from alchemy_patterns._extras import require_app_extra

require_app_extra("the alchemy-patterns command", exit_=True)

from alchemy_patterns.cli.main import cli, main  # noqa: E402 (after the check that it can run)

__all__ = ["cli", "main"]
