"""The catalogue (admins manage it), the signed-in user's cart, checkout and orders."""

from __future__ import annotations

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from alchemy_patterns.domains.schemas import Id
from alchemy_patterns.domains.shop import services
from alchemy_patterns.domains.shop.schemas import (
    AddToCart,
    CartItemOut,
    CartView,
    OrderFilter,
    OrderOut,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductUpdate,
    ProductVersionOut,
    Reprice,
    RevertProduct,
    SetQuantity,
)
from alchemy_patterns.web import preconditions
from alchemy_patterns.web.auth import BEARER, SIGNED_IN, AdminRoutes, current_user
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.responses import created, json_response, no_content
from alchemy_patterns.web.schemas import (
    SEARCH_HELP,
    AsOfQuery,
    Header,
    PageOut,
    PageQuery,
    Problem,
    page_out,
)

bp = APIBlueprint(
    "shop",
    __name__,
    abp_tags=[
        Tag(
            name="shop",
            description=(
                "The catalogue (staff manage it), the signed-in account's cart, "
                "checkout and orders."
            ),
        )
    ],
)
admin = AdminRoutes(bp)


class ProductPath(BaseModel):
    product_id: Id


class OrderPath(BaseModel):
    order_id: Id


class ProductQuery(PageQuery, ProductFilter):
    search: str | None = Field(None, max_length=200, description="part of the name, in any case")
    q: str | None = Field(None, min_length=1, max_length=200, description=SEARCH_HELP)

    def filters(self) -> ProductFilter:
        return ProductFilter.model_validate(
            self.model_dump(include=set(ProductFilter.model_fields))
        )


class OrderQuery(PageQuery, OrderFilter):
    pass


class Restock(BaseModel):
    quantity: int = Field(ge=1, le=1_000_000)


class Repriced(BaseModel):
    repriced: int


class IdempotencyHeader(Header):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="retrying with the same key returns the first order, never a second",
    )


# --- catalogue ---------------------------------------------------------------------------------


@bp.get("/products", responses={200: PageOut[ProductOut]})
def list_products(query: ProductQuery) -> Response:
    """The catalogue, a page of products by name, or filtered and sorted as asked.

    `name` keeps the names that start with it, `search` those that contain it;
    `q` searches the words of the name and the description, best match first
    unless `sort` is given; `min_price` and `max_price` bound the price,
    `in_stock` keeps the products in stock (or, false, those sold out); `sort`
    orders by `name` or `price`, `-` for descending (`sort=-price,name`). An
    unknown sort field is a 422 naming it. Filters and sort work with `page`
    and with `cursor`; a search by relevance pages by `page` only (a `cursor`
    with `q` and no `sort` is a 422).
    """
    page = services.list_products(
        db_session(), search=query.search, q=query.q, filters=query.filters(), **query.paging()
    )
    return json_response(page_out(page))


PRODUCT = "/products/<int:product_id>"
preconditions.register(PRODUCT)


@bp.get(PRODUCT, responses={200: ProductOut, 404: Problem})
def get_product(path: ProductPath, query: AsOfQuery) -> Response:
    """One product, with its price, stock and `ETag`; 304 if `If-None-Match` names it.

    With `as_of`, the product as it was at that instant (no `ETag`: it is not
    the current version); 404 before it existed.
    """
    if query.as_of is not None:
        return json_response(services.product_as_of(db_session(), path.product_id, query.as_of))
    return preconditions.versioned(services.get_product(db_session(), path.product_id))


@bp.get(f"{PRODUCT}/history", responses={200: PageOut[ProductVersionOut], 404: Problem})
def product_history(path: ProductPath, query: PageQuery) -> Response:
    """The versions of a product that changes replaced, newest first, with who and when."""
    page = services.product_history(db_session(), path.product_id, **query.paging())
    return json_response(page_out(page))


REVERT = f"{PRODUCT}/revert"
preconditions.register(REVERT, post=True)


@admin.post(REVERT, responses={200: ProductOut, 404: Problem, 409: Problem})
def revert_product(path: ProductPath, body: RevertProduct) -> Response:
    """Give the product the name, price and availability of an earlier version: a new version.

    Its stock stays as it is. Only if `If-Match` names the current version
    (412 when stale, 428 without it); a version never stored is 404.
    """
    expected = preconditions.expected_version(path.product_id)
    product = services.revert_product(db_session(), path.product_id, body.version, expected)
    return preconditions.versioned(product)


@admin.post("/products", responses={201: ProductOut, 409: Problem})
def create_product(body: ProductIn) -> Response:
    """Add a product to the catalogue; a name already taken is 409."""
    product = services.create_product(db_session(), body)
    return preconditions.versioned(product, 201, Location=f"/products/{product.id}")


@admin.patch(PRODUCT, responses={200: ProductOut, 404: Problem})
def update_product(path: ProductPath, body: ProductUpdate) -> Response:
    """Change a product's name, price or availability (only the fields sent).

    Only if `If-Match` names the product's current version: 412 when it is
    stale (with the current `ETag`), 428 without it.
    """
    expected = preconditions.expected_version(path.product_id)
    product = services.update_product(db_session(), path.product_id, body, expected)
    return preconditions.versioned(product)


@admin.post("/products/<int:product_id>/restock", responses={200: ProductOut, 404: Problem})
def restock_product(path: ProductPath, body: Restock) -> Response:
    """Add units to a product's stock."""
    return preconditions.versioned(services.restock(db_session(), path.product_id, body.quantity))


@admin.post("/products/reprice", responses={200: Repriced})
def reprice_products(body: Reprice) -> Response:
    """Change the price of the matched products by a percentage; past orders keep theirs."""
    return json_response(Repriced(repriced=services.reprice(db_session(), body)))


# --- cart ----------------------------------------------------------------------------------------


@bp.get("/cart", responses={200: CartView, **SIGNED_IN}, security=BEARER)
def get_cart() -> Response:
    """The cart's lines, subtotals and total, computed by the database in one statement."""
    return json_response(services.cart_view(db_session(), current_user().id))


@bp.post(
    "/cart/items",
    responses={200: CartItemOut, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def add_to_cart(body: AddToCart) -> Response:
    """Add to the quantity of a product in the cart (atomically: no lost increments)."""
    item = services.add_to_cart(db_session(), current_user().id, body.product_id, body.quantity)
    return json_response(item)


@bp.put(
    "/cart/items/<int:product_id>",
    responses={200: CartItemOut, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def set_quantity(path: ProductPath, body: SetQuantity) -> Response:
    """Set a line's quantity (0 removes it)."""
    item = services.set_quantity(db_session(), current_user().id, path.product_id, body.quantity)
    return json_response(item)


@bp.delete(
    "/cart/items/<int:product_id>",
    responses={204: None, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def remove_from_cart(path: ProductPath) -> Response:
    """Take a product out of the cart; one that is not in it is 404."""
    services.remove_from_cart(db_session(), current_user().id, path.product_id)
    return no_content()


@bp.delete("/cart", responses={204: None, **SIGNED_IN}, security=BEARER)
def clear_cart() -> Response:
    """Empty the cart."""
    services.clear_cart(db_session(), current_user().id)
    return no_content()


# --- checkout and orders -----------------------------------------------------------------------


@bp.post(
    "/checkout",
    responses={200: OrderOut, 201: OrderOut, 409: Problem, **SIGNED_IN},
    security=BEARER,
)
def checkout(header: IdempotencyHeader) -> Response:
    """Turn the cart into an order, all or nothing (409 names every short line).

    With an ``Idempotency-Key``, a retry returns the first order (200)
    instead of placing another.
    """
    user_id = current_user().id
    if header.idempotency_key is None:
        order, new = services.checkout(db_session(), user_id), True
    else:
        order, new = services.checkout_once(db_session(), user_id, header.idempotency_key)
    location = f"/orders/{order.id}"
    return created(order, location) if new else json_response(order, Location=location)


@bp.get("/orders", responses={200: PageOut[OrderOut], **SIGNED_IN}, security=BEARER)
def list_orders(query: OrderQuery) -> Response:
    """The caller's orders, newest first, each with its lines; filtered and sorted as asked.

    `status` keeps one status, `placed_from` and `placed_to` bound the UTC day
    placed (both included); `sort` orders by `created_at` or `total`, `-` for
    descending. An unknown sort field is a 422 naming it.
    """
    filters = OrderFilter.model_validate(query.model_dump(include=set(OrderFilter.model_fields)))
    page = services.order_history(db_session(), current_user().id, filters, **query.paging())
    return json_response(page_out(page))


@bp.get(
    "/orders/<int:order_id>",
    responses={200: OrderOut, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_order(path: OrderPath) -> Response:
    """One of the caller's orders; anyone else's is 404."""
    return json_response(services.get_order(db_session(), current_user().id, path.order_id))
