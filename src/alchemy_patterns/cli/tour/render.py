"""The tour for people (rich tables, highlighted SQL) and for machines (JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from alchemy_patterns.cli.tour.chapter import Chapter, PatternResult, Variant

#: A select list longer than this is shortened in the terminal (never in JSON).
SELECT_LIST_SHOWN = 60
_SELECT_LIST = re.compile(r"^SELECT (?P<columns>[^()]*?) FROM ", re.MULTILINE)


def as_json(results: Iterable[PatternResult]) -> str:
    return json.dumps([asdict(result) for result in results], indent=2)


def chapters_as_json(chapters: Iterable[Chapter]) -> str:
    keys = ("name", "title", "module", "test")
    return json.dumps([{key: getattr(c, key) for key in keys} for c in chapters], indent=2)


def print_chapters(console: Console, chapters: Iterable[Chapter]) -> None:
    table = Table("pattern", "title", box=None, show_header=False)
    for chapter in chapters:
        table.add_row(Text(chapter.name), Text(chapter.title))
    console.print(table)


def print_tour(console: Console, where: str, results: Iterable[PatternResult]) -> None:
    """Each pattern as it finishes: its variants side by side, then the SQL of each."""
    console.print(f"[bold]alchemy-patterns tour[/] on {where}\n")
    for result in results:
        print_pattern(console, result)


def print_pattern(console: Console, result: PatternResult) -> None:
    console.rule(f"[bold]{escape(result.name)}[/]: {escape(result.title)}")
    console.print(Text(result.lesson))
    console.print(
        f"[dim]implemented in[/] {escape(result.module)}  [dim]proven by[/] {escape(result.test)}"
    )
    console.print(variants_table(result.variants))
    if result.reading:
        console.print(Text.assemble(("Reading the figures: ", "bold"), result.reading))
    for variant in result.variants:
        console.print(f"[bold]{escape(variant.name)}[/] [dim]({plural(variant.statements)})[/]")
        if variant.sql:
            console.print(Padding(sql_block(variant.sql), (0, 0, 0, 2)))
    console.print()


def plural(statements: int) -> str:
    return "1 statement" if statements == 1 else f"{statements} statements"


def variants_table(variants: list[Variant]) -> Table:
    table = Table("variant", "statements", "time", "outcome", show_lines=True)
    table.columns[1].justify = table.columns[2].justify = "right"
    for variant in variants:
        table.add_row(
            Text(variant.name),
            str(variant.statements),
            f"{variant.seconds * 1000:.1f} ms",
            Text(outcome_lines(variant.outcome)),  # Text: a list's brackets are not markup
        )
    return table


def outcome_lines(outcome: dict[str, Any]) -> str:
    return "\n".join(f"{key} = {show(value)}" for key, value in outcome.items())


def show(value: Any) -> str:
    """A figure as a reader wants it: lists and mappings inline, sentences quoted."""
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and " " in value:
        return f'"{value}"'
    return str(value)


def sql_block(statements: list[str]) -> Syntax:
    code = "\n".join(shorter_select_list(statement) for statement in statements)
    return Syntax(code, "sql", word_wrap=True, background_color="default")


def shorter_select_list(sql: str) -> str:
    """``SELECT a, b, c, … FROM``: the columns of a wide SELECT are not what the tour shows."""

    def shorten(match: re.Match[str]) -> str:
        columns = match["columns"]
        if len(columns) <= SELECT_LIST_SHOWN:
            return match[0]
        first, *rest = columns.split(", ")
        return f"SELECT {first}, … ({len(rest) + 1} columns) FROM "

    return _SELECT_LIST.sub(shorten, sql)
