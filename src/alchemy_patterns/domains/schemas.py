"""What every domain's input models share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: A row's id as a client may send it: positive, and within a 32-bit INTEGER
#: column on every backend, so a huge number is a 422, never a driver error.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Input(BaseModel):
    """An allow-list of what a client may set: an unknown field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
