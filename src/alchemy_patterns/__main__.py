"""``python -m alchemy_patterns``: the same as the ``alchemy-patterns`` command."""

from alchemy_patterns.cli import main

main()
