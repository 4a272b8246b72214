"""A small schema for testing the data layer on its own, apart from the application."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from alchemy_patterns.db import (
    NAMING_CONVENTION,
    Base,
    Historied,
    SoftDeletable,
    TimestampMixin,
    UTCDateTime,
    Versioned,
    live_flag,
    text_enum,
    unique_while_live,
    utcnow,
)


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = Base.type_annotation_map


class Author(Model):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None]

    books: Mapped[list[Book]] = relationship(back_populates="author")
    profile: Mapped[AuthorProfile | None] = relationship(back_populates="author")


class AuthorProfile(Model):
    __tablename__ = "author_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), unique=True)
    bio: Mapped[str] = mapped_column(String(200))

    author: Mapped[Author] = relationship(back_populates="profile")


class Book(Model):
    __tablename__ = "books"
    __table_args__ = (CheckConstraint("price >= 0", name="price_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    published_at: Mapped[dt.datetime | None]

    author: Mapped[Author] = relationship(back_populates="books")


class Review(Model):
    """A child that keeps its parent: the book cannot be deleted while it exists."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="RESTRICT"), index=True)


class Counter(Model):
    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Event(TimestampMixin, Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    happened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=utcnow())


class Item(Model):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    quantity: Mapped[int] = mapped_column(default=0)
    price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class Measurement(Model):
    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor: Mapped[str] = mapped_column(String(50))
    reading: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(100))


class Document(Model):
    """A versioned model: every write says which version it was based on."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    words: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Note(Historied, Versioned, TimestampMixin, Model):
    """A historied model: every version a change replaces is kept in ``notes_history``."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[Status] = mapped_column(text_enum(Status, "status"), default=Status.DRAFT)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), index=True)


metadata = Model.metadata


class Shelf(SoftDeletable, Model):
    """Soft-deleted, with a name unique among live shelves, and volumes loaded lazily."""

    __tablename__ = "shelves"
    __table_args__ = unique_while_live("shelves", "name")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    live: Mapped[int | None] = live_flag()

    volumes: Mapped[list[Volume]] = relationship(back_populates="shelf", order_by="Volume.id")


class Volume(SoftDeletable, Model):
    __tablename__ = "volumes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("shelves.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))

    shelf: Mapped[Shelf] = relationship(back_populates="volumes")
