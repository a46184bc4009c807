"""Marking written answers without a hub: ``python -m grading mark ASSIGNMENT``.

nbgrader leaves written answers (and any answer cell marked for manual grading) to a person;
with a hub that is formgrader (see grading/README.md). Without one, this module writes a marking
file, ``COURSE_DIR/marking/<assignment>.yml``, listing every such answer with the trainee's text,
its points, and an empty ``score`` and ``comment`` for the instructor to fill in. Running the
command again reads the file and writes each score and comment into nbgrader's gradebook through
nbgrader's own API (the same fields formgrader sets: ``Grade.manual_score``,
``Grade.needs_manual_grade``, ``Comment.manual_comment``), then rewrites the file with what is
marked and what still awaits marking. Nothing is written if any entry is wrong; each mistake is
listed with what to do.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from . import course_root

AWAITING, MARKED, UNANSWERED = "awaiting marking", "marked", "unanswered"


@dataclass
class Answer:
    student: str
    notebook: str
    cell: str           # the grade_id
    max_points: float
    status: str         # awaiting marking | marked | unanswered (scored 0 by nbgrader)
    answer: str
    score: float | None = None
    comment: str = ""


def manual_cells(gb, assignment: str) -> set[tuple[str, str]]:
    """(notebook, grade_id) of the cells a person marks: graded answer cells and tasks."""
    out = set()
    for nb in gb.find_assignment(assignment).notebooks:
        answers = {c.name for c in nb.solution_cells}
        out |= {(nb.name, c.name) for c in nb.grade_cells if c.name in answers}
        out |= {(nb.name, c.name) for c in nb.task_cells}
    return out


def _answer_texts(course: course_root.CourseRoot, assignment: str, student: str,
                  notebook: str) -> dict[str, str]:
    import nbformat

    for step in ("autograded", "submitted"):
        path = course.step_path(step, assignment, student) / f"{notebook}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError, KeyError):
            continue
        return {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    return {}


def answers(course: course_root.CourseRoot, assignment: str) -> list[Answer]:
    """Every manually marked answer of every graded submission, from the gradebook."""
    from nbgrader.api import MissingEntry

    found = []
    with course.gradebook() as gb:
        try:
            manual = manual_cells(gb, assignment)
        except MissingEntry:
            return []
        for sub in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student_id):
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                texts = None
                for grade in sorted(nb.grades, key=lambda g: g.name):
                    if (nb.name, grade.name) not in manual:
                        continue
                    if texts is None:
                        texts = _answer_texts(course, assignment, sub.student_id, nb.name)
                    comment = gb.find_comment(grade.name, nb.name, assignment, sub.student_id)
                    if grade.manual_score is not None:
                        status, score = MARKED, float(grade.manual_score)
                    elif grade.needs_manual_grade:
                        status, score = AWAITING, None
                    else:  # nbgrader scored an answer left as released 0 by itself
                        status, score = UNANSWERED, float(grade.auto_score or 0)
                    found.append(Answer(sub.student_id, nb.name, grade.name,
                                        float(grade.max_score), status,
                                        texts.get(grade.name, "(answer not found)"), score,
                                        comment.manual_comment or ""))
    return found


# ---- the marking file ---------------------------------------------------------------------------

HEADER = """\
# Written answers of {assignment} to mark ({count} answers; {awaiting} awaiting marking).
# For each answer fill in `score` (0 to max_points; decimals allowed) and, if you like, a
# `comment` for the trainee: it is shown on their feedback page (Markdown allowed).
# Leave `score` empty to mark it later. Change a score to re-mark. Then run again:
#   python -m grading mark {assignment} --course-dir {root}
# This file holds trainees' answers: it stays in the course root, never in the repository.
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def write_file(path: Path, assignment: str, root: Path, found: list[Answer]) -> None:
    entries = []
    for a in found:
        entry = asdict(a)
        entry["answer"] = entry["answer"].rstrip() + "\n" if "\n" in entry["answer"] \
            else entry["answer"]
        entries.append(entry)
    text = HEADER.format(assignment=assignment, root=root, count=len(found),
                         awaiting=sum(a.status == AWAITING for a in found))
    text += yaml.dump({"answers": entries}, Dumper=_Dumper, sort_keys=False,
                      allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_file(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise course_root.CourseError(f"{path} is not valid YAML any more ({exc}); fix it, or "
                                      "delete it to get a fresh one") from exc
    entries = (data or {}).get("answers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise course_root.CourseError(f"{path} should hold `answers:` followed by a list of "
                                      "entries; delete it to get a fresh one")
    return entries


def _score_of(entry: dict, known: Answer) -> tuple[float | None, str | None]:
    """The entry's score, or why it cannot be used."""
    raw = entry.get("score")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    try:
        score = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None, f"score {raw!r} is not a number"
    if not math.isfinite(score) or score < 0 or score > known.max_points:
        return None, f"score {raw!r} is outside 0 to {known.max_points:g}"
    return score, None


@dataclass
class MarkReport:
    file: Path
    total: int = 0
    marked_now: int = 0
    problems: list[str] = field(default_factory=list)
    waiting: list[Answer] = field(default_factory=list)  # answers still awaiting marking

    @property
    def awaiting(self) -> int:
        return len(self.waiting)


def mark(course_dir, assignment: str, file: str | Path | None = None) -> MarkReport:
    """Apply the marking file (if there is one) to the gradebook, then rewrite it."""
    from nbgrader.api import MissingEntry

    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    path = Path(file).expanduser().resolve() if file else course.marking_file(assignment)
    course_root.refuse_inside_checkout(path, "the marking file")
    found = answers(course, assignment)
    known = {(a.student, a.notebook, a.cell): a for a in found}
    report = MarkReport(path, total=len(found))
    changes = []
    if path.exists():
        for i, entry in enumerate(read_file(path), 1):
            key = (str(entry.get("student")), str(entry.get("notebook")), str(entry.get("cell")))
            where = f"entry {i} ({key[0]}, {key[2]})"
            if key not in known:
                report.problems.append(f"{where}: no such answer in the gradebook (student, "
                                       "notebook or cell changed?); restore it or delete it")
                continue
            score, why = _score_of(entry, known[key])
            if why:
                report.problems.append(f"{where}: {why}")
                continue
            comment = entry.get("comment")
            comment = "" if comment is None else str(comment).strip()
            a = known[key]
            if score is None and a.status != MARKED:
                if comment != a.comment:
                    changes.append((a, None, comment))
                continue
            if score != a.score or comment != a.comment or a.status != MARKED:
                if score is None:  # a marked answer whose score was emptied: unmark it
                    changes.append((a, "unmark", comment))
                else:
                    changes.append((a, score, comment))
    if report.problems:
        report.waiting = [a for a in found if a.status == AWAITING]
        return report  # nothing written: the file stays as the instructor left it
    if changes:
        with course.gradebook() as gb:
            for a, score, comment in changes:
                try:
                    grade = gb.find_grade(a.cell, a.notebook, assignment, a.student)
                    note = gb.find_comment(a.cell, a.notebook, assignment, a.student)
                except MissingEntry:
                    report.problems.append(f"{a.student}, {a.cell}: vanished from the gradebook")
                    continue
                if score == "unmark":
                    grade.manual_score = None
                    grade.needs_manual_grade = grade.auto_score is None
                elif score is not None:
                    grade.manual_score = score
                    grade.needs_manual_grade = False
                    report.marked_now += 1
                note.manual_comment = comment or None
            gb.db.commit()
        found = answers(course, assignment)
    report.waiting = [a for a in found if a.status == AWAITING]
    write_file(path, assignment, course.root, found)
    return report
