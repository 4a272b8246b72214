"""Full-text search, ``GET /products?q=`` and ``GET /posts?q=``, in each backend's own engine.

The expected matches are written down once: the same query finds the same
records on every backend (``--db all`` runs each test on all three). Only
orders that every engine agrees on are asserted (more of the query's words
first; ties by id); otherwise the ranks may differ, as the API says.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from alchemy_patterns.db import Database
from alchemy_patterns.domains.shop.models import Product
from tests.builders import make_product, make_user
from tests.social.builders import make_post
from tests.web.conftest import Caller, queries

#: (name, description, price) of the catalogue every product test searches.
CATALOGUE = [
    ("Oak table", "A solid oak dining table for six", "450.00"),
    ("Pine table", "Light pine kitchen table", "120.00"),
    ("Oak chair", "Matching chair in solid oak", "90.00"),
    ("Garden bench", "Weatherproof teak bench for the garden", "210.00"),
    ("Desk lamp", "Adjustable lamp with a warm light", "35.00"),
    ("Bookshelf", "Tall shelf in oak veneer, five shelves", "160.00"),
    ("Rug", "Woollen rug, hand woven", "75.00"),
]

#: A query and the names it finds, on every backend, in any order.
FOUND = [
    ("oak", {"Oak table", "Oak chair", "Bookshelf"}),
    ("OAK", {"Oak table", "Oak chair", "Bookshelf"}),
    ("light", {"Pine table", "Desk lamp"}),  # in a description only, and in two
    ("teak garden", {"Garden bench"}),
    ("pine chair", {"Pine table", "Oak chair"}),  # any of the words
    ("table, the!", {"Oak table", "Pine table"}),  # punctuation and a stopword ignored
    ("woven", {"Rug"}),
    ("shelf", {"Bookshelf"}),  # whole words: not "shelves", nor "bookshelf"
    ("chairs", set()),  # no stemming: MariaDB has none
    ("sofa", set()),
]

#: (body) of the posts every post test searches.
POSTS = [
    "Baking sourdough bread this weekend",
    "The bread came out flat again",
    "Morning run by the river",
    "River walk, then coffee",
    "Coffee and sourdough toast for breakfast",
]


@pytest.fixture
def catalogue(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for name, description, price in CATALOGUE:
            make_product(session, name=name, description=description, price=Decimal(price))


@pytest.fixture
def posts(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author = make_user(session, with_cart=False)
        for body in POSTS:
            make_post(session, author, body=body)


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/products?per_page=100&{query}")
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


# --- what matches ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("q", "expected"), FOUND)
def test_a_search_finds_the_same_products_on_every_backend(
    client: FlaskClient, q: str, expected: set[str]
) -> None:
    found = names(client, f"q={q}")

    assert set(found) == expected
    assert len(found) == len(expected)


@pytest.mark.usefixtures("catalogue")
def test_the_product_with_more_of_the_words_comes_first(client: FlaskClient) -> None:
    found = names(client, "q=oak dining table")

    assert found[0] == "Oak table"
    assert set(found) == {"Oak table", "Oak chair", "Bookshelf", "Pine table"}


def test_equal_matches_are_in_id_order(client: FlaskClient, app_db: Database) -> None:
    with app_db.session_scope() as session:
        ids = [make_product(session, name="Walnut stool").id for _ in range(3)]

    response = client.get("/products?q=walnut")

    assert [item["id"] for item in response.get_json()["items"]] == ids


def test_a_word_in_every_product_is_found(client: FlaskClient, app_db: Database) -> None:
    """A word in every row is the least telling (MariaDB ranks it near 0), but it is found."""
    with app_db.session_scope() as session:
        make_product(session, name="Maple board")

    assert names(client, "q=maple") == ["Maple board"]


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("q", ['"oak', "oak*", "name:oak", "(oak", "-oak", "oak OR", "NEAR(oak)"])
def test_the_engines_query_syntax_is_only_words(client: FlaskClient, q: str) -> None:
    """FTS5's, to_tsquery's and MATCH's operators in ``q`` are read as plain words."""
    assert set(names(client, f"q={q}")) == {"Oak table", "Oak chair", "Bookshelf"}


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("q", ["the", "a an of", "to be", "?!"])
def test_a_query_of_no_searchable_word_is_a_422_on_q(client: FlaskClient, q: str) -> None:
    response = client.get(f"/products?q={q}")

    assert response.status_code == 422
    assert response.get_json()["field"] == "q"
    assert "3 letters" in response.get_json()["detail"]


def test_an_empty_q_is_a_422(client: FlaskClient) -> None:
    response = client.get("/products?q=")

    assert response.status_code == 422
    assert "q" in [error["field"] for error in response.get_json()["errors"]]


# --- the index follows the rows -------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_a_renamed_product_is_found_by_its_new_words_only(
    client: FlaskClient, app_db: Database
) -> None:
    with app_db.session_scope() as session:
        session.execute(
            update(Product)
            .where(Product.name == "Rug")
            .values(name="Kilim", description="Flat woven carpet")
        )

    assert names(client, "q=kilim carpet") == ["Kilim"]
    assert names(client, "q=woollen") == []
    assert names(client, "q=woven") == ["Kilim"]


@pytest.mark.usefixtures("catalogue")
def test_a_price_change_leaves_the_product_found(client: FlaskClient, app_db: Database) -> None:
    with app_db.session_scope() as session:
        session.execute(update(Product).where(Product.name == "Rug").values(price=Decimal("80")))

    assert names(client, "q=woollen") == ["Rug"]


@pytest.mark.usefixtures("catalogue")
def test_a_deleted_product_is_not_found(client: FlaskClient, app_db: Database) -> None:
    with app_db.session_scope() as session:
        session.execute(delete(Product).where(Product.name == "Oak chair"))

    assert set(names(client, "q=oak")) == {"Oak table", "Bookshelf"}


def test_a_product_made_through_the_api_is_found(client: FlaskClient, admin: Caller) -> None:
    made = client.post(
        "/products",
        json={"sku": "LAMP-2", "name": "Floor lamp", "description": "Brass", "price": "99"},
        headers=admin.headers,
    )
    assert made.status_code == 201
    client.post(
        "/products",
        json={"sku": "DESK-1", "name": "Desk", "price": "199"},
        headers=admin.headers,
    )

    assert names(client, "q=brass") == ["Floor lamp"]
    assert made.get_json()["description"] == "Brass"


# --- with filters, sort and pages -----------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_a_search_composes_with_filters(client: FlaskClient) -> None:
    assert set(names(client, "q=oak table&max_price=200")) == {
        "Pine table",
        "Oak chair",
        "Bookshelf",
    }
    assert names(client, "q=oak&min_price=400") == ["Oak table"]


@pytest.mark.usefixtures("catalogue")
def test_a_sorted_search_is_in_the_sort_order(client: FlaskClient) -> None:
    assert names(client, "q=oak table&sort=-price") == [
        "Oak table",
        "Bookshelf",
        "Pine table",
        "Oak chair",
    ]


@pytest.mark.usefixtures("catalogue")
def test_a_sorted_search_walks_by_cursor(client: FlaskClient) -> None:
    page = client.get("/products?q=oak table&sort=name&per_page=3").get_json()
    walked = [item["name"] for item in page["items"]]
    while page["next_cursor"]:
        following = client.get(
            f"/products?q=oak table&sort=name&per_page=3&cursor={page['next_cursor']}"
        )
        assert following.status_code == 200, following.get_json()
        page = following.get_json()
        walked += [item["name"] for item in page["items"]]

    assert walked == ["Bookshelf", "Oak chair", "Oak table", "Pine table"]


@pytest.mark.usefixtures("catalogue")
def test_a_search_by_relevance_pages_by_number(client: FlaskClient) -> None:
    first = client.get("/products?q=oak table&per_page=3").get_json()
    second = client.get(first["links"]["next"]).get_json()

    assert first["total"] == second["total"] == 4
    assert first["next_cursor"] is None
    pages = [item["name"] for item in first["items"] + second["items"]]
    assert sorted(pages) == ["Bookshelf", "Oak chair", "Oak table", "Pine table"]
    assert second["links"]["next"] is None


@pytest.mark.usefixtures("catalogue")
def test_a_cursor_with_a_search_by_relevance_is_a_422(client: FlaskClient) -> None:
    cursor = client.get("/products?per_page=2").get_json()["next_cursor"]

    response = client.get(f"/products?q=oak&cursor={cursor}")

    assert response.status_code == 422
    assert response.get_json()["field"] == "cursor"
    assert "sort" in response.get_json()["detail"]


@pytest.mark.usefixtures("catalogue")
def test_a_search_costs_the_statements_of_a_plain_list(client: FlaskClient) -> None:
    plain = client.get("/products?per_page=2")
    searched = client.get("/products?per_page=2&q=oak table")
    sorted_search = client.get("/products?per_page=2&q=oak table&sort=price&min_price=1")

    assert searched.get_json()["total"] == 4
    assert queries(searched) == queries(plain)
    assert queries(sorted_search) == queries(plain)


# --- posts ----------------------------------------------------------------------------------------


def bodies(client: FlaskClient, caller: Caller, query: str) -> list[str]:
    response = client.get(f"/posts?per_page=100&{query}", headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return [item["body"] for item in response.get_json()["items"]]


@pytest.mark.usefixtures("posts")
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sourdough", {0, 4}),
        ("river coffee", {2, 3, 4}),
        ("Bread!", {0, 1}),
        ("breakfast toast", {4}),
        ("pizza", set()),
        ("again", {1}),  # no stopword but InnoDB's
    ],
)
def test_a_search_finds_the_same_posts_on_every_backend(
    client: FlaskClient, alice: Caller, q: str, expected: set[int]
) -> None:
    found = bodies(client, alice, f"q={q}")

    assert sorted(found) == sorted(POSTS[i] for i in expected)


@pytest.mark.usefixtures("posts")
def test_the_post_with_more_of_the_words_comes_first(client: FlaskClient, alice: Caller) -> None:
    assert bodies(client, alice, "q=coffee sourdough toast")[0] == POSTS[4]


@pytest.mark.usefixtures("posts")
def test_posts_without_q_are_newest_first_and_walk_by_cursor(
    client: FlaskClient, alice: Caller
) -> None:
    page = client.get("/posts?per_page=2", headers=alice.headers).get_json()
    walked = [item["body"] for item in page["items"]]
    while page["next_cursor"]:
        following = client.get(
            f"/posts?per_page=2&cursor={page['next_cursor']}", headers=alice.headers
        )
        page = following.get_json()
        walked += [item["body"] for item in page["items"]]

    assert walked == bodies(client, alice, "") == list(reversed(POSTS))


@pytest.mark.usefixtures("posts")
def test_a_post_search_costs_the_statements_of_the_post_list(
    client: FlaskClient, alice: Caller
) -> None:
    plain = client.get("/posts?per_page=2", headers=alice.headers)
    searched = client.get("/posts?per_page=2&q=bread coffee", headers=alice.headers)

    assert searched.get_json()["total"] == 4
    assert queries(searched) == queries(plain)


@pytest.mark.usefixtures("posts")
def test_a_post_search_refuses_a_cursor_and_an_unsearchable_q(
    client: FlaskClient, alice: Caller
) -> None:
    cursor = client.get("/posts?per_page=2", headers=alice.headers).get_json()["next_cursor"]

    by_cursor = client.get(f"/posts?q=bread&cursor={cursor}", headers=alice.headers)
    stopwords = client.get("/posts?q=the", headers=alice.headers)

    assert (by_cursor.status_code, by_cursor.get_json()["field"]) == (422, "cursor")
    assert (stopwords.status_code, stopwords.get_json()["field"]) == (422, "q")


def test_posts_are_for_signed_in_users(client: FlaskClient) -> None:
    assert client.get("/posts?q=bread").status_code == 401


# --- the document ---------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["/products", "/posts"])
def test_the_api_document_describes_q(client: FlaskClient, operation: str) -> None:
    document = client.get("/openapi.json").get_json()

    parameters = document["paths"][operation]["get"]["parameters"]
    q = next(parameter for parameter in parameters if parameter["name"] == "q")
    assert q["in"] == "query"
    assert "any of them" in q["description"]
    assert "cursor" in q["description"]
