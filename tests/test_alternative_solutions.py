"""Instructions and hidden tests agree: for every coded task of ex01-ex04, two solutions that read
the instructions differently but faithfully (tests/fixtures/alternative_solutions/) both pass
every test cell, hidden tests included, when put into the exercise's source in place of the
model answers. The source runs with its hidden tests, as nbgrader's validator runs it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from course import syllabus
from tests.helpers.exercise_mistakes import failing_line, run_with_mistakes

pytestmark = [pytest.mark.slow]
FIXTURES = Path(__file__).parent / "fixtures" / "alternative_solutions"
EXERCISES = sorted(p.stem for p in FIXTURES.glob("ex*.py"))


def _solutions(exercise: str) -> dict[str, dict[str, str]]:
    spec = importlib.util.spec_from_file_location(f"alternatives_{exercise}",
                                                  FIXTURES / f"{exercise}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SOLUTIONS


def _coded_tasks(exercise) -> set[str]:
    from course import notebook_files

    return {c.metadata["nbgrader"]["grade_id"] for c in notebook_files.read(exercise.notebook).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and c.metadata["nbgrader"]["grade_id"].startswith("analyst_")}


def test_every_coded_task_has_two_alternatives():
    by_id = {e.id: e for e in syllabus.exercises()}
    assert EXERCISES == ["ex01_warning_signs", "ex02_pyramid_of_hate", "ex03_documentation",
                         "ex04_r2p"]
    for exercise in EXERCISES:
        solutions = _solutions(exercise)
        assert sorted(solutions) == ["a", "b"]
        for reading in solutions.values():
            assert set(reading) == _coded_tasks(by_id[exercise]), exercise
        assert all(solutions["a"][t] != solutions["b"][t] for t in solutions["a"])


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("reading", ["a", "b"])
def test_alternative_solutions_pass_the_hidden_tests(exercise, reading, tmp_path):
    source = next(e.notebook for e in syllabus.exercises() if e.id == exercise)
    cells = run_with_mistakes(source, _solutions(exercise)[reading], tmp_path)
    failed = {gid: failing_line(cell) for gid, cell in cells.items()
              if gid.endswith("_tests") and failing_line(cell) is not None}
    errors = {gid: "".join(o.get("evalue", "") for o in cells[gid].outputs
                           if o.output_type == "error") for gid in failed}
    assert not failed, f"{exercise}, reading {reading}: test cells failed: {errors}"
    # and no other cell raised either (a setup cell using an answer, for instance)
    raised = [gid for gid, cell in cells.items()
              if any(o.output_type == "error" for o in cell.get("outputs", []))]
    assert not raised, raised
