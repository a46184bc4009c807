"""Country-level tables: the countries the sources discuss, and risk tables a trainee brings.

A trainee's own table is checked first by ``course.data.load_user_csv`` (kind ``country_risk``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from course.checks import require_columns
from course.data import load_user_csv
from course.geography import iso3_by_name

# Citation keys of the five source documents, by the number their file names start with, as the
# module's References cell defines them.
SOURCE_KEYS = {"000": "Forum 2007", "001": "Forum blog 2007", "002": "Forum archive",
               "003": "RfP 2019", "004": "SG 2024"}

def source_country_notes(table: pd.DataFrame) -> pd.DataFrame:
    """One row per country in the ``source_countries`` table, for the world map.

    Indexed by ``iso3``, with ``name``, ``cited`` (the citation keys of every source that
    discusses it, joined by "; ") and ``note`` (each source's one-line note, with its key).
    """
    require_columns(table, ["iso3", "name", "source", "note"], "the source-countries table",
                    "load it with data.load('source_countries')")
    rows = table.assign(key=[SOURCE_KEYS.get(str(s).split(":")[0].strip(), str(s))
                             for s in table["source"]])
    out = rows.groupby("iso3", sort=True).agg(
        name=("name", "first"),
        cited=("key", lambda keys: "; ".join(dict.fromkeys(keys))),
    )
    out["note"] = [" / ".join(f"[{k}] {n}" for k, n in zip(g["key"], g["note"], strict=True))
                   for _, g in rows.groupby("iso3", sort=True)]
    return out

def risk_by_country(table: pd.DataFrame, outlines: Mapping, year: int | None = None):
    """``(risk by iso3, names not matched)`` from a ``country_risk`` table, ready for a world map.

    Rows are matched on ``iso3`` where the table has one, else on the country name as written in
    the outlines (case and spacing ignored). With a ``year`` column the latest year is used unless
    ``year`` is given. Countries that match no outline are returned by name so the trainee can fix
    them; they are never silently dropped.
    """
    require_columns(table, ["risk"], "the country table",
                    "load it with data.load_user_csv(path, 'country_risk')")
    if "iso3" not in table.columns and "country" not in table.columns:
        raise ValueError("The country table needs an iso3 or a country column; "
                         "load it with course.data.load_user_csv(path, 'country_risk').")
    rows = table
    if "year" in table.columns:
        years = sorted(table["year"].unique())
        chosen = years[-1] if year is None else year
        if chosen not in years:
            raise ValueError(f"The table has no rows for {year}; its years are {years}.")
        rows = table[table["year"] == chosen]
    by_name = iso3_by_name(outlines, key=_name_key)
    known = set(by_name.values())  # outlines with no ISO code (disputed areas) are not in it
    values, unmatched = {}, []
    for row in rows.itertuples(index=False):
        code = str(getattr(row, "iso3", "") or "").upper()
        name = str(getattr(row, "country", "") or "")
        if code not in known:  # a country column may hold ISO codes too (KEN, bra)
            code = name.upper() if name.upper() in known else by_name.get(_name_key(name), "")
        if code:
            values[code] = float(row.risk)
        else:
            unmatched.append(name or str(getattr(row, "iso3", "")))
    series = pd.Series(values, name="risk", dtype="float64").sort_index()
    series.index.name = "iso3"
    return series, unmatched

def load_uploaded_country_table(filename: str, content: bytes) -> pd.DataFrame:
    """Check an uploaded file as a ``country_risk`` table, exactly as ``load_user_csv`` would.

    The bytes are written to a private temporary folder under the uploaded name (whose suffix
    the checker uses to recognise spreadsheets) and removed afterwards: nothing is kept.
    """
    name = Path(str(filename)).name or "upload.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(content))
        return load_user_csv(path, "country_risk")

def _name_key(name: str) -> str:
    return " ".join(str(name).lower().replace("-", " ").split())
