"""The Secretary-General's annual reports on the Responsibility to Protect, by theme (``sg_reports``)."""

from __future__ import annotations

import pandas as pd

from course.checks import require_columns
from course.r2p.toolbox import split_cell


def _themes_of(cell) -> list[str]:
    return list(split_cell(cell))


def report_themes(reports: pd.DataFrame) -> list[str]:
    """Every theme named in the reports' ``themes`` column (``;``-separated), sorted."""
    require_columns(reports, ("year", "symbol", "title", "themes"), "the reports table",
                    "load it with data.load('sg_reports')")
    return sorted({t for cell in reports["themes"] for t in _themes_of(cell)})


def reports_for_theme(reports: pd.DataFrame, theme: str | None = None) -> pd.DataFrame:
    """The reports, by year, that carry ``theme`` (all of them when theme is None or 'all')."""
    known = report_themes(reports)
    ordered = reports.sort_values("year")
    if theme in (None, "all"):
        return ordered.reset_index(drop=True)
    if theme not in known:
        raise ValueError(f"no report has the theme {theme!r}; themes: {', '.join(known)}")
    mask = ordered["themes"].map(lambda cell: theme in _themes_of(cell))
    return ordered[mask].reset_index(drop=True)
