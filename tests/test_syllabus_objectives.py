"""Learning-path conventions in course/syllabus.yml: every objective a module states is assessed
by something that exists, and every exercise's pass mark and points agree with its source."""

from __future__ import annotations

import re

import nbformat
import pytest

from course import syllabus
from course.quiz import load_quiz

MODULES_WITH_OBJECTIVES = [m for m in syllabus.modules() if m.objectives]
GRADED = [e for e in syllabus.exercises() if e.points is not None]


def _read(path):
    if path.suffix == ".md":
        import jupytext

        return jupytext.read(path)
    return nbformat.read(path, as_version=4)


def _graded_points(exercise) -> dict[str, float]:
    nb = _read(exercise.notebook)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _header_objectives(module) -> list[str]:
    header = _read(module.notebook).cells[0].source
    block = header.split("## Learning objectives", 1)[1]
    items, current = [], None
    for line in block.splitlines():
        start = re.match(r"^\d+\.\s+(.*)", line)
        if start:
            current = [start.group(1).strip()]
            items.append(current)
        elif current is not None and line.strip():
            current.append(line.strip())
    return [" ".join(parts) for parts in items]


def test_module_5_states_its_objectives_in_the_syllabus():
    assert "m5" in [m.id for m in MODULES_WITH_OBJECTIVES]


@pytest.mark.parametrize("module", MODULES_WITH_OBJECTIVES, ids=lambda m: m.id)
def test_objectives_match_the_header_and_are_each_assessed(module):
    assert [o.text for o in module.objectives] == _header_objectives(module), (
        "the syllabus objectives must equal the module header's list, in order")
    by_id = {e.id: e for e in syllabus.exercises()}
    for objective in module.objectives:
        assert objective.assessed_by, objective.text
        for item in objective.assessed_by:
            where, _, what = item.partition(":")
            if where == "quiz":
                load_quiz(module.id, what)  # raises a QuizError if the section is missing
            else:
                assert where in by_id, f"{item}: no exercise {where!r} in the syllabus"
                assert what in _graded_points(by_id[where]), (
                    f"{item}: no graded cell {what!r} in {where}")


@pytest.mark.parametrize("exercise", GRADED, ids=lambda e: e.id)
def test_points_and_pass_mark_agree_with_the_source(exercise):
    points = _graded_points(exercise)
    assert all(g.startswith(("core_", "analyst_")) for g in points), sorted(points)
    by_part = {part: sum(p for g, p in points.items() if g.startswith(f"{part}_"))
               for part in syllabus.PARTS}
    assert by_part == exercise.points
    assert exercise.pass_mark <= exercise.points["core"]
    header = _read(exercise.notebook).cells[0].source
    assert re.search(rf"Pass mark:?\**:? {exercise.pass_mark} points", header), (
        "the header states the pass mark")


def test_the_capstone_comes_last_and_has_a_published_rubric():
    final = syllabus.capstone()
    assert final is not None and syllabus.exercises()[-1] == final
    header = _read(final.notebook).cells[0].source
    assert "## Rubric" in header
    manual = {g: p for g, p in _graded_points(final).items() if g.endswith("_text")}
    rubric_points = [int(n) for n in re.findall(r"^\| \d\. [^|]+\| (\d+) \|", header, re.M)]
    assert sum(rubric_points) == sum(manual.values()) and len(rubric_points) == len(manual)
    assert syllabus.as_table().iloc[-1]["kind"] == "capstone"


@pytest.mark.parametrize("entry, message", [
    ("    pass_mark: 9\n    points: {core: 5, analyst: 5}\n", "reachable from the core part"),
    ("    pass_mark: 3\n", "give points"),
    ("    points: {core: 5}\n", "points must be"),
    ("    points: {core: x, analyst: 1}\n", "whole numbers"),
])
def test_exercise_marks_are_checked(tmp_path, entry, message):
    bad = tmp_path / "s.yml"
    bad.write_text("modules:\n  - id: m0\n    title: t\n    notebook: x.md\n    minutes: 5\n"
                   "    stage: all\n    exercises:\n  - {}\n".replace("  - {}\n", "")
                   + "      - id: ex\n        title: t\n        notebook: e.md\n"
                     "        minutes: 5\n" + entry.replace("    ", "        "))
    with pytest.raises(syllabus.SyllabusError, match=message):
        syllabus.modules(bad)


@pytest.mark.parametrize("objectives, message", [
    ("    objectives: [{text: 'Do a thing.'}]\n", "needs assessed_by"),
    ("    objectives: [{text: 'Do a thing.', assessed_by: ['a quiz']}]\n", "are not quiz:SECTION"),
    ("    objectives: [{assessed_by: ['quiz:x']}]\n", "needs a text"),
    ("    objectives: 'all of them'\n", "must be a list"),
])
def test_objectives_are_checked(tmp_path, objectives, message):
    bad = tmp_path / "s.yml"
    bad.write_text("modules:\n  - id: m0\n    title: t\n    notebook: x.md\n    minutes: 5\n"
                   "    stage: all\n" + objectives)
    with pytest.raises(syllabus.SyllabusError, match=message):
        syllabus.modules(bad)


def test_a_capstone_id_may_not_repeat_an_exercise_id(tmp_path):
    bad = tmp_path / "s.yml"
    bad.write_text("modules:\n  - id: m0\n    title: t\n    notebook: x.md\n    minutes: 5\n"
                   "    stage: all\ncapstone: {id: m0, title: t, notebook: c.md, minutes: 9}\n")
    with pytest.raises(syllabus.SyllabusError, match="ids used twice"):
        syllabus.exercises(bad)
