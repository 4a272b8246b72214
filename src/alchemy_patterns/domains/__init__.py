"""The application the guide describes, one package per domain.

Importing this package imports every domain's models, so ``metadata`` holds the
whole schema: Alembic compares it with the migrations, and tests create it.
Importing the audit package also installs its ORM listener.
"""

from alchemy_patterns.db import Base
from alchemy_patterns.domains import audit as audit
from alchemy_patterns.domains.accounts import models as accounts_models
from alchemy_patterns.domains.clinic import models as clinic_models
from alchemy_patterns.domains.school import models as school_models
from alchemy_patterns.domains.shop import models as shop_models
from alchemy_patterns.domains.social import models as social_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "clinic_models",
    "metadata",
    "school_models",
    "shop_models",
    "social_models",
]
