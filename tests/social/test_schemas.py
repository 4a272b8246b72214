"""What the social services accept: an allow-list, a stripped body, lengths the columns allow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alchemy_patterns.domains.social.models import COMMENT_MAX_LENGTH, POST_MAX_LENGTH
from alchemy_patterns.domains.social.schemas import CommentIn, PostIn

Schema = type[PostIn] | type[CommentIn]
LIMITS = [(PostIn, POST_MAX_LENGTH), (CommentIn, COMMENT_MAX_LENGTH)]


def refused_fields(schema: Schema, data: dict[str, object]) -> list[tuple[object, ...]]:
    """The locations pydantic names when it refuses ``data``."""
    with pytest.raises(ValidationError) as failure:
        schema.model_validate(data)
    return [error["loc"] for error in failure.value.errors()]


@pytest.mark.parametrize("schema", [PostIn, CommentIn])
def test_an_unknown_field_is_refused(schema: Schema) -> None:
    assert refused_fields(schema, {"body": "hi", "author_id": 1}) == [("author_id",)]


@pytest.mark.parametrize("schema", [PostIn, CommentIn])
@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
def test_an_empty_or_blank_body_is_refused_naming_the_field(schema: Schema, body: str) -> None:
    assert refused_fields(schema, {"body": body}) == [("body",)]


@pytest.mark.parametrize(("schema", "limit"), LIMITS)
def test_a_body_over_the_limit_is_refused_naming_the_field(schema: Schema, limit: int) -> None:
    assert refused_fields(schema, {"body": "x" * (limit + 1)}) == [("body",)]


@pytest.mark.parametrize(("schema", "limit"), LIMITS)
def test_a_body_at_the_limit_is_accepted_once_stripped(schema: Schema, limit: int) -> None:
    data = schema.model_validate({"body": "  " + "x" * limit + "  "})

    assert data.body == "x" * limit


@pytest.mark.parametrize("schema", [PostIn, CommentIn])
def test_a_missing_body_is_refused(schema: Schema) -> None:
    assert refused_fields(schema, {}) == [("body",)]
