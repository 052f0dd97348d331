"""User text made harmless for the places staff read it: spreadsheets, Markdown viewers and terminals.

Enterprises type whatever they like, and staff open what they typed in Excel (CSV), in a Markdown viewer or
chat attachment (the weekly report) and in a terminal (`tickets list/show`). Each sink gets one function:
`csv_cell` stops a cell from being read as a formula, `markdown` stops text from becoming HTML, links or
emphasis, `terminal` removes control characters (ANSI escapes, carriage returns) before printing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what Excel and LibreOffice read as the start of a formula
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # keeps \t and \n
_MARKDOWN = re.compile(r"([\\`*_\[\]])")


def csv_cell(value: object) -> object:
    """A value for a CSV row: text that would start a formula gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Iterable[object]) -> list[object]:
    """Every cell of a row through `csv_cell`."""
    return [csv_cell(v) for v in values]


def csv_uncell(text: str) -> str:
    """A cell read back from a CSV this project wrote: the apostrophe `csv_cell` added is removed."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def markdown(text: str) -> str:
    """User text inside Markdown: HTML written as text, Markdown's markup characters escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


def terminal(text: str) -> str:
    """Text safe to print: escape sequences and other control characters removed (tabs and newlines kept)."""
    return _CONTROL.sub("", text)
