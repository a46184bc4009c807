"""Check a table that a trainee or instructor brings (we may not ship it), with row-level messages.

    from course import data
    risk = data.load_user_csv("my_download.csv", "country_risk")

Kind ``country_risk``: one row per country (and year), with

* a country: ``iso3`` (ISO 3166-1 alpha-3, e.g. ``KEN``) and/or ``country`` (a name, or an
  ISO code);
* ``risk``: a probability between 0 and 1;
* optional ``year`` (integer) and ``rank`` (positive integer).

Header names are matched loosely (case, spaces; ``probability`` for ``risk``, ``ranking`` for
``rank``, ``iso``/``iso3c``/``iso_a3`` for ``iso3``, ``name``/``country_name`` for ``country``).
The Early Warning Project's published Statistical Risk Assessment results name their columns
``country`` and ``risk_in_<year>`` (with a two-year ``risk_in_<year>_<yy>`` beside it): the
one-year column is taken as ``risk`` and its year as ``year``. Their ``SFTGcode`` column is not
an ISO code and is ignored. Row numbers in messages are spreadsheet rows: the header is row 1.
Fields may be separated by commas, semicolons (then ``0,25`` is read as 0.25) or tabs: the header
row tells which.

A table with names but no ``iso3`` gets an ``iso3`` column by exact (case-insensitive) match with
the Natural Earth names in ``world_outlines``; names that do not match are left with an empty code
and listed in ``table.attrs["unmatched_countries"]`` (fix them by hand, e.g. add an iso3 column).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from course.data.catalogue import DEFAULT
from course.data.errors import UserDataError
from course.geography import iso3_by_name

MAX_ROW_ERRORS = 20

USER_KINDS = {
    "country_risk": "one row per country (and year): iso3 and/or country, risk (0-1), optional year, rank",
}

ALIASES = {
    "iso3": {"iso3", "iso", "iso3c", "iso_a3", "iso_3", "iso_code"},
    "country": {"country", "country_name", "name"},
    "risk": {"risk", "probability", "risk_probability", "risk_1yr"},
    "year": {"year"},
    "rank": {"rank", "ranking"},
}
EWP_RISK = re.compile(r"risk_in_(\d{4})")
NOT_CSV = {".xlsx": "an Excel workbook", ".xls": "an Excel workbook", ".ods": "a spreadsheet",
           ".json": "a JSON file", ".zip": "a zip archive", ".pdf": "a PDF"}


def load_user_csv(path, kind: str) -> pd.DataFrame:
    """Read and check ``path`` as a table of ``kind``; raise UserDataError listing every problem."""
    if kind not in USER_KINDS:
        raise UserDataError(f"unknown kind {kind!r}: the kinds are "
                            + "; ".join(f"{k} ({v})" for k, v in USER_KINDS.items()))
    path = Path(path).expanduser()
    frame = _read_csv(path)
    return _country_risk(frame, path)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise UserDataError(f"there is no file at {path} (looked in {path.resolve().parent}): check "
                            "the name and folder, or upload the file next to this notebook.")
    if path.is_dir():
        raise UserDataError(f"{path} is a folder, not a file: give the path of the CSV file inside it.")
    raw = path.read_bytes()
    kind = NOT_CSV.get(path.suffix.lower())
    if kind is None and raw[:2] == b"PK":
        kind = "a zip archive or Excel workbook"
    if kind is None and raw[:5] == b"%PDF-":
        kind = "a PDF"
    if kind:
        raise UserDataError(f"{path.name} looks like {kind}, not a CSV file: open it and save or "
                            "export it as 'CSV UTF-8 (comma-delimited)', then load that file.")
    if not raw.strip():
        raise UserDataError(f"{path.name} is empty: download or export it again.")
    if b"\x00" in raw[:4096]:
        raise UserDataError(f"{path.name} contains binary data (or UTF-16 text), not a CSV file: save it "
                            "as 'CSV UTF-8 (comma-delimited)'.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserDataError(
            f"{path.name} is not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}): "
            "it was probably saved in another encoding; save it again as 'CSV UTF-8'.") from None
    separator = _separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except pd.errors.ParserError as err:
        raise UserDataError(f"{path.name} could not be read as CSV ({err}): check that every row has "
                            f"the same number of {SEPARATOR_NAMES[separator]}-separated fields.") from None
    except pd.errors.EmptyDataError:
        raise UserDataError(f"{path.name} has no header row: the first line must name the columns.") from None
    frame = frame.fillna("")  # short rows leave missing fields; report them as empty values
    frame.attrs["separator"] = separator
    if frame.empty:
        raise UserDataError(f"{path.name} has a header ({', '.join(frame.columns)}) but no rows of data.")
    return frame


SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _separator(text: str) -> str:
    """The field separator, read from the header row: spreadsheets set up for decimal commas
    save "CSV" with semicolons, and some tools export tabs."""
    header = text.lstrip().splitlines()[0] if text.strip() else ""
    counts = {sep: header.count(sep) for sep in SEPARATOR_NAMES}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def _standard_columns(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int | None]:
    """Rename known headers to the standard names; returns the year taken from risk_in_<year>."""
    renamed, year_from_header = {}, None
    for column in frame.columns:
        key = re.sub(r"[\s.\-]+", "_", str(column).strip().lower())
        for standard, aliases in ALIASES.items():
            if key in aliases and standard not in renamed.values():
                renamed[column] = standard
        match = EWP_RISK.fullmatch(key)
        if match and "risk" not in renamed.values():
            renamed[column], year_from_header = "risk", int(match.group(1))
    found = ", ".join(map(str, frame.columns))
    frame = frame.rename(columns=renamed)[list(renamed.values())]
    missing = [] if "risk" in frame else ["risk (a probability 0-1)"]
    if "iso3" not in frame and "country" not in frame:
        missing.append("iso3 or country")
    if missing:
        raise UserDataError(
            f"{path.name} is missing the column(s) {' and '.join(missing)}; its columns are: {found}. "
            "Name the columns in the header row (row 1): a country column, holding iso3 codes such "
            "as KEN or names such as Kenya, and a risk column with numbers from 0 to 1; then load "
            "the file again.",
            [f"missing column: {m}" for m in missing])
    return frame, year_from_header


def _country_risk(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame, header_year = _standard_columns(frame, path)
    errors: list[str] = []
    rows = range(len(frame))
    frame = frame.apply(lambda c: c.str.strip())
    if frame.attrs.get("separator") == ";":  # a spreadsheet set up for decimal commas: 0,25
        frame["risk"] = frame["risk"].str.replace(r"^(\d*),(\d+)$", r"\1.\2", regex=True)
    risk = pd.to_numeric(frame["risk"], errors="coerce")
    for i in rows:
        value = frame["risk"].iat[i]
        if pd.isna(risk.iat[i]) or not 0 <= risk.iat[i] <= 1:
            hint = " (it looks like a percentage: divide by 100)" if (
                not pd.isna(risk.iat[i]) and 1 < risk.iat[i] <= 100) else ""
            errors.append(f"row {i + 2}: risk {value!r} is not a number between 0 and 1{hint}")
    if "iso3" in frame:
        frame["iso3"] = frame["iso3"].str.upper()
        for i in rows:
            code = frame["iso3"].iat[i]
            if not re.fullmatch(r"[A-Z]{3}", code) and not (code == "" and "country" in frame):
                errors.append(f"row {i + 2}: iso3 {code!r} is not a three-letter ISO 3166-1 code (e.g. KEN)")
    if "country" in frame:
        for i in rows:
            if frame["country"].iat[i] == "" and frame.get("iso3", pd.Series([""] * len(frame))).iat[i] == "":
                errors.append(f"row {i + 2}: no country name or iso3 code")
    for column, low, high in (("year", 1900, 2100), ("rank", 1, 100_000)):
        if column in frame:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            for i in rows:
                v = numbers.iat[i]
                if pd.isna(v) or v != int(v) or not low <= v <= high:
                    errors.append(f"row {i + 2}: {column} {frame[column].iat[i]!r} is not a whole number "
                                  f"from {low} to {high}")
    if header_year is not None and "year" not in frame:
        frame["year"] = str(header_year)
    errors += _duplicates(frame)
    if errors:
        shown = errors[:MAX_ROW_ERRORS]
        more = f"\n  … and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        raise UserDataError(
            f"{path.name} has {len(errors)} problem(s) as a country_risk table:\n  " + "\n  ".join(shown)
            + more + "\nFix these rows (row 1 is the header) and load the file again; nothing was changed.",
            errors)
    frame["risk"] = risk.astype("float64")
    for column in ("year", "rank"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column]).astype("int64")
    unmatched = _add_iso3(frame) if "iso3" not in frame else []
    order = [c for c in ("iso3", "country", "year", "risk", "rank") if c in frame]
    result = frame[order].reset_index(drop=True)
    result.attrs["unmatched_countries"] = unmatched
    return result


def _add_iso3(frame: pd.DataFrame) -> list[str]:
    """Give name-only rows an iso3: a ``country`` that is itself an ISO code of the world outlines
    (``KEN``, ``bra``), or else an exact (case-insensitive) match with the outlines' names.

    Unmatched names get an empty iso3 and are returned, so the caller can fix them by hand; we do
    not guess (a fuzzy match could silently put a country's figures on its neighbour).
    """
    codes = iso3_by_name(DEFAULT.load("world_outlines"))  # names casefolded
    known = set(codes.values())

    def code_of(name: str) -> str:
        return name.upper() if name.upper() in known else codes.get(name.casefold(), "")

    frame["iso3"] = frame["country"].map(code_of)
    return sorted(set(frame.loc[frame["iso3"] == "", "country"]))


def _duplicates(frame: pd.DataFrame) -> list[str]:
    key = [c for c in ("iso3", "year") if c in frame] if "iso3" in frame else \
          [c for c in ("country", "year") if c in frame]
    seen: dict[tuple, int] = {}
    found = []
    for i, values in enumerate(frame[key].itertuples(index=False, name=None)):
        if values in seen and all(values):
            found.append(f"row {i + 2}: {', '.join(key)} {values} repeats row {seen[values] + 2}")
        seen.setdefault(values, i)
    return found
