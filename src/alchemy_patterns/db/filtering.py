"""List filters that an index on the filtered column can serve."""

from __future__ import annotations

from itertools import product

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import QueryableAttribute, Session

#: How many of a prefix's letters are spelt out in both cases as index ranges (2**n ranges).
CASED_LETTERS = 3

_ESCAPE = "/"


def starts_with_any_case(
    session: Session, column: ColumnElement[str] | QueryableAttribute[str], prefix: str
) -> ColumnElement[bool]:
    """Rows whose ``column`` starts with ``prefix`` in any case, read as ranges of its index.

    The criterion is written for the database ``session`` reads (its dialect).

    ``lower(name) LIKE 'smi%'`` is what it means, but no index on ``name``
    serves ``lower(name)``: the database reads every row. So the criterion
    also states where such names lie in the index, and it keeps the exact
    test for the rows those ranges hold:

    * MariaDB compares text without case (the ``_ci`` collations): ``name
      LIKE 'smi%'`` is already one range of the index, in every case.
    * SQLite (``BINARY``) and PostgreSQL under the ``C`` collations order by
      code point, where ``Smith`` and ``smith`` are far apart: the criterion
      is a range per spelling of the prefix's first letters (``sm``, ``Sm``,
      ``sM``, ``SM`` … for at most ``CASED_LETTERS`` of them), each
      ``name >= 'Smi' AND name < 'Smj'``, which the planner reads as index
      ranges (SQLite's "MULTI-INDEX OR", PostgreSQL's bitmap OR).

    Case folds as the database's ``lower()`` does: SQLite's folds ASCII
    letters only, so there ``é`` does not find ``É`` (the other two fold
    it), and MariaDB's collation ignores accents too (``e`` finds ``É``).
    A letter that is another's lower case without being its upper case's
    (the Kelvin sign, ``K``) is not spelt out, so not found from ``k``.
    A PostgreSQL database with a linguistic collation (``en_US``) orders
    text otherwise: there the ranges could miss rows, and it needs the
    ``C`` collation on the column (the project's databases are ``C.UTF-8``).
    """
    exact = column.istartswith(prefix, autoescape=True)
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        return and_(column.like(_escaped(prefix) + "%", escape=_ESCAPE), exact)
    ranges: list[ColumnElement[bool]] = []
    for spelling in _spellings(prefix):
        above = _successor(spelling)
        starts = column >= spelling
        ranges.append(starts if above is None else and_(starts, column < above))
    return and_(or_(*ranges), exact)


def _spellings(prefix: str) -> list[str]:
    """The prefix's start up to its ``CASED_LETTERS``-th letter, in each case of those letters."""
    choices: list[tuple[str, ...]] = []
    cased = 0
    for char in prefix:
        if cased == CASED_LETTERS:
            break
        cases = tuple(dict.fromkeys((_single(char.lower(), char), _single(char.upper(), char))))
        choices.append(cases)
        cased += len(cases) > 1
    return ["".join(chars) for chars in product(*choices)]


def _single(folded: str, char: str) -> str:
    return folded if len(folded) == 1 else char  # "ß".upper() is "SS": no one-letter other case


def _successor(text: str) -> str | None:
    """The least string above every string that starts with ``text`` in code point order.

    None if there is none (``text`` is all U+10FFFF). Surrogates are skipped:
    no database stores them.
    """
    stripped = text.rstrip("\U0010ffff")
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    return stripped[:-1] + chr(0xE000 if 0xD800 <= following <= 0xDFFF else following)


def _escaped(text: str) -> str:
    return (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
