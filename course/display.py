"""How the course shows tables: reading text whole and wrapped, one style everywhere.

pandas cuts every cell at 50 characters by default, which turns a paraphrased recommendation
into "Build human rights into peace agreements from …". :func:`configure` (run when ``course`` is
imported) lifts that limit and, in a notebook, shows every DataFrame (and Series, as a
two-column table) through :func:`table_html`:

* text is left-aligned, starts at the top of its cell and wraps; long unbroken values (hashes)
  break anywhere, so a table fits the page instead of scrolling sideways;
* a table that still needs to scroll sits in a labelled region that the keyboard can reach;
* a header cell is never empty: a named index becomes a column, an unnamed default index
  (0, 1, 2 …) is left out, whole numbers stored as floats show as whole numbers.

The widgets use :func:`table_html` too, so tables look the same in cell outputs and in widgets
(where JupyterLab's own table style does not reach). Plain pandas only: no widget library.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

import pandas as pd

__all__ = ["TABLE_CLASS", "configure", "plural", "readable_frame", "series_frame", "table_html"]

TABLE_CLASS = "upstream-table"
# Scoped by class, so it styles only the course's tables; repeated per table (a widget's HTML is
# shown on its own, without the notebook's styles).
TABLE_STYLE = f"""<style>
.{TABLE_CLASS}-region {{overflow-x:auto;max-width:100%;margin:0 0 1em 0}}
.{TABLE_CLASS}-region:focus-visible {{outline:2px solid #1f4e8c;outline-offset:2px}}
table.{TABLE_CLASS} {{border-collapse:collapse;margin:0;font-size:13px;line-height:1.4;
  color:#1a1a1a;background:#fff}}
table.{TABLE_CLASS} caption {{text-align:left;font-weight:bold;padding:0 0 4px 0}}
table.{TABLE_CLASS} th, table.{TABLE_CLASS} td {{text-align:left;vertical-align:top;
  padding:4px 8px;border-bottom:1px solid #d0d0d0;white-space:normal;max-width:40em;
  overflow-wrap:break-word}}
table.{TABLE_CLASS} thead th {{background:#eef1f5;border-bottom:2px solid #8a8a8a}}
table.{TABLE_CLASS} tbody tr:nth-child(even) {{background:#f7f8fa}}
table.{TABLE_CLASS} td.num {{text-align:right;font-variant-numeric:tabular-nums}}
</style>"""
_ids = itertools.count(1)
HIDDEN = ("position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;"
          "clip:rect(0 0 0 0);white-space:nowrap;border:0")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 country", "2 countries", "0 items": the count and the noun that fits it."""
    if count == 1:
        return f"1 {singular}"
    if plural_form is None:
        if singular.endswith("y") and singular[-2:-1] not in tuple("aeiou"):
            plural_form = singular[:-1] + "ies"
        elif singular.endswith(("s", "x", "ch", "sh")):
            plural_form = singular + "es"
        else:
            plural_form = singular + "s"
    return f"{count:,} {plural_form}"


def _whole_numbers(column: pd.Series) -> bool:
    values = column.dropna()
    return (pd.api.types.is_float_dtype(column) and len(values) > 0
            and bool((values == values.round()).all()) and bool((values.abs() < 2**53).all()))


def _whole(number: int) -> str:
    """1000 stays 1000 (a year reads wrongly as 2,024); from 10,000 up, thousands are grouped."""
    return f"{number:,}" if abs(number) >= 10_000 else str(number)


def _province_names() -> dict[str, str]:
    from course import data, geography  # only when a table has a province_id column

    try:
        return geography.province_names(data.load("scenario_provinces"))
    except (OSError, ValueError):  # no datasets here: the codes alone still read
        return {}


def _name_provinces(shown: pd.DataFrame) -> None:
    """"P01" becomes "P01 (Quessmar)" in a ``province_id`` column, unless the table already has
    the names beside it: people read names, and the code stays first for matching the data."""
    if "province_id" not in shown.columns or {"name", "province", "province_name"} & set(shown):
        return
    names = _province_names()
    codes = shown["province_id"]
    if names and codes.map(lambda c: isinstance(c, str) and c in names).any():
        shown["province_id"] = [f"{c} ({names[c]})" if isinstance(c, str) and c in names else c
                                for c in codes]


def readable_frame(frame: pd.DataFrame, na_rep: str = "–") -> tuple[pd.DataFrame, bool]:
    """The frame as a person should read it, and whether its index is worth showing.

    A named index (or the names of a pivot's rows) becomes ordinary columns, so no header cell
    is empty; a default 0, 1, 2 … index is dropped; a province code shows its name too;
    floats that are all whole numbers are shown
    as whole numbers ("1000", not "1000.000000"). ``attrs["numbers"]`` names the columns that
    hold numbers (they are right-aligned)."""
    shown = frame.copy()
    if isinstance(shown.columns, pd.MultiIndex):
        shown.attrs["numbers"] = set()
        return shown, True  # leave a many-level header as pandas draws it
    shown.columns = [str(c) for c in shown.columns]
    names = [n for n in shown.index.names if n is not None]
    if names and len(names) == shown.index.nlevels and not set(map(str, names)) & set(shown.columns):
        shown = shown.reset_index()
        shown.columns = [str(c) for c in shown.columns]
        index = False
    else:
        index = not (isinstance(shown.index, pd.RangeIndex) and shown.index.name is None
                     and shown.index.start == 0 and shown.index.step == 1)
    _name_provinces(shown)
    numbers = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])
               and not pd.api.types.is_bool_dtype(shown[c])}
    for name in shown.columns:
        if _whole_numbers(shown[name]):
            shown[name] = [na_rep if pd.isna(v) else _whole(int(v)) for v in shown[name]]
    shown.attrs["numbers"] = numbers
    return shown, index


_LONG_RUN = re.compile(r"[^\s/_<>&;-]{25,}")


def _breakable(text: str) -> str:
    """``text`` escaped for HTML, with places a line may break (``<wbr>``): after / and _ in
    paths and ids, and every 20 characters of a run of 25 or more with no break (a hash). Words stay
    whole, and a table fits the page instead of squeezing "module" into "modu le"."""
    escaped = html.escape(text).replace("/", "/<wbr>").replace("_", "_<wbr>")
    return _LONG_RUN.sub(lambda m: "<wbr>".join(m.group(0)[i:i + 20]
                                                for i in range(0, len(m.group(0)), 20)), escaped)


def _safe_cell(value):
    """A cell ready for HTML: text (and anything that is not a plain number, date or missing
    value, such as a list) escaped and breakable; numbers and dates left to pandas."""
    if isinstance(value, str):
        return _breakable(value)
    if value is None or isinstance(value, (bool, int, float, dt.date, dt.timedelta, pd.Timestamp)):
        return value
    if pd.api.types.is_scalar(value) and (pd.isna(value) or pd.api.types.is_number(value)):
        return value
    return _breakable(str(value))


def _breakable_text(shown: pd.DataFrame) -> pd.DataFrame:
    """Every cell, column name and index label through :func:`_safe_cell` (the table is then
    written without pandas' escaping, which would escape the break points too)."""
    out = shown.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)):
            out[name] = column.astype(object).map(_safe_cell)
    out.attrs = shown.attrs
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.MultiIndex.from_tuples([tuple(_safe_cell(str(p)) for p in c)
                                                 for c in out.columns], names=out.columns.names)
    else:
        out.columns = [_safe_cell(str(c)) for c in out.columns]
    if isinstance(out.index, pd.MultiIndex):
        out.index = pd.MultiIndex.from_tuples([tuple(_safe_cell(p) for p in i) for i in out.index],
                                              names=out.index.names)
    else:
        out.index = pd.Index([_safe_cell(v) for v in out.index], name=out.index.name and
                             _breakable(str(out.index.name)))
    return out


def table_html(frame: pd.DataFrame, caption: str = "", *, label: str = "",
               index: bool | None = None, na_rep: str = "–") -> str:
    """One table in the course's style: a keyboard-reachable, labelled region around it.

    ``caption`` is shown above the table; ``label`` names the region for screen readers (it
    defaults to the caption, or to the first columns). ``index=False`` leaves the index out;
    otherwise it is shown when it means something (see :func:`readable_frame`). A long frame
    shows its first and last rows (pandas' ``display.max_rows``)."""
    total = len(frame)
    limit = pd.get_option("display.max_rows") or len(frame)
    if len(frame) > limit:  # as pandas does: only the first and the last rows
        frame = pd.concat([frame.head(limit // 2), frame.tail(limit // 2)])
        caption = f"{caption} ({len(frame)} of {total:,} rows shown)".strip()
    shown, keep_index = readable_frame(frame, na_rep)
    if index is False:  # True is no order: a named index is already a column of ``shown``
        keep_index = False
    numeric = shown.attrs["numbers"]
    body = _breakable_text(shown).to_html(index=keep_index, border=0, na_rep=na_rep, classes=TABLE_CLASS,
                         escape=False, max_rows=None, max_cols=None, notebook=False)
    body = body.replace(' class="dataframe ', ' class="').replace('style="text-align: right;"', "")
    if numeric:
        body = _mark_numeric(body, shown, keep_index, numeric)
    if keep_index:  # the corner over an unnamed index: a name for screen readers only
        head, rest = body.split("</thead>", 1) if "</thead>" in body else ("", body)
        body = head.replace("<th></th>", f'<th><span style="{HIDDEN}">row</span></th>') + (
            "</thead>" + rest if head else rest)
    if caption:
        body = body.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
    number = next(_ids)
    # Every region needs a name of its own (screen readers list them): a table with no caption
    # is named by its number and first columns.
    name = label or caption or f"Table {number}: " + ", ".join(map(str, list(shown.columns)[:4]))
    region = f"{TABLE_CLASS}-{number}"
    return (f'{TABLE_STYLE}<div class="{TABLE_CLASS}-region" id="{region}" role="region" '
            f'tabindex="0" aria-label="{html.escape(name, quote=True)}">{body}</div>')


def _mark_numeric(body: str, shown: pd.DataFrame, keep_index: bool, numeric: set[str]) -> str:
    """Right-align number columns (``td class="num"``), leaving text columns left-aligned."""
    offset = shown.index.nlevels if keep_index else 0
    positions = {i + offset for i, c in enumerate(shown.columns) if c in numeric}
    rows = body.split("<tr>")
    for r, row in enumerate(rows):
        if "<td>" not in row:
            continue
        cells = row.split("<t")
        column = -1
        for c, cell in enumerate(cells):
            if cell.startswith(("d>", "h>", "h ", "d ")):
                column += 1
                if cell.startswith("d>") and column in positions:
                    cells[c] = 'd class="num">' + cell[2:]
        rows[r] = "<t".join(cells)
    return "<tr>".join(rows)


def _dataframe_html(frame: pd.DataFrame) -> str:
    return table_html(frame)


def _number_text(value) -> object:
    """One number as a person reads it: whole numbers without decimals, others to 3 figures."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or pd.isna(value):
        return value
    if float(value).is_integer() and abs(value) < 2**53:
        return _whole(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}"


def series_frame(series: pd.Series) -> pd.DataFrame:
    """A Series as a two-column table: its labels, and its values (each number shown on its own
    terms, so a count beside a share reads "1000", not "1000.000000")."""
    values = series
    if pd.api.types.is_float_dtype(series) and not _whole_numbers(series):
        values = series.map(_number_text)
    label = series.index.name if series.index.nlevels == 1 else None
    frame = values.to_frame(str(series.name) if series.name is not None else "value")
    return frame.rename_axis(label or "item")


def _series_html(series: pd.Series) -> str:
    return table_html(series_frame(series))


def configure() -> None:
    """Show reading text whole, everywhere the course runs; in a notebook, show every DataFrame
    in the course's table style. Safe to call more than once."""
    pd.set_option("display.max_colwidth", None)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: pandas' text output is all there is
        return
    shell = get_ipython()
    if shell is None:
        return
    html_formatter = shell.display_formatter.formatters["text/html"]
    html_formatter.for_type(pd.DataFrame, _dataframe_html)
    html_formatter.for_type(pd.Series, _series_html)
