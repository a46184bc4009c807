"""The input checks every topic shares: a table has the columns it needs, a month, a province.

Each check returns the value it accepted (so callers can write ``month = check_month(...)``) or
raises a ``ValueError`` that says what is wrong and what to do, in plain words: these messages are
what a trainee sees when a cell is given the wrong table or a mistyped month.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

MONTH_FORM = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")  # YYYY-MM, which sorts as text


def require_columns(table, columns: Iterable[str], what: str, fix: str) -> pd.DataFrame:
    """``table`` if it is a DataFrame with every one of ``columns``; else a ValueError.

    ``what`` names the table as the trainee knows it ("the media log"); ``fix`` says how to get
    the right one ("load it with data.load('scenario_media_log')").
    """
    columns = list(columns)
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{_capital(what)} must be a pandas DataFrame, not "
                         f"{type(table).__name__}: {fix}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{_capital(what)} lacks column(s) {', '.join(missing)} (it needs "
                         f"{', '.join(columns)}): {fix}, or check the column names")
    return table


def check_month_form(month) -> str:
    """A month written ``YYYY-MM`` (e.g. '2024-06'); anything else raises a ValueError."""
    if not isinstance(month, str) or not MONTH_FORM.match(month):
        raise ValueError(f"month {month!r} is not in the form YYYY-MM (for example '2024-06')")
    return month


def check_month_in(month, months: list[str]) -> str:
    """``month`` as a string if it is one of ``months``; else a ValueError naming their range."""
    text = str(month).strip()
    if text not in months:
        span = f"{months[0]} to {months[-1]}" if months else "(the table has no months)"
        raise ValueError(f"Month {month!r} is not in the data. Use the form YYYY-MM, from {span}.")
    return text


def check_province(province_id, provinces: Iterable, *, alternative: str = "") -> str:
    """``province_id`` as a string if it is one of ``provinces``; else a ValueError listing them.

    ``alternative`` adds another accepted choice to the message ("or None for the whole country").
    """
    known = sorted({str(p) for p in provinces})
    text = str(province_id).strip()
    if text not in known:
        extra = f", {alternative}" if alternative else ""
        raise ValueError(f"Unknown province {province_id!r}: choose one of "
                         f"{', '.join(known)}{extra}")
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
