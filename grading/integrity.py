"""Per-submission integrity report, checked against the *released* notebook.

nbgrader's own checksum check compares a submission with the source notebook, whose test cells
still hold the hidden tests, so it warns about every submission of an assignment with hidden
tests. Here each cell is compared with the student version it was released as, so a warning
means the trainee (or their tools) really changed a graded or locked cell.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum, is_grade, is_locked, is_solution

from . import autograde, course_root


@dataclass
class Problem:
    kind: str       # modified | deleted | duplicated | added | reordered | missing-notebook |
    #                 unknown-notebook | empty | malformed | too-large | stopped | timeout |
    #                 crashed | error | runtime
    notebook: str
    cell: str = ""  # grade_id, where there is one
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.notebook}" + (f" [{self.cell}]" if self.cell else "")
        return f"{self.kind}: {where}: {self.detail}"


@dataclass
class SubmissionReport:
    student_id: str
    # clean | runtime-errors (graded; the trainee's code raised errors) | flagged (graded;
    # graded/locked cells tampered with) | failed (could not be graded) | not-autograded
    status: str = "clean"
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"student_id": self.student_id, "status": self.status,
                "problems": [asdict(p) for p in self.problems]}


def cell_kind(cell) -> str:
    if is_grade(cell) and not is_solution(cell):
        return "test cell"
    if is_solution(cell):
        return "written-answer cell" if cell.cell_type == "markdown" else "answer cell"
    return "locked cell"


def _graded(nb) -> list[tuple[str, object]]:
    return [(c.metadata["nbgrader"]["grade_id"], c) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")
            and (is_grade(c) or is_solution(c) or is_locked(c))]


def _flags(cell) -> tuple:
    meta = cell.metadata.get("nbgrader", {})
    return (cell.cell_type, bool(meta.get("grade")), bool(meta.get("solution")),
            bool(meta.get("locked")), float(meta.get("points") or 0))


def read_submission(path: Path, name: str) -> tuple[object | None, list[Problem]]:
    """The notebook, or the reason it cannot be read."""
    size = path.stat().st_size
    if size > autograde.MAX_NOTEBOOK_BYTES:  # not parsed: its size alone would cost memory
        return None, [Problem("too-large", name, detail=f"{size / 1e6:.1f} MB; the grader "
                              f"reads notebooks up to {autograde.MAX_NOTEBOOK_BYTES // 1_000_000}"
                              " MB")]
    raw = path.read_bytes()
    if not raw.strip():
        return None, [Problem("empty", name, detail="the file is empty (0 bytes of notebook)")]
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [Problem("malformed", name, detail=f"not valid JSON: {exc}")]
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any schema error makes it unreadable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem("malformed", name, detail=f"not a valid notebook: {first}")]
    return nb, []


def compare(released, submitted, name: str) -> list[Problem]:
    """Graded/locked cells modified, deleted, duplicated, added or reordered."""
    problems = []
    rel = _graded(released)
    rel_ids = [gid for gid, _ in rel]
    rel_cells = dict(rel)
    sub = _graded(submitted)
    sub_ids = [gid for gid, _ in sub]
    counts = Counter(sub_ids)  # linear: a submission may add tens of thousands of cells
    for gid in rel_ids:
        if gid not in counts:
            problems.append(Problem("deleted", name, gid,
                                    f"the {cell_kind(rel_cells[gid])} is missing"))
    for gid in counts:
        if counts[gid] > 1:
            problems.append(Problem("duplicated", name, gid,
                                    f"appears {counts[gid]} times; only the last copy is graded"))
        if gid not in rel_cells:
            problems.append(Problem("added", name, gid,
                                    "a graded/locked cell that was not in the released notebook"))
    seen = [gid for gid in counts if gid in rel_cells]
    expected = [gid for gid in rel_ids if gid in seen]
    if seen != expected:
        problems.append(Problem("reordered", name, detail="graded cells are in a different "
                                f"order: {', '.join(seen)} (released: {', '.join(expected)})"))
    for gid, cell in sub:
        orig = rel_cells.get(gid)
        if orig is None:
            continue
        if _flags(cell) != _flags(orig):
            problems.append(Problem("modified", name, gid, f"the {cell_kind(orig)}'s type, "
                                    "grading flags or points were changed"))
        elif (is_locked(orig) or not is_solution(orig)) and \
                compute_checksum(cell) != compute_checksum(orig):
            problems.append(Problem("modified", name, gid,
                                    f"the {cell_kind(orig)} was edited (nbgrader grades the "
                                    "released version)"))
    return problems


TRUNCATED = "output truncated by the grader"
NOT_RUN = "NotRunByGrader"  # grading.kernels.NOT_RUN (not imported: that needs nbgrader's Execute)


def runtime_problems(autograded_nb, name: str) -> list[Problem]:
    """Errors raised by the trainee's own cells (not by test cells) while autograding."""
    problems = []
    for i, cell in enumerate(autograded_nb.cells):
        if cell.cell_type != "code" or (is_grade(cell) and not is_solution(cell)):
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {i + 1}")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") == NOT_RUN:
                continue  # the grader stopped the notebook: reported once, as "stopped"
            if out.get("output_type") == "error":
                problems.append(Problem("runtime", name, gid,
                                        f"{out.ename}: {out.evalue}".strip()[:300]))
            elif TRUNCATED in out.get("text", ""):
                problems.append(Problem("runtime", name, gid, "printed more output than the "
                                        "grader keeps; the rest was dropped"))
    return problems


def check_submission(course: course_root.CourseRoot, assignment: str, student: str,
                     outcome: dict | None) -> SubmissionReport:
    report = SubmissionReport(student)
    folder = course.submitted(student, assignment)
    released = {p.name: p for p in course.notebooks("release", assignment)}
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    unreadable = False
    for name, rel_path in released.items():
        if name not in present:
            others = [p for p in present if p not in released]
            hint = f"; found {', '.join(others)} (wrong name?)" if others else ""
            report.problems.append(Problem("missing-notebook", name,
                                           detail=f"no {name} was submitted{hint}; it scores 0"))
            unreadable = True
            continue
        nb, problems = read_submission(folder / name, name)
        report.problems += problems
        if nb is None:
            unreadable = True
            continue
        report.problems += compare(nbformat.read(rel_path, as_version=4), nb, name)
    for name in present:
        if name not in released and not any(p.kind == "missing-notebook" for p in report.problems):
            report.problems.append(Problem("unknown-notebook", name,
                                           detail="not part of the assignment; not graded"))
    status = (outcome or {}).get("status")
    autograded = course.autograded(student, assignment)
    if status in ("timeout", "crashed", "error", "stopped"):
        report.problems.append(Problem(status, "*",
                                       detail=outcome.get("message", "").strip()[:500]))
        # A stopped notebook is graded (cells after the stop score 0) unless it never ran.
        unreadable = unreadable or status != "stopped" or not autograded.is_dir()
    tampered = bool(report.problems)
    if status in ("graded", "stopped"):
        for name in released:
            path = autograded / name
            if path.exists():
                report.problems += runtime_problems(nbformat.read(path, as_version=4), name)
    if outcome is None:
        report.status = "not-autograded"
    elif unreadable:
        report.status = "failed"
    elif tampered:
        report.status = "flagged"
    elif report.problems:
        report.status = "runtime-errors"
    return report


def report(course_dir, assignment: str) -> list[SubmissionReport]:
    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    if not course.notebooks("release", assignment):
        raise course_root.CourseError(f"{assignment} has no release yet: run `python -m grading "
                                      f"release {assignment} --course-dir {course.root}`")
    outcomes = autograde.load_outcomes(course.root, assignment)
    return [check_submission(course, assignment, s, outcomes.get(s))
            for s in course.students("submitted", assignment)]


def format_text(reports: list[SubmissionReport]) -> str:
    lines = []
    for r in reports:
        lines.append(f"{r.student_id}: {r.status}")
        lines += [f"    {p}" for p in r.problems]
    counts = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return "\n".join(lines)
