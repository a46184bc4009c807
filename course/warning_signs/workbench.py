"""The risk-assessment workbench: a trainee's judgement of one province and month beside the data.

State only; the view is ``course.widgets.warning_signs.workbench``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from course.checks import check_month_in as check_month
from course.checks import check_province
from course.warning_signs.factors import FACTORS, GROUPS, category_of, check_factor, group_of
from course.warning_signs.indicators import flag_indicators, indicator_labels, months_of


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
        self._labels = indicator_labels(catalogue)
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
