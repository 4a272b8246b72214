"""Full-text search in each backend's own engine, behind one declaration and one query.

A table declares which text columns are searched (:func:`full_text`); a list
asks :func:`text_search` for the rows that match a query and how well
(:class:`Match`), and :func:`ranked` orders by it. What differs per backend
lives here alone:

* **PostgreSQL**: a generated ``search_vector tsvector`` column (``STORED``,
  so it is computed once per write) with a GIN index; ``@@ to_tsquery`` finds,
  ``ts_rank`` ranks (the first column weighs A, the others B).
* **SQLite**: an FTS5 table ``<table>_fts`` with external content (it stores
  the index only, the text stays in the table), kept in step by three
  triggers; ``MATCH`` finds, ``bm25()`` ranks (the first column weighs 2.5 times,
  as A against B in ``ts_rank``).
* **MariaDB**: a ``FULLTEXT`` index; ``MATCH ... AGAINST (... IN NATURAL
  LANGUAGE MODE)`` finds and ranks (one relevance, no column weights).

The three agree on *which* rows match because the query is reduced here to
the words every engine indexes the same way: a row matches when it holds any
of them (natural language mode's OR). PostgreSQL uses the ``simple`` text
search configuration, which lower-cases and neither stems nor drops
stopwords: ``english`` would find "running" for "run" on PostgreSQL alone,
since InnoDB and FTS5's ``unicode61`` tokenizer do not stem. InnoDB does not
index words shorter than ``innodb_ft_min_token_size`` (3) nor its default
stopwords (:data:`STOPWORDS`), so those are dropped from every query, on every
backend, and a query of nothing else is refused (:class:`ValidationFailed`
on ``q``). Those are the server's defaults: a MariaDB server set otherwise
(``innodb_ft_min_token_size``, a stopword table of its own) finds otherwise.
The ranks differ: ``ts_rank`` counts a document's own matches, ``bm25`` and
InnoDB also weigh how rare a word is in the whole table.

Known differences left alone (a corpus of plain words avoids them):
PostgreSQL's parser keeps host names, e-mail addresses and version numbers
whole (``example.com`` is one lexeme), InnoDB keeps ``_`` and an inner ``'``
inside words, and accents match unaccented letters on SQLite (``unicode61``
folds them) and MariaDB (its ``_ci`` collations) but not on PostgreSQL.

InnoDB indexes a row's words when its transaction commits: a search sees
committed rows only, on MariaDB, not the searching transaction's own writes.

On SQLite, a later migration that *recreates* the table (a batch ALTER that
copies it) drops its triggers: it must run :meth:`FullText.create_ddl` again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Float,
    String,
    Table,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

from alchemy_patterns.db.errors import ValidationFailed
from alchemy_patterns.db.pagination import AnySelect
from alchemy_patterns.db.sorting import Sortable

__all__ = [
    "MIN_TERM_LENGTH",
    "STOPWORDS",
    "TEXT_SEARCH_CONFIG",
    "FullText",
    "Match",
    "full_text",
    "include_name",
    "include_object",
    "ranked",
    "search_terms",
    "text_search",
]

#: PostgreSQL's text search configuration: no stemming and no stopwords, as InnoDB and FTS5.
TEXT_SEARCH_CONFIG = "simple"
#: The generated ``tsvector`` column a searched table gets on PostgreSQL.
VECTOR_COLUMN = "search_vector"
#: InnoDB's ``innodb_ft_min_token_size`` and ``innodb_ft_max_token_size`` (their defaults).
MIN_TERM_LENGTH, MAX_TERM_LENGTH = 3, 84
#: At most this many words of a query are searched for.
MAX_TERMS = 16
#: InnoDB's default stopword list (``INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD``).
STOPWORDS = frozenset(
    {
        *("a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from"),
        *("how", "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to"),
        *("was", "what", "when", "where", "who", "will", "with", "und", "www"),
    }
)
#: How much more a word in the first column counts than one in the others (ts_rank's A over B).
FIRST_COLUMN_WEIGHT = 2.5

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class FullText:
    """The full-text index of a table's text columns, named the same way on every backend."""

    table: str
    columns: tuple[str, ...]
    key: str = "id"

    @property
    def index_name(self) -> str:
        """The GIN index (PostgreSQL) or the FULLTEXT index (MariaDB)."""
        return f"ix_{self.table}_search"

    @property
    def fts_table(self) -> str:
        """The FTS5 table (SQLite)."""
        return f"{self.table}_fts"

    def create_ddl(self, dialect: str) -> list[str]:
        """The statements that build the index on ``dialect`` and index the rows already there."""
        if dialect == "postgresql":
            return self._postgresql()
        if dialect == "sqlite":
            return self._sqlite()
        columns = ", ".join(self.columns)
        return [f"CREATE FULLTEXT INDEX {self.index_name} ON {self.table} ({columns})"]

    def drop_ddl(self, dialect: str) -> list[str]:
        """The statements that remove what :meth:`create_ddl` built (triggers first)."""
        if dialect == "postgresql":
            return [
                f"DROP INDEX {self.index_name}",
                f"ALTER TABLE {self.table} DROP COLUMN {VECTOR_COLUMN}",
            ]
        if dialect == "sqlite":
            triggers = [f"DROP TRIGGER IF EXISTS {name}" for name in self._trigger_names()]
            return [*triggers, f"DROP TABLE IF EXISTS {self.fts_table}"]
        return [f"DROP INDEX {self.index_name} ON {self.table}"]

    def _postgresql(self) -> list[str]:
        first, *others = self.columns
        parts = [_weighted(first, "A"), *(_weighted(column, "B") for column in others)]
        vector = " || ".join(parts)
        return [
            f"ALTER TABLE {self.table} ADD COLUMN {VECTOR_COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({vector}) STORED",
            f"CREATE INDEX {self.index_name} ON {self.table} USING gin ({VECTOR_COLUMN})",
        ]

    def _trigger_names(self) -> list[str]:
        return [f"{self.fts_table}_{event}" for event in ("insert", "delete", "update")]

    def _sqlite(self) -> list[str]:
        fts, columns = self.fts_table, ", ".join(self.columns)
        new = ", ".join(f"new.{column}" for column in self.columns)
        old = ", ".join(f"old.{column}" for column in self.columns)
        add = f"INSERT INTO {fts}(rowid, {columns}) VALUES (new.{self.key}, {new});"
        # An external-content table forgets a row by being told its old values.
        forget = (
            f"INSERT INTO {fts}({fts}, rowid, {columns}) VALUES ('delete', old.{self.key}, {old});"
        )
        inserted, deleted, updated = self._trigger_names()
        return [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({columns}, "
            f"content='{self.table}', content_rowid='{self.key}')",
            f"CREATE TRIGGER {inserted} AFTER INSERT ON {self.table} BEGIN {add} END",
            f"CREATE TRIGGER {deleted} AFTER DELETE ON {self.table} BEGIN {forget} END",
            # Only a change to a searched column re-indexes the row (not the stock moving).
            f"CREATE TRIGGER {updated} AFTER UPDATE OF {columns} ON {self.table} "
            f"BEGIN {forget} {add} END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]


def _weighted(column: str, weight: str) -> str:
    return f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce({column}, '')), '{weight}')"


def full_text(table: Table, *columns: str, key: str = "id") -> FullText:
    """Declare ``table``'s full-text index over ``columns`` (the first counts most).

    The index is not part of the table's metadata (no backend-neutral
    construct can express it): a migration builds it with
    :meth:`FullText.create_ddl`, and ``metadata.create_all()`` /
    ``drop_all()`` build and remove it through the table's DDL events, so a
    schema made either way searches alike. :func:`include_name` and
    :func:`include_object` keep Alembic's comparison from reporting it.
    """
    declared = FullText(table.name, columns, key)
    event.listen(table, "after_create", _run(declared.create_ddl))
    event.listen(table, "before_drop", _run(declared.drop_ddl, only="sqlite"))
    table.info["full_text"] = declared
    return declared


def _run(ddl: Callable[[str], list[str]], only: str | None = None) -> Callable[..., None]:
    def run(target: Table, connection: Connection, **kw: Any) -> None:
        dialect = connection.dialect.name
        if only is None or dialect == only:
            for statement in ddl(dialect):
                connection.exec_driver_sql(statement)

    return run


# --- what Alembic's comparison leaves alone -------------------------------------------------

_FTS5_TABLE = re.compile(r"^\w+_fts(_(data|idx|docsize|config|content))?$")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name``: skip FTS5 tables and their shadow tables, unreflected."""
    return not (type_ == "table" and name is not None and _FTS5_TABLE.match(name))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object``: skip the search column and index the models do not hold."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "column":
        return name != VECTOR_COLUMN
    if type_ == "index":
        return not name.endswith("_search")
    return True


# --- the query ---------------------------------------------------------------------------------


def search_terms(query: str) -> list[str]:
    """The words of ``query`` every backend indexes: lower-cased, once each, in order.

    Words shorter than :data:`MIN_TERM_LENGTH` or longer than InnoDB indexes,
    and :data:`STOPWORDS`, are dropped; at most :data:`MAX_TERMS` are kept.
    Letters and digits only are left, so no engine reads an operator in them.
    """
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        fits = MIN_TERM_LENGTH <= len(word) <= MAX_TERM_LENGTH
        if fits and word not in STOPWORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


@dataclass(frozen=True)
class Match:
    """A full-text query against a table: which rows match, and how well.

    ``narrow(stmt)`` keeps the matching rows of a SELECT on the table;
    ``rank`` is larger for a better match, comparable within one query on one
    backend only. On SQLite the matches are a subquery of the FTS5 table
    joined to the rows (``bm25()`` is computed once per match there; a
    correlated subquery per row would count every word's matches again for
    each row).
    """

    rank: ColumnElement[float]
    narrow: Callable[[AnySelect], AnySelect]


def text_search(session: Session, table: Table, query: str) -> Match:
    """The rows of ``table`` (declared with :func:`full_text`) holding any word of ``query``.

    Built for the session's backend. A query with no word the engines index
    (only short words and stopwords, see :func:`search_terms`) is
    :class:`ValidationFailed` on ``q``.
    """
    declared: FullText = table.info["full_text"]
    terms = search_terms(query)
    if not terms:
        raise ValidationFailed(
            f"q has no word to search for: words of {MIN_TERM_LENGTH} letters or more count, "
            "except the most common ones (the, and, with...)",
            columns=("q",),
        )
    build = _BUILDERS[session.get_bind().dialect.name]
    return build(table, declared, terms)


def ranked(stmt: AnySelect, match: Match, key: Sortable, cursor: str | None) -> AnySelect:
    """``stmt`` narrowed to ``match``, best match first, ``key`` breaking ties.

    A cursor cannot mark a place in this order: SQLite's and MariaDB's ranks
    depend on the whole table (how rare each word is), so a row added while
    a client pages moves the others. A ``cursor`` is refused
    (:class:`ValidationFailed` on ``cursor``); numbered pages work, and a
    list searched *and* sorted by its own columns pages by cursor too.
    """
    if cursor is not None:
        raise ValidationFailed(
            "a search ordered by relevance pages by number, not by cursor: "
            "drop cursor, or give sort",
            columns=("cursor",),
        )
    return match.narrow(stmt).order_by(None).order_by(match.rank.desc(), key.asc())


# --- how each backend says it ---------------------------------------------------------------


def _words(terms: list[str], separator: str) -> BindParameter[str]:
    return bindparam(None, separator.join(terms), type_=String(), unique=True)


def _postgresql(table: Table, declared: FullText, terms: list[str]) -> Match:
    vector: ColumnElement[Any] = literal_column(f"{table.name}.{VECTOR_COLUMN}")
    # to_tsquery, not plainto_tsquery: any word ("a | b"), as natural language mode.
    config: ColumnElement[Any] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
    tsquery = func.to_tsquery(config, _words(terms, " | "))
    found = vector.bool_op("@@")(tsquery)
    return Match(func.ts_rank(vector, tsquery, type_=Float()), lambda stmt: stmt.where(found))


def _sqlite(table: Table, declared: FullText, terms: list[str]) -> Match:
    fts: ColumnElement[Any] = literal_column(declared.fts_table)
    weights = [FIRST_COLUMN_WEIGHT] + [1.0] * (len(declared.columns) - 1)
    # Each word quoted, joined by OR ("a" OR "b"): FTS5 would AND bare words.
    words = _words([f'"{term}"' for term in terms], " OR ")
    matches = (
        select(
            literal_column("rowid").label("key"),
            # bm25() is smaller for a better match.
            (-func.bm25(fts, *weights, type_=Float())).label("rank"),
        )
        .select_from(text(declared.fts_table))
        .where(fts.op("MATCH")(words))
        .subquery("search_matches")
    )
    joined = matches.c.key == table.c[declared.key]
    return Match(matches.c.rank, lambda stmt: stmt.join(matches, joined))


def _mariadb(table: Table, declared: FullText, terms: list[str]) -> Match:
    columns = [table.c[name] for name in declared.columns]
    relevance = mysql.match(*columns, against=_words(terms, " ")).in_natural_language_mode()
    # In the WHERE, a relevance is true when it is not 0: every row that holds a word.
    return Match(relevance, lambda stmt: stmt.where(relevance))


_BUILDERS: dict[str, Callable[[Table, FullText, list[str]], Match]] = {
    "postgresql": _postgresql,
    "sqlite": _sqlite,
    "mysql": _mariadb,
    "mariadb": _mariadb,
}
