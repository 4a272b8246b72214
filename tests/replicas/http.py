"""A client of a served API over real HTTP, and the API's smoke flow through it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from sqlalchemy import insert

from alchemy_patterns.db import Database
from alchemy_patterns.domains.shop.models import Product

PASSWORD = "correct horse battery"
CONSISTENCY = "Consistency-Token"


@dataclass
class Answer:
    status: int
    headers: Message
    body: Any


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    """``method path`` on the server at ``port``; the answer whatever its status."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data, sent | (headers or {}), method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Answer(answer.status, answer.headers, _json(answer.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, _json(error.read()))


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def add_product(db: Database, stock: int) -> int:
    """A product with ``stock`` in stock; its id."""
    values = {"sku": "SMOKE-1", "name": "Smoke test kettle", "price": "9.90", "stock": stock}
    with db.session_scope() as session:
        return int(session.execute(insert(Product).values(**values).returning(Product.id)).scalar())


def smoke_flow(
    ports: list[int], users: int, prefix: str = "smoker", rounds: int = 1
) -> list[tuple[str, str, int]]:
    """Each user registers and logs in, then ``rounds`` times: a cart, a checkout, a post, a feed.

    From the second user on, each follows the one before. Requests go to
    ``ports`` in turn; reads send the ``Consistency-Token`` of the last
    write, as a client of replicas should. Returns ``(method, path, status)``
    of each request. A 5xx stops the flow with an ``AssertionError`` naming it.
    """
    seen: list[tuple[str, str, int]] = []
    turn = iter(range(1 << 30))
    consistency: dict[str, str] = {}

    def send(method: str, path: str, body: Any = None, **headers: str) -> Answer:
        sent = headers | (consistency if method == "GET" else {})
        answer = call(ports[next(turn) % len(ports)], method, path, body, sent)
        seen.append((method, path.split("?")[0], answer.status))
        if answer.status >= 500:
            raise AssertionError(f"{method} {path}: {answer.status} {answer.body}")
        if token := answer.headers.get(CONSISTENCY):
            consistency[CONSISTENCY] = token
        return answer

    previous: int | None = None
    for number in range(users):
        name = f"{prefix}{number}"
        account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        user_id = send("POST", "/auth/register", account).body["id"]
        token = send("POST", "/auth/login", {"login": name, "password": PASSWORD}).body
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        if previous is not None:
            send("PUT", f"/users/{previous}/follow", **auth)
        for round_ in range(rounds):
            product = send("GET", "/products?per_page=5").body["items"][0]["id"]
            send("POST", "/cart/items", {"product_id": product, "quantity": 1}, **auth)
            send("GET", "/cart", **auth)
            send("POST", "/checkout", **auth, **{"Idempotency-Key": f"{name}-order-{round_}"})
            send("POST", "/posts", {"body": f"hello from {name}"}, **auth)
            send("GET", "/feed", **auth)
        previous = user_id
    return seen
