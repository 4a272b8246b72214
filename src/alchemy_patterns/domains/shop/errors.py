"""Errors of the shop."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from alchemy_patterns.db import Conflict, ValidationFailed


@dataclass(frozen=True)
class Shortage:
    product_id: int
    sku: str
    name: str
    requested: int
    available: int


class OutOfStock(Conflict):
    """Some lines of a checkout cannot be served; names every one of them."""

    code = "out_of_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        described = ", ".join(
            f"{s.name} ({s.sku}): {s.requested} requested, {s.available} available"
            for s in shortages
        )
        super().__init__(f"not enough stock for {described}", columns=("stock",), table="products")

    @property
    def details(self) -> dict[str, Any]:
        """What an API client needs to fix the cart: every short line."""
        return {"shortages": [asdict(shortage) for shortage in self.shortages]}


class EmptyCart(ValidationFailed):
    code = "empty_cart"

    def __init__(self) -> None:
        super().__init__("the cart is empty: there is nothing to check out", columns=("cart",))
