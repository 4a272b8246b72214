"""What goes into and comes out of the shop services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from alchemy_patterns.db.sorting import SORT_PATTERN
from alchemy_patterns.domains.schemas import Id, Input, ReplacedOut, RevertTo
from alchemy_patterns.domains.shop.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_QUANTITY,
    ORDER_SORTING,
    PRODUCT_SORTING,
    OrderStatus,
)


def _to_cents(amount: Decimal) -> Decimal:
    """12.5 -> 12.50: the form the database stores, so every reader sees the same text."""
    return amount.quantize(Decimal("0.01"))


#: Exactly representable in the database's NUMERIC(12, 2); floats never get this far.
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(_to_cents)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[
    str, Field(max_length=DESCRIPTION_MAX_LENGTH, description="what `q` searches, with the name")
]


class ProductIn(Input):
    sku: Sku
    name: Name
    description: Description = ""
    price: Price
    stock: int = Field(default=0, ge=0, le=1_000_000_000)


#: What the catalogue may be sorted by (each read by an index of products, with the id).
PRODUCT_SORT_FIELDS = tuple(PRODUCT_SORTING.fields)


class ProductFilter(BaseModel):
    """How the catalogue is narrowed and ordered; every field is optional."""

    name: str | None = Field(
        None, min_length=1, max_length=200, description="the start of the name, in any case"
    )
    min_price: Price | None = Field(None, description="the lowest price, included")
    max_price: Price | None = Field(None, description="the highest price, included")
    in_stock: bool | None = Field(
        None, description="true: only products in stock; false: only those sold out"
    )
    sort: str | None = Field(
        None,
        pattern=SORT_PATTERN,
        description=(
            f"fields to order by, comma-separated, `-` for descending (`-price,name`): "
            f"{', '.join(PRODUCT_SORT_FIELDS)}. The id breaks ties. Default: name"
        ),
    )


#: A UTC day a query may name (the day after it must still be a date).
Day = Annotated[dt.date, Field(ge=dt.date(1000, 1, 1), le=dt.date(9999, 12, 30))]

#: What a user's orders may be sorted by (each read by an index of orders, after the user).
ORDER_SORT_FIELDS = tuple(ORDER_SORTING.fields)


class OrderFilter(BaseModel):
    """Which of a user's orders, in what order; every field is optional."""

    status: OrderStatus | None = None
    placed_from: dt.date | None = Field(
        None,
        ge=dt.date(1000, 1, 1),
        le=dt.date(9999, 12, 30),
        description="first UTC day, included",
    )
    placed_to: dt.date | None = Field(
        None, ge=dt.date(1000, 1, 1), le=dt.date(9999, 12, 30), description="last UTC day, included"
    )
    sort: str | None = Field(
        None,
        pattern=SORT_PATTERN,
        description=(
            f"fields to order by, comma-separated, `-` for descending (`-total`): "
            f"{', '.join(ORDER_SORT_FIELDS)}. The id breaks ties. Default: newest first"
        ),
    )


class ProductUpdate(Input):
    """Only the fields given are changed."""

    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    is_active: bool | None = None


class AddToCart(Input):
    product_id: Id
    quantity: Quantity = 1


class SetQuantity(Input):
    """A quantity of 0 removes the line."""

    quantity: int = Field(ge=0, le=MAX_QUANTITY)


class Reprice(Input):
    """Raise (or, negative, lower) by ``percent`` the price of the products matched."""

    percent: Decimal = Field(gt=-100, le=1000, max_digits=6, decimal_places=2)
    sku_prefix: str | None = Field(default=None, min_length=1, max_length=64)
    product_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000)


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str
    price: Decimal
    stock: int
    is_active: bool
    version: int = Field(description="moves with every change; the `ETag` is made from it")


class ProductVersionOut(ProductOut, ReplacedOut):
    """A version of a product that a change replaced: its values then, and who replaced it when."""


class RevertProduct(RevertTo):
    """Give the product the values it had at ``version`` (its stock stays as it is)."""


class CartLine(BaseModel):
    product_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    subtotal: Decimal
    available: bool


class CartView(BaseModel):
    items: list[CartLine]
    total: Decimal

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.items)


class CartItemOut(BaseModel):
    product_id: int
    quantity: int


class OrderItemOut(BaseModel):
    product_id: int
    sku: str
    name: str
    quantity: int
    price_at_purchase: Decimal
    subtotal: Decimal


class OrderOut(BaseModel):
    id: int
    status: OrderStatus
    total: Decimal
    created_at: dt.datetime
    items: list[OrderItemOut]
