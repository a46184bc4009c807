"""The contract every exercise in course/syllabus.yml must meet, one test per exercise.

For each exercise: its source notebook exists where the syllabus says; every graded cell has
points; nbgrader generates a student version from it; the source (with solutions) passes
``nbgrader validate``; the release fails it, with every autograded test cell failing on the stub;
and the release holds no solution text and no hidden-test text. The checks are
``grading.release``'s, the same ones ``python -m grading release`` runs for instructors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grading import course_root, release

COURSE = Path(__file__).resolve().parent.parent / "course"


def _syllabus_exercises() -> list[tuple[str, Path]]:
    try:
        from course import syllabus

        return [(e.id, Path(e.notebook)) for e in syllabus.exercises()]
    except ImportError:  # the syllabus module is optional; the YAML file is the source of truth
        import yaml

        data = yaml.safe_load((COURSE / "syllabus.yml").read_text(encoding="utf-8"))
        return [(e["id"], COURSE / e["notebook"]) for m in data["modules"]
                for e in m.get("exercises") or []]


EXERCISES = _syllabus_exercises()


def test_the_syllabus_lists_exercises():
    assert EXERCISES, "course/syllabus.yml lists no exercises"


@pytest.mark.slow  # runs nbgrader on the whole notebook: 8-20 s per exercise
@pytest.mark.parametrize("assignment, notebook", EXERCISES, ids=[e[0] for e in EXERCISES])
def test_exercise_meets_the_release_contract(assignment, notebook, tmp_path):
    expected = COURSE / "exercises" / "source" / assignment / f"{assignment}.md"
    assert notebook.resolve() == expected, (
        f"{assignment}: the syllabus points at {notebook}; nbgrader needs the source at "
        f"{expected.relative_to(COURSE.parent)} (folder and notebook named after the assignment)")
    assert expected.is_file(), f"{assignment}: {expected.relative_to(COURSE.parent)} is missing"
    src = tmp_path / "src"
    (src / assignment).mkdir(parents=True)
    for item in expected.parent.iterdir():  # the notebook and any files it ships with
        if item.name not in (".ipynb_checkpoints", "__pycache__"):
            target = src / assignment / item.name
            if item.is_dir():
                import shutil

                shutil.copytree(item, target)
            else:
                target.write_bytes(item.read_bytes())
    root = course_root.init(tmp_path / "course", source=src)
    report = release.release(root, assignment)
    assert report.notebooks == [f"{assignment}.ipynb"]
    assert report.ok, f"{assignment} does not meet the exercise contract:\n" + "\n".join(
        f"  - {p}" for p in report.problems)
