"""Module 2 logic: sorting media-log items onto the Pyramid of Hate, and reading escalation.

The Pyramid of Hate was designed by the Anti-Defamation League (ADL). The course uses its five
levels, bottom to top, as a vocabulary for a media-monitoring log (``scenario_media_log``, whose
``pyramid_level`` is 1-5 with a ``level_reason``):

1. biased attitudes, 2. acts of bias, 3. systemic discrimination, 4. bias-motivated violence,
5. genocide.

Two kinds of logic live here, both plain (no ipywidgets, no matplotlib) so they can be
unit-tested (the charts are drawn in the view layer, :mod:`course.charts`):

* :class:`PyramidSorter` - a trainee places items on a level and gets feedback with the reason.
* escalation functions - monthly counts by level, the share at level 3 and above, an escalation
  flag, the first month a province reaches level 4, and a ranking of provinces.

The escalation flag, precisely (used by the module, the exercise and the explorer): let ``U(m)``
be the number of items at level 3 or above in month ``m``. Month ``m`` is flagged when

* the ``window`` months before ``m`` (default 3) are all in the series,
* ``U(m) >= min_upper`` (default 2), so that one item more than nothing is not called a trend, and
* ``U(m)`` is greater than the mean of ``U`` over those ``window`` earlier months.

Counts are used rather than shares because a share can rise when lower-level reporting falls;
the share is shown beside the counts so the trainee can see both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from course import geography
from course.checks import MONTH_FORM, check_province, require_columns
from course.checks import check_month_form as check_month
from course.display import plural
from course.palette import SEQUENTIAL

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
# Level titles as the ADL names them (facts.md section 3); descriptions are the course's own.
LEVEL_NAMES: dict[int, str] = {
    1: "Biased attitudes",
    2: "Acts of bias",
    3: "Systemic discrimination",
    4: "Bias-motivated violence",
    5: "Genocide",
}
COUNTRY = "all"  # the explorer's value for "the whole country" (None works too)
UPPER = 3  # "the upper levels": 3 and above, where bias becomes institutional or violent
LOG_COLUMNS = ("item_id", "month", "province_id", "summary", "pyramid_level", "level_reason")
LOG_HINT = "load it with data.load('scenario_media_log')"
# One colour per level, light to dark (ColorBrewer YlOrRd): ordered, and readable in greyscale.
LEVEL_COLOURS = SEQUENTIAL


# --- checking input -----------------------------------------------------------------------------

def check_level(level) -> int:
    """A pyramid level as an int 1-5; anything else raises a ValueError that says what to do."""
    if isinstance(level, bool):
        raise ValueError(f"level {level!r} is not a level: choose a whole number from 1 to 5")
    if isinstance(level, str) and level.strip().isdigit():
        level = int(level.strip())
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    if not isinstance(level, int) or level not in LEVELS:
        raise ValueError(f"level {level!r} is outside the pyramid: choose a whole number "
                         "from 1 (biased attitudes) to 5 (genocide)")
    return level


def check_log(log: pd.DataFrame, columns: Iterable[str] = LOG_COLUMNS) -> pd.DataFrame:
    """The media log with the columns this module needs and levels 1-5, or a clear ValueError."""
    require_columns(log, columns, "the media log", LOG_HINT)
    if "pyramid_level" in log.columns:
        levels = pd.to_numeric(log["pyramid_level"], errors="coerce")
        bad = log.loc[~levels.isin(LEVELS)]
        if len(bad):
            first = bad.iloc[0]
            where = f"item {first['item_id']}" if "item_id" in log.columns else f"row {bad.index[0]}"
            raise ValueError(f"{len(bad)} row(s) have a pyramid_level outside 1-5 "
                             f"(first: {where}, level {first['pyramid_level']!r}); fix or drop them")
    if "month" in log.columns:
        bad_months = sorted({m for m in log["month"].dropna().unique()
                             if not isinstance(m, str) or not MONTH_FORM.match(m)})
        if bad_months:
            raise ValueError(f"month values {bad_months[:3]} are not in the form YYYY-MM")
    return log


# --- the sorting exercise -----------------------------------------------------------------------

@dataclass(frozen=True)
class SortFeedback:
    item_id: str
    chosen: int
    reference: int
    reason: str

    @property
    def agrees(self) -> bool:
        return self.chosen == self.reference

    @property
    def offset(self) -> int:
        """Positive: the trainee placed the item higher than the reference label."""
        return self.chosen - self.reference

    @property
    def message(self) -> str:
        ref = f"level {self.reference} ({LEVEL_NAMES[self.reference].lower()})"
        if self.agrees:
            return f"You agree with the reference label: {ref}. {self.reason}"
        direction = "higher" if self.offset > 0 else "lower"
        return (f"The reference label is {ref}; you placed it {plural(abs(self.offset), 'level')} "
                f"{direction}. {self.reason} Labels are judgements: if you can argue for your "
                "level, note why - disagreement is worth discussing.")


def sorting_sample(log: pd.DataFrame, per_level: int = 2, seed: int = 7) -> pd.DataFrame:
    """A shuffled sample with ``per_level`` items from each level (fewer where a level has fewer),
    so a trainee meets the whole pyramid; ``seed`` makes it repeatable."""
    check_log(log, ("item_id", "summary", "pyramid_level", "level_reason"))
    if not isinstance(per_level, int) or isinstance(per_level, bool) or per_level < 1:
        raise ValueError(f"per_level must be a whole number, 1 or more (got {per_level!r})")
    picked = [part.sample(n=min(per_level, len(part)), random_state=seed)
              for _, part in log.groupby("pyramid_level")]
    if not picked:
        raise ValueError("the log is empty: there is nothing to sample")
    return pd.concat(picked).sample(frac=1, random_state=seed).reset_index(drop=True)


class PyramidSorter:
    """Trainee's placements of media-log items on the pyramid, checked against reference labels.

    ``items`` is (a sample of) ``scenario_media_log``. The latest answer for an item counts; the
    number of attempts is kept so nothing the trainee did is lost.
    """

    def __init__(self, items: pd.DataFrame):
        check_log(items, ("item_id", "summary", "pyramid_level", "level_reason"))
        if items.empty:
            raise ValueError("there are no items to sort: pass some rows of the media log")
        ids = items["item_id"].astype(str)
        if ids.duplicated().any():
            raise ValueError(f"item ids must be unique; repeated: {sorted(set(ids[ids.duplicated()]))}")
        self._items = items.assign(item_id=ids).set_index("item_id", drop=False)
        self._answers: dict[str, int] = {}
        self._first: dict[str, int] = {}  # first instincts are worth discussing too
        self._attempts: dict[str, int] = {}

    @property
    def item_ids(self) -> list[str]:
        return list(self._items.index)

    def item(self, item_id) -> dict:
        """What the trainee sees for an item: never its reference level or reason."""
        row = self._items.loc[self._check_item(item_id)]
        shown = ("item_id", "month", "province_id", "kind", "actor", "summary")
        return {k: row[k] for k in shown if k in row.index}

    def next_item(self) -> str | None:
        """The first item not yet answered, or None when all are done."""
        return next((i for i in self.item_ids if i not in self._answers), None)

    def answer(self, item_id, level) -> SortFeedback:
        item_id, level = self._check_item(item_id), check_level(level)
        self._answers[item_id] = level
        self._first.setdefault(item_id, level)
        self._attempts[item_id] = self._attempts.get(item_id, 0) + 1
        row = self._items.loc[item_id]
        return SortFeedback(item_id, level, int(row["pyramid_level"]), str(row["level_reason"]))

    def answers(self) -> pd.DataFrame:
        """One row per answered item: latest and first level chosen, reference level, offset
        (latest minus reference), attempts, reason."""
        ids = list(self._answers)
        ref = self._items.loc[ids, "pyramid_level"].astype(int).to_numpy() if ids else []
        out = pd.DataFrame({
            "item_id": ids,
            "chosen": [self._answers[i] for i in ids],
            "first_choice": [self._first[i] for i in ids],
            "reference": ref,
            "attempts": [self._attempts[i] for i in ids],
            "level_reason": self._items.loc[ids, "level_reason"].to_numpy() if ids else [],
        }, columns=["item_id", "chosen", "first_choice", "reference", "attempts",
                    "level_reason"])
        out["offset"] = (out["chosen"] - out["reference"]).astype(int)
        return out

    def counts(self) -> pd.Series:
        """How many items the trainee has placed on each level (1-5, zeros included)."""
        chosen = pd.Series(list(self._answers.values()), dtype=int)
        return chosen.value_counts().reindex(list(LEVELS), fill_value=0).rename("items")

    def disagreements(self) -> pd.DataFrame:
        """The answered items where the trainee's level differs from the reference label."""
        a = self.answers()
        return a.loc[a["offset"] != 0].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per reference level: items answered, agreed, placed higher, placed lower."""
        a = self.answers()
        grouped = a.groupby("reference")["offset"]
        out = pd.DataFrame({
            "answered": grouped.size(),
            "agreed": grouped.apply(lambda s: int((s == 0).sum())),
            "placed_higher": grouped.apply(lambda s: int((s > 0).sum())),
            "placed_lower": grouped.apply(lambda s: int((s < 0).sum())),
        }).reindex(list(LEVELS), fill_value=0).astype(int)
        out.index.name = "reference_level"
        return out

    def summary_text(self) -> str:
        """A sentence or two on where the trainee's reading differs from the reference."""
        a = self.answers()
        if a.empty:
            return "Nothing sorted yet."
        agreed = int((a["offset"] == 0).sum())
        text = f"You agreed with the reference label on {agreed} of {plural(len(a), 'item')}."
        higher, lower = int((a["offset"] > 0).sum()), int((a["offset"] < 0).sum())
        if higher or lower:
            text += (f" You placed {higher} higher and {lower} lower than the reference. ")
            if higher > lower:
                text += "You tend to read items as more severe than the labels do."
            elif lower > higher:
                text += ("You tend to read items as less severe: lower-level items are easy "
                         "to dismiss, which is how they become normal.")
            else:
                text += "Your disagreements go both ways."
        return text

    def _check_item(self, item_id) -> str:
        key = str(item_id)
        if key not in self._items.index:
            sample = ", ".join(self.item_ids[:3])
            raise ValueError(f"unknown item id {item_id!r}: use one of the {len(self._items)} "
                             f"items being sorted (e.g. {sample})")
        return key


# --- escalation ---------------------------------------------------------------------------------

def month_range(months: Iterable[str]) -> list[str]:
    """Every month from the first to the last of ``months``, gaps filled, as ``YYYY-MM``."""
    months = sorted({check_month(m) for m in months})
    if not months:
        return []
    return [str(p) for p in pd.period_range(months[0], months[-1], freq="M")]


def _select(log: pd.DataFrame, province: str | None) -> pd.DataFrame:
    if province is None:
        return log
    province = check_province(province, log["province_id"].astype(str),
                              alternative="or None for the whole country")
    return log.loc[log["province_id"].astype(str) == province]


def monthly_counts(log: pd.DataFrame, province: str | None = None,
                   months: Iterable[str] | None = None) -> pd.DataFrame:
    """Items per month (rows, every month of the log's span) and level (columns 1-5), zeros kept.

    ``province`` None means the whole country. ``months`` fixes the rows (e.g. the scenario's
    whole timeline); by default they run from the log's first month to its last.
    """
    check_log(log, ("month", "province_id", "pyramid_level"))
    rows = month_range(months if months is not None else log["month"])
    part = _select(log, province)
    table = pd.crosstab(part["month"].astype(str), part["pyramid_level"].astype(int))
    table = table.reindex(index=rows, columns=list(LEVELS), fill_value=0).astype(int)
    table.index.name, table.columns.name = "month", "level"
    return table


def upper_counts(counts: pd.DataFrame, level: int = UPPER) -> pd.Series:
    """Items at ``level`` or above in each row of a :func:`monthly_counts` table."""
    level = check_level(level)
    if not isinstance(counts, pd.DataFrame) or list(counts.columns) != list(LEVELS):
        raise ValueError("expected a table with one column per level 1-5, as monthly_counts "
                         "returns")
    return counts.loc[:, [c for c in counts.columns if c >= level]].sum(axis=1).rename("upper")


def share_at_or_above(counts: pd.DataFrame, level: int = UPPER) -> pd.Series:
    """Share (0-1) of each month's items at ``level`` or above; NaN for a month with no items."""
    upper = upper_counts(counts, level)  # checks the table first
    total = counts.sum(axis=1)
    share = upper / total.where(total > 0)
    return share.astype(float).rename(f"share_level_{level}_plus")


def escalation_flags(counts: pd.DataFrame, window: int = 3, min_upper: int = 2) -> pd.Series:
    """True for months that escalate, as defined in this module's docstring."""
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a whole number of months, 1 or more (got {window!r})")
    if not isinstance(min_upper, int) or min_upper < 1:
        raise ValueError(f"min_upper must be a whole number, 1 or more (got {min_upper!r})")
    upper = upper_counts(counts)
    baseline = upper.shift(1).rolling(window, min_periods=window).mean()
    flags = (upper >= min_upper) & (upper > baseline)  # NaN baseline compares False
    return flags.rename("escalating")


def first_month_at(log: pd.DataFrame, level: int = 4,
                   provinces: Iterable[str] | None = None) -> pd.Series:
    """The first month each province has an item at ``level`` or above (missing: never)."""
    check_log(log, ("month", "province_id", "pyramid_level"))
    level = check_level(level)
    hits = log.loc[log["pyramid_level"].astype(int) >= level]
    first = hits.groupby(hits["province_id"].astype(str))["month"].min()
    index = sorted(set(log["province_id"].astype(str))) if provinces is None else list(provinces)
    return first.reindex(index).rename(f"first_month_level_{level}")


def share_by_province(log: pd.DataFrame, month: str, level: int = UPPER,
                      provinces: Iterable[str] | None = None) -> pd.Series:
    """For one month: each province's share of items at ``level`` or above (NaN: no items)."""
    check_log(log, ("month", "province_id", "pyramid_level"))
    month, level = check_month(month), check_level(level)
    span = month_range(log["month"])
    if month not in span:
        raise ValueError(f"month {month} is outside the log, which runs {span[0]} to {span[-1]}")
    part = log.loc[log["month"] == month]
    ids = part["province_id"].astype(str)
    share = (part["pyramid_level"].astype(int) >= level).groupby(ids).mean()
    index = sorted(set(log["province_id"].astype(str))) if provinces is None else list(provinces)
    return share.reindex(index).astype(float).rename(f"share_level_{level}_plus")


def escalation_ranking(log: pd.DataFrame, window: int = 3, min_upper: int = 2) -> pd.DataFrame:
    """Provinces ranked by escalation, most first.

    Ordered by the number of flagged months, then by the share of all their items at level 3 or
    above, then by the earliest first month at level 4 (never: last), then by province id.
    """
    check_log(log, ("month", "province_id", "pyramid_level"))
    months = month_range(log["month"])
    first4 = first_month_at(log, 4)
    rows = []
    for pid in first4.index:
        counts = monthly_counts(log, pid, months)
        rows.append({
            "province_id": pid,
            "flagged_months": int(escalation_flags(counts, window, min_upper).sum()),
            "share_level_3_plus": float(upper_counts(counts).sum() / counts.to_numpy().sum()),
            "first_month_level_4": first4[pid],
        })
    table = pd.DataFrame(rows, columns=["province_id", "flagged_months", "share_level_3_plus",
                                        "first_month_level_4"])
    # "9999-99" sorts a province that never reached level 4 after every real month.
    table = table.assign(_first=table["first_month_level_4"].fillna("9999-99"))
    table = table.sort_values(["flagged_months", "share_level_3_plus", "_first", "province_id"],
                              ascending=[False, False, True, True]).drop(columns="_first")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


province_names = geography.province_names  # province_id -> name, from the provinces GeoJSON


class EscalationExplorer:
    """Monthly counts by level for a province or the country, read up to a chosen month."""

    def __init__(self, log: pd.DataFrame, province_names: Mapping[str, str] | None = None,
                 window: int = 3, min_upper: int = 2):
        check_log(log, ("month", "province_id", "pyramid_level"))
        if log.empty:
            raise ValueError("the media log is empty: there is nothing to explore")
        self.log, self.window, self.min_upper = log, window, min_upper
        self.months = month_range(log["month"])
        ids = sorted(set(log["province_id"].astype(str)))
        names = dict(province_names or {})
        self.provinces = {pid: names.get(pid, pid) for pid in ids}

    def options(self) -> list[tuple[str, str | None]]:
        """(label, value) pairs for a drop-down: the country first, then each province."""
        return [("Whole country", COUNTRY)] + [(f"{n} ({p})", p) for p, n in self.provinces.items()]

    def state(self, province: str | None, month: str) -> ExplorerState:
        province = None if province == COUNTRY else province
        month = check_month(month)
        if month not in self.months:
            raise ValueError(f"month {month} is outside the log: choose a month from "
                             f"{self.months[0]} to {self.months[-1]}")
        counts = monthly_counts(self.log, province, self.months)
        flags = escalation_flags(counts, self.window, self.min_upper)
        shown = counts.loc[:month]
        return ExplorerState(province, month, shown, flags.loc[:month],
                             share_at_or_above(shown), self.provinces.get(province, "the country"))


@dataclass(frozen=True)
class ExplorerState:
    province: str | None
    month: str
    counts: pd.DataFrame   # months up to and including ``month``
    flags: pd.Series
    share: pd.Series
    place: str

    @property
    def flagged_months(self) -> list[str]:
        return [m for m, f in self.flags.items() if f]

    def describe(self) -> str:
        row = self.counts.loc[self.month]
        upper = int(row[row.index >= UPPER].sum())
        share = self.share.loc[self.month]
        share_text = "no items" if pd.isna(share) else f"{share:.0%} of {int(row.sum())} items"
        text = (f"{self.month}, {self.place}: {plural(upper, 'item')} at level 3 or above "
                f"({share_text}).")
        text += (" Escalating: more upper-level items than the average of the previous months."
                 if self.flags.loc[self.month] else " Not flagged as escalating.")
        flagged = self.flagged_months
        if flagged:
            text += f" Months flagged so far: {', '.join(flagged)}."
        return text
