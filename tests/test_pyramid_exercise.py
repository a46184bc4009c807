"""ex02_pyramid_of_hate: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in the
grading tests; here we check that this exercise's hidden tests have teeth.
"""

from __future__ import annotations

import pytest

from tests.helpers.exercise_mistakes import (
    assert_caught_by_hidden_tests,
    failing_line,
    run_with_mistakes,
    source_of,
)

# Every test runs the exercise notebook (once per module, in a fixture): seconds each.
pytestmark = pytest.mark.slow

SOURCE = source_of("ex02_pyramid_of_hate")

# A mistake a trainee could make in each answer, which passes that task's visible tests.
MISTAKES = {
    # forgets level 5 (the tiny visible log has no level-5 items)
    # dehumanising language read as violence (level 4) rather than an act of bias (level 2)
    "core_levels": """my_levels = {"A": 3, "B": 1, "C": 4, "D": 4, "E": 2}""",
    # "at least min_upper items" taken as enough, without comparing with the mean of the months before
    "core_flag": """escalating_months = ["2024-04", "2024-05", "2024-06"]""",
    "analyst_share_upper": """    total = counts.sum(axis=1)
    return counts[[3, 4]].sum(axis=1) / total.where(total > 0)""",
    # "at least the average" instead of "greater than the average"
    "analyst_escalation_flags": """    upper = counts[[3, 4, 5]].sum(axis=1)
    baseline = upper.shift(1).rolling(window).mean()
    return (upper >= min_upper) & (upper >= baseline)""",
    # "reaches level 4" read as "exactly level 4"
    "analyst_first_month_level4": """    high = log[log["pyramid_level"] == 4]
    return high.groupby("province_id")["month"].min().reindex(sorted(log["province_id"].unique()))""",
    # drops the tie-break on the first month at level 4
    "analyst_rank_provinces": """    rows = []
    for pid in sorted(log["province_id"].unique()):
        own = log[log["province_id"] == pid]
        rows.append({"province_id": pid,
                     "flagged_months": int(escalation_flags(monthly_counts(log, pid)).sum()),
                     "share_level_3_plus": (own["pyramid_level"] >= 3).mean()})
    table = pd.DataFrame(rows).sort_values(["flagged_months", "share_level_3_plus", "province_id"],
                                           ascending=[False, False, True])
    return table.reset_index(drop=True)""",
}


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    return run_with_mistakes(SOURCE, MISTAKES, tmp_path_factory.mktemp("ex02"))


@pytest.mark.parametrize("task", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    assert_caught_by_hidden_tests(executed_with_mistakes, f"{task}_tests")


def test_correct_answers_are_untouched(executed_with_mistakes):
    # Task 1 kept its model answer: its tests pass, so failures above come from the mistakes.
    assert failing_line(executed_with_mistakes["analyst_monthly_counts_tests"]) is None
