"""ex04_r2p: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in
tests/test_exercises.py; here we check that this exercise's hidden tests have teeth.
"""

from __future__ import annotations

import pytest

from course import notebook_files
from tests.helpers.exercise_mistakes import (
    assert_caught_by_hidden_tests,
    grade_id,
    run_with_mistakes,
    source_of,
)

# Every test runs the exercise notebook (once per module, in a fixture): seconds each.
pytestmark = pytest.mark.slow

SOURCE = source_of("ex04_r2p")

# A mistake a trainee could make in each answer, which passes that task's visible tests.
MISTAKES = {
    # incentives read as a response to a failing State rather than encouragement
    "core_pillars": """my_pillars = {"ngo-capacity": "II", "authorise-force": "III", "equal-rights-law": "I",
              "train-officials": "II", "arms-embargo": "III", "national-prosecutions": "I",
              "incentives": "III", "targeted-sanctions": "III", "reparations": "I"}""",
    # human rights in peace deals placed in the rebuilding stage
    "core_stages": """my_stages = {"A": "rebuild", "B": "prevent", "C": "react", "D": "prevent", "E": "rebuild",
             "F": "rebuild"}""",
    # each actor's groups sorted by id instead of kept in their original order
    # any coercive step read as breaking the first rule, whoever tried peaceful means before
    "core_plan_rules": """plan_c_breaks = ["coercive-before-peaceful", "economic-sanctions-harm",
                 "rights-bargained-away"]""",
    "analyst_peaceful_first": """    tags = measures.set_index("measure_id")
    queues = {}
    for actor in dict.fromkeys(tags.at[m, "actor"] for m in measure_ids):
        own = [m for m in measure_ids if tags.at[m, "actor"] == actor]
        queues[actor] = (sorted(m for m in own if not tags.at[m, "coercive"])
                         + sorted(m for m in own if tags.at[m, "coercive"]))
    return [queues[tags.at[m, "actor"]].pop(0) for m in measure_ids]""",
}
# Task 3's mistake edits the model answer: a safeguard counts only in a strictly earlier phase.
TASK3_FROM, TASK3_TO = "any(r <= order.index(p)", "any(r < order.index(p)"


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    def model_answer_with_mistake(cell):
        if grade_id(cell) == "analyst_violations":
            assert TASK3_FROM in cell.source, "task 3's model answer changed: update the mistake"
            cell.source = cell.source.replace(TASK3_FROM, TASK3_TO)

    return run_with_mistakes(SOURCE, MISTAKES, tmp_path_factory.mktemp("ex04"),
                             edit=model_answer_with_mistake)


@pytest.mark.parametrize("task", [*sorted(MISTAKES), "analyst_violations"])
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    assert_caught_by_hidden_tests(executed_with_mistakes, f"{task}_tests")


def test_student_version_is_valid_python():
    # nbgrader's own ClearSolutions makes the student version; every code cell must still parse,
    # so a trainee starts from code that runs up to the `raise NotImplementedError()` stub.
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = notebook_files.read(SOURCE)  # the MyST source, as nbgrader gets it
    released, _ = ClearSolutions().preprocess(nb, {})
    released, _ = ClearHiddenTests().preprocess(released, {})
    for cell in released.cells:
        if cell.cell_type == "code":
            compile(cell.source, grade_id(cell) or "cell", "exec")
            assert "### BEGIN" not in cell.source
