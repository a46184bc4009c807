"""ex02_pyramid_of_hate: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in the
grading tests; here we check that this exercise's hidden tests have teeth.
"""

from __future__ import annotations

import re

import nbclient
import nbformat
import pytest

from course import syllabus

SOURCE = next(e.notebook for e in syllabus.exercises() if e.id == "ex02_pyramid_of_hate")
SOLUTION = re.compile(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)", re.S)

# A mistake a trainee could make in each answer, which passes that task's visible tests.
MISTAKES = {
    # forgets level 5 (the tiny visible log has no level-5 items)
    "task2_answer": """    total = counts.sum(axis=1)
    return counts[[3, 4]].sum(axis=1) / total.where(total > 0)""",
    # "at least the average" instead of "greater than the average"
    "task3_answer": """    upper = counts[[3, 4, 5]].sum(axis=1)
    baseline = upper.shift(1).rolling(window).mean()
    return (upper >= min_upper) & (upper >= baseline)""",
    # "reaches level 4" read as "exactly level 4"
    "task4_answer": """    high = log[log["pyramid_level"] == 4]
    return high.groupby("province_id")["month"].min().reindex(sorted(log["province_id"].unique()))""",
    # drops the tie-break on the first month at level 4
    "task5_answer": """    rows = []
    for pid in sorted(log["province_id"].unique()):
        own = log[log["province_id"] == pid]
        rows.append({"province_id": pid,
                     "flagged_months": int(escalation_flags(monthly_counts(log, pid)).sum()),
                     "share_level_3_plus": (own["pyramid_level"] >= 3).mean()})
    table = pd.DataFrame(rows).sort_values(["flagged_months", "share_level_3_plus", "province_id"],
                                           ascending=[False, False, True])
    return table.reset_index(drop=True)""",
}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def failing_line(cell) -> int | None:
    """The line of the cell where it raised, from the traceback (None if it did not raise)."""
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.traceback))
            lines = re.findall(r"line (\d+)", text)
            return int(lines[0]) if lines else -1
    return None


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in MISTAKES:
            body = MISTAKES[grade_id(cell)]
            cell.source, n = SOLUTION.subn(
                lambda m, body=body: m.group(1) + body + m.group(2), cell.source)
            assert n == 1, f"{grade_id(cell)}: no solution block to replace"
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path_factory.mktemp("ex02"))}})
    client.execute()
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


@pytest.mark.parametrize("task", ["task2", "task3", "task4", "task5"])
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    cell = executed_with_mistakes[f"{task}_tests"]
    hidden_from = cell.source.splitlines().index("### BEGIN HIDDEN TESTS") + 1
    line = failing_line(cell)
    assert line is not None, f"{task}: the hidden tests let the mistake through"
    assert line > hidden_from, f"{task}: failed at line {line}, before the hidden tests"


def test_correct_answers_are_untouched(executed_with_mistakes):
    # Task 1 kept its model answer: its tests pass, so failures above come from the mistakes.
    assert failing_line(executed_with_mistakes["task1_tests"]) is None
