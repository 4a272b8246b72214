"""What goes into and comes out of the accounts services.

Input models list what a client may set and nothing more (``extra="forbid"``):
no id, role, active flag or hash. Output models never carry the hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr

from alchemy_patterns.domains.accounts.models import (
    BIO_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    Role,
)
from alchemy_patterns.domains.schemas import Input

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # hashing a megabyte per login attempt is a denial of service


def _lower(value: str) -> str:
    return value.lower()


#: Stored lower case: that is what makes uniqueness case-insensitive (see the models).
Username = Annotated[
    str,
    Field(min_length=3, max_length=USERNAME_MAX_LENGTH, pattern=r"^[A-Za-z0-9_.-]+$"),
    AfterValidator(_lower),
]
Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(_lower)]
Password = Annotated[
    SecretStr, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]


class RegisterUser(Input):
    username: Username
    email: Email
    password: Password
    bio: str | None = Field(default=None, max_length=BIO_MAX_LENGTH)


class Credentials(Input):
    """A username or an e-mail address, and a password."""

    login: Annotated[str, Field(min_length=1, max_length=EMAIL_MAX_LENGTH), AfterValidator(_lower)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


class ChangePassword(Input):
    current_password: Annotated[SecretStr, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
    new_password: Password


class ProfileIn(Input):
    bio: str = Field(max_length=BIO_MAX_LENGTH)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    role: Role
    is_active: bool
    created_at: dt.datetime


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    bio: str
