"""ex05_rebuilding: the hidden tests catch plausible mistakes that the visible tests let through,
and the exercise follows the learning-path conventions (core and analyst parts, pass mark).

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in
tests/test_exercises.py; here we check that this exercise's hidden tests have teeth.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import notebook_rules
from tests.helpers.exercise_mistakes import (
    assert_caught_by_hidden_tests,
    run_with_mistakes,
    source_of,
)

# Every test runs the exercise notebook (once per module, in a fixture): seconds each.
pytestmark = pytest.mark.slow

SOURCE = source_of("ex05_rebuilding")

# A mistake a trainee could make in each answer, which passes that task's visible tests.
MISTAKES = {
    # the search for the disappeared read as rehabilitation; release from detention as satisfaction
    "core_forms_answer": """my_forms = {"A": "restitution", "B": "compensation", "C": "rehabilitation",
            "D": "rehabilitation", "E": "non-repetition", "F": "satisfaction"}""",
    # a commission of inquiry read as justice
    "core_elements_answer": """my_elements = {"national-prosecutions": "justice", "commission-of-inquiry": "justice",
               "reparations-programme": "reparation", "institutional-reform": "non-recurrence"}""",
    # forgets that every award of one group coming from those liable breaks the State's duty
    "core_feedback_answer": """my_findings = ["central-form-missing", "money-only", "continuing-harm-late",
               "not-gender-specific"]""",
    # the perpetrators, as the minister argued
    "core_who_pays_answer": 'who_pays = "perpetrators"',
    # Rights for Peace's caution attributed to the forum
    "core_positions_answer": """my_positions = {"A": "forum", "B": "forum", "C": "updated-set",
                "D": "rights-for-peace"}""",
    # every month summed, not only the crisis months
    "analyst_left_answer": """left_by_province = displacement.groupby("province_id")["displaced_out"].sum()
left_by_province = left_by_province.sort_values(ascending=False)""",
    # the province with the most reports of any kind
    "analyst_harms_answer": """harms_by_province = pd.crosstab(reports["act_type"], reports["province_id"])
most_disappearances = harms_by_province.sum().idxmax()""",
}


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    return run_with_mistakes(SOURCE, MISTAKES, tmp_path_factory.mktemp("ex05"))


@pytest.mark.parametrize("answer_id", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, answer_id):
    assert_caught_by_hidden_tests(executed_with_mistakes, answer_id.removesuffix("_answer"))


def test_core_and_analyst_parts_and_the_pass_mark():
    nb = notebook_rules.read(SOURCE)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert all(g.startswith(("core_", "analyst_")) for g in graded), sorted(graded)
    core = sum(p for g, p in graded.items() if g.startswith("core_"))
    analyst = sum(p for g, p in graded.items() if g.startswith("analyst_"))
    header = nb.cells[0].source
    stated = re.search(r"Core part: (\d+) points.*Analyst part: (\d+) points.*"
                       r"Pass mark: (\d+) points", header, re.S)
    assert stated, "the header states both parts' points and the pass mark"
    assert (int(stated[1]), int(stated[2])) == (core, analyst)
    assert core >= int(stated[3]), "the core part alone must be able to reach the pass mark"
    from course import syllabus

    entry = next(e for e in syllabus.exercises() if e.id == "ex05_rebuilding")
    assert entry.pass_mark == int(stated[3])
    assert entry.points == {"core": core, "analyst": analyst}


def test_every_analyst_task_has_a_worked_example_and_hints():
    nb = notebook_rules.read(SOURCE)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for task in ("Task 7", "Task 8"):
        before, _, after = text.partition(f"## {task}")
        assert "Worked example" in before.rsplit("## Task", 1)[-1], task
        hints = after.split("## Task", 1)[0]
        assert hints.count("<details><summary>Hint") >= 2, task


@pytest.mark.parametrize("assignment", ["ex05_rebuilding", "capstone_brief"])
def test_student_version_is_valid_python(assignment):
    # nbgrader's own ClearSolutions makes the student version; every code cell must still parse,
    # so a trainee starts from code that runs up to the `raise NotImplementedError()` stub.
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    from course import notebook_files

    released, _ = ClearSolutions().preprocess(notebook_files.read(source_of(assignment)), {})
    released, _ = ClearHiddenTests().preprocess(released, {})
    for cell in released.cells:
        if cell.cell_type == "code":
            compile(cell.source, cell.metadata.get("nbgrader", {}).get("grade_id", "cell"), "exec")
            assert "### BEGIN" not in cell.source
