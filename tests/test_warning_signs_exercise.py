"""ex01_warning_signs: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in the
grading tests; here each mistake replaces one solution in the source notebook, the notebook runs,
and that task's test cell must pass its visible part and fail in its hidden part.
"""

from __future__ import annotations

import pytest

from tests.helpers.exercise_mistakes import (
    assert_caught_by_hidden_tests,
    run_with_mistakes,
    source_of,
)

# Every test runs the exercise notebook (once per module, in a fixture): seconds each.
pytestmark = pytest.mark.slow

SOURCE = source_of("ex01_warning_signs")

MISTAKES = {
    # "below the threshold" read as "at or below" (only for the "below" indicators)
    # counts factor 6 (independent outlets 4, civic space 0.45) as present: "below" misread
    "core_factors_present": """factors_present = [2, 3, 4, 5, 6, 7, 9]""",
    "analyst_count_factors": """    rows = indicators.merge(catalogue, on="indicator")
    above = rows["direction"] == "above"
    rows["crossed"] = (above & (rows["value"] > rows["threshold"])) | (
        ~above & (rows["value"] <= rows["threshold"]))
    present = rows.groupby(["month", "province_id", "risk_factor"])["crossed"].any()
    table = present.groupby(["month", "province_id"]).sum().unstack("province_id")
    return table.sort_index().sort_index(axis=1).astype(int)""",
    # uses 5 factors whatever min_factors says (the visible tests only ask for 5)
    "analyst_sustained_provinces": """    high = (counts.sort_index() >= 5).astype(int)
    held = high.rolling(run, min_periods=run).sum() >= run
    return sorted(str(p) for p in held.columns[held.any()])""",
    # puts factor 8 with the specific factors
    "analyst_common_specific": """    rows = indicators[indicators["month"] == month].merge(catalogue, on="indicator")
    above = rows["direction"] == "above"
    rows["crossed"] = (above & (rows["value"] > rows["threshold"])) | (
        ~above & (rows["value"] < rows["threshold"]))
    present = rows.groupby(["province_id", "risk_factor"])["crossed"].any().reset_index()
    present["kind"] = ["common" if f < 8 else "specific" for f in present["risk_factor"]]
    table = present.pivot_table(index="province_id", columns="kind", values="crossed",
                                aggfunc="sum", fill_value=0)
    table = table.reindex(columns=["common", "specific"], fill_value=0)
    table.columns.name = None
    return table.sort_index().astype(int)""",
    # the base-rate fallacy: takes the hit rate for the share of alarms that are real
    # the base-rate fallacy again, by hand: takes the hit rate for the share of real alarms
    "core_alarms": 'alarms_followed_by_crisis = "about 9 in 10"',
    "analyst_share_of_alarms_real": """    return hit_rate""",
}


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    return run_with_mistakes(SOURCE, MISTAKES, tmp_path_factory.mktemp("ex01"))


@pytest.mark.parametrize("task", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    assert_caught_by_hidden_tests(executed_with_mistakes, f"{task}_tests")
