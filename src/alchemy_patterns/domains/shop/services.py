"""Shop services: each takes a ``Session``, does one unit of work, never commits.

The two that the guide gets wrong under concurrency:

* :func:`add_to_cart` adds to the stored quantity in one upsert, so two
  concurrent adds cannot both read 1 and both write 2;
* :func:`checkout` moves stock by conditional ``UPDATE ... WHERE stock >= :qty``
  in product order, so concurrent checkouts never oversell and never deadlock
  on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Unpack

from sqlalchemy import ColumnElement, Row, and_, delete, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from alchemy_patterns.db import (
    Base,
    Conflict,
    NotFound,
    Page,
    PageArgs,
    ValidationFailed,
    as_money,
    paginate,
    savepoint,
    scale_money,
    translating_errors,
    update_where,
    upsert,
)
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.schemas import RegisterUser, UserOut
from alchemy_patterns.domains.accounts.services import create_user
from alchemy_patterns.domains.audit.services import record_event
from alchemy_patterns.domains.schemas import columns_for
from alchemy_patterns.domains.shop.errors import EmptyCart, OutOfStock, Shortage
from alchemy_patterns.domains.shop.models import (
    MAX_QUANTITY,
    Cart,
    CartItem,
    CheckoutKey,
    Order,
    OrderItem,
    Product,
)
from alchemy_patterns.domains.shop.schemas import (
    CartItemOut,
    CartLine,
    CartView,
    OrderItemOut,
    OrderOut,
    ProductIn,
    ProductOut,
    ProductUpdate,
    Reprice,
)

# --- registration ------------------------------------------------------------


def register_user_with_cart(session: Session, data: RegisterUser) -> UserOut:
    """The guide's flush-for-the-id pattern: the user, then a cart that needs its id.

    ``create_user`` flushes, so ``user.id`` is known before the cart is made;
    the audit listener records the user in the same flush. All of it is one
    transaction: a ``Conflict`` on the e-mail address leaves no cart and no
    audit row behind.
    """
    with savepoint(session, Base.metadata):
        user = create_user(session, data)
        session.add(Cart(user_id=user.id))
    return UserOut.model_validate(user)


# --- catalogue ----------------------------------------------------------------


def create_product(session: Session, data: ProductIn) -> ProductOut:
    product = Product(**data.model_dump())
    with savepoint(session, Base.metadata):
        session.add(product)
    return ProductOut.model_validate(product)


def update_product(session: Session, product_id: int, data: ProductUpdate) -> ProductOut:
    """Change the fields given; the audit listener records each changed column."""
    product = _product(session, product_id)
    with savepoint(session, Base.metadata):
        for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(product, name, value)
    return ProductOut.model_validate(product)


def get_product(session: Session, product_id: int) -> ProductOut:
    return ProductOut.model_validate(_product(session, product_id))


def list_products(
    session: Session,
    *,
    search: str | None = None,
    include_inactive: bool = False,
    **paging: Unpack[PageArgs],
) -> Page[ProductOut]:
    """Products by name, a page at a time, read as rows of the columns ``ProductOut`` shows."""
    stmt = select(*columns_for(ProductOut, Product)).order_by(Product.name, Product.id)
    if not include_inactive:
        stmt = stmt.where(Product.is_active)
    if search:
        stmt = stmt.where(Product.name.icontains(search, autoescape=True))
    return paginate(session, stmt, **paging).map(ProductOut.model_validate)


def restock(session: Session, product_id: int, quantity: int) -> ProductOut:
    """Add to the stock in the database (``stock = stock + :n``), never in Python."""
    if quantity < 1:
        raise ValidationFailed("restock by 1 or more", columns=("quantity",))
    matched = update_where(
        session, Product, Product.id == product_id, values={"stock": Product.stock + quantity}
    )
    if not matched:
        raise NotFound("product", product_id)
    # The session's copy was brought up to date in Python (its stock + n); if
    # another transaction changed the row since it was loaded, only the
    # database knows the sum.
    product = session.get_one(Product, product_id, populate_existing=True)
    return ProductOut.model_validate(product)


def reprice(session: Session, data: Reprice) -> int:
    """Change by ``percent`` the price of the active products matched, in one UPDATE.

    The guide's bulk update, with the loaded objects kept in step
    (``synchronize_session="auto"``) instead of silently stale. Orders are
    untouched: their lines keep the price they were sold at. A bulk UPDATE
    bypasses the unit of work, so the audit listener does not see it; the
    event is recorded here. Returns the number of products repriced.
    """
    criteria: list[ColumnElement[bool]] = [Product.is_active.expression]
    if data.sku_prefix is not None:
        criteria.append(Product.sku.startswith(data.sku_prefix, autoescape=True))
    if data.product_ids is not None:
        criteria.append(Product.id.in_(data.product_ids))
    factor = 1 + data.percent / 100
    with translating_errors(Base.metadata):
        repriced = update_where(
            session, Product, *criteria, values={"price": scale_money(Product.price, factor)}
        )
    record_event(
        session,
        "products.repriced",
        "products",
        details={
            "percent": (None, data.percent),
            "sku_prefix": (None, data.sku_prefix),
            "product_ids": (None, data.product_ids),
            "rows": (None, repriced),
        },
    )
    return repriced


def _product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("product", product_id)
    return product


# --- cart -----------------------------------------------------------------------


def cart_id_for(session: Session, user_id: int) -> int:
    """The user's cart, created if the user has none yet (safe under concurrency)."""
    cart_id = _find_cart_id(session, user_id)
    if cart_id is None:
        if session.get(User, user_id) is None:
            raise NotFound("user", user_id)
        upsert(session, Cart, [{"user_id": user_id}], conflict=["user_id"], update=[])
        cart_id = _find_cart_id(session, user_id)
    assert cart_id is not None
    return cart_id


def _find_cart_id(session: Session, user_id: int) -> int | None:
    return session.scalar(select(Cart.id).where(Cart.user_id == user_id))


def add_to_cart(session: Session, user_id: int, product_id: int, quantity: int = 1) -> CartItemOut:
    """Add ``quantity`` of a product to the user's cart, atomically.

    One ``INSERT ... ON CONFLICT DO UPDATE SET quantity = cart_items.quantity +
    excluded.quantity`` (``ON DUPLICATE KEY UPDATE`` on MariaDB): the database
    adds to whatever is stored when the statement runs, so concurrent adds
    never lose an increment. The guide reads the line, adds in Python and
    writes back; two requests at once both read 1 and both write 2.
    """
    _check_quantity(quantity, minimum=1)
    product = session.get(Product, product_id)
    if product is None or not product.is_active:
        raise NotFound("product", product_id)
    cart_id = cart_id_for(session, user_id)
    row = {"cart_id": cart_id, "product_id": product_id, "quantity": quantity}
    try:
        with savepoint(session, Base.metadata):
            upsert(
                session,
                CartItem,
                [row],
                conflict=["cart_id", "product_id"],
                update={"quantity": lambda stored, added: stored + added},
            )
    except ValidationFailed as error:
        raise ValidationFailed(
            f"a cart line holds at most {MAX_QUANTITY}", columns=("quantity",)
        ) from error
    return CartItemOut(product_id=product_id, quantity=_line_quantity(session, cart_id, product_id))


def _line_quantity(session: Session, cart_id: int, product_id: int) -> int:
    stmt = select(CartItem.quantity).where(
        CartItem.cart_id == cart_id, CartItem.product_id == product_id
    )
    return session.scalars(stmt).one()


def _check_quantity(quantity: int, *, minimum: int) -> None:
    if not minimum <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            f"quantity must be between {minimum} and {MAX_QUANTITY}, not {quantity}",
            columns=("quantity",),
        )


def set_quantity(session: Session, user_id: int, product_id: int, quantity: int) -> CartItemOut:
    """Set a line's quantity outright (an absolute value cannot lose an update); 0 removes it."""
    _check_quantity(quantity, minimum=0)
    if quantity == 0:
        remove_from_cart(session, user_id, product_id)
        return CartItemOut(product_id=product_id, quantity=0)
    matched = update_where(
        session,
        CartItem,
        CartItem.cart_id == cart_id_for(session, user_id),
        CartItem.product_id == product_id,
        values={"quantity": quantity},
    )
    if not matched:
        raise NotFound("cart item", product_id)
    return CartItemOut(product_id=product_id, quantity=quantity)


def remove_from_cart(session: Session, user_id: int, product_id: int) -> None:
    result = session.execute(
        delete(CartItem).where(
            CartItem.cart_id == cart_id_for(session, user_id), CartItem.product_id == product_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("cart item", product_id)


def clear_cart(session: Session, user_id: int) -> int:
    """Empty the cart; returns the number of lines removed."""
    result = session.execute(
        delete(CartItem).where(CartItem.cart_id == cart_id_for(session, user_id))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def cart_view(session: Session, user_id: int) -> CartView:
    """The cart's lines with names, prices, subtotals and the total: one statement.

    The database multiplies and sums (a window ``SUM() OVER ()`` puts the total
    on every line), in exact decimals. The guide loads each line's product
    in a loop (one query per line) and adds floats in Python.
    """
    subtotal = as_money(Product.price * CartItem.quantity)
    stmt = (
        select(
            CartItem.product_id,
            Product.sku,
            Product.name,
            Product.price.label("unit_price"),
            CartItem.quantity,
            subtotal.label("subtotal"),
            as_money(func.sum(subtotal).over()).label("total"),
            and_(Product.is_active, Product.stock >= CartItem.quantity).label("available"),
        )
        .join(CartItem.product)
        .join(CartItem.cart)
        .where(Cart.user_id == user_id)
        .order_by(CartItem.id)
    )
    rows = session.execute(stmt).all()
    lines = [CartLine.model_validate(row._asdict()) for row in rows]
    return CartView(items=lines, total=rows[0].total if rows else Decimal("0.00"))


# --- orders ---------------------------------------------------------------------


def checkout(session: Session, user_id: int) -> OrderOut:
    """Turn the cart into an order with price snapshots, all or nothing.

    The cart's lines are locked (``FOR UPDATE``), so a concurrent add to this
    cart waits instead of being emptied away unordered. Stock moves by one
    conditional UPDATE per line, in product order: concurrent checkouts never
    oversell, and lock in the same order, so they do not deadlock. If any line
    is short, every short line is named in ``OutOfStock`` and the savepoint
    undoes the lines already taken, whatever the caller then does.
    Prices are those the cart showed when the checkout began.
    """
    cart_id = cart_id_for(session, user_id)
    lines = _locked_lines(session, cart_id)
    if not lines:
        raise EmptyCart
    products = _catalogue_rows(session, [line.product_id for line in lines])
    with savepoint(session, Base.metadata):
        short = [line for line in lines if not _take_stock(session, line.product_id, line.quantity)]
        if short:
            raise OutOfStock(_shortages(session, short))
        order = Order(user_id=user_id, total=Decimal("0.00"))
        for line in lines:
            price = products[line.product_id].price
            order.items.append(
                OrderItem(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    price_at_purchase=price,
                    subtotal=price * line.quantity,
                )
            )
        order.total = sum((item.subtotal for item in order.items), Decimal("0.00"))
        session.add(order)
        session.execute(delete(CartItem).where(CartItem.id.in_([line.id for line in lines])))
    return _order_out(order, products)


def checkout_once(session: Session, user_id: int, key: str) -> tuple[OrderOut, bool]:
    """:func:`checkout`, made idempotent by the client's key; True if the order is new.

    A client that timed out and retries with the same key gets the first
    order back instead of a second one, even when both requests run at once:
    the key is claimed first (a primary key), so the later request waits for
    the earlier one to commit and then reads its order.
    """
    try:
        with savepoint(session, Base.metadata):
            session.add(CheckoutKey(user_id=user_id, key=key))
    except Conflict:
        return _order_out(_order_for_key(session, user_id, key)), False
    order = checkout(session, user_id)
    session.execute(
        update(CheckoutKey)
        .where(CheckoutKey.user_id == user_id, CheckoutKey.key == key)
        .values(order_id=order.id),
        execution_options={"synchronize_session": False},
    )
    return order, True


def _order_for_key(session: Session, user_id: int, key: str) -> Order:
    """The order a committed checkout made for this key, read as committed now.

    A locking read, and one statement for the order, its lines and products:
    MariaDB's REPEATABLE READ would otherwise show a snapshot taken before the
    other checkout committed, in which its order does not exist yet.
    """
    stmt = (
        select(Order)
        .join(CheckoutKey, CheckoutKey.order_id == Order.id)
        .where(CheckoutKey.user_id == user_id, CheckoutKey.key == key)
        .options(joinedload(Order.items).joinedload(OrderItem.product))
        .with_for_update(read=True, of=[CheckoutKey.__table__, Order.__table__])
    )
    order = session.scalars(stmt).unique().one_or_none()
    if order is None:
        raise NotFound("order for idempotency key", key)
    return order


def _locked_lines(session: Session, cart_id: int) -> Sequence[Row[int, int, int]]:
    stmt = (
        select(CartItem.id, CartItem.product_id, CartItem.quantity)
        .where(CartItem.cart_id == cart_id)
        .order_by(CartItem.product_id)
        .with_for_update()
    )
    return session.execute(stmt).all()


def _catalogue_rows(session: Session, ids: list[int]) -> dict[int, Row[int, str, str, Decimal]]:
    """What an order line snapshots: rows, not objects, so nothing can go stale."""
    stmt = select(Product.id, Product.sku, Product.name, Product.price).where(Product.id.in_(ids))
    return {row.id: row for row in session.execute(stmt)}


def _take_stock(session: Session, product_id: int, quantity: int) -> bool:
    """``UPDATE products SET stock = stock - :q WHERE id = :id AND stock >= :q``; True if taken."""
    # "evaluate" brings Product objects already in the session up to date in
    # Python, without the extra SELECT (MariaDB) or RETURNING that "auto" costs.
    result = session.execute(
        update(Product)
        .where(Product.id == product_id, Product.is_active.is_(True), Product.stock >= quantity)
        .values(stock=Product.stock - quantity),
        execution_options={"synchronize_session": "evaluate"},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _shortages(session: Session, short: Sequence[Row[int, int, int]]) -> list[Shortage]:
    requested = {line.product_id: line.quantity for line in short}
    stmt = (
        select(Product.id, Product.sku, Product.name, Product.stock, Product.is_active)
        .where(Product.id.in_(requested))
        .order_by(Product.id)
        # A locking read sees the latest committed stock; MariaDB's plain
        # SELECT would show this transaction's older snapshot instead.
        .with_for_update(read=True)
    )
    return [
        Shortage(
            product_id=row.id,
            sku=row.sku,
            name=row.name,
            requested=requested[row.id],
            available=row.stock if row.is_active else 0,
        )
        for row in session.execute(stmt)
    ]


def order_history(
    session: Session,
    user_id: int,
    **paging: Unpack[PageArgs],
) -> Page[OrderOut]:
    """The user's orders, newest first, with their lines and products.

    Three statements whatever the page holds: the orders, their lines with
    their products (``selectinload`` + ``joinedload``), and the count when it
    is needed. The relationships are ``lazy="raise"``: forgetting the eager
    load fails loudly instead of quietly costing a query per order.
    """
    stmt = (
        select(Order)
        .where(Order.user_id == user_id)
        .order_by(Order.id.desc())
        .options(selectinload(Order.items).joinedload(OrderItem.product))
    )
    orders = paginate(session, stmt, **paging)
    return orders.map(lambda order: _order_out(order))


def get_order(session: Session, user_id: int, order_id: int) -> OrderOut:
    """One of the user's orders; another user's order is ``NotFound``, not forbidden."""
    stmt = (
        select(Order)
        .where(Order.id == order_id, Order.user_id == user_id)
        .options(selectinload(Order.items).joinedload(OrderItem.product))
    )
    order = session.scalars(stmt).one_or_none()
    if order is None:
        raise NotFound("order", order_id)
    return _order_out(order)


def _order_out(
    order: Order, products: dict[int, Row[int, str, str, Decimal]] | None = None
) -> OrderOut:
    def product(item: OrderItem) -> Product | Row[int, str, str, Decimal]:
        return products[item.product_id] if products is not None else item.product

    return OrderOut(
        id=order.id,
        status=order.status,
        total=order.total,
        created_at=order.created_at,
        items=[
            OrderItemOut(
                product_id=item.product_id,
                sku=product(item).sku,
                name=product(item).name,
                quantity=item.quantity,
                price_at_purchase=item.price_at_purchase,
                subtotal=item.subtotal,
            )
            for item in order.items
        ],
    )
