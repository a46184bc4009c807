"""Progressive hints for the analyst tasks (course/hints), and the exercises' use of them: every
analyst task has a worked example and a hint widget before its answer cell."""

from __future__ import annotations

import re

import pytest

from course import hints, notebook_files, syllabus, widgets
from course.hints import HintError, HintLadder, TaskHints

HINT_CALL = re.compile(r"widgets\.hints\(\s*\"(\w+)\"\s*,\s*\"(\w+)\"\s*\)")
EXERCISES = [e for e in syllabus.exercises() if e.id[:4] in {"ex01", "ex02", "ex03", "ex04"}]


def test_hints_come_one_at_a_time_and_run_out_politely():
    ladder = HintLadder(TaskHints("ex9", "t", "T", ("first", "second")))
    assert ladder.visible() == () and ladder.left == 2
    assert ladder.next() == "first" and ladder.visible() == ("first",)
    assert ladder.next() == "second" and ladder.left == 0
    with pytest.raises(HintError, match="last hint"):
        ladder.next()


def test_malformed_or_missing_hints_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(hints, "HINT_DIR", tmp_path)
    hints._read.cache_clear()
    (tmp_path / "ex9.yml").write_text("tasks:\n  one:\n    hints: [only one]\n")
    with pytest.raises(HintError, match="at least two hints"):
        hints.load_hints("ex9", "one")
    with pytest.raises(HintError, match="no hints for task 'two'"):
        hints.load_hints("ex9", "two")
    with pytest.raises(HintError, match="no hints for exercise 'ex8'"):
        hints.load_hints("ex8", "one")
    (tmp_path / "ex7.yml").write_text("- a list, not a mapping\n")
    with pytest.raises(HintError, match="'tasks' mapping"):
        hints.tasks("ex7")
    box = widgets.hints("ex8", "one")  # the view shows the problem instead of raising
    assert "could not be loaded" in box.value
    hints._read.cache_clear()


def test_the_widget_reveals_hints_in_order_and_then_stops():
    view = widgets.hints("ex01", "count_factors")
    _, button, shown = view.children
    total = len(hints.load_hints("ex01", "count_factors").hints)
    for n in range(total):
        button.click()
        assert shown.value.count("<li>") == n + 1
    assert button.disabled and button.description == "No more hints"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_every_analyst_task_has_a_worked_example_and_hints_before_it(exercise):
    cells = notebook_files.read(exercise.notebook).cells
    short = exercise.id.split("_")[0]
    gid = [c.metadata.get("nbgrader", {}).get("grade_id") or "" for c in cells]
    answers = [i for i, c in enumerate(cells) if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution") and gid[i].startswith("analyst_")]
    assert answers, exercise.id
    called = set()
    for i in answers:
        start = max(j for j in range(i) if gid[j].endswith("_text"))  # the task's own cells
        before = cells[start:i]
        assert any(gid[start + k].endswith("_example") for k in range(len(before))), (
            f"{gid[i]}: no worked example between its task text and its answer")
        calls = [m.groups() for c in before for m in HINT_CALL.finditer(c.source)]
        assert calls and calls[0][0] == short, f"{gid[i]}: no widgets.hints({short!r}, …) before it"
        hints.load_hints(*calls[0])  # the task's hints exist and are well formed
        called.add(calls[0][1])
    assert called == set(hints.tasks(short)), "every hint file task is used, once"
