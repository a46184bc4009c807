"""From indicator values to risk factors: thresholds crossed, factors present, counts and trends.

The tables are ``scenario_indicators`` (long format: ``province_id``, ``month``, ``indicator``,
``value``) and ``scenario_indicator_catalogue`` (``indicator``, ``risk_factor``, ``threshold``,
``direction``, and optionally ``label`` and ``unit``). :class:`MonthlyMeasures` is what the
time-slider map shows.
"""

from __future__ import annotations

import pandas as pd

from course.checks import check_month_in as check_month
from course.checks import require_columns
from course.warning_signs.factors import FACTORS, check_factor

INDICATOR_COLUMNS = ("province_id", "month", "indicator", "value")
CATALOGUE_COLUMNS = ("indicator", "risk_factor", "threshold", "direction")
FACTORS_MEASURE = "factors"  # the measure name for "count of risk factors present"
INDICATORS_HINT = "load it with data.load('scenario_indicators')"
CATALOGUE_HINT = "load it with data.load('scenario_indicator_catalogue')"


def months_of(indicators: pd.DataFrame) -> list[str]:
    """The months in the indicator table, sorted (``YYYY-MM`` sorts as text)."""
    require_columns(indicators, INDICATOR_COLUMNS, "the indicator table", INDICATORS_HINT)
    return sorted(indicators["month"].astype(str).unique())

def flag_indicators(indicators: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Each indicator value with its risk factor, threshold and whether it crosses it.

    A value crosses when it is strictly above (``direction == "above"``) or strictly below
    (``"below"``) the catalogue's threshold. A missing value never crosses.
    Returns the indicator rows with ``risk_factor``, ``threshold``, ``direction``, ``crossed``.
    """
    require_columns(indicators, INDICATOR_COLUMNS, "the indicator table", INDICATORS_HINT)
    require_columns(catalogue, CATALOGUE_COLUMNS, "the indicator catalogue", CATALOGUE_HINT)
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
        self._labels = indicator_labels(catalogue)
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


def indicator_labels(catalogue: pd.DataFrame) -> dict[str, str]:
    if "label" not in catalogue.columns:
        return {}
    return dict(zip(catalogue["indicator"], catalogue["label"], strict=True))
