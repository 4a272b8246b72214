"""Names for enum values in the OpenAPI document, for the clients generated from it.

A client generator names an enum's members after their values, and values
such as the grades ``B+`` and ``B`` both come out as ``B``: openapi-python-client
stops there ("Duplicate key B in enum grade.Grade"). ``x-enum-varnames``, the
extension the generators read (openapi-python-client, openapi-generator),
names each value instead. The names follow from the values by one rule
(:func:`varname`), so ``B+`` is ``B_PLUS`` here as it is in :class:`Grade`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard

VARNAMES = "x-enum-varnames"
_SIGNS = {"+": "_PLUS_", "-": "_MINUS_"}
_NOT_A_WORD = re.compile(r"\W+")
_UNDERSCORES = re.compile(r"__+")


def name_enum_values(document: dict[str, Any]) -> None:
    """Give every string enum in ``document`` whose values are not all identifiers its names.

    Raises ``ValueError`` when two values of one enum come out as the same
    name: the document is built at start-up, so that is where it fails.
    """
    for schema in objects_in(document):
        values = schema.get("enum")
        if _needs_names(values):
            schema[VARNAMES] = enum_varnames(values)


def enum_varnames(values: Sequence[str]) -> list[str]:
    """One distinct upper-case identifier per value, by :func:`varname`."""
    names = [varname(value) for value in values]
    clashes = [name for name, count in Counter(names).items() if count > 1]
    if clashes:
        same = [value for value in values if varname(value) in clashes]
        raise ValueError(f"enum values {same} would share the names {clashes}: rename a value")
    return names


def varname(value: str) -> str:
    """An upper-case identifier for ``value``: ``A-`` is ``A_MINUS``, ``a b`` is ``A_B``.

    ``+`` and ``-`` are spelled out, so that ``B+``, ``B`` and ``B-`` differ;
    any other run of characters an identifier cannot hold is one ``_``, and a
    name that would not start with a letter starts with ``VALUE_`` (``1`` is
    ``VALUE_1``).
    """
    name = "".join(_SIGNS.get(char, char) for char in value)
    name = _UNDERSCORES.sub("_", _NOT_A_WORD.sub("_", name)).strip("_").upper()
    return name if name[:1].isalpha() else f"VALUE_{name}".rstrip("_")


def _needs_names(values: Any) -> TypeGuard[list[str]]:
    return (
        isinstance(values, list)
        and all(isinstance(value, str) for value in values)
        and not all(value.isidentifier() for value in values)
    )


def objects_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, however deep: enums sit in components and inline alike."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from objects_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from objects_in(value)
