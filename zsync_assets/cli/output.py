"""How listing commands print: `--format table|json|csv`.

table: for people. Fits the terminal (`COLUMNS`, else the terminal's width), and no value is
ever cut: long values (reasons) wrap inside their column (rich's `fold` overflow).
json: one document on stdout, parseable as is (timestamps as ISO text).
csv: a header line, then one line per row (the command's main listing).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import click
import polars as pl

FORMATS = ("table", "json", "csv")
Rows = Sequence[dict[str, Any]] | pl.DataFrame


def format_option(command: Callable) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people (fits the terminal, wraps long values); json or csv for scripts.",
    )(command)


def plain(value: Any) -> Any:
    """A JSON/CSV-friendly value: timestamps as ISO text, nested values kept."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _rows(rows: Rows) -> list[dict[str, Any]]:
    return rows.to_dicts() if isinstance(rows, pl.DataFrame) else [dict(r) for r in rows]


def _columns(rows: Rows, columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    if isinstance(rows, pl.DataFrame):
        return rows.columns
    return list(dict.fromkeys(k for r in rows for k in r))


def width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def when(value: Any) -> str:
    """A timestamp for people: to the second, with its offset (`2026-11-30 08:40:27+00:00`)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return "" if value is None else str(value)


def wrapped(text: str) -> str:
    """A line of prose folded to the terminal's width (words kept whole)."""
    import textwrap

    return "\n".join(
        textwrap.fill(line, width(), break_long_words=False, break_on_hyphens=False) or line
        for line in text.splitlines()
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, list | dict):
        return json.dumps(plain(value), ensure_ascii=False)
    return str(plain(value))


def column_widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    """Widths that fit the terminal (padding and separators take 3 characters per column): each
    column as wide as its longest value if all fit, else the widest ones narrowed first, down to
    their longest word (text then wraps between words), and below that only when even the words
    do not fit (a word then folds). Measured in terminal cells: a CJK character takes two."""
    from rich.cells import cell_len

    room = max(len(columns) * 4, width() - 3 * len(columns) - 1)
    widest = [
        max([cell_len(c), *(cell_len(line) for row in cells for line in row[i].splitlines())])
        for i, c in enumerate(columns)
    ]
    words = [
        min(w, max([cell_len(c), *(cell_len(word) for row in cells for word in row[i].split())]))
        for i, (c, w) in enumerate(zip(columns, widest, strict=True))
    ]
    widths = list(widest)
    for floor in (words, [4] * len(columns)):
        while sum(widths) > room:
            shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
            if not shrinkable:
                break
            i = max(shrinkable, key=lambda k: widths[k])
            widths[i] -= 1
    return widths


def table_text(rows: Rows, columns: Sequence[str] | None = None, title: str | None = None) -> str:
    """A table as text, at most the terminal's width; cells wrap, nothing is cut."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    cols = _columns(rows, columns)
    cells = [[_text(r.get(c)) for c in cols] for r in _rows(rows)]
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    for c, fixed in zip(cols, column_widths(cols, cells), strict=True):
        table.add_column(c, overflow="fold", width=fixed)
    for row in cells:
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=width(), color_system=None, force_terminal=False, soft_wrap=False).print(
        table, crop=False
    )
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()).strip("\n")


def csv_text(rows: Rows, columns: Sequence[str] | None = None) -> str:
    cols = _columns(rows, columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in _rows(rows):
        writer.writerow({c: _text(r.get(c)) for c in cols})
    return buffer.getvalue().rstrip("\n")


def json_text(document: Any) -> str:
    if isinstance(document, pl.DataFrame):
        document = document.to_dicts()
    return json.dumps(plain(document), ensure_ascii=False, indent=2, default=str)


def emit(rows: Rows, fmt: str, *, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """One listing in the chosen format."""
    if fmt == "json":
        click.echo(json_text(_rows(rows)))
    elif fmt == "csv":
        click.echo(csv_text(rows, columns))
    else:
        click.echo(table_text(rows, columns, title))
