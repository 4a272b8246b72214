"""Schemathesis against our own /openapi.json: no 5xx, and every answer as documented.

Each operation of the document is a test of its own, called with a bounded
number of generated requests, signed in as an admin so that admin operations
are exercised too.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from alchemy_patterns.db import Database
from alchemy_patterns.settings import Settings
from alchemy_patterns.web.app import Api, create_app
from tests.web.conftest import Caller

EXAMPLES_PER_OPERATION = 15
#: The same examples every run, so that CI is repeatable; set
#: ALCHEMY_PATTERNS_FUZZ=random to explore new ones.
DERANDOMIZE = os.environ.get("ALCHEMY_PATTERNS_FUZZ", "fixed") != "random"
#: Schema-valid input may still break a rule of the domain (an empty cart, a
#: time in the past, a cursor that was never issued): a 4xx there is right.
NOT_CHECKED = [positive_data_acceptance]


def operations() -> list[tuple[str, str]]:
    """(path, method) of every documented operation, read without touching a database."""
    document = create_app(Settings(), db=Database("sqlite://")).api_doc
    return [(path, method) for path, item in document["paths"].items() for method in item]


@pytest.mark.parametrize(("path", "method"), operations())
def test_every_operation_answers_as_documented(
    app: Api, admin: Caller, path: str, method: str
) -> None:
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app)[path][method.upper()]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=DERANDOMIZE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=admin.headers, excluded_checks=NOT_CHECKED)

    answers_as_documented()
