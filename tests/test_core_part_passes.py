"""Acceptance for issue #18: a trainee who answers only the core parts correctly passes every
exercise. Submissions are made from the released notebooks (core answer cells filled with the
model answer, analyst cells left exactly as released), then go through the instructor's real
loop: init → release → collect → autograde (sandboxed, on nbgrader) → mark (each written answer
given its full marks, as an instructor would) → the gradebook's scores."""

from __future__ import annotations

import copy

import nbformat
import pytest
import yaml
from nbgrader.utils import is_grade, is_solution

from course import notebook_files, syllabus
from grading import course_root
from grading.__main__ import main

pytestmark = [pytest.mark.slow]
AUTOGRADE = ["--workers", "2", "--cell-timeout", "60", "--timeout", "240", "--quiet"]
STUDENT = "coreonly"
WRITTEN = "My answer, in my own words (marked by the instructor)."
GRADED = [e for e in syllabus.exercises() if e.points and e.points.get("analyst")]


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or ""


def core_only(source_nb, release_nb):
    """The released notebook with only the core part answered: each core code answer gets the
    model answer, each core written answer some text; every analyst cell stays as released."""
    nb = copy.deepcopy(release_nb)
    model = {_gid(c): c.source for c in source_nb.cells if _gid(c)}
    for cell in nb.cells:
        if not (is_solution(cell) and _gid(cell).startswith("core_")):
            continue
        if cell.cell_type == "markdown":
            cell.source = WRITTEN
        else:
            cell.source = "\n".join(ln for ln in model[_gid(cell)].splitlines()
                                    if "### BEGIN SOLUTION" not in ln
                                    and "### END SOLUTION" not in ln)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("core-only")
    root = base / "course"
    names = [e.id for e in GRADED]
    assert main(["init", str(root)]) == 0
    course = course_root.CourseRoot(root)
    for name in names:
        assert main(["release", name, "--course-dir", str(root), "--no-validate"]) == 0
        for path in course.notebooks("release", name):
            source = nbformat.read(root / "source" / name / path.name, as_version=4)
            answered = core_only(source, nbformat.read(path, as_version=4))
            target = base / "downloads" / name / STUDENT / name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(answered, target)
        assert main(["collect", name, "--course-dir", str(root), "--from",
                     str(base / "downloads" / name)]) == 0
    assert main(["autograde", *names, "--course-dir", str(root), *AUTOGRADE]) == 0
    for name in names:
        assert main(["mark", name, "--course-dir", str(root)]) == 0
        marking = course.marking_file(name)
        sheet = yaml.safe_load(marking.read_text(encoding="utf-8"))
        for entry in sheet["answers"]:
            assert str(entry["cell"]).startswith("core_"), entry  # written answers are core
            entry["score"] = entry["max_points"]
        marking.write_text(yaml.safe_dump(sheet), encoding="utf-8")
        assert main(["mark", name, "--course-dir", str(root)]) == 0
    cells = {}
    with course.gradebook() as gb:
        for name in names:
            sub = gb.find_submission(name, STUDENT)
            cells[name] = {g.name: (float(g.score), float(g.max_score))
                           for nb in sub.notebooks for g in nb.grades}
            cells[name]["total"] = (float(sub.score), float(sub.max_score))
    return cells


@pytest.mark.parametrize("exercise", GRADED, ids=lambda e: e.id)
def test_core_answers_alone_pass(graded, exercise):
    cells = graded[exercise.id]
    score, most = cells.pop("total")
    assert most == sum(exercise.points.values())
    core = {g: s for g, s in cells.items() if g.startswith("core_")}
    analyst = {g: s for g, s in cells.items() if g.startswith("analyst_")}
    assert set(core) | set(analyst) == set(cells), sorted(cells)
    assert all(got == full for got, full in core.values()), core  # every core cell: full marks
    assert all(got == 0 for got, _ in analyst.values()), analyst  # nothing for the stubs
    assert score == exercise.points["core"] >= exercise.pass_mark, (
        f"{exercise.id}: core only scored {score} of {most}; pass mark {exercise.pass_mark}")


def test_the_core_cells_are_what_the_submission_answers():
    """The submission builder answers every core cell and no analyst cell."""
    for exercise in GRADED:
        src = notebook_files.read(exercise.notebook)
        answers = [_gid(c) for c in src.cells if is_solution(c)]
        graded_ids = [_gid(c) for c in src.cells if is_grade(c)]
        assert answers and all(a.startswith(("core_", "analyst_")) for a in answers), answers
        assert any(g.startswith("core_") for g in graded_ids), exercise.id
