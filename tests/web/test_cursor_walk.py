"""Every offset list of the API, walked by cursor, reads the rows its numbered pages read.

On the demo data (``seed --size small``), as staff (who see every private
record): for each list, following ``next_cursor`` from page 1 gives the same
rows in the same order as following the numbered pages, each row once.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from alchemy_patterns.cli.seeding import ADMIN_USERNAME, seed_demo_data
from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.tokens import issue_token
from alchemy_patterns.domains.school.models import student_clubs
from alchemy_patterns.domains.shop.models import Order
from alchemy_patterns.domains.social.models import Comment, follows

#: Every offset list, its path's ids to be filled from the seeded rows.
LISTS = [
    "/products",
    "/orders",
    "/audit",
    "/owners",
    "/vets",
    "/students",
    "/students/{student}/clubs",
    "/clubs",
    "/clubs/{club}/members",
    "/courses",
    "/posts/{post}/comments",
    "/users/{followed}/followers",
    "/users/{follower}/following",
]
PER_PAGE = 2


def busiest(db: Database, column: Any) -> Any:
    """The value of ``column`` shared by the most rows: the longest list of its kind."""
    stmt = select(column).group_by(column).order_by(func.count().desc(), column).limit(1)
    with db.session_scope(read_only=True) as session:
        return session.scalar(stmt)


def walk(client: FlaskClient, url: str, headers: dict[str, str], by_cursor: bool) -> list[Any]:
    """Every item of a list, following ``links.next`` (numbered) or ``next_cursor``."""
    items: list[Any] = []
    page = client.get(url, headers=headers).get_json()
    items += page["items"]
    while page["next_cursor"] is not None:
        following = page["links"]["next"] if not by_cursor else None
        if following is None:
            query = {"per_page": PER_PAGE, "cursor": page["next_cursor"]}
            page = client.get(url.split("?")[0], query_string=query, headers=headers).get_json()
        else:
            page = client.get(following, headers=headers).get_json()
        items += page["items"]
        assert len(items) < 10_000, "the walk does not end"
    return items


def test_every_offset_list_walked_by_cursor_reads_its_numbered_pages_rows(
    client: FlaskClient, app_db: Database
) -> None:
    seed_demo_data(app_db, size="small", seed=0)
    customer = busiest(app_db, Order.user_id)  # /orders are the caller's own
    with app_db.session_scope() as session:
        admin = session.scalars(select(User.id).where(User.username == ADMIN_USERNAME)).one()
        tokens = {who: issue_token(session, who).token for who in (admin, customer)}
    ids = {
        "student": busiest(app_db, student_clubs.c.student_id),
        "club": busiest(app_db, student_clubs.c.club_id),
        "post": busiest(app_db, Comment.post_id),
        "followed": busiest(app_db, follows.c.followed_id),
        "follower": busiest(app_db, follows.c.follower_id),
    }
    for number in range(4):  # the seed writes one audit record: a few more for its list
        product = {"sku": f"WALK-{number}", "name": f"Walk {number}", "price": "1.00", "stock": 1}
        admin_headers = {"Authorization": f"Bearer {tokens[admin]}"}
        assert client.post("/products", json=product, headers=admin_headers).status_code == 201
    walked = {}

    for path in LISTS:
        headers = {"Authorization": f"Bearer {tokens[customer if path == '/orders' else admin]}"}
        url = f"{path.format(**ids)}?per_page={PER_PAGE}"
        by_number = walk(client, url, headers, by_cursor=False)
        by_cursor = walk(client, url, headers, by_cursor=True)

        assert by_cursor == by_number, path
        walked[path] = len(by_number)

    assert all(rows > PER_PAGE for rows in walked.values()), walked  # every walk turned pages
