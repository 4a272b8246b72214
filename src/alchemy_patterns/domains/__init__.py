"""The application the guide describes, one package per domain.

Importing this package imports every domain's models, so ``metadata`` holds the
whole schema: Alembic compares it with the migrations, and tests create it.
"""

from alchemy_patterns.db import Base

metadata = Base.metadata

__all__ = ["metadata"]
