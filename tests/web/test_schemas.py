"""The web layer's own models: query and header schemas are generated once, and never changed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from alchemy_patterns.web.api.shop import IdempotencyHeader
from alchemy_patterns.web.schemas import PageQuery

#: pydantic's own ``model_json_schema``, beneath the cache.
GENERATE = BaseModel.model_json_schema.__func__  # type: ignore[attr-defined]


def test_a_query_or_header_schema_is_pydantics_own() -> None:
    assert PageQuery.model_json_schema() == GENERATE(PageQuery)
    assert IdempotencyHeader.model_json_schema() == GENERATE(IdempotencyHeader)


@pytest.mark.parametrize("model", [PageQuery, IdempotencyHeader])
def test_a_query_or_header_schema_is_made_once_per_model(
    monkeypatch: pytest.MonkeyPatch, model: type[BaseModel]
) -> None:
    class Counted(model):  # type: ignore[valid-type, misc]
        pass

    made: list[type[BaseModel]] = []

    def counting(cls: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
        made.append(cls)
        return GENERATE(cls, *args, **kwargs)

    monkeypatch.setattr(BaseModel, "model_json_schema", classmethod(counting))

    first, second = Counted.model_json_schema(), Counted.model_json_schema()

    assert (made, first) == ([Counted], second)


def test_a_shared_query_schema_refuses_to_be_changed() -> None:
    schema = PageQuery.model_json_schema()

    with pytest.raises(TypeError, match="read-only"):
        schema["properties"].clear()
    with pytest.raises(TypeError, match="read-only"):
        schema["properties"]["page"]["minimum"] = 0

    assert {"page", "per_page"} <= set(PageQuery.model_json_schema()["properties"])
