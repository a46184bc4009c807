"""Generate the student version of an assignment with nbgrader, then check it.

The checks are the contract every exercise must meet (tests/test_exercises.py runs them on each
exercise in the syllabus): the source passes ``nbgrader validate``, the release fails it, the
release holds no solution text and no hidden-test text, and every graded cell has points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution
from nbgrader.validator import Validator

from . import course_root

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MIN_LINE = 6  # shorter lines ("pass", "x = 1") may legitimately appear in the student version


@dataclass
class ReleaseReport:
    assignment: str
    notebooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def marked_blocks(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly between each begin/end marker pair."""
    lines, inside, out = source.splitlines(), False, []
    for line in lines:
        text = line.strip()
        if text.startswith(begin):
            inside = True
        elif text.startswith(end):
            inside = False
        elif inside:
            out.append(line)
    return out


def secret_lines(nb) -> dict[str, list[str]]:
    """Per kind ('solution', 'hidden test'), the distinctive lines the release must not contain."""
    public = set()
    secrets = {"solution": [], "hidden test": []}
    for cell in nb.cells:
        src = cell.source
        sol = marked_blocks(src, *SOLUTION)
        hid = marked_blocks(src, *HIDDEN)
        if cell.cell_type == "markdown" and is_solution(cell) and SOLUTION[0] not in src:
            sol = src.splitlines()  # a written answer: the whole cell is the model answer
        secrets["solution"] += sol
        secrets["hidden test"] += hid
        hidden = {x.strip() for x in sol + hid}
        public |= {x.strip() for x in src.splitlines() if x.strip() not in hidden}
    return {kind: sorted({x.strip() for x in lines if len(x.strip()) >= MIN_LINE
                          and x.strip() not in public})
            for kind, lines in secrets.items()}


def _where(nb, text: str) -> str:
    for i, cell in enumerate(nb.cells):
        if text in cell.source:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            return f"cell {i + 1}" + (f" ({gid})" if gid else "")
    return "outputs"


def check_points(nb, name: str) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if is_grade(cell) and not float(meta.get("points") or 0) > 0:
            problems.append(f"{name}: graded cell {i + 1} ({meta.get('grade_id')}) has no points; "
                            "give it points > 0 (grading.authoring does this for you)")
    return problems


def check_leaks(source_nb, release_nb, name: str) -> list[str]:
    problems = []
    text = nbformat.writes(release_nb)
    for marker in (*SOLUTION, *HIDDEN):
        if marker in text:
            problems.append(f"{name}: the release still contains the marker {marker!r}")
    for kind, lines in secret_lines(source_nb).items():
        for line in lines:
            if line in text:
                problems.append(f"{name}: {kind} text left in the release at "
                                f"{_where(release_nb, line)}: {line!r}")
    return problems


def _validate(config, path: Path) -> dict:
    return Validator(config=config).validate(str(path))


def _summary(results: dict) -> str:
    parts = []
    for key in ("type_changed", "changed", "failed"):
        for item in results.get(key, []):
            err = item.get("raw_error", "").strip().splitlines()
            first = item["source"].splitlines()[0] if item["source"] else ""
            parts.append(f"{key}: {first!r}" + (f" -> {err[-1]}" if err else ""))
    return "; ".join(parts) or "no details"


def check_validation(config, source_path: Path, release_path: Path, name: str) -> list[str]:
    problems = []
    src = _validate(config, source_path)
    if src:
        problems.append(f"{name}: the source (with solutions) does not pass nbgrader validate: "
                        f"{_summary(src)}. Fix the solution or the tests so every test passes.")
    rel = _validate(config, release_path)
    if not rel.get("failed"):
        problems.append(f"{name}: the student version passes nbgrader validate as released, so a "
                        "trainee gets full marks for doing nothing: make every test fail on the "
                        "stub (e.g. test the answer's value, not only that it runs)")
    failed = {item["source"] for item in rel.get("failed", [])}
    for i, cell in enumerate(nbformat.read(release_path, as_version=4).cells):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell) \
                and cell.source.strip() not in failed:
            gid = cell.metadata.nbgrader.get("grade_id")
            problems.append(f"{name}: test cell {i + 1} ({gid}) passes on the unanswered student "
                            "version, giving points for doing nothing; make it test the answer")
    return problems


def release(course_dir: str | Path, assignment: str, *, validate: bool = True) -> ReleaseReport:
    """``nbgrader generate_assignment`` for one assignment, then the release checks."""
    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    config = course.config
    api = course.api(config)
    result = api.generate_assignment(assignment, force=True, create=True)
    report = ReleaseReport(assignment)
    if not result["success"]:
        report.problems.append(f"nbgrader generate_assignment failed:\n{result.get('log', '')}"
                               f"\n{result.get('error', '')}")
        return report
    for source_path in course.notebooks("source", assignment):
        name = source_path.name
        release_path = course.release(assignment) / name
        report.notebooks.append(name)
        source_nb = nbformat.read(source_path, as_version=4)
        release_nb = nbformat.read(release_path, as_version=4)
        report.problems += check_points(source_nb, name)
        report.problems += check_leaks(source_nb, release_nb, name)
        if validate:
            report.problems += check_validation(config, source_path, release_path, name)
    if not report.notebooks:
        report.problems.append(f"no notebooks in source/{assignment}")
    return report
