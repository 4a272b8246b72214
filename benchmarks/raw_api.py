"""The baseline of ``api.py``: the five hot endpoints by hand, on Flask + psycopg 3 + psycopg_pool.

No SQLAlchemy, no pydantic: SQL strings, tuples and ``json.dumps``. It answers
the same requests with the same JSON bytes as our app, and does the same work
in the database: the same rows read (soft-deleted ones left out), the same
rows written (the order's audit record included), the same locks, in one
transaction per request. Where a hand-written version naturally needs fewer
statements it uses fewer (an upsert that returns the new quantity;
``ON CONFLICT DO NOTHING`` instead of a savepoint to claim an idempotency
key; one rollback instead of savepoints):
that difference is part of what the benchmark measures.

Its pool does not check a connection when it is taken (no ping), as our
engine does not either: a hand-written app gets the raw driver's cost.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from flask import Flask, Response, request, url_for
from psycopg_pool import ConnectionPool

MAX_PER_PAGE = 100
MAX_QUANTITY = 999
_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


class Problem(Exception):
    """An error answered as a small problem+json (the benchmark never asks for one)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


# --- JSON: the bytes pydantic writes --------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def utc_text(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as pydantic writes an aware datetime."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    """Compact JSON, keys in the order given, non-ASCII as UTF-8: pydantic's output."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_encode)
    response = Response(data.encode(), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


def page_links(page: int, pages: int, has_next: bool, has_prev: bool) -> dict[str, str | None]:
    """The links of a numbered page, built from the request as the app builds them."""

    def link(number: int) -> str:
        args = {**(request.view_args or {}), **request.args.to_dict(), "page": number}
        return url_for(str(request.endpoint), **args)

    return {
        "self": link(page),
        "first": link(1),
        "last": link(pages),
        "next": link(page + 1) if has_next else None,
        "prev": link(page - 1) if has_prev else None,
    }


# --- the app ----------------------------------------------------------------------------------


def create_app(conninfo: str, *, pool_size: int = 4) -> Flask:
    """The baseline on ``conninfo`` (a libpq URL), with ``pool_size`` connections per process."""
    app = Flask(__name__)
    pool = ConnectionPool(
        conninfo,
        min_size=pool_size,
        max_size=pool_size,
        kwargs={"application_name": "bench-raw"},
        open=True,
    )

    @contextmanager
    def transaction() -> Iterator[psycopg.Connection[Any]]:
        # Commits when the block ends normally, rolls back on an exception.
        with pool.connection() as conn:
            yield conn

    @app.errorhandler(Problem)
    def problem(error: Problem) -> Response:
        body = {"type": f"/problems/{error.code}", "status": error.status}
        response = json_response(body, error.status)
        response.mimetype = "application/problem+json"
        return response

    @app.get("/products")
    def products() -> Response:
        page, per_page = _page_query(("page", "per_page", "search"))
        search = request.args.get("search")
        with transaction() as conn:
            items, total = _product_page(conn, search, page, per_page)
        pages = max(1, math.ceil(total / per_page))
        last = items[-1] if items and page < pages else None
        body = {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "total_is_estimate": False,
            "next_cursor": position([last["name"], last["id"]]) if last else None,
            "links": page_links(page, pages, page < pages, page > 1),
        }
        return json_response(body)

    @app.get("/owners/<int:owner_id>")
    def owner(owner_id: int) -> Response:
        with transaction() as conn:
            _signed_in(conn)
            return json_response(_owner_detail(conn, owner_id))

    @app.get("/feed")
    def feed() -> Response:
        cursor, per_page = _cursor_query()
        with transaction() as conn:
            viewer_id, _ = _signed_in(conn)
            items, next_cursor = _feed(conn, viewer_id, cursor, per_page)
        args: dict[str, Any] = {**request.args.to_dict(), "cursor": next_cursor}
        following = url_for("feed", **args)
        body = {
            "items": items,
            "next_cursor": next_cursor,
            "next": following if next_cursor else None,
        }
        return json_response(body)

    @app.post("/cart/items")
    def add_to_cart() -> Response:
        product_id, quantity = _cart_body()
        with transaction() as conn:
            user_id, _ = _signed_in(conn)
            stored = _add_to_cart(conn, user_id, product_id, quantity)
        return json_response({"product_id": product_id, "quantity": stored})

    @app.post("/checkout")
    def checkout() -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _KEY.match(key):
            raise Problem(422, "validation_failed")
        with transaction() as conn:
            user_id, _ = _signed_in(conn)
            order, new = _checkout(conn, user_id, key)
        location = f"/orders/{order['id']}"
        return json_response(order, 201 if new else 200, Location=location)

    return app


# --- request parsing ------------------------------------------------------------------------


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Problem(422, "validation_failed") from None
    if not low <= value <= high:
        raise Problem(422, "validation_failed")
    return value


def _check_args(allowed: Sequence[str]) -> None:
    if any(name not in allowed for name in request.args):
        raise Problem(422, "validation_failed")


def _page_query(allowed: Sequence[str]) -> tuple[int, int]:
    _check_args(allowed)
    return _int_arg("page", 1, 1, 1_000_000), _int_arg("per_page", 20, 1, MAX_PER_PAGE)


def _cursor_query() -> tuple[str | None, int]:
    _check_args(("cursor", "per_page"))
    return request.args.get("cursor"), _int_arg("per_page", 20, 1, MAX_PER_PAGE)


def _cart_body() -> tuple[int, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"product_id", "quantity"}:
        raise Problem(422, "validation_failed")
    product_id, quantity = body.get("product_id"), body.get("quantity", 1)
    if not isinstance(product_id, int) or isinstance(product_id, bool) or product_id < 1:
        raise Problem(422, "validation_failed")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise Problem(422, "validation_failed")
    return product_id, quantity


# --- queries --------------------------------------------------------------------------------

USER_FOR_TOKEN = """
SELECT users.id, users.role FROM users JOIN api_tokens ON api_tokens.user_id = users.id
WHERE api_tokens.token_hash = %s AND api_tokens.revoked_at IS NULL
  AND api_tokens.expires_at > now() AND users.is_active
"""


def _signed_in(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not 0 < len(token) <= 200:
        raise Problem(401, "authentication_required")
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(USER_FOR_TOKEN, (digest,)).fetchone()
    if row is None:
        raise Problem(401, "authentication_required")
    return row[0], row[1]


#: A product's whole row, as its history keeps it.
PRODUCT_ROW = "id, sku, name, description, price, stock, is_active, version, created_at, updated_at"
PRODUCT_COLUMNS = ("id", "sku", "name", "description", "price", "stock", "is_active", "version")


def _product_page(
    conn: psycopg.Connection[Any], search: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Our paginate()'s rule: the count is skipped when the page shows where the list ends."""
    where, params = "is_active", []
    if search:
        escaped = search.replace("/", "//").replace("%", "/%").replace("_", "/_")
        where += " AND lower(name) LIKE lower(%s) ESCAPE '/'"
        params.append(f"%{escaped}%")
    offset = (page - 1) * per_page
    rows = conn.execute(
        "SELECT id, sku, name, description, price, stock, is_active, version FROM products"
        f" WHERE {where}"
        " ORDER BY name, id LIMIT %s OFFSET %s",
        (*params, per_page, offset),
    ).fetchall()
    if 0 < len(rows) < per_page or (page == 1 and not rows):
        total = offset + len(rows)
    else:
        counted = conn.execute(f"SELECT count(*) FROM products WHERE {where}", params).fetchone()
        total = counted[0] if counted else 0
    return [dict(zip(PRODUCT_COLUMNS, row, strict=True)) for row in rows], total


def _owner_detail(conn: psycopg.Connection[Any], owner_id: int) -> dict[str, Any]:
    """The owner, their pets, each pet's appointments with its vet: three statements."""
    row = conn.execute(
        "SELECT id, name, email, phone, user_id, created_at, version FROM owners"
        " WHERE id = %s AND deleted_at IS NULL",
        (owner_id,),
    ).fetchone()
    if row is None:
        raise Problem(404, "not_found")
    owner = dict(zip(OWNER_COLUMNS, row, strict=True))
    pets = conn.execute(
        "SELECT id, owner_id, name, species, born_on FROM pets"
        " WHERE owner_id = %s AND deleted_at IS NULL ORDER BY id",
        (owner_id,),
    ).fetchall()
    by_pet: dict[int, list[dict[str, Any]]] = {pet[0]: [] for pet in pets}
    if pets:
        for a in conn.execute(
            "SELECT a.id, a.pet_id, a.vet_id, a.scheduled_at, a.reason, a.status,"
            " v.id, v.name, v.specialty FROM appointments a JOIN vets v ON v.id = a.vet_id"
            " WHERE a.pet_id = ANY(%s) ORDER BY a.scheduled_at",
            (list(by_pet),),
        ):
            by_pet[a[1]].append(
                {
                    **dict(zip(APPOINTMENT_COLUMNS, a[:6], strict=True)),
                    "vet": {"id": a[6], "name": a[7], "specialty": a[8]},
                }
            )
    owner["pets"] = [
        {**dict(zip(PET_COLUMNS, pet, strict=True)), "appointments": by_pet[pet[0]]} for pet in pets
    ]
    return owner


OWNER_COLUMNS = ("id", "name", "email", "phone", "user_id", "created_at", "version")
PET_COLUMNS = ("id", "owner_id", "name", "species", "born_on")
APPOINTMENT_COLUMNS = ("id", "pet_id", "vet_id", "scheduled_at", "reason", "status")
FEED_COLUMNS = (
    "id",
    "body",
    "created_at",
    "author_id",
    "author_username",
    "like_count",
    "comment_count",
    "liked_by_viewer",
)
FEED = """
SELECT posts.id, posts.body, posts.created_at, posts.author_id, users.username,
  (SELECT count(*) FROM likes WHERE likes.post_id = posts.id),
  (SELECT count(*) FROM comments
   WHERE comments.post_id = posts.id AND comments.deleted_at IS NULL),
  EXISTS (SELECT 1 FROM likes WHERE likes.post_id = posts.id AND likes.user_id = %(viewer)s)
FROM posts JOIN users ON users.id = posts.author_id
WHERE (posts.author_id IN (SELECT followed_id FROM follows WHERE follower_id = %(viewer)s)
       OR posts.author_id = %(viewer)s) AND posts.deleted_at IS NULL {after}
ORDER BY posts.created_at DESC, posts.id DESC LIMIT %(limit)s
"""
AFTER = (
    "AND posts.created_at <= %(at)s"
    " AND (posts.created_at < %(at)s OR (posts.created_at = %(at)s AND posts.id < %(id)s))"
)


def _feed(
    conn: psycopg.Connection[Any], viewer_id: int, cursor: str | None, per_page: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One keyset page of the feed, newest first, and the cursor of the next (our format)."""
    params: dict[str, Any] = {"viewer": viewer_id, "limit": per_page + 1}
    after = ""
    if cursor is not None:
        params["at"], params["id"] = _decode_cursor(cursor)
        after = AFTER
    rows = conn.execute(FEED.format(after=after), params).fetchall()
    items = [dict(zip(FEED_COLUMNS, row, strict=True)) for row in rows[:per_page]]
    next_cursor = None
    if len(rows) > per_page:
        last = rows[per_page - 1]
        next_cursor = _encode_cursor(last[2], last[0])
    return items, next_cursor


def _encode_cursor(created_at: dt.datetime, post_id: int) -> str:
    return position([{"dt": created_at.astimezone(dt.UTC).isoformat()}, post_id])


def position(values: list[Any]) -> str:
    """A cursor in our format: the key values as compact JSON, URL-safe base64 unpadded."""
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        (at, post_id) = json.loads(raw)
        return dt.datetime.fromisoformat(at["dt"]), int(post_id)
    except (ValueError, KeyError, TypeError) as error:
        raise Problem(422, "validation_failed") from error


def _cart_id(conn: psycopg.Connection[Any], user_id: int) -> int:
    """The user's cart, created if missing (the unique user_id makes it safe to race)."""
    row = conn.execute("SELECT id FROM carts WHERE user_id = %s", (user_id,)).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO carts (user_id) VALUES (%s) ON CONFLICT (user_id) DO NOTHING", (user_id,)
        )
        row = conn.execute("SELECT id FROM carts WHERE user_id = %s", (user_id,)).fetchone()
    assert row is not None
    return int(row[0])


ADD_LINE = """
INSERT INTO cart_items (cart_id, product_id, quantity) VALUES (%s, %s, %s)
ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity
RETURNING quantity
"""


def _add_to_cart(conn: psycopg.Connection[Any], user_id: int, product_id: int, qty: int) -> int:
    """Add to the line in one upsert (no lost increments); the stored quantity."""
    product = conn.execute("SELECT is_active FROM products WHERE id = %s", (product_id,)).fetchone()
    if product is None or not product[0]:
        raise Problem(404, "not_found")
    cart_id = _cart_id(conn, user_id)
    try:
        row = conn.execute(ADD_LINE, (cart_id, product_id, qty)).fetchone()
    except psycopg.errors.CheckViolation:
        raise Problem(422, "validation_failed") from None
    assert row is not None
    return int(row[0])


def _checkout(
    conn: psycopg.Connection[Any], user_id: int, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Place the order; with a key, claim it first, and replay the first order if taken."""
    if key is None:
        return _place_order(conn, user_id), True
    claimed = conn.execute(
        "INSERT INTO checkout_keys (user_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING"
        " RETURNING 1",
        (user_id, key),
    ).fetchone()
    if claimed is None:
        return _order_for_key(conn, user_id, key), False
    order = _place_order(conn, user_id)
    conn.execute(
        "UPDATE checkout_keys SET order_id = %s WHERE user_id = %s AND key = %s",
        (order["id"], user_id, key),
    )
    return order, True


#: The versions taking stock replaces, kept in the products' history as our app keeps them.
KEEP_VERSIONS = f"""
INSERT INTO products_history ({PRODUCT_ROW}, changed_at, changed_by)
SELECT {PRODUCT_ROW}, now(), %s FROM products WHERE id = ANY(%s) FOR NO KEY UPDATE
"""

TAKE_STOCK = """
UPDATE products SET stock = stock - %s, updated_at = now(), version = version + 1
WHERE id = %s AND is_active AND stock >= %s
"""


def _place_order(conn: psycopg.Connection[Any], user_id: int) -> dict[str, Any]:
    """Lock the lines, move the stock (conditional UPDATEs in product order), write the order."""
    cart_id = _cart_id(conn, user_id)
    lines = conn.execute(
        "SELECT id, product_id, quantity FROM cart_items WHERE cart_id = %s"
        " ORDER BY product_id FOR UPDATE",
        (cart_id,),
    ).fetchall()
    if not lines:
        raise Problem(422, "empty_cart")
    catalogue = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT id, sku, name, price FROM products WHERE id = ANY(%s)",
            ([line[1] for line in lines],),
        )
    }
    conn.execute(KEEP_VERSIONS, (user_id, [line[1] for line in lines]))
    for _, product_id, quantity in lines:
        if conn.execute(TAKE_STOCK, (quantity, product_id, quantity)).rowcount != 1:
            raise Problem(409, "out_of_stock")  # the transaction rolls back
    items = [
        {
            "product_id": product_id,
            "sku": catalogue[product_id][0],
            "name": catalogue[product_id][1],
            "quantity": quantity,
            "price_at_purchase": catalogue[product_id][2],
            "subtotal": catalogue[product_id][2] * quantity,
        }
        for _, product_id, quantity in lines
    ]
    total = sum((item["subtotal"] for item in items), Decimal("0.00"))
    order_id, created_at = _insert_order(conn, user_id, total, items)
    conn.execute("DELETE FROM cart_items WHERE id = ANY(%s)", ([line[0] for line in lines],))
    return {
        "id": order_id,
        "status": "placed",
        "total": total,
        "created_at": created_at,
        "items": items,
    }


def _insert_order(
    conn: psycopg.Connection[Any], user_id: int, total: Decimal, items: list[dict[str, Any]]
) -> tuple[int, dt.datetime]:
    """The order, its lines, and the audit record our app's listener writes for an order."""
    row = conn.execute(
        "INSERT INTO orders (user_id, status, total) VALUES (%s, 'placed', %s)"
        " RETURNING id, created_at",
        (user_id, total),
    ).fetchone()
    assert row is not None
    order_id, created_at = row
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO order_items (order_id, product_id, quantity, price_at_purchase, subtotal)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (order_id, i["product_id"], i["quantity"], i["price_at_purchase"], i["subtotal"])
                for i in items
            ],
        )
    record = conn.execute(
        "INSERT INTO audit_records (action, entity, entity_id, actor_id)"
        " VALUES ('insert', 'orders', %s, %s) RETURNING id",
        (str(order_id), user_id),
    ).fetchone()
    assert record is not None
    details = {"id": str(order_id), "user_id": str(user_id), "status": "placed"}
    details["total"] = format(total, "f")
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO audit_details (record_id, field, old_value, new_value)"
            " VALUES (%s, %s, NULL, %s)",
            [(record[0], field, value) for field, value in details.items()],
        )
    return order_id, created_at


ORDER_ITEM_COLUMNS = ("product_id", "sku", "name", "quantity", "price_at_purchase", "subtotal")


def _order_for_key(conn: psycopg.Connection[Any], user_id: int, key: str) -> dict[str, Any]:
    """The order a committed checkout made for this key (a locking read sees it committed)."""
    row = conn.execute(
        "SELECT o.id, o.status, o.total, o.created_at FROM orders o"
        " JOIN checkout_keys k ON k.order_id = o.id WHERE k.user_id = %s AND k.key = %s"
        " FOR SHARE OF k, o",
        (user_id, key),
    ).fetchone()
    if row is None:
        raise Problem(404, "not_found")
    items = conn.execute(
        "SELECT i.product_id, p.sku, p.name, i.quantity, i.price_at_purchase, i.subtotal"
        " FROM order_items i JOIN products p ON p.id = i.product_id"
        " WHERE i.order_id = %s ORDER BY i.id",
        (row[0],),
    ).fetchall()
    order = dict(zip(("id", "status", "total", "created_at"), row, strict=True))
    order["items"] = [dict(zip(ORDER_ITEM_COLUMNS, item, strict=True)) for item in items]
    return order
