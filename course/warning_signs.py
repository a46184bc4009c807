"""Logic behind Module 1, warning signs and risk factors.

Plain functions on pandas tables in the shapes described in CONTRIBUTING.md (``scenario_indicators``
in long format, ``scenario_indicator_catalogue`` with ``risk_factor``/``threshold``/``direction``),
the :class:`Workbench` a trainee uses to record a risk assessment, and small base-rate computations
for the "limits of prediction" section. Nothing here imports ipywidgets: the views live in
``course.widgets.warning_signs``.

Bad input raises ``ValueError`` with a message that says what is wrong and what to do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# UN Framework of Analysis for Atrocity Crimes (2014): factors 1-8 are common to all atrocity
# crimes, 9-14 are specific to one crime each (reference/facts.md, section 2).
FACTORS = tuple(range(1, 15))
COMMON = tuple(range(1, 9))
SPECIFIC = {
    9: "genocide",
    10: "genocide",
    11: "crimes against humanity",
    12: "crimes against humanity",
    13: "war crimes",
    14: "war crimes",
}
# Groups in the order a summary lists them.
GROUPS = ("common", "genocide", "crimes against humanity", "war crimes")

INDICATOR_COLUMNS = ("province_id", "month", "indicator", "value")
CATALOGUE_COLUMNS = ("indicator", "risk_factor", "threshold", "direction")
FACTORS_MEASURE = "factors"  # the measure name for "count of risk factors present"


# --------------------------------------------------------------------------------------------
# Checking input


def _require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, not {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} has no column(s) {missing}; it needs {list(columns)}. "
            "Load it with course.data.load(...) or check the column names."
        )


def check_factor(factor) -> int:
    """The risk-factor number as an int, or a ValueError if it is not 1-14."""
    if isinstance(factor, bool):  # True == 1 in Python, but it is not a factor number
        raise ValueError(f"Risk factor {factor!r} is not a number; use 1 to 14.")
    try:
        number = int(factor)
    except (TypeError, ValueError):
        raise ValueError(f"Risk factor {factor!r} is not a number; use 1 to 14.") from None
    if number != factor and not (isinstance(factor, str) and factor.strip() == str(number)):
        raise ValueError(f"Risk factor {factor!r} is not a whole number; use 1 to 14.")
    if number not in FACTORS:
        raise ValueError(f"There is no risk factor {number}: the Framework has factors 1 to 14.")
    return number


def group_of(factor) -> str:
    """'common' for factors 1-8, else the crime the specific factor points to."""
    number = check_factor(factor)
    return "common" if number in COMMON else SPECIFIC[number]


def category_of(factor) -> str:
    """'common' (1-8) or 'specific' (9-14)."""
    return "common" if check_factor(factor) in COMMON else "specific"


def split_common_specific(factors: Iterable) -> dict[str, list[int]]:
    """Split factor numbers into {'common': [...], 'specific': [...]}, each sorted, no repeats."""
    numbers = sorted({check_factor(f) for f in factors})
    return {
        "common": [n for n in numbers if n in COMMON],
        "specific": [n for n in numbers if n not in COMMON],
    }


def months_of(indicators: pd.DataFrame) -> list[str]:
    """The months in the indicator table, sorted (``YYYY-MM`` sorts as text)."""
    _require_columns(indicators, INDICATOR_COLUMNS, "The indicator table")
    return sorted(indicators["month"].astype(str).unique())


def check_month(month, months: list[str]) -> str:
    """``month`` as a string if it is one of ``months``; else a ValueError naming the range."""
    text = str(month).strip()
    if text not in months:
        span = f"{months[0]} to {months[-1]}" if months else "(the table has no months)"
        raise ValueError(
            f"Month {month!r} is not in the data. Use the form YYYY-MM, from {span}."
        )
    return text


def check_province(province_id, provinces: Iterable[str]) -> str:
    """``province_id`` as a string if the data has it; else a ValueError listing the ids."""
    known = sorted(provinces)
    text = str(province_id).strip()
    if text not in known:
        raise ValueError(f"Unknown province {province_id!r}. Choose one of: {', '.join(known)}.")
    return text


# --------------------------------------------------------------------------------------------
# From indicator values to risk factors


def flag_indicators(indicators: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Each indicator value with its risk factor, threshold and whether it crosses it.

    A value crosses when it is strictly above (``direction == "above"``) or strictly below
    (``"below"``) the catalogue's threshold. A missing value never crosses.
    Returns the indicator rows with ``risk_factor``, ``threshold``, ``direction``, ``crossed``.
    """
    _require_columns(indicators, INDICATOR_COLUMNS, "The indicator table")
    _require_columns(catalogue, CATALOGUE_COLUMNS, "The indicator catalogue")
    bad = sorted(set(catalogue["direction"]) - {"above", "below"})
    if bad:
        raise ValueError(f"Catalogue directions must be 'above' or 'below', not {bad}.")
    unknown = sorted(set(indicators["indicator"]) - set(catalogue["indicator"]))
    if unknown:
        raise ValueError(
            f"Indicators {unknown} are not in the catalogue; add them to it or drop those rows."
        )
    rows = indicators[list(INDICATOR_COLUMNS)].merge(
        catalogue[list(CATALOGUE_COLUMNS)], on="indicator", how="left", validate="many_to_one"
    )
    value = pd.to_numeric(rows["value"], errors="coerce")
    above = rows["direction"].eq("above")
    rows["crossed"] = (above & (value > rows["threshold"])) | (
        ~above & (value < rows["threshold"])
    )
    rows["risk_factor"] = rows["risk_factor"].astype(int)
    return rows


def factors_present(indicators: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Whether each measured risk factor is present, per province and month.

    A factor counts as present when at least one of its indicators crosses its threshold.
    Long format: ``province_id``, ``month``, ``risk_factor``, ``present`` (bool),
    ``indicators_crossed`` (how many of its indicators crossed).
    """
    flags = flag_indicators(indicators, catalogue)
    grouped = flags.groupby(["province_id", "month", "risk_factor"], as_index=False)
    out = grouped.agg(indicators_crossed=("crossed", "sum"))
    out["present"] = out["indicators_crossed"] > 0
    return out[["province_id", "month", "risk_factor", "present", "indicators_crossed"]]


def factor_counts(indicators: pd.DataFrame, catalogue: pd.DataFrame, factors=None) -> pd.DataFrame:
    """Count of risk factors present: one row per month (sorted), one column per province.

    ``factors`` limits the count to those factor numbers (e.g. ``COMMON``).
    """
    present = factors_present(indicators, catalogue)
    if factors is not None:
        keep = {check_factor(f) for f in factors}
        present = present[present["risk_factor"].isin(keep)]
    table = present.pivot_table(
        index="month", columns="province_id", values="present", aggfunc="sum", fill_value=0
    )
    # Every province and month stays in the table even when a filter leaves it no factor.
    table = table.reindex(
        index=months_of(indicators), columns=sorted(indicators["province_id"].unique()), fill_value=0
    )
    table.columns.name = "province_id"
    return table.astype(int)


def month_values(
    indicators: pd.DataFrame, catalogue: pd.DataFrame, month, measure: str = FACTORS_MEASURE
) -> pd.Series:
    """One value per province for one month, for a map: a factor count or an indicator's value.

    ``measure`` is ``"factors"`` (count of risk factors present) or an indicator name from the
    catalogue. The Series is indexed by ``province_id`` and named after the measure.
    """
    month = check_month(month, months_of(indicators))
    if measure == FACTORS_MEASURE:
        counts = factor_counts(indicators, catalogue)
        return counts.loc[month].rename("risk factors present")
    measures = sorted(catalogue["indicator"])
    if measure not in measures:
        raise ValueError(
            f"Unknown measure {measure!r}: use {FACTORS_MEASURE!r} or one of {measures}."
        )
    rows = indicators[(indicators["month"] == month) & (indicators["indicator"] == measure)]
    return rows.set_index("province_id")["value"].sort_index().rename(measure)


def sustained(counts: pd.DataFrame, min_factors: int, run: int = 3) -> pd.DataFrame:
    """True where at least ``min_factors`` factors have been present for ``run`` months running.

    ``counts`` is a :func:`factor_counts` table (months down, provinces across); the result has the
    same shape, True at the last month of each run.
    """
    if run < 1:
        raise ValueError(f"run must be at least 1 month, not {run}.")
    if min_factors < 0:
        raise ValueError(f"min_factors must be 0 or more, not {min_factors}.")
    high = (counts.sort_index() >= min_factors).astype(int)
    return high.rolling(run, min_periods=run).sum().eq(run)


def first_sustained(counts: pd.DataFrame, min_factors: int, run: int = 3) -> pd.Series:
    """For each province, the first month ending a :func:`sustained` run (missing if never).

    Sorted by that month, earliest first: the order in which an alarm rule would have fired.
    """
    flags = sustained(counts, min_factors, run)
    first = {p: (flags.index[flags[p]][0] if flags[p].any() else None) for p in flags.columns}
    series = pd.Series(first, name="first_sustained_month", dtype="string")
    series.index.name = "province_id"
    return series.sort_values(na_position="last")


def recent_change(counts: pd.DataFrame, month, window: int = 3) -> pd.Series:
    """Change in factor count over the ``window`` months up to ``month``, largest rise first.

    Ties keep province order. Raises ValueError if the data does not reach back far enough.
    """
    months = list(counts.sort_index().index)
    month = check_month(month, months)
    at = months.index(month)
    if window < 1 or at - window < 0:
        raise ValueError(
            f"Cannot look back {window} month(s) from {month}: the data start at {months[0]}. "
            "Choose a later month or a shorter window."
        )
    change = counts.loc[month] - counts.loc[months[at - window]]
    return change.sort_values(ascending=False, kind="stable").rename(f"change_{window}m")


def by_group(factors_on: Iterable) -> pd.Series:
    """Count factors in each group (common, genocide, crimes against humanity, war crimes)."""
    numbers = {check_factor(f) for f in factors_on}
    counts = {g: sum(1 for n in numbers if group_of(n) == g) for g in GROUPS}
    return pd.Series(counts, name="factors present")


class MonthlyMeasures:
    """What the time-slider map shows: for each month, one value per province.

    The measure is the count of risk factors present (``"factors"``) or one indicator. Counts
    are computed once, and class edges are fixed over all months so a colour means the same
    thing on every month of the slider.
    """

    def __init__(self, indicators: pd.DataFrame, catalogue: pd.DataFrame):
        self._indicators = indicators
        self._catalogue = catalogue
        self._counts = factor_counts(indicators, catalogue)
        self.months = list(self._counts.index)
        self._labels = _indicator_labels(catalogue)
        self._units = dict(zip(catalogue["indicator"], catalogue.get("unit", ""), strict=True))

    def measures(self) -> list[tuple[str, str]]:
        """(label, measure) pairs: the factor count first, then each indicator."""
        names = [(self._labels.get(i, i), i) for i in self._catalogue["indicator"]]
        return [("Risk factors present (count)", FACTORS_MEASURE), *names]

    def values(self, month, measure: str = FACTORS_MEASURE) -> pd.Series:
        month = check_month(month, self.months)
        if measure == FACTORS_MEASURE:
            return self._counts.loc[month].rename("risk factors present")
        return month_values(self._indicators, self._catalogue, month, measure)

    def legend_title(self, measure: str = FACTORS_MEASURE) -> str:
        if measure == FACTORS_MEASURE:
            return "factors present"
        return f"{self._labels.get(measure, measure)} ({self._units.get(measure, '')})".replace(
            " ()", "")

    def title(self, month, measure: str = FACTORS_MEASURE) -> str:
        what = ("Risk factors present" if measure == FACTORS_MEASURE
                else self._labels.get(measure, measure))
        return f"{what}, {check_month(month, self.months)}"

    def bins(self, measure: str = FACTORS_MEASURE) -> list[float]:
        """Class edges shared by every month (integers for counts, five equal steps otherwise)."""
        if measure == FACTORS_MEASURE:
            # 0 on its own, so "no factor present" never shares a colour with "some".
            return [0, 1, 3, 5, 8, len(FACTORS) + 1]
        rows = self._indicators[self._indicators["indicator"] == measure]
        if rows.empty:
            self.values(self.months[0], measure)  # raises the "unknown measure" message
        low, high = float(rows["value"].min()), float(rows["value"].max())
        high = high if high > low else low + 1
        return [low + (high - low) * i / 5 for i in range(6)]


# --------------------------------------------------------------------------------------------
# The risk-assessment workbench (state; the view is course.widgets.warning_signs.workbench)


@dataclass(frozen=True)
class Judgement:
    """A trainee's call on one risk factor for one province and month."""

    factor: int
    present: bool
    note: str


class Workbench:
    """A risk assessment of one province and month: the trainee's judgement beside the data.

    Judgements are kept per (province, month), so choosing another place or month loses nothing.
    ``factor_names`` maps factor number to its name (e.g. from the ``risk_factors`` table).
    """

    def __init__(
        self,
        indicators: pd.DataFrame,
        catalogue: pd.DataFrame,
        factor_names: Mapping[int, str] | None = None,
    ):
        self._flags = flag_indicators(indicators, catalogue)
        if self._flags.empty:
            raise ValueError("The indicator table has no rows: load scenario_indicators with "
                             "course.data.load('scenario_indicators').")
        self._labels = _indicator_labels(catalogue)
        self.months = months_of(indicators)
        self.provinces = sorted(indicators["province_id"].astype(str).unique())
        self.factor_names = {n: (factor_names or {}).get(n, f"Risk factor {n}") for n in FACTORS}
        self.province = self.provinces[0]
        self.month = self.months[-1]
        self._judgements: dict[tuple[str, str], dict[int, Judgement]] = {}

    # -- choosing what to assess
    def select(self, province_id, month) -> None:
        """Choose the province and month to assess (checked before anything changes)."""
        province = check_province(province_id, self.provinces)
        month = check_month(month, self.months)
        self.province, self.month = province, month

    def window(self, last: int = 6) -> list[str]:
        """The ``last`` months up to and including the selected month (fewer at the start)."""
        if int(last) < 1:
            raise ValueError(f"Look at 1 month or more, not {last}.")
        at = self.months.index(self.month)
        return self.months[max(0, at - int(last) + 1) : at + 1]

    def indicator_series(self, last: int = 6) -> pd.DataFrame:
        """The selected province's indicators over the last months, one row per indicator.

        Columns: ``risk_factor``, ``present when`` (e.g. ``> 4``), then one column per month.
        """
        rows = self._rows(self.window(last))
        table = rows.pivot_table(index="indicator", columns="month", values="value",
                                 aggfunc="first")
        rule = rows.drop_duplicates("indicator").set_index("indicator")
        table.insert(0, "present when", [
            f"{'>' if rule.at[i, 'direction'] == 'above' else '<'} {rule.at[i, 'threshold']:g}"
            for i in table.index])
        table.insert(0, "risk_factor", [int(rule.at[i, "risk_factor"]) for i in table.index])
        table.index = [self._labels.get(i, i) for i in table.index]
        table.index.name = "indicator"
        table.columns.name = None
        return table.sort_values(["risk_factor", "present when"], kind="stable")

    def data_factors(self) -> pd.Series:
        """For each factor the catalogue measures: is it present in the data, this month?"""
        rows = self._rows([self.month])
        return rows.groupby("risk_factor")["crossed"].any().rename("data: present")

    def evidence(self) -> pd.DataFrame:
        """The indicators that cross their threshold this month, with value and threshold."""
        rows = self._rows([self.month])
        rows = rows[rows["crossed"]].copy()
        rows["indicator"] = [self._labels.get(i, i) for i in rows["indicator"]]
        return rows[["risk_factor", "indicator", "value", "direction", "threshold"]].sort_values(
            ["risk_factor", "indicator"], ignore_index=True
        )

    # -- the trainee's judgement
    def judge(self, factor, present: bool, note: str = "") -> Judgement:
        """Record your call on a factor. Marking one present needs a note of your evidence."""
        number = check_factor(factor)
        if not isinstance(present, bool):
            raise ValueError(f"present must be True or False, not {present!r}.")
        note = (note or "").strip()
        if present and not note:
            raise ValueError(
                f"Add a short note of the evidence for factor {number} "
                "(which indicator, event or source) before marking it present."
            )
        judgement = Judgement(number, present, note)
        self._judgements.setdefault((self.province, self.month), {})[number] = judgement
        return judgement

    def forget(self, factor) -> None:
        """Remove your call on a factor for the selected province and month."""
        self._judgements.get((self.province, self.month), {}).pop(check_factor(factor), None)

    def judgements(self) -> pd.DataFrame:
        """Your calls for the selected province and month, by factor."""
        calls = sorted(self._judgements.get((self.province, self.month), {}).values(),
                       key=lambda j: j.factor)
        return pd.DataFrame(
            [(j.factor, self.factor_names[j.factor], j.present, j.note) for j in calls],
            columns=["risk_factor", "name", "present", "note"],
        )

    def all_judgements(self) -> pd.DataFrame:
        """Every call you have recorded, for every province and month (e.g. to save as CSV)."""
        rows = [
            (p, m, j.factor, self.factor_names[j.factor], j.present, j.note)
            for (p, m), calls in sorted(self._judgements.items())
            for j in sorted(calls.values(), key=lambda j: j.factor)
        ]
        return pd.DataFrame(
            rows, columns=["province_id", "month", "risk_factor", "name", "present", "note"]
        )

    # -- what the trainee gets back
    def summary(self) -> pd.DataFrame:
        """Factors present by group: your count and list beside the data's."""
        mine = [j.factor for j in self._judgements.get((self.province, self.month), {}).values()
                if j.present]
        data = self.data_factors()
        theirs = list(data.index[data])
        rows = []
        for group in GROUPS:
            members = [n for n in FACTORS if group_of(n) == group]
            yours = [n for n in mine if n in members]
            in_data = [n for n in theirs if n in members]
            rows.append({
                "group": group,
                "factors": f"{members[0]}-{members[-1]}",
                "you: present": len(yours),
                "you: which": ", ".join(map(str, sorted(yours))),
                "data: present": len(in_data),
                "data: which": ", ".join(map(str, sorted(in_data))),
            })
        return pd.DataFrame(rows)

    def trend(self, last: int = 6) -> pd.DataFrame:
        """Factors present in the data over the last months: common, specific and total."""
        rows = self._rows(self.window(last))
        per_factor = rows.groupby(["month", "risk_factor"])["crossed"].any().reset_index()
        per_factor["category"] = [category_of(n) for n in per_factor["risk_factor"]]
        table = per_factor.pivot_table(
            index="month", columns="category", values="crossed", aggfunc="sum", fill_value=0
        ).reindex(columns=["common", "specific"], fill_value=0)
        table["total"] = table["common"] + table["specific"]
        table.columns.name = None
        return table.astype(int)

    def compare(self) -> pd.DataFrame:
        """Each of the 14 factors: your call, the data's, and whether they agree."""
        mine = self._judgements.get((self.province, self.month), {})
        data = self.data_factors()
        rows = []
        for n in FACTORS:
            yours = mine.get(n)
            theirs = bool(data[n]) if n in data.index else None
            rows.append({
                "risk_factor": n,
                "name": self.factor_names[n],
                "group": group_of(n),
                "you": _call(yours.present if yours else None, "not judged"),
                "data": _call(theirs, "not measured"),
                "outcome": _outcome(yours.present if yours else None, theirs),
                "your note": yours.note if yours else "",
            })
        return pd.DataFrame(rows)

    def _rows(self, months: list[str]) -> pd.DataFrame:
        flags = self._flags
        return flags[(flags["province_id"] == self.province) & flags["month"].isin(months)]


def _indicator_labels(catalogue: pd.DataFrame) -> dict[str, str]:
    if "label" not in catalogue.columns:
        return {}
    return dict(zip(catalogue["indicator"], catalogue["label"], strict=True))


def _call(value: bool | None, missing: str) -> str:
    return missing if value is None else ("present" if value else "absent")


def _outcome(yours: bool | None, theirs: bool | None) -> str:
    if yours is None:
        return "not judged"
    if theirs is None:
        return "your call only (no indicator)"
    if yours == theirs:
        return "agree"
    # Disagreement is the point of the exercise, not an error: it says where to look again.
    return "you see it, the data do not" if yours else "the data show it, you do not"


# --------------------------------------------------------------------------------------------
# Country-level tables a trainee brings (checked first by course.data.load_user_csv)


# Citation keys of the five source documents, by the number their file names start with, as the
# module's References cell defines them.
SOURCE_KEYS = {"000": "Forum 2007", "001": "Forum blog 2007", "002": "Forum archive",
               "003": "RfP 2020", "004": "SG 2024"}


def source_country_notes(table: pd.DataFrame) -> pd.DataFrame:
    """One row per country in the ``source_countries`` table, for the world map.

    Indexed by ``iso3``, with ``name``, ``cited`` (the citation keys of every source that
    discusses it, joined by "; ") and ``note`` (each source's one-line note, with its key).
    """
    _require_columns(table, ["iso3", "name", "source", "note"], "The source-countries table")
    rows = table.assign(key=[SOURCE_KEYS.get(str(s).split(":")[0].strip(), str(s))
                             for s in table["source"]])
    out = rows.groupby("iso3", sort=True).agg(
        name=("name", "first"),
        cited=("key", lambda keys: "; ".join(dict.fromkeys(keys))),
    )
    out["note"] = [" / ".join(f"[{k}] {n}" for k, n in zip(g["key"], g["note"], strict=True))
                   for _, g in rows.groupby("iso3", sort=True)]
    return out


def factor_names(risk_factors: pd.DataFrame) -> dict[int, str]:
    """Factor number -> name, from the ``risk_factors`` reference table (checked for 1-14)."""
    _require_columns(risk_factors, ["number", "name"], "The risk-factors table")
    names = {check_factor(n): str(name) for n, name in
             zip(risk_factors["number"], risk_factors["name"], strict=True)}
    missing = [n for n in FACTORS if n not in names]
    if missing:
        raise ValueError(f"The risk-factors table lacks factor(s) {missing}; "
                         "load it with course.data.load('risk_factors').")
    return names


def risk_by_country(table: pd.DataFrame, outlines: Mapping, year: int | None = None):
    """``(risk by iso3, names not matched)`` from a ``country_risk`` table, ready for a world map.

    Rows are matched on ``iso3`` where the table has one, else on the country name as written in
    the outlines (case and spacing ignored). With a ``year`` column the latest year is used unless
    ``year`` is given. Countries that match no outline are returned by name so the trainee can fix
    them; they are never silently dropped.
    """
    _require_columns(table, ["risk"], "The country table")
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
    by_name = {_name_key(f["properties"]["name"]): f["properties"]["iso3"]
               for f in outlines["features"] if f["properties"].get("iso3")}
    known = set(by_name.values()) - {""}  # some outlines (disputed areas) have no ISO code
    values, unmatched = {}, []
    for row in rows.itertuples(index=False):
        code = str(getattr(row, "iso3", "") or "").upper()
        name = str(getattr(row, "country", "") or "")
        code = code if code in known else by_name.get(_name_key(name), "")
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
    from course import data  # here, so the module's logic does not need the datasets

    name = Path(str(filename)).name or "upload.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(content))
        return data.load_user_csv(path, "country_risk")


def _name_key(name: str) -> str:
    return " ".join(str(name).lower().replace("-", " ").split())


# --------------------------------------------------------------------------------------------
# The limits of prediction: base rates, false alarms and missed warnings


def _check_rate(value, name: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}.") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"{name} must be between 0 and 1 (a share), not {value!r}.")
    return rate


def alarm_outcomes(
    cases: int, base_rate: float, hit_rate: float, false_alarm_rate: float
) -> pd.Series:
    """Expected outcomes when a warning rule is applied to ``cases`` countries (or provinces).

    ``base_rate``: share of cases where the event really begins; ``hit_rate``: share of those the
    rule warns about; ``false_alarm_rate``: share of the others it warns about all the same.
    Returns expected counts of warned events, missed events, false alarms and quiet non-events,
    plus ``alarms`` and ``share of alarms that were real`` (precision).
    """
    if int(cases) != cases or cases < 1:
        raise ValueError(f"cases must be a whole number of at least 1, not {cases!r}.")
    base = _check_rate(base_rate, "base_rate")
    hit = _check_rate(hit_rate, "hit_rate")
    false = _check_rate(false_alarm_rate, "false_alarm_rate")
    events, others = cases * base, cases * (1 - base)
    warned, false_alarms = events * hit, others * false
    alarms = warned + false_alarms
    return pd.Series({
        "cases": float(cases),
        "events": events,
        "warned events": warned,
        "missed events": events - warned,
        "false alarms": false_alarms,
        "quiet non-events": others - false_alarms,
        "alarms": alarms,
        "share of alarms that were real": warned / alarms if alarms else float("nan"),
    })


def precision(base_rate: float, hit_rate: float, false_alarm_rate: float) -> float:
    """Chance that a warning is followed by the event (Bayes' rule); NaN if nothing warns."""
    return float(alarm_outcomes(1, base_rate, hit_rate, false_alarm_rate)[
        "share of alarms that were real"])


def precision_by_base_rate(
    base_rates: Iterable[float], hit_rate: float, false_alarm_rate: float
) -> pd.DataFrame:
    """:func:`precision` for several base rates, with the false alarms per real warning."""
    rows = []
    for base in base_rates:
        share = precision(base, hit_rate, false_alarm_rate)
        rows.append({
            "base rate": _check_rate(base, "base_rate"),
            "share of alarms that were real": share,
            "false alarms per real warning": (1 - share) / share if share else float("inf"),
        })
    return pd.DataFrame(rows)
