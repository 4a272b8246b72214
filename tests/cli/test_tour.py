"""``alchemy-patterns tour``: every chapter runs on every backend, and its figures hold.

The tour is run once per backend for the module (in-process, the data the
JSON is made of); each test then checks the figures of one chapter. On a
server the tour makes its own scratch database next to the one it is given
(``<name>_tour``) and drops it afterwards; the name given carries the process
id, so two runs at once never share it. The command itself is run as a user
runs it, as a subprocess, for the JSON of the whole tour on SQLite, ``--list``
and an unknown pattern; in-process for the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import make_url

from alchemy_patterns.cli import cli
from alchemy_patterns.cli.tour import CHAPTERS, run_tour
from alchemy_patterns.cli.tour.chapter import PatternResult, Variant
from alchemy_patterns.cli.tour.scratch import ScratchNotEmpty, scratch_url
from alchemy_patterns.db import Database
from tests.cli.test_cli import run
from tests.conftest import SERVER_URLS, _drop_server_database, _ensure_server_database, _server

Tour = dict[str, PatternResult]


def server_url(backend: str) -> str:
    """The test server's URL, naming a database of this process (the tour derives its own)."""
    base = make_url(SERVER_URLS[backend])
    return base.set(database=f"{base.database}_{os.getpid()}").render_as_string(False)


def scratch_exists(url: str) -> bool:
    scratch = scratch_url(url)
    with _server(scratch) as connection:
        if scratch.get_backend_name() == "postgresql":
            query = "SELECT 1 FROM pg_database WHERE datname = :name"
        else:
            query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"
        return connection.scalar(text(query), {"name": scratch.database}) is not None


@pytest.fixture(scope="module")
def tour_url(backend: str) -> str | None:
    """What the tour is pointed at: nothing for SQLite (its own temporary file), else a server."""
    return None if backend == "sqlite" else server_url(backend)


@pytest.fixture(scope="module")
def tour(tour_url: str | None) -> Tour:
    return {result.name: result for result in run_tour(tour_url)}


def invoke(*args: str) -> Result:
    """The command in-process (a subprocess costs seconds of imports), as a user's shell has it."""
    env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("ALCHEMY_PATTERNS_")
    }
    return CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": "200"})


def variant(result: PatternResult, starting: str) -> Variant:
    (found,) = [v for v in result.variants if v.name.startswith(starting)]
    return found


def statements(tour: Tour, chapter: str) -> dict[str, int]:
    return {v.name.split(" ")[0]: v.statements for v in tour[chapter].variants}


# --- every chapter ----------------------------------------------------------------------


def test_every_chapter_runs_two_or_more_measured_variants(tour: Tour) -> None:
    assert list(tour) == list(CHAPTERS)
    for result in tour.values():
        assert result.module
        assert result.test.startswith("tests/")
        assert len(result.variants) >= 2
        for measured in result.variants:
            assert measured.statements >= 0
            assert measured.seconds >= 0
            assert measured.outcome
            assert bool(measured.sql) == (measured.statements > 0)


@pytest.mark.backends("postgresql", "mariadb")
def test_the_scratch_database_is_gone_after_the_tour(tour: Tour, tour_url: str) -> None:
    assert not scratch_exists(tour_url)


# --- one chapter each --------------------------------------------------------------------


def test_session_scope_rolls_back_and_gives_the_connection_back(tour: Tour) -> None:
    scoped = variant(tour["session-scope"], "session_scope()").outcome
    guide = variant(tour["session-scope"], "guide").outcome
    leaked = variant(tour["session-scope"], "no scope").outcome

    assert scoped == {
        "raised": "LaterStepFailed",
        "owners_after": 0,
        "connections_checked_out": 0,
    }
    assert (guide["raised"], guide["returned"], guide["owners_after"]) == (None, None, 0)
    assert leaked["transaction_left_open"] is True
    assert leaked["connections_checked_out"] == 1


def test_flush_gives_the_id_and_a_rollback_takes_user_and_cart(tour: Tour) -> None:
    unflushed = variant(tour["flush"], "add()").outcome
    rolled_back = variant(tour["flush"], "flush(), then roll back").outcome
    committed = variant(tour["flush"], "flush(), then commit").outcome

    assert unflushed["user_id_before_flush"] is None
    assert isinstance(rolled_back["user_id_after_flush"], int)
    assert rolled_back["cart_carries_the_user_id"] is True
    assert (rolled_back["users_after_rollback"], rolled_back["carts_after_rollback"]) == (0, 0)
    assert (committed["users_after_commit"], committed["carts_after_commit"]) == (1, 1)


def test_loading_lazy_costs_more_than_selectin_and_selectin_more_than_joined(tour: Tour) -> None:
    counts = {v.name: v.statements for v in tour["loading"].variants}
    lazy = counts["lazy (the guide's default)"]

    assert lazy > counts["selectinload"] > counts["joinedload"]
    # 1 owner + 1 pets + 20 appointments (one per pet) + 5 vets; 3 for owner_detail's way.
    assert lazy == 27
    assert counts["selectinload + joinedload (owner_detail)"] == 3
    assert all(
        v.outcome == {"pets": 20, "appointments": 60, "vets": 5} for v in tour["loading"].variants
    )


def test_a_keyset_page_is_the_offset_page_in_one_statement(tour: Tour) -> None:
    offset = variant(tour["pagination"], "offset")
    keyset = variant(tour["pagination"], "keyset")

    assert (offset.statements, keyset.statements) == (2, 1)
    assert offset.outcome["total"] == 200
    assert keyset.outcome["same_rows_as_offset"] is True


def test_bulk_insert_stores_every_row_in_one_statement(tour: Tour) -> None:
    per_row = variant(tour["bulk"], "commit per row")
    bulk = variant(tour["bulk"], "bulk_insert()")

    assert all(v.outcome["rows"] == 200 for v in tour["bulk"].variants)
    assert (per_row.statements, per_row.outcome["commits"]) == (200, 200)
    assert (bulk.statements, bulk.outcome["commits"]) == (1, 1)


def test_a_link_table_row_holds_the_pair_and_an_association_object_its_own_data(
    tour: Tour,
) -> None:
    table = variant(tour["association"], "association table").outcome
    link_object = variant(tour["association"], "association object").outcome

    assert table == {
        "rows": 1,
        "row_holds": ["student_id", "club_id", "joined_at"],
        "second_time": "no-op",
    }
    assert {"status", "grade", "notes"} <= set(link_object["row_holds"])
    assert (link_object["rows"], link_object["second_time"]) == (1, "already_enrolled")


def test_one_follow_shows_on_both_sides_and_a_self_follow_is_refused(tour: Tour) -> None:
    both = variant(tour["follows"], "follow() twice").outcome
    service = variant(tour["follows"], "follow(alice, alice)")
    direct = variant(tour["follows"], "a self-follow INSERT")

    assert both == {"alice_following": ["bob"], "bob_followers": ["alice"], "links": 1}
    assert (service.outcome["refused"], service.statements) == ("self_follow", 0)
    assert direct.outcome["constraint"] == "ck_follows_no_self_follow"
    assert service.outcome["links"] == direct.outcome["links"] == 1


def test_deleting_an_owner_cascades_to_pets_and_appointments_never_to_vets(tour: Tour) -> None:
    vet = variant(tour["cascades"], "delete_vet()").outcome
    owner = variant(tour["cascades"], "erase_owner()").outcome

    assert vet == {
        "refused": "vet_has_appointments",
        "owners": 1,
        "pets": 3,
        "appointments": 6,
        "vets": 2,
    }
    assert owner == {"owners": 0, "pets": 0, "appointments": 0, "vets": 2}


def test_the_guides_savepoint_loses_the_owner_and_ours_keeps_it(tour: Tour) -> None:
    guide = variant(tour["savepoints"], "guide").outcome
    ours = variant(tour["savepoints"], "savepoint()").outcome

    assert guide == {"failed_at": "commit", "owners": 0, "pets": 0}
    assert ours == {"failed_at": "savepoint", "field": "species", "owners": 1, "pets": 0}


def test_the_naive_cart_loses_increments_and_the_atomic_one_keeps_them(tour: Tour) -> None:
    naive = variant(tour["cart"], "guide").outcome
    atomic = dict(variant(tour["cart"], "add_to_cart()").outcome)  # a copy: the module's tour

    # Ten adds to a line of 1: every thread read 1 and wrote 2.
    assert naive == {"threads": 10, "expected": 11, "stored_quantity": 2, "lost": 9, "errors": 0}
    retries = atomic.pop("retries")
    assert atomic == {"threads": 10, "expected": 11, "stored_quantity": 11, "lost": 0, "errors": 0}
    assert retries >= 0


def test_the_cart_says_why_11_and_why_the_safe_variant_may_cost_more(tour: Tour) -> None:
    counts = statements(tour, "cart")
    retried = variant(tour["cart"], "add_to_cart()").outcome["retries"]

    # Two statements per add in both, as the chapter's reading says; a retry adds more.
    assert counts["add_to_cart():"] >= counts["guide:"] == 20
    if not retried:  # a retry refused at BEGIN (a busy SQLite file) adds none: no else
        assert counts["add_to_cart():"] == 20
    reading = tour["cart"].reading
    assert "expected = 11: the line holds 1 before the 10 shoppers" in reading
    assert "2 statements in both variants" in reading
    assert "more statements than the broken one. That is right" in reading


def test_soft_delete_marks_hides_restores_and_refuses_a_taken_address(tour: Tour) -> None:
    chapter = tour["soft-delete"]
    deleting = variant(chapter, "delete_owner()")
    restoring = variant(chapter, "restore_owner(): back")
    refused = variant(chapter, "restore_owner() after")

    assert deleting.outcome == {"owners": 0, "pets": 0, "pets_stored": 3}
    assert restoring.outcome == {"owners": 1, "pets": 3, "pets_stored": 3}
    assert refused.outcome == {"refused": "email_taken", "owners": 1, "pets": 0, "pets_stored": 3}
    # Marked, not deleted: UPDATEs, no DELETE (one UPDATE for all the pets: the
    # statement budget in tests/clinic/test_soft_delete.py).
    assert not any(sql.startswith("DELETE") for sql in deleting.sql + restoring.sql)
    assert any(sql.startswith("UPDATE owners") for sql in deleting.sql)
    assert all("deleted_at IS NULL" in sql for sql in deleting.sql if sql.startswith("SELECT"))
    assert refused.statements <= 4


def test_a_conflict_names_the_field_where_the_guide_blames_the_email(tour: Tour) -> None:
    guide = variant(tour["errors"], "guide").outcome
    ours = variant(tour["errors"], "session_scope()").outcome

    assert guide["duplicate_email"] == guide["duplicate_username"]
    assert ours["duplicate_email"]["field"] == "email"
    assert ours["duplicate_username"]["field"] == "username"
    assert ours["duplicate_username"]["constraint"] == "uq_users_username"


def test_a_stale_save_is_refused_for_one_read_where_no_precondition_loses_an_edit(
    tour: Tour,
) -> None:
    chapter = tour["optimistic"]
    naive = variant(chapter, "no precondition")
    current = variant(chapter, "the version read, still current")
    stale = variant(chapter, "the version read, since replaced")

    assert naive.outcome == {
        "saves": [{"saved_version": 2}, {"saved_version": 3}],
        "lost_edits": 1,
        "stored_name": "Grace Brewster Murray Hopper",
        "stored_version": 3,
    }
    assert current.outcome == {
        "saved_version": 2,
        "stored_name": "Grace Hopper",
        "stored_version": 2,
    }
    assert stale.outcome == {
        "refused": "StaleVersion",
        "current_version": 2,
        "stored_name": "Grace Hopper",
        "stored_version": 2,
    }
    # The refusal costs the one locked read that found the version replaced: no write.
    assert stale.statements == 1
    assert stale.sql[0].startswith("SELECT")
    assert current.statements > stale.statements


# --- the scratch database ------------------------------------------------------------------


@pytest.fixture
def occupied_scratch(backend: str) -> Iterator[str]:
    """A server URL whose scratch database exists already and holds a table of someone's."""
    url = server_url(backend)
    scratch = scratch_url(url).render_as_string(False)
    _ensure_server_database(scratch)
    database = Database(scratch)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE theirs (id INTEGER PRIMARY KEY)")
    database.dispose()
    yield url
    _drop_server_database(make_url(scratch))


@pytest.mark.backends("postgresql", "mariadb")
def test_a_scratch_database_holding_tables_is_refused_and_left_alone(
    occupied_scratch: str,
) -> None:
    with pytest.raises(ScratchNotEmpty, match="1 table"):
        run_tour(occupied_scratch, ["flush"])

    scratch = Database(scratch_url(occupied_scratch))
    with scratch.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM theirs").scalar() == 0
    scratch.dispose()


# --- the command ---------------------------------------------------------------------------


def test_tour_as_json_gives_every_chapter_with_its_figures(tmp_path: Path) -> None:
    result = run(tmp_path, "tour", "--format", "json")

    assert result.returncode == 0, result.stderr
    patterns = json.loads(result.stdout)
    assert [p["name"] for p in patterns] == list(CHAPTERS)
    for pattern in patterns:
        assert set(pattern) >= {"name", "title", "module", "test", "variants", "reading"}
        for measured in pattern["variants"]:
            assert set(measured) == {"name", "statements", "seconds", "sql", "outcome"}
    assert not (tmp_path / "instance").exists()  # never the app's default database


def test_tour_of_one_pattern_as_text_shows_the_figures_and_the_sql() -> None:
    result = invoke("tour", "association")

    assert result.exit_code == 0, result.output
    assert "row_holds = [student_id, club_id, joined_at]" in result.stdout
    assert "tests/school/test_clubs.py" in result.stdout
    assert "INSERT INTO student_clubs" in result.stdout


def test_tour_as_text_prints_a_chapters_reading_of_its_figures() -> None:
    result = invoke("tour", "cart")

    assert result.exit_code == 0, result.output
    assert "Reading the figures: expected = 11: the line holds 1" in " ".join(result.stdout.split())


def test_tour_list_names_every_pattern(tmp_path: Path) -> None:
    result = run(tmp_path, "tour", "--list")

    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert listed == list(CHAPTERS)


def test_an_unknown_pattern_exits_2_with_one_line_naming_the_patterns(tmp_path: Path) -> None:
    result = run(tmp_path, "tour", "no-such-pattern")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no-such-pattern" in lines[0]
    assert all(name in lines[0] for name in CHAPTERS)


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_unreachable_server_is_one_line_naming_the_host(where: str) -> None:
    option = ["--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
    args = [*option, "tour"] if where == "before" else ["tour", *option]

    result = invoke(*args)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "127.0.0.1" in lines[0]
    assert "refused" in lines[0]


def test_a_lazy_load_under_asyncio_is_missing_greenlet_and_each_way_around_it_works(
    tour: Tour,
) -> None:
    chapter = {v.name: (v.statements, v.outcome) for v in tour["async-loading"].variants}

    assert chapter == {
        "lazy load (the guide's)": (1, {"raised": "MissingGreenlet", "pets": None}),
        'lazy="raise"': (1, {"raised": "InvalidRequestError", "pets": None}),
        "selectinload": (2, {"raised": None, "pets": 5}),
        "awaitable attribute (AsyncAttrs)": (2, {"raised": None, "pets": 5}),
    }


def test_history_keeps_the_replaced_version_only_when_committed_and_reads_and_reverts_it(
    tour: Tour,
) -> None:
    chapter = {v.name.split(":")[0]: (v.statements, v.outcome) for v in tour["history"].variants}

    assert chapter == {
        # the product, its version to history, the UPDATE, the audit record and its details
        "change, committed": (5, {"history_rows": 1, "kept_price": "19.99"}),
        "change, rolled back": (5, {"history_rows": 1}),
        "as_of()": (1, {"price": "19.99", "version": 1}),
        # the product, version 1, then as for a change
        "revert()": (6, {"price": "19.99", "version": 3, "history_rows": 2}),
    }
