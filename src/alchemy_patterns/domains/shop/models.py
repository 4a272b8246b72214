"""Products, carts and orders.

``CartItem`` and ``OrderItem`` are association objects: links between an
owner and a product that carry data of their own (a quantity; a price
snapshot). Every rule that must hold whatever the code does is also a
constraint in the schema: prices and stock never negative, one line per
product in a cart, one cart per user.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import (
    Base,
    Historied,
    TimestampMixin,
    Versioned,
    table_of,
    text_enum,
    utcnow,
)
from alchemy_patterns.db.search import full_text
from alchemy_patterns.db.sorting import Sorting
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.audit.models import Auditable

#: The most of one product a cart line or an order line may hold.
MAX_QUANTITY = 999
DESCRIPTION_MAX_LENGTH = 2000


class Product(Historied, Auditable, Versioned, TimestampMixin, Base):
    """A product; each change keeps the version it replaced in ``products_history``."""

    __tablename__ = "products"
    # A revert restores the catalogue's data, never the stock: units sold since stay sold.
    __history_keep__ = Historied.__history_keep__ | {"stock"}
    __table_args__ = (
        CheckConstraint("price >= 0", "price_nonnegative"),
        CheckConstraint("stock >= 0", "stock_nonnegative"),
        # The catalogue's order, so that a page of it is a range of this index.
        Index(None, "name", "id"),
        # The catalogue by price (sort=price, min_price, max_price): a range of this one.
        Index(None, "price", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH), server_default="")
    price: Mapped[Decimal]
    stock: Mapped[int] = mapped_column(default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.sku!r} {self.price}>"


# GET /products?q= searches the name (which counts most) and the description.
full_text(table_of(Product), "name", "description")


class Cart(Base):
    """One per user, created with the user; its lines go with it."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    user: Mapped[User] = relationship(lazy="raise")
    # delete-orphan: a line removed from the collection is deleted, not left
    # pointing at no cart; passive_deletes: ON DELETE CASCADE removes the
    # lines of a deleted cart without loading them first.
    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CartItem.id",
        lazy="raise",
    )


class CartItem(Base):
    """A product in a cart, with a quantity (the guide's association object)."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint(f"quantity > 0 AND quantity <= {MAX_QUANTITY}", "quantity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    added_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    cart: Mapped[Cart] = relationship(back_populates="items", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<CartItem cart={self.cart_id} product={self.product_id} qty={self.quantity}>"


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Order(Auditable, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total >= 0", "total_nonnegative"),
        # A user's orders newest first (the order history) is a range of this index.
        Index(None, "user_id", "id"),
        # Sorted or bounded by date (sort=created_at, placed_from, placed_to) or by total.
        Index(None, "user_id", "created_at", "id"),
        Index(None, "user_id", "total", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # An order is a record of a sale: the user cannot be deleted from under it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[OrderStatus] = mapped_column(
        text_enum(OrderStatus, "status"),
        default=OrderStatus.PLACED,
        server_default=OrderStatus.PLACED.value,
    )
    total: Mapped[Decimal]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow(), index=True)

    user: Mapped[User] = relationship(lazy="raise")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OrderItem.id",
        lazy="raise",
    )


class OrderItem(Base):
    """An order line: the price is a snapshot, never read from the product again."""

    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint(f"quantity > 0 AND quantity <= {MAX_QUANTITY}", "quantity_range"),
        CheckConstraint("price_at_purchase >= 0", "price_nonnegative"),
        CheckConstraint("subtotal = quantity * price_at_purchase", "subtotal_matches"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int]
    price_at_purchase: Mapped[Decimal]
    subtotal: Mapped[Decimal]

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")


class CheckoutKey(Base):
    """A client's ``Idempotency-Key`` for a checkout, and the order it produced.

    The key row is inserted before the order, in the same transaction: a
    second checkout with the same key waits on the primary key until the first
    commits, then finds its order instead of placing another. A checkout that
    fails rolls its key back with it, so the client may retry with the key.
    """

    __tablename__ = "checkout_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Indexed: deleting an order finds its key by it (ON DELETE CASCADE).
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())


# What each list may be sorted by; tests/test_indexes.py checks an index serves every one.
PRODUCT_SORTING = Sorting({"name": Product.name, "price": Product.price}, Product.id)
ORDER_SORTING = Sorting({"created_at": Order.created_at, "total": Order.total}, Order.id)
