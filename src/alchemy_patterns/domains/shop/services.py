"""Shop services: each takes a ``Session``, does one unit of work, never commits.

The two that the guide gets wrong under concurrency:

* :func:`add_to_cart` adds to the stored quantity in one upsert, so two
  concurrent adds cannot both read 1 and both write 2;
* :func:`checkout` moves stock by conditional ``UPDATE ... WHERE stock >= :qty``
  in product order, so concurrent checkouts never oversell and never deadlock
  on each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Any, Unpack

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from alchemy_patterns.db import (
    Base,
    Conflict,
    Expected,
    NotFound,
    Page,
    PageArgs,
    ValidationFailed,
    as_money,
    as_of,
    check_version,
    execute_core,
    get_or_raise,
    history_page,
    history_table,
    paginate,
    prepared,
    revert,
    rowcount,
    savepoint,
    scale_money,
    table_of,
    translating_errors,
    update_where,
    upsert,
    upsert_statement,
)
from alchemy_patterns.db.history import actor, history_insert
from alchemy_patterns.db.search import ranked, text_search
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.schemas import RegisterUser, UserOut
from alchemy_patterns.domains.accounts.services import create_user
from alchemy_patterns.domains.audit.recording import record_inserted
from alchemy_patterns.domains.audit.services import record_event
from alchemy_patterns.domains.schemas import columns_for, on_utc_days
from alchemy_patterns.domains.shop.errors import EmptyCart, OutOfStock, Shortage
from alchemy_patterns.domains.shop.models import (
    MAX_QUANTITY,
    ORDER_SORTING,
    PRODUCT_SORTING,
    Cart,
    CartItem,
    CheckoutKey,
    Order,
    OrderItem,
    OrderStatus,
    Product,
)
from alchemy_patterns.domains.shop.schemas import (
    CartItemOut,
    CartLine,
    CartView,
    OrderFilter,
    OrderItemOut,
    OrderOut,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductUpdate,
    ProductVersionOut,
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
    with savepoint(session):
        user = create_user(session, data)
        session.add(Cart(user_id=user.id))
    return UserOut.model_validate(user)


# --- catalogue ----------------------------------------------------------------


def create_product(session: Session, data: ProductIn) -> ProductOut:
    """A new product in the catalogue; ``Conflict`` names a taken field (its name)."""
    product = Product(**data.model_dump())
    with savepoint(session):
        session.add(product)
    return ProductOut.model_validate(product)


def update_product(
    session: Session, product_id: int, data: ProductUpdate, expected_version: Expected = None
) -> ProductOut:
    """Change the fields given, if the product is at ``expected_version`` (else ``StaleVersion``).

    The row is read ``FOR UPDATE``, so no other writer moves it between the
    check and the UPDATE (which checks it again: ``version_id_col``), and a
    rival edit waits and then sees the version this one wrote; the audit
    listener records each changed column. None expects any version.
    """
    product = get_or_raise(session, Product, product_id, with_for_update=True)
    check_version(product, expected_version, entity="product")
    with savepoint(session):
        for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(product, name, value)
    return ProductOut.model_validate(product)


def get_product(session: Session, product_id: int) -> ProductOut:
    """The product, with its price, stock and version; ``NotFound`` if there is none."""
    return ProductOut.model_validate(get_or_raise(session, Product, product_id))


def product_history(
    session: Session, product_id: int, **paging: Unpack[PageArgs]
) -> Page[ProductVersionOut]:
    """The versions changes replaced, newest first; ``NotFound`` for a product that never was."""
    page = history_page(session, Product, product_id, **paging)
    if not page.items and page.page == 1 and session.get(Product, product_id) is None:
        raise NotFound("product", product_id)
    return page.map(ProductVersionOut.model_validate)


def product_as_of(session: Session, product_id: int, when: dt.datetime) -> ProductOut:
    """The product as it was at ``when`` (aware); ``NotFound`` before it existed or once deleted."""
    return ProductOut.model_validate(as_of(session, Product, product_id, when))


def revert_product(
    session: Session, product_id: int, version: int, expected_version: Expected = None
) -> ProductOut:
    """Give the product the name, price and availability of ``version``: a new version.

    Like :func:`update_product`: the row locked, ``expected_version`` checked;
    the flush keeps the current version in history and the audit listener
    records what changed. A ``version`` never stored is ``NotFound``; the
    current one changes nothing. Its stock is not reverted (units sold since
    stay sold); an old SKU another product has taken since is a ``Conflict``.
    """
    product = get_or_raise(session, Product, product_id, with_for_update=True)
    check_version(product, expected_version, entity="product")
    with savepoint(session):
        revert(session, product, version)
    return ProductOut.model_validate(product)


#: The catalogue is read with Core statements on the table: a page and its
#: count run without the ORM's per-execution work (compile state, entity
#: loading), which cost more than the database took to answer them.
_products = table_of(Product)


@cache
def _catalogue(include_inactive: bool) -> Select[*tuple[Any, ...]]:
    """The catalogue's SELECT, built once per shape: building it cost more than running it."""
    stmt = select(*columns_for(ProductOut, _products)).order_by(_products.c.name, _products.c.id)
    return prepared(stmt if include_inactive else stmt.where(_products.c.is_active))


def list_products(
    session: Session,
    *,
    search: str | None = None,
    q: str | None = None,
    filters: ProductFilter | None = None,
    include_inactive: bool = False,
    **paging: Unpack[PageArgs],
) -> Page[ProductOut]:
    """Products by name (or as ``filters`` sort them, or best match first), a page at a time.

    Read as rows of the columns ``ProductOut`` shows. ``search`` matches part
    of the name; ``q`` searches the words of the name and the description
    (full-text, see :mod:`alchemy_patterns.db.search`) and, unless ``filters``
    sort, orders by relevance (then pages by number only: a cursor is
    ``ValidationFailed``); ``filters`` narrow by name prefix, price range and
    stock, and may choose the order (an unknown sort field is ``ValidationFailed``).
    """
    stmt = _catalogue(include_inactive)
    if search:
        stmt = stmt.where(_products.c.name.icontains(search, autoescape=True))
    if q is not None:
        match = text_search(session, _products, q)
        if filters is not None and filters.sort:
            stmt = match.narrow(stmt)
        else:
            stmt = ranked(stmt, match, _products.c.id, paging.get("cursor"))
    if filters is not None:
        stmt = _filtered(stmt, filters)
    return paginate(session, stmt, **paging).map(ProductOut.model_validate)


def _filtered(stmt: Select[*tuple[Any, ...]], filters: ProductFilter) -> Select[*tuple[Any, ...]]:
    if filters.name:
        stmt = stmt.where(_products.c.name.istartswith(filters.name, autoescape=True))
    if filters.min_price is not None:
        stmt = stmt.where(_products.c.price >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(_products.c.price <= filters.max_price)
    if filters.in_stock is not None:
        stmt = stmt.where(_products.c.stock > 0 if filters.in_stock else _products.c.stock == 0)
    if filters.sort:
        order = PRODUCT_SORTING.terms(filters.sort, on=_products)
        stmt = stmt.order_by(None).order_by(*order)
    return stmt


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


# --- cart -----------------------------------------------------------------------


# The cart's and the checkout's statements run on every request: they are
# built once, here, as Core statements on the tables with bound parameters.
# Built per call and ORM-enabled, each cost more Python than its round trip.
_carts, _cart_items = table_of(Cart), table_of(CartItem)
_orders, _order_items, _keys = table_of(Order), table_of(OrderItem), table_of(CheckoutKey)

_CART_ID = prepared(select(_carts.c.id).where(_carts.c.user_id == bindparam("user_id")))

#: Whether the product is on sale, and the user's cart if there is one: one round trip.
_PRODUCT_AND_CART = prepared(
    select(_products.c.is_active, _CART_ID.scalar_subquery().label("cart_id")).where(
        _products.c.id == bindparam("product_id")
    )
)


def cart_id_for(session: Session, user_id: int) -> int:
    """The user's cart, created if the user has none yet (safe under concurrency)."""
    cart_id = _find_cart_id(session, user_id)
    if cart_id is not None:
        return cart_id
    get_or_raise(session, User, user_id)
    upsert(session, Cart, [{"user_id": user_id}], conflict=["user_id"], update=[])
    # Ours or a rival's: the upsert left exactly one cart for the user.
    found: int = session.execute(_CART_ID, {"user_id": user_id}).scalar_one()
    return found


def _find_cart_id(session: Session, user_id: int) -> int | None:
    session.flush()  # Core statements do not autoflush: a pending cart must be seen
    return execute_core(session, _CART_ID, {"user_id": user_id}).scalar()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@cache
def _add_line(dialect: str) -> Any:
    """The upsert that adds to a line and returns the quantity stored, for ``dialect``.

    PostgreSQL and SQLite update only while the sum stays within
    ``MAX_QUANTITY`` (``DO UPDATE ... WHERE``): past it, no row comes back and
    nothing failed, so the transaction goes on without a savepoint. MariaDB's
    ``ON DUPLICATE KEY UPDATE`` cannot be conditional; there the CHECK refuses
    the sum, and MariaDB rolls back only the failed statement.
    """

    def within_limit(stored: Any, incoming: Any) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = stored.quantity + incoming.quantity <= MAX_QUANTITY
        return condition

    return prepared(
        upsert_statement(
            dialect,
            _cart_items,
            conflict=["cart_id", "product_id"],
            update={"quantity": lambda stored, added: stored + added},
            where=None if dialect in ("mysql", "mariadb") else within_limit,
        ).returning(_cart_items.c.quantity)
    )


def add_to_cart(session: Session, user_id: int, product_id: int, quantity: int = 1) -> CartItemOut:
    """Add ``quantity`` of a product to the user's cart, atomically.

    One ``INSERT ... ON CONFLICT DO UPDATE SET quantity = cart_items.quantity +
    excluded.quantity RETURNING quantity`` (``ON DUPLICATE KEY UPDATE`` on
    MariaDB): the database adds to whatever is stored when the statement
    runs, so concurrent adds never lose an increment, and says what it
    stored. The guide reads the line, adds in Python and writes back; two
    requests at once both read 1 and both write 2. Two statements in all:
    the product and the cart in one SELECT, then the upsert. A sum past
    ``MAX_QUANTITY`` is refused and leaves the transaction usable.
    """
    _check_quantity(quantity, minimum=1)
    session.flush()  # Core statements do not autoflush: what the caller added must be seen
    found = execute_core(
        session, _PRODUCT_AND_CART, {"product_id": product_id, "user_id": user_id}
    ).first()
    if found is None or not found.is_active:
        raise NotFound("product", product_id)
    cart_id = found.cart_id if found.cart_id is not None else cart_id_for(session, user_id)
    row = {"cart_id": cart_id, "product_id": product_id, "quantity": quantity}
    try:
        with translating_errors(Base.metadata):
            stored = execute_core(session, _add_line(_dialect(session)), row).scalar()
    except ValidationFailed as error:  # MariaDB: the CHECK refused the sum
        raise _over_the_limit() from error
    if stored is None:  # PostgreSQL, SQLite: the condition left the line as it was
        raise _over_the_limit()
    return CartItemOut(product_id=product_id, quantity=stored)


def _over_the_limit() -> ValidationFailed:
    return ValidationFailed(f"a cart line holds at most {MAX_QUANTITY}", columns=("quantity",))


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
    """Take the product's line out of the user's cart; ``NotFound`` if it has none."""
    result = session.execute(
        delete(CartItem).where(
            CartItem.cart_id == cart_id_for(session, user_id), CartItem.product_id == product_id
        )
    )
    if not rowcount(result):
        raise NotFound("cart item", product_id)


def clear_cart(session: Session, user_id: int) -> int:
    """Empty the cart; returns the number of lines removed."""
    result = session.execute(
        delete(CartItem).where(CartItem.cart_id == cart_id_for(session, user_id))
    )
    return rowcount(result)


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


#: The cart's lines, locked (``FOR UPDATE``), in product order.
_LOCKED_LINES = prepared(
    select(_cart_items.c.id, _cart_items.c.product_id, _cart_items.c.quantity)
    .where(_cart_items.c.cart_id == _CART_ID.scalar_subquery())
    .order_by(_cart_items.c.product_id)
    .with_for_update()
)
#: What the order snapshots and what decides it, locked in id order. ``FOR NO
#: KEY UPDATE`` on PostgreSQL: the lock the UPDATE takes, which does not hold
#: up inserts that merely reference the product.
_LOCKED_PRODUCTS = prepared(
    select(
        _products.c.id,
        _products.c.sku,
        _products.c.name,
        _products.c.price,
        _products.c.stock,
        _products.c.is_active,
    )
    .where(_products.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_products.c.id)
    .with_for_update(key_share=True)
)
#: A row of ``_LOCKED_PRODUCTS``: id, sku, name, price, stock, is_active.
_ProductRow = Row[int, str, str, Decimal, int, bool]
#: The products' versions that taking stock replaces, copied to their history (see db/history.py).
_KEEP_VERSIONS = prepared(
    history_insert(
        _products, history_table(Product), _products.c.id.in_(bindparam("ids", expanding=True))
    )
)
_TAKE_STOCK = prepared(
    update(_products)
    .where(_products.c.id == bindparam("product_id"))
    .values(stock=_products.c.stock - bindparam("taken"), version=_products.c.version + 1)
)
_INSERT_ORDER = prepared(insert(_orders).returning(_orders.c.id, _orders.c.created_at))
_INSERT_ORDER_ITEMS = prepared(insert(_order_items))
_DELETE_LINES = prepared(
    delete(_cart_items).where(_cart_items.c.id.in_(bindparam("ids", expanding=True)))
)
_INSERT_KEY = prepared(insert(_keys))
_SET_KEY_ORDER = prepared(
    update(_keys)
    .where(_keys.c.user_id == bindparam("for_user"), _keys.c.key == bindparam("for_key"))
    .values(order_id=bindparam("placed"))
)


@cache
def _claim_key(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``: a key already claimed inserts nothing, fails nothing.

    MariaDB has no equivalent that is only about the key (``INSERT IGNORE``
    also turns a too-long key or a missing user into a warning): there the
    plain INSERT fails on the duplicate, and MariaDB rolls back only it.
    """
    if dialect in ("mysql", "mariadb"):
        return _INSERT_KEY
    claim = upsert_statement(dialect, _keys, conflict=["user_id", "key"], update=[])
    # An INSERT's rowcount is kept only when asked for: 1 claimed, 0 taken.
    return prepared(claim.execution_options(preserve_rowcount=True))


def checkout(session: Session, user_id: int) -> OrderOut:
    """Turn the cart into an order with price snapshots, all or nothing.

    The cart's lines are locked (``FOR UPDATE``), so a concurrent add to this
    cart waits instead of being emptied away unordered; then their products,
    in id order, so concurrent checkouts wait for each other instead of
    deadlocking, and each sees the stock the one before it left. If any line
    is short, every short line is named in ``OutOfStock`` before anything is
    written, so a refused checkout changes nothing, whatever the caller then
    does; otherwise the products' versions go to their history, stock moves
    (``stock = stock - :n``, the CHECK ``stock >= 0`` as the backstop) and
    the order, its lines and its audit record are written by Core
    statements, several rows in one. Prices are those the locked rows hold.
    """
    session.flush()  # Core statements do not autoflush: what the caller added must be seen
    lines = execute_core(session, _LOCKED_LINES, {"user_id": user_id}).all()
    if not lines:
        raise EmptyCart
    products = {
        row.id: row
        for row in execute_core(
            session, _LOCKED_PRODUCTS, {"ids": [line.product_id for line in lines]}
        ).all()
    }
    short = [line for line in lines if _available(products[line.product_id]) < line.quantity]
    if short:
        raise OutOfStock([_shortage(products[line.product_id], line.quantity) for line in short])
    execute_core(session, _KEEP_VERSIONS, {"ids": list(products), "changed_by": actor(session)})
    execute_core(
        session,
        _TAKE_STOCK,
        [{"product_id": line.product_id, "taken": line.quantity} for line in lines],
    )
    _expire_loaded(session, Product, products, ["stock", "updated_at", "version"])
    items = [
        OrderItemOut(
            product_id=line.product_id,
            sku=products[line.product_id].sku,
            name=products[line.product_id].name,
            quantity=line.quantity,
            price_at_purchase=products[line.product_id].price,
            subtotal=products[line.product_id].price * line.quantity,
        )
        for line in lines
    ]
    order = _place_order(session, user_id, items)
    execute_core(session, _DELETE_LINES, {"ids": [line.id for line in lines]})
    return order


def _available(product: _ProductRow) -> int:
    return int(product.stock) if product.is_active else 0


def _shortage(product: _ProductRow, requested: int) -> Shortage:
    return Shortage(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        requested=requested,
        available=_available(product),
    )


def _place_order(session: Session, user_id: int, items: list[OrderItemOut]) -> OrderOut:
    """The order (one INSERT ... RETURNING), its lines (one statement) and its audit record."""
    total = sum((item.subtotal for item in items), Decimal("0.00"))
    values = {"user_id": user_id, "status": OrderStatus.PLACED, "total": total}
    order_id, created_at = execute_core(session, _INSERT_ORDER, values).one()
    execute_core(
        session,
        _INSERT_ORDER_ITEMS,
        [item.model_dump(exclude={"sku", "name"}) | {"order_id": order_id} for item in items],
    )
    record_inserted(session, Order, values | {"id": order_id})
    return OrderOut(
        id=order_id, status=OrderStatus.PLACED, total=total, created_at=created_at, items=items
    )


def _expire_loaded(
    session: Session, model: type[Base], ids: Iterable[int], attributes: list[str]
) -> None:
    """Expire what a Core UPDATE changed in the objects the session has loaded, if any.

    The next read of those attributes loads what is stored; objects not
    loaded cost nothing, unlike ``synchronize_session``.
    """
    mapper = model.__mapper__
    for pk in ids:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((pk,)))
        if loaded is not None:
            session.expire(loaded, attributes)


def checkout_once(session: Session, user_id: int, key: str) -> tuple[OrderOut, bool]:
    """:func:`checkout`, made idempotent by the client's key; True if the order is new.

    A client that timed out and retries with the same key gets the first
    order back instead of a second one, even when both requests run at once:
    the key is claimed first (a primary key), so the later request waits for
    the earlier one to commit and then reads its order. The claim is one
    statement that a taken key does not make fail (``ON CONFLICT DO
    NOTHING``; on MariaDB a failed INSERT, rolled back alone), not a savepoint.
    """
    claim = {"user_id": user_id, "key": key}
    try:
        with translating_errors(Base.metadata):
            claimed = execute_core(session, _claim_key(_dialect(session)), claim).rowcount == 1
    except Conflict:  # MariaDB: the key is taken
        claimed = False
    if not claimed:
        return _order_out(_order_for_key(session, user_id, key)), False
    order = checkout(session, user_id)
    execute_core(session, _SET_KEY_ORDER, {"for_user": user_id, "for_key": key, "placed": order.id})
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


def order_history(
    session: Session,
    user_id: int,
    filters: OrderFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[OrderOut]:
    """The user's orders, newest first (or as ``filters`` choose), with their lines and products.

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
    if filters is not None:
        stmt = _filtered_orders(stmt, filters)
    orders = paginate(session, stmt, **paging)
    return orders.map(lambda order: _order_out(order))


def _filtered_orders(stmt: Select[Order], filters: OrderFilter) -> Select[Order]:
    if filters.status is not None:
        stmt = stmt.where(Order.status == filters.status)
    stmt = stmt.where(*on_utc_days(Order.created_at, filters.placed_from, filters.placed_to))
    if filters.sort:
        stmt = stmt.order_by(None).order_by(*ORDER_SORTING.terms(filters.sort))
    return stmt


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
