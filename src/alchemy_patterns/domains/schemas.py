"""What every domain's input models share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Table

#: A row's id as a client may send it: positive, and within a 32-bit INTEGER
#: column on every backend, so a huge number is a 422, never a driver error.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def refuse_nul(value: Any) -> Any:
    """Text with a NUL character is refused: PostgreSQL cannot store it, and no one means it."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text may not contain NUL (\\x00) characters")
    return value


class Input(BaseModel):
    """An allow-list of what a client may set: an unknown field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    _no_nul = field_validator("*", mode="after")(refuse_nul)


def columns_for(output: type[BaseModel], entity: type[Any] | Table) -> list[Any]:
    """The ``entity`` columns that ``output`` shows, named by its fields, for a list to select.

    A list page reads rows of just these columns instead of whole ORM objects:
    no identity map, no instance state, no lazy-load machinery for 20 objects
    nobody will change; ``output.model_validate(row)`` reads them by name.
    Given the model's ``Table`` (``table_of(Model)``), they are Core columns:
    a statement of those runs without the ORM's per-execution work, which for
    a small read built once is the larger part of its cost.
    """
    if isinstance(entity, Table):
        return [entity.c[name] for name in output.model_fields]
    return [getattr(entity, name) for name in output.model_fields]


class VersionOut(BaseModel):
    """The version of a versioned record, shown next to its fields."""

    version: int = Field(description="moves with every change; the `ETag` is made from it")
