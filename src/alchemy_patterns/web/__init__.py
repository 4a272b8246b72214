"""The REST API: a Flask adapter over the domains' services.

Views parse and validate (pydantic, from the OpenAPI document's own models),
call one service, and serialise; the request owns the transaction. Nothing
below this package imports it.
"""

from alchemy_patterns._extras import require_app_extra

require_app_extra("alchemy_patterns.web")

from alchemy_patterns.web.app import create_app  # noqa: E402 (after the check that it can be)

__all__ = ["create_app"]
